import Foundation

/// Parsed output of Redis `INFO` (any section set), tolerant of every flavour seen in the wild:
/// Redis 3–8, Valkey, KeyDB, Dragonfly and Sentinel.
///
/// Accepts `\r\n` or `\n`, a leading RESP bulk header (`$4050`), `# Section` headers, `key:value`
/// lines (keys before any header go to section ""), values with a `%` suffix, and sub-field values
/// such as `db0:keys=1,expires=0` or `errorstat_OOM:count=8`. Lines that are not `key:value`
/// (prompts, comments, garbage) are ignored. When a key occurs twice, the first one wins for the
/// accessors; `entries` keeps every line.
public struct RedisInfo: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var section: String
        public var key: String
        public var value: String
    }

    /// Every `key:value` line, in order.
    public private(set) var entries: [Entry] = []
    /// Section names in order of appearance (as written, e.g. "Server", "Scripting Engines"),
    /// including empty ones such as an empty `# Errorstats`.
    public private(set) var sections: [String] = []
    private var index: [String: String] = [:]

    public init() {}

    /// Parses INFO text. Never fails: unknown lines are skipped.
    public static func parse(_ text: String) -> RedisInfo {
        var info = RedisInfo()
        var current = ""
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = trimmed(raw)
            if line.isEmpty { continue }
            if line.first == "#" {
                let name = String(trimmed(line.dropFirst()))
                if isSectionName(name) {
                    current = name
                    if !info.sections.contains(name) { info.sections.append(name) }
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            guard isKey(key) else { continue }
            let value = String(line[line.index(after: colon)...])
            info.entries.append(Entry(section: current, key: key, value: value))
            if info.index[key] == nil { info.index[key] = value }
        }
        return info
    }

    /// Leading and trailing spaces and tabs (and other non-newline white space) removed, natively:
    /// Foundation's `trimmingCharacters` bridges to NSString and was a tenth of a refresh.
    static func trimmed(_ s: Substring) -> Substring {
        var t = s
        while let f = t.first, f.isWhitespace, !f.isNewline { t = t.dropFirst() }
        while let l = t.last, l.isWhitespace, !l.isNewline { t = t.dropLast() }
        return t
    }

    private static func isSectionName(_ s: String) -> Bool {
        guard let first = s.first, first.isLetter, s.count <= 40 else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == " " || $0 == "_" || $0 == "-" }
    }

    private static func isKey(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.count <= 200,
              (first >= "a" && first <= "z") || (first >= "A" && first <= "Z") || first == "_" else { return false }
        return s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-" || c == "."
        }
    }

    /// True when no `key:value` line was found.
    public var isEmpty: Bool { entries.isEmpty }

    /// The raw value of `key` (first occurrence), e.g. `string("redis_version")` → "7.0.15".
    public func string(_ key: String) -> String? { index[key] }

    /// Integer value; a trailing `%` is ignored; nil when missing or not an integer.
    public func int(_ key: String) -> Int64? {
        guard let v = index[key] else { return nil }
        return Self.toInt(v)
    }

    /// Floating-point value; a trailing `%` is ignored; nil when missing or not a number.
    public func double(_ key: String) -> Double? {
        guard let v = index[key] else { return nil }
        return Self.toDouble(v)
    }

    /// `0`/`1` (or `no`/`yes`) as a Bool.
    public func bool(_ key: String) -> Bool? {
        switch index[key]?.lowercased() {
        case "1", "yes", "true": return true
        case "0", "no", "false": return false
        default: return nil
        }
    }

    /// Sub-fields of a value like `keys=1,expires=0,avg_ttl=0` (first occurrence of a name wins).
    public func fields(_ key: String) -> [String: String]? {
        guard let v = index[key] else { return nil }
        return Self.subfields(v)
    }

    /// Whether a section header (case-insensitive) was present, even if empty.
    public func hasSection(_ name: String) -> Bool {
        sections.contains { $0.caseInsensitiveCompare(name) == .orderedSame }
    }

    /// The `key:value` lines of one section (case-insensitive name), in order.
    public func section(_ name: String) -> [(key: String, value: String)] {
        entries.filter { $0.section.caseInsensitiveCompare(name) == .orderedSame }.map { ($0.key, $0.value) }
    }

    /// Keys per database from `dbN:keys=..` lines, e.g. ["db0": 1234].
    public var keyspace: [String: Int64] {
        var out: [String: Int64] = [:]
        for e in entries where e.key.hasPrefix("db") && e.key.dropFirst(2).allSatisfy(\.isNumber) && e.key.count > 2 {
            if let n = Self.subfields(e.value)["keys"].flatMap(Self.toInt), out[e.key] == nil { out[e.key] = n }
        }
        return out
    }

    /// Error counts from `errorstat_<NAME>:count=N`, e.g. ["OOM": 8, "ERR": 30].
    public var errorStats: [String: Int64] {
        var out: [String: Int64] = [:]
        for e in entries where e.key.hasPrefix("errorstat_") {
            if let n = Self.subfields(e.value)["count"].flatMap(Self.toInt) { out[String(e.key.dropFirst(10)), default: 0] += n }
        }
        return out
    }

    /// Per-command stats from `cmdstat_<cmd>:calls=..,usec=..,rejected_calls=..`, values as Doubles.
    public var commandStats: [String: [String: Double]] {
        var out: [String: [String: Double]] = [:]
        for e in entries where e.key.hasPrefix("cmdstat_") {
            let name = String(e.key.dropFirst(8))
            if out[name] != nil { continue }
            out[name] = Self.subfields(e.value).compactMapValues(Self.toDouble)
        }
        return out
    }

    static func subfields(_ v: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in v.split(separator: ",") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let k = String(trimmed(part[..<eq]))
            if out[k] == nil { out[k] = String(part[part.index(after: eq)...]) }
        }
        return out
    }

    static func toInt(_ raw: String) -> Int64? {
        var v = trimmed(raw[...])
        if v.last == "%" { v.removeLast() }
        return Int64(v)
    }

    static func toDouble(_ raw: String) -> Double? {
        var v = trimmed(raw[...])
        if v.last == "%" { v.removeLast() }
        guard !v.isEmpty, let d = Double(v), d.isFinite else { return nil }
        return d
    }
}

