import Foundation

/// One line of the incident log (JSON Lines). Fields are optional so every kind of event fits
/// one shape; unknown fields are ignored by readers.
public struct IncidentEntry: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case runStart = "run-start", runEnd = "run-end", step, stepDone = "step-done", stepSkipped = "step-skipped"
        case command, answer, check, snapshot, capture, note, refused
        /// The run's data accounting (keys, AOF bytes cut, jobs; before and after).
        case data
    }
    public var ts: String?
    public var type: Kind
    public var runbook: String?
    public var stepIndex: Int?
    public var stepId: String?
    public var stepTitle: String?
    public var message: String?
    // commands
    public var argv: [String]?
    public var context: String?
    public var namespace: String?
    public var mutates: Bool?
    public var dryRun: Bool?
    public var exitCode: Int?
    public var termination: String?
    public var durationSeconds: Double?
    public var stdout: String?
    public var stderr: String?
    // answers and checks
    public var prompt: String?
    public var answer: String?
    public var by: String?
    public var condition: String?
    public var result: String?
    public var seen: String?
    // snapshots, captures, run
    public var phase: String?
    public var text: String?
    public var name: String?
    public var value: String?
    public var status: String?
    public var options: RunOptions?
    public var variables: [String: String]?
    // data accounting
    public var data: DataAccount?

    public init(type: Kind, runbook: String? = nil) { self.type = type; self.runbook = runbook }
}

/// Removes secret values from anything before it is written or shown, and nothing else: what
/// is shown for approval, logged and reported is the command that runs, byte for byte, except
/// for the secret values in it. Masked:
/// - literal secrets the caller knows (the password read in the pod, a bearer token),
/// - redis-cli's password options (`-a X`, `--pass X`, `--pass=X`) and the arguments of a Redis
///   `AUTH` (also `HELLO ... AUTH user pass`), the value of `CONFIG SET requirepass|masterauth`,
///   redis-server's `--requirepass X` / `--masterauth X`, kubectl's `--token X` / `--password X`,
/// - in text: those same forms, `Authorization: Bearer X`, URL credentials
///   (`redis://user:X@host`), and `NAME=X` / `NAME: X` for upper-case secret names
///   (`REDIS_PASSWORD=X`, as `printenv`/`env` print them).
/// Options are read per program: `cp -a /data/appendonlydir ...` is an archive copy of a path,
/// not redis-cli's `-a PASSWORD`, and stays as it is.
public struct Redactor: Sendable {
    public static let mask = "[REDACTED]"
    /// Literal secret values known to the caller (e.g. a password read from a Secret).
    public var secrets: [String]
    public init(secrets: [String] = []) { self.secrets = secrets.filter { $0.count >= 3 } }

    /// Names whose values are secret (environment variables, runbook variables).
    static let secretEnvName = try! NSRegularExpression(pattern: "(?i)^[A-Z0-9_]*(PASS|PASSWORD|SECRET|TOKEN|AUTH|CREDENTIAL|APIKEY|API_KEY)[A-Z0-9_]*$")
    /// Options whose next argument is a secret, per program (basename of the argv element).
    static let secretOptions: [String: Set<String>] = [
        "redis-cli": ["-a", "--pass", "--password"],
        "redis-server": ["--requirepass", "--masterauth", "--masteruser-password"],
        "redis-benchmark": ["-a"],
        "kubectl": ["--token", "--password", "--client-key-data"],
    ]
    static let redisSecretWords: Set<String> = ["requirepass", "masterauth", "masteruser-password"]

