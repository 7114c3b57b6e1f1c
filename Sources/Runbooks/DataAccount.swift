import Foundation

/// What the tool saw of the data in one Redis at one time: the numbers a run is accounted
/// against (key counts, memory, AOF sizes, BullMQ job counts). Built by the CLI from a snapshot
/// in which Redis answered in full; kept as the "last seen" record of a target.
public struct DataPoint: Codable, Sendable, Equatable {
    /// When it was seen (RFC 3339 UTC).
    public var seenAt: String
    /// Key count per db (INFO keyspace), e.g. ["db0": 81340].
    public var keys: [String: Int]
    public var usedMemoryBytes: Int64?
    public var aofEnabled: Bool?
    /// INFO persistence: aof_current_size (all AOF files) and aof_base_size.
    public var aofCurrentBytes: Int64?
    public var aofBaseBytes: Int64?
    /// CONFIG appenddirname / appendfilename (the names of the AOF files on the volume).
    public var aofDir: String?
    public var aofFileName: String?
    /// BullMQ job counts per queue ("prefix:name") and state (waiting, active, delayed, ...).
    public var jobs: [String: [String: Int64]]
    /// ADR 0005 compliance as the rules table judged it then (the dashboard's and `check`'s rows);
    /// nil in a record written before it was kept.
    public var adr: [AdrRow]?

    public init(seenAt: String, keys: [String: Int], usedMemoryBytes: Int64? = nil, aofEnabled: Bool? = nil,
                aofCurrentBytes: Int64? = nil, aofBaseBytes: Int64? = nil, aofDir: String? = nil, aofFileName: String? = nil,
                jobs: [String: [String: Int64]] = [:], adr: [AdrRow]? = nil) {
        self.seenAt = seenAt; self.keys = keys; self.usedMemoryBytes = usedMemoryBytes; self.aofEnabled = aofEnabled
        self.aofCurrentBytes = aofCurrentBytes; self.aofBaseBytes = aofBaseBytes; self.aofDir = aofDir; self.aofFileName = aofFileName
        self.jobs = jobs; self.adr = adr
    }

    public var totalKeys: Int { keys.values.reduce(0, +) }
    /// Every job in every queue and state.
    public var totalJobs: Int64 { jobs.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
}

/// One ADR 0005 check as judged (Diagnosis' `AdrCheck`, carried as data: Runbooks does not
/// import Diagnosis). `status` is "pass", "fail" or "unknown".
public struct AdrRow: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var status: String
    public var detail: String
    public init(id: String, title: String, status: String, detail: String) {
        self.id = id; self.title = title; self.status = status; self.detail = detail
    }
}

/// Which Redis a record belongs to: kubeconfig context (or the kubeconfig whose current
/// context was used), namespace, StatefulSet and pod.
public struct DataTarget: Codable, Sendable, Equatable {
    public var context: String
    public var namespace: String
    public var statefulset: String
    public var pod: String
    public init(context: String, namespace: String, statefulset: String, pod: String) {
        self.context = context; self.namespace = namespace; self.statefulset = statefulset; self.pod = pod
    }
    /// A file name for the record: readable parts plus a hash of the whole key.
    public var fileName: String {
        let key = [context, namespace, statefulset, pod].joined(separator: "\u{1F}")
        var h: UInt64 = 0xcbf29ce484222325
        for b in key.utf8 { h ^= UInt64(b); h = h &* 0x100000001b3 }
        let safe = "\(namespace)-\(pod)".map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") ? $0 : "_" }
        return String(safe.prefix(80)) + "-" + String(h, radix: 16) + ".json"
    }
}

/// The last full answer the tool got from a target, kept across processes.
public struct LastSeenRecord: Codable, Sendable, Equatable {
    public var version = 1
    public var target: DataTarget
    /// Which command saw it ("status", "dashboard", "runbook aof-corruption").
    public var by: String
    public var data: DataPoint
    public init(target: DataTarget, by: String, data: DataPoint) { self.target = target; self.by = by; self.data = data }
}

