import Foundation

/// Quoting for redis-cli's line input (it splits lines shell-lite, like `sdssplitargs`).
public enum RedisCLI {
    /// The argument as one redis-cli token: unchanged when it is plain, otherwise in double quotes
    /// with `\`, `"`, and control characters escaped.
    public static func quote(_ arg: String) -> String {
        let plain = !arg.isEmpty && arg.unicodeScalars.allSatisfy { c in
            c.value > 0x20 && c.value < 0x7f && c != "\"" && c != "'" && c != "\\"
        }
        if plain { return arg }
        var out = "\""
        for c in arg.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 || c.value == 0x7f { out += String(format: "\\x%02x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }

    /// A command line from arguments, each quoted as needed.
    public static func line(_ args: [String]) -> String { args.map(quote).joined(separator: " ") }
}

/// BullMQ queue discovery and counting through a redis-cli line session.
public enum BullMQ {
    /// The job states counted per queue, with the key suffix and the counting command.
    public static let states: [(state: String, suffix: String, command: String)] = [
        ("waiting", "wait", "LLEN"),
        ("active", "active", "LLEN"),
        ("paused", "paused", "LLEN"),
        ("prioritized", "prioritized", "ZCARD"),
        ("delayed", "delayed", "ZCARD"),
        ("completed", "completed", "ZCARD"),
        ("failed", "failed", "ZCARD"),
        ("waitingChildren", "waiting-children", "ZCARD"),
    ]

    /// Escapes glob metacharacters so a prefix matches literally in `SCAN MATCH`.
    public static func globEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            if "*?[]\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// One bounded discovery step: `SCAN <cursor> MATCH <prefix>:*:meta COUNT <n>` (n clamped to 1...10000).
    public static func discoveryCommand(prefix: String = "bull", cursor: String = "0", count: Int = 1000) -> String {
        let n = min(max(count, 1), 10_000)
        let cur = cursor.allSatisfy(\.isNumber) && !cursor.isEmpty ? cursor : "0"
        return RedisCLI.line(["SCAN", cur, "MATCH", globEscape(prefix) + ":*:meta", "COUNT", String(n)])
    }

    public struct ScanReply: Sendable, Equatable {
        /// The next cursor; "0" when the iteration is complete.
        public var cursor: String
        public var keys: [String]
        public var isComplete: Bool { cursor == "0" }
    }

    /// Parses redis-cli's raw SCAN reply: the cursor line, then one key per line (an empty key
    /// list prints an empty line). Nil when the first line is not a cursor (e.g. an error reply).
    public static func parseScanReply(_ text: String) -> ScanReply? {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let first = lines.first?.trimmingCharacters(in: .whitespaces), !first.isEmpty, first.allSatisfy(\.isNumber) else { return nil }
        return ScanReply(cursor: first, keys: Array(lines.dropFirst()))
    }

    /// Queue names from `<prefix>:<queue>:meta` keys (sorted, unique; other keys ignored).
    public static func queueNames(fromMetaKeys keys: [String], prefix: String = "bull") -> [String] {
        let head = prefix + ":"
        var names = Set<String>()
        for k in keys where k.hasPrefix(head) && k.hasSuffix(":meta") && k.count > head.count + 5 {
            names.insert(String(k.dropFirst(head.count).dropLast(5)))
        }
        return names.sorted()
    }

    /// The eight counting commands, one per line, in the order of `states`:
    /// `LLEN <p>:<q>:wait`, `LLEN …:active`, `LLEN …:paused`, `ZCARD …:prioritized`, `ZCARD …:delayed`,
    /// `ZCARD …:completed`, `ZCARD …:failed`, `ZCARD …:waiting-children`. Keys are quoted as needed.
    public static func countCommands(prefix: String = "bull", queue: String) -> [String] {
        states.map { RedisCLI.line([$0.command, "\(prefix):\(queue):\($0.suffix)"]) }
    }

    /// Parses the replies to `countCommands` (one integer per line; empty lines skipped). A reply
    /// that is not an integer (an error such as WRONGTYPE or LOADING) leaves that count nil.
    /// `previous` gives `waitingDelta` and `waitingGrowthStreak`.
    public static func parseCounts(prefix: String = "bull", queue: String, reply: String, previous: [QueueCounts] = []) -> QueueCounts {
        let lines = reply.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        func n(_ i: Int) -> Int64? { i < lines.count ? Int64(lines[i].hasPrefix("(integer) ") ? String(lines[i].dropFirst(10)) : lines[i]) : nil }
        var q = QueueCounts(prefix: prefix, name: queue)
        q.waiting = n(0); q.active = n(1); q.paused = n(2); q.prioritized = n(3)
        q.delayed = n(4); q.completed = n(5); q.failed = n(6); q.waitingChildren = n(7)
        return withTrend(q, previous: previous)
    }

    /// Fills `waitingDelta` and `waitingGrowthStreak` from the same queue in `previous`.
    public static func withTrend(_ q: QueueCounts, previous: [QueueCounts]) -> QueueCounts {
        var q = q
        guard let p = previous.first(where: { $0.prefix == q.prefix && $0.name == q.name }),
              let now = q.waiting, let before = p.waiting else { return q }
        let delta = now - before
        q.waitingDelta = delta
        q.waitingGrowthStreak = delta > 0 ? (p.waitingGrowthStreak ?? 0) + 1 : 0
        return q
    }
}