    /// Text patterns (each: the part kept, then the secret in the last group).
    static let textPatterns: [(NSRegularExpression, String)] = [
        // NAME=value or NAME: value for upper-case secret names (env dumps, printenv)
        (try! NSRegularExpression(pattern: "(?<![A-Za-z0-9_])([A-Z0-9_]*(?:PASS|PASSWORD|SECRET|TOKEN|REDISCLI_AUTH|CREDENTIAL|API_?KEY)[A-Z0-9_]*)([ \\t]*[=:][ \\t]*\"?)([^\\s\"',;]+)"), "$1$2"),
        // requirepass / masterauth and a value on the same line (config files, CONFIG SET)
        (secretParameterInline, "$1$2"),
        // ... or on the next line, as redis-cli prints a CONFIG GET reply (name, then value; an
        // empty value is an empty line, and the name after it is not a secret)
        (secretParameterNextLine, "$1$2"),
        // ... and that reply on one line with its newlines written as \n (a check's "seen")
        (try! NSRegularExpression(pattern: "(?i)(?<![A-Za-z0-9_-])(requirepass|masterauth|masteruser-password)(\\\\n)((?:(?!\\\\n)[^\\s\"])+)"), "$1$2"),
        // a Redis AUTH command: AUTH [user] password (upper case, as a command is written)
        (try! NSRegularExpression(pattern: "(?<![A-Za-z0-9_-])(AUTH[ \\t]+)(?!failed\\b)(\\S+(?:[ \\t]+\\S+)?)"), "$1"),
        // redis-cli's password options, only on a redis-cli command line
        (try! NSRegularExpression(pattern: "(\\bredis-cli\\b[^\\n]*?[ \\t](?:-a|--pass|--password)(?:[ \\t]+|=))(\\S+)"), "$1"),
        // redis-server's password options, only on a redis-server command line
        (try! NSRegularExpression(pattern: "(\\bredis-server\\b[^\\n]*?[ \\t]--(?:requirepass|masterauth)(?:[ \\t]+|=))(\\S+)"), "$1"),
        // bearer tokens: "Authorization: Bearer X", "--token X", "--token=X"
        (try! NSRegularExpression(pattern: "(\\b[Bb]earer[ \\t]+)([A-Za-z0-9._~+/=-]{8,})"), "$1"),
        (try! NSRegularExpression(pattern: "((?:^|[ \\t])--token(?:[ \\t]+|=))(\\S+)"), "$1"),
        // scheme://user:password@host
        (try! NSRegularExpression(pattern: "([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\\s]*:)([^@\\s]+)(?=@)"), "$1"),
    ]

    static let secretParameterInline = try! NSRegularExpression(pattern: "(?i)(?<![A-Za-z0-9_-])(requirepass|masterauth|masteruser-password)([ \\t]+\"?)([^\\s\"]+)")
    static let secretParameterNextLine = try! NSRegularExpression(pattern: "(?im)(?<![A-Za-z0-9_-])(requirepass|masterauth|masteruser-password)([ \\t]*\\r?\\n)([^\\r\\n]+)$")

    /// A secret parameter alone on its line and its value on the next (a `CONFIG GET` reply as
    /// redis-cli prints it), or both alone on one line (a config file).
    static let secretParameterLearned = [
        try! NSRegularExpression(pattern: "(?im)^(requirepass|masterauth|masteruser-password)([ \\t]*\\r?\\n)([^\\r\\n]+?)[ \\t]*\\r?$"),
        try! NSRegularExpression(pattern: "(?im)^[ \\t]*(requirepass|masterauth|masteruser-password)([ \\t]+\"?)([^\\s\"]+)\"?[ \\t]*\\r?$"),
    ]