public enum LastSeenError: Error, CustomStringConvertible, Equatable {
    /// The file could not be decoded; it was moved aside (not lost) to `keptAs`.
    case corrupt(path: String, keptAs: String?, reason: String)
    case unreadable(path: String, reason: String)
    public var description: String {
        switch self {
        case .corrupt(let p, let kept, let why):
            return "the last-seen record \(p) is not valid (\(why)); " + (kept.map { "it was kept as \($0)" } ?? "it was left in place")
        case .unreadable(let p, let why): return "cannot read the last-seen record \(p): \(why)"
        }
    }
}

/// Last-seen records, one JSON file per target in `directory` (0700), each replaced atomically
/// (a temporary file, mode 0600, fsync'd, then rename). A file that cannot be decoded is never
/// overwritten silently: it is renamed to `<name>.corrupt-<time>` and the error says so.
public struct LastSeenStore: Sendable {
    public var directory: URL
    public init(directory: URL) { self.directory = directory }

    public func url(for target: DataTarget) -> URL { directory.appendingPathComponent(target.fileName) }

    public func save(_ record: LastSeenRecord) throws {
        try SecureFiles.makePrivateDirectory(directory)
        let dest = url(for: record.target)
        if FileManager.default.fileExists(atPath: dest.path), case .failure(let e) = decode(dest), case .corrupt = e {
            _ = keepAside(dest)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(record)
        let tmp = directory.appendingPathComponent(".\(record.target.fileName).\(getpid()).tmp")
        try SecureFiles.writePrivate(data, to: tmp)
        if rename(tmp.path, dest.path) != 0 {
            let err = errno
            unlink(tmp.path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: dest.path, NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(err))])
        }
    }

    /// nil when nothing was recorded for this target; throws when the file is there but bad
    /// (a corrupt file is moved aside first, so the next save does not destroy it).
    public func load(_ target: DataTarget) throws(LastSeenError) -> LastSeenRecord? {
        let u = url(for: target)
        guard FileManager.default.fileExists(atPath: u.path) else { return nil }
        switch decode(u) {
        case .success(let r): return r.target == target ? r : nil
        case .failure(let e):
            if case .corrupt(let p, _, let why) = e { throw .corrupt(path: p, keptAs: keepAside(u), reason: why) }
            throw e
        }
    }

    func decode(_ u: URL) -> Result<LastSeenRecord, LastSeenError> {
        let data: Data
        do { data = try Data(contentsOf: u) } catch { return .failure(.unreadable(path: u.path, reason: error.localizedDescription)) }
        do { return .success(try JSONDecoder().decode(LastSeenRecord.self, from: data)) } catch {
            let why: String
            switch error {
            case DecodingError.dataCorrupted(let c): why = "not JSON: \(c.debugDescription)"
            case DecodingError.keyNotFound(let k, _): why = "field '\(k.stringValue)' missing"
            case DecodingError.typeMismatch(_, let c): why = "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
            default: why = "\(error)"
            }
            return .failure(.corrupt(path: u.path, keptAs: nil, reason: clip(why, 160)))
        }
    }

    /// Renames a bad record out of the way; returns the new path.
    func keepAside(_ u: URL) -> String? {
        let aside = u.path + ".corrupt-" + Timestamps.compact(Date())
        return rename(u.path, aside) == 0 ? aside : nil
    }
}

/// How many bytes the run cut from each AOF file, from two listings (`ls -l`) of the same files.
public struct AofCut: Codable, Sendable, Equatable {
    public var file: String
    public var beforeBytes: Int64
    public var afterBytes: Int64
    public var cutBytes: Int64 { beforeBytes - afterBytes }
}