/// Parsing of redis-cli's raw `CONFIG GET` output (one name line, then one value line, per pair).
public enum RedisConfig {
    /// The parameters the snapshot reads, one `CONFIG GET` line each (send them in one batch and
    /// feed the whole reply to `parseGetReply`).
    public static let probeCommands: [String] = ["appendonly", "appendfsync", "maxmemory", "maxmemory-policy",
                                                 "appenddirname", "appendfilename", "dir"].map { "CONFIG GET \($0)" }

    /// Pairs the lines of one or more raw `CONFIG GET` replies into name → value.
    /// `\r\n` is accepted. An empty reply (no such parameter) is a lone empty line and is skipped;
    /// an empty value (e.g. `save ""`) is kept as "".
    public static func parseGetReply(_ text: String) -> [String: String] {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var out: [String: String] = [:]
        var i = 0
        while i < lines.count {
            let name = lines[i].trimmingCharacters(in: .whitespaces)
            if name.isEmpty || name.contains(" ") { i += 1; continue }
            guard i + 1 < lines.count else { break }
            out[name] = lines[i + 1]
            i += 2
        }
        return out
    }
}

/// What state a Redis error reply or redis-cli message reveals.
public enum RedisReplyState {
    /// Classifies a reply/stderr text into a `Snapshot.redisState` value: "loading", "misconf",
    /// "oom", "wrongpass", "noauth", "busy", "unreachable"; nil when it shows none of these.
    public static func classify(_ text: String) -> String? {
        let t = text
        if t.contains("LOADING") { return "loading" }
        if t.contains("MISCONF") { return "misconf" }
        if t.contains("WRONGPASS") { return "wrongpass" }
        if t.contains("NOAUTH") { return "noauth" }
        if t.contains("OOM command not allowed") || t.hasPrefix("OOM ") || t.contains("-OOM ") { return "oom" }
        if t.hasPrefix("BUSY ") || t.contains("Redis is busy") { return "busy" }
        let lower = t.lowercased()
        if lower.contains("could not connect to redis") || lower.contains("connection refused") || lower.contains("connection reset")
            || lower.contains("server closed the connection") {
            return "unreachable"
        }
        return nil
    }
}