    /// The values of Redis's secret parameters in a text (a `CONFIG GET *` reply, a config
    /// file): the caller learns them as literal secrets, so they stay masked wherever they turn
    /// up later, also in an excerpt that cut them off their name.
    public static func secretValues(in text: String) -> [String] {
        guard text.range(of: "requirepass", options: .caseInsensitive) != nil || text.range(of: "masterauth", options: .caseInsensitive) != nil
            || text.range(of: "masteruser-password", options: .caseInsensitive) != nil else { return [] }
        var out: [String] = []
        for re in secretParameterLearned {
            for m in re.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let r = Range(m.range(at: 3), in: text) else { continue }
                let v = String(text[r])
                if v.count >= 3, !v.contains(mask), !out.contains(v) { out.append(v) }
            }
        }
        return out
    }

    /// Literal secrets replaced by the mask.
    func maskSecrets(_ text: String) -> String {
        var s = text
        for secret in secrets { s = s.replacingOccurrences(of: secret, with: Redactor.mask) }
        return s
    }

    public func redact(_ text: String) -> String {
        var s = maskSecrets(text)
        for (re, keep) in Redactor.textPatterns {
            let range = NSRange(s.startIndex..., in: s)
            s = re.stringByReplacingMatches(in: s, range: range, withTemplate: keep + Redactor.mask)
        }
        return s
    }

    /// Redacts argv elements, reading each program's options as that program does (the program
    /// is the last `kubectl`, `redis-cli`, `redis-server`... element before, e.g. after `--`):
    /// its password options' values, `AUTH`'s arguments and `CONFIG SET requirepass X` inside a
    /// redis-cli command, `NAME=X` for upper-case secret names, URL credentials and literal
    /// secrets. Every other element (paths, scripts, JSON patches) is kept byte for byte.
    public func redact(argv: [String]) -> [String] {
        var out: [String] = []
        var program = ""
        var maskNext = 0
        var redisCommandSeen = false
        for a0 in argv {
            let a = maskSecrets(a0)
            if maskNext > 0 { out.append(Redactor.mask); maskNext -= 1; continue }
            let base = a.split(separator: "/").last.map(String.init) ?? a
            if a == "--" { program = ""; out.append(a); continue }
            if Redactor.secretOptions[base] != nil || (program.isEmpty && !a.hasPrefix("-") && out.last == "--") {
                program = base; redisCommandSeen = false; out.append(a); continue
            }
            // redis-cli's options come before the Redis command; after it, words are its arguments.
            let options = redisCommandSeen ? [] : (Redactor.secretOptions[program] ?? [])
            if options.contains(a) { out.append(a); maskNext = 1; continue }
            if a.hasPrefix("-"), let eq = a.firstIndex(of: "="), options.contains(String(a[..<eq])) {
                out.append(String(a[...eq]) + Redactor.mask); continue
            }
            if !a.hasPrefix("-"), let eq = a.firstIndex(of: "="), eq != a.startIndex {
                let name = String(a[..<eq])
                if name == name.uppercased(), Redactor.secretEnvName.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil {
                    out.append(name + "=" + Redactor.mask); continue
                }
            }
            if program == "redis-cli" || program == "redis-benchmark" {
                let lower = a.lowercased()
                if !a.hasPrefix("-") || redisCommandSeen {
                    if lower == "auth" { out.append(a); maskNext = argv.count; continue }
                    if redisCommandSeen, Redactor.redisSecretWords.contains(lower) { out.append(a); maskNext = 1; continue }
                    redisCommandSeen = true
                }
            }
            out.append(Redactor.urlCredentials(a))
        }
        return out
    }

    /// `scheme://user:X@host` with X masked.
    static func urlCredentials(_ s: String) -> String {
        guard s.contains("://"), s.contains("@") else { return s }
        let (re, keep) = textPatterns[textPatterns.count - 1]
        return re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: keep + mask)
    }

    /// Redacts environment values whose names look secret.
    public func redact(environment: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in environment {
            let secret = Redactor.secretEnvName.firstMatch(in: k, range: NSRange(k.startIndex..., in: k)) != nil
            out[k] = secret ? Redactor.mask : redact(v)
        }
        return out
    }

    public func redact(_ e: IncidentEntry) -> IncidentEntry {
        var r = e
        func f(_ s: String?) -> String? { s.map { redact($0) } }
        r.message = f(e.message); r.stdout = f(e.stdout); r.stderr = f(e.stderr); r.prompt = f(e.prompt)
        r.answer = f(e.answer); r.seen = f(e.seen); r.text = f(e.text); r.value = f(e.value); r.condition = f(e.condition)
        r.stepTitle = f(e.stepTitle)
        r.argv = e.argv.map { redact(argv: $0) }
        r.variables = e.variables.map { vars in
            var out: [String: String] = [:]
            for (k, v) in vars {
                let secret = Redactor.secretEnvName.firstMatch(in: k, range: NSRange(k.startIndex..., in: k)) != nil
                out[k] = secret ? Redactor.mask : redact(v)
            }
            return out
        }
        return r
    }
}