public enum FileListing {
    /// Regular files and their sizes from `ls -l` / `ls -la` output (GNU or busybox): name -> bytes.
    public static func sizes(_ text: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 9, f[0].hasPrefix("-"), let size = Int64(f[4]) else { continue }
            let path = f[8...].joined(separator: " ")
            let name = path.split(separator: "/").last.map(String.init) ?? path
            out[name] = size
        }
        return out
    }

    /// Files that got smaller between the two listings.
    public static func cuts(before: String, after: String) -> [AofCut] {
        let b = sizes(before), a = sizes(after)
        return b.keys.sorted().compactMap { name in
            guard let sb = b[name], let sa = a[name], sa < sb else { return nil }
            return AofCut(file: name, beforeBytes: sb, afterBytes: sa)
        }
    }
}

/// The one accounting line at the end of a run: keys, AOF bytes cut, jobs, before and after.
public struct DataAccount: Codable, Sendable, Equatable {
    public var before: DataPoint?
    /// "live at the start of the run" or "last seen <time> (<age> before the run) by <command>".
    public var beforeSource: String
    public var after: DataPoint?
    public var aofCuts: [AofCut]
    /// The line as printed.
    public var line: String

    public static func make(before: DataPoint?, beforeSource: String, beforeAge: TimeInterval?, after: DataPoint?, aofCuts: [AofCut]) -> DataAccount {
        var keys = "keys "
        keys += before.map { grouped(Int64($0.totalKeys)) + (beforeAge.map { " (last seen \(age($0)) before)" } ?? "") } ?? "unknown"
        keys += " → " + (after.map { grouped(Int64($0.totalKeys)) } ?? "unknown")
        var notes: [String] = []
        if let b = before, let a = after {
            let d = b.totalKeys - a.totalKeys
            if d > 0 { notes.append("\(grouped(Int64(d))) lost") }
            else if d < 0 { notes.append("\(grouped(Int64(-d))) more") }
            else { notes.append("none lost") }
        }
        if !aofCuts.isEmpty {
            notes.append("AOF tail cut: " + aofCuts.map { "\(grouped($0.cutBytes)) bytes of \($0.file)" }.joined(separator: ", "))
        }
        if !notes.isEmpty { keys += " (" + notes.joined(separator: ", ") + ")" }
        var parts = [keys]
        let bj = before.flatMap { $0.jobs.isEmpty ? nil : $0.totalJobs }
        let aj = after.flatMap { $0.jobs.isEmpty ? nil : $0.totalJobs }
        if bj != nil || aj != nil {
            var j = "jobs \(bj.map(grouped) ?? "unknown") → \(aj.map(grouped) ?? "unknown")"
            if let bj, let aj, bj > aj { j += " (\(grouped(bj - aj)) lost)" }
            parts.append(j)
        }
        return DataAccount(before: before, beforeSource: beforeSource, after: after, aofCuts: aofCuts, line: "Data: " + parts.joined(separator: ", "))
    }

    static func grouped(_ n: Int64) -> String { RunbookRun.grouped(Int(clamping: n)) }

    static func age(_ t: TimeInterval) -> String {
        let s = max(0, Int(t))
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 172_800 { return "\(s / 3600) h" }
        return "\(s / 86400) days"
    }
}

extension Runbook {
    /// Whether any command, undo command, text or variable default of this runbook uses `{{name}}`.
    public func mentions(variable name: String) -> Bool {
        var texts: [String] = variables.compactMap(\.defaultValue)
        for s in steps {
            texts.append(s.title)
            if let t = s.text { texts.append(t) }
            if let c = s.command { texts += c.argv.map(\.raw) + [c.stdin?.raw].compactMap { $0 } }
            switch s.undo {
            case .commands(let cmds)?: texts += cmds.flatMap { $0.argv.map(\.raw) }
            case .none(let r)?: texts.append(r)
            default: break
            }
        }
        return texts.contains { ((try? Template.parse($0))?.variables ?? []).contains(name) }
    }
}