/// Append-only JSON Lines incident log: each entry is redacted, written with one write(2) and
/// fsync'd before `append` returns. The file is created 0600 in a 0700 directory.
public final class IncidentLog: @unchecked Sendable {
    public let path: String
    private var _redactor: Redactor
    private let fd: Int32
    private let lock = NSLock()
    public var redactor: Redactor { lock.lock(); defer { lock.unlock() }; return _redactor }

    /// A secret learned during the run (a password read in the pod): masked from now on.
    public func addSecret(_ secret: String) {
        guard secret.count >= 3 else { return }
        lock.lock(); defer { lock.unlock() }
        _redactor.secrets.append(secret)
    }
    /// Output excerpts are cut to this many characters (head and tail kept).
    public static let excerptLimit = 4000

    /// Opens (creating if needed) the log. `privateDirectory`: create missing parents as 0700
    /// and tighten the immediate parent to 0700 (use it for the default incidents folder).
    public init(path: String, redactor: Redactor = Redactor(), tightenParent: Bool = false) throws {
        self.path = path
        self._redactor = redactor
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        try SecureFiles.makePrivateDirectory(dir)
        if tightenParent { _ = chmod(dir.path, 0o700) }
        let existed = FileManager.default.fileExists(atPath: path)
        let f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard f >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "cannot open incident log \(path): \(String(cString: strerror(errno)))"])
        }
        if !existed { _ = fchmod(f, 0o600) }
        fd = f
    }

    deinit { close(fd) }

    /// The default log path: `<incidents>/<UTC timestamp>-<runbook>.jsonl`.
    public static func defaultPath(incidentsDir: URL, runbookId: String, date: Date = Date()) -> String {
        incidentsDir.appendingPathComponent("\(Timestamps.compact(date))-\(runbookId).jsonl").path
    }

    public static func excerpt(_ s: String, limit: Int = excerptLimit) -> String {
        if s.count <= limit { return s }
        let head = s.prefix(limit * 3 / 4), tail = s.suffix(limit / 4)
        return head + "\n… [\(s.count - limit) characters cut] …\n" + tail
    }

    public func append(_ entry: IncidentEntry, at date: Date = Date()) throws {
        var e = self.redactor.redact(entry)
        if e.ts == nil { e.ts = Timestamps.iso(date) }
        e.stdout = e.stdout.map { IncidentLog.excerpt($0) }
        e.stderr = e.stderr.map { IncidentLog.excerpt($0) }
        e.text = e.text.map { IncidentLog.excerpt($0, limit: 16000) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try enc.encode(e)
        data.append(0x0A)
        lock.lock(); defer { lock.unlock() }
        try SecureFiles.writeAll(fd, data)
        if fsync(fd) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    /// Reads a log; malformed lines are returned as notes so a damaged log still reports.
    /// A line of an incident log that is not an entry.
    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var line: Int
        public var reason: String
        public var description: String { "\(path):\(line): not an incident log entry: \(reason)" }
    }

    /// The entries of a log. A line that is not an entry is an error naming it (the file is not an
    /// incident log, or was damaged), except a last line cut short without its newline (the run
    /// was killed mid-write), which becomes a note so the rest of the timeline is not lost.
    public static func read(path: String) throws -> [IncidentEntry] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let dec = JSONDecoder()
        var out: [IncidentEntry] = []
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where !line.isEmpty {
            do { out.append(try dec.decode(IncidentEntry.self, from: Data(line))) } catch {
                let tornLast = i == lines.count - 1 && data.last != 0x0A && !out.isEmpty
                guard tornLast else {
                    let why = (error as? DecodingError).map(describe) ?? "\(error)"
                    throw ReadError(path: path, line: i + 1, reason: why)
                }
                var n = IncidentEntry(type: .note)
                n.message = "line \(i + 1) of the log was cut short (the run was interrupted while writing it)"
                out.append(n)
            }
        }
        return out
    }

    private static func describe(_ e: DecodingError) -> String {
        switch e {
        case .dataCorrupted(let c): return "not JSON (\(c.debugDescription))"
        case .keyNotFound(let k, _): return "no \"\(k.stringValue)\" field"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "field \"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        @unknown default: return "\(e)"
        }
    }
}
