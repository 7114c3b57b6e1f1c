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

/// The first discovery walk and every queue's figures in ONE read-only script call
/// (`EVAL_RO script 0 prefix cursor rounds maxCounted pattern budget`), instead of the SCAN rounds, the
/// ~11 one-line commands per queue and the jobs' `HGET`s sent one after another through redis-cli
/// (BENCHMARKS.md, session 10, figure 3). The script runs at most `rounds` bounded
/// `SCAN cursor MATCH <prefix>:*:meta COUNT 1000` (never KEYS), none after `budget` microseconds
/// (Redis's `TIME`; the caller goes on with plain SCANs from the cursor), and, for the first `maxCounted`
/// queues it found, exactly the commands `countCommands` and the Prober's per-queue lines send:
/// the 8 counts, `LINDEX wait -1`, `HGET meta paused`, `LINDEX active 0`, then, when `wait` is not
/// empty, `HGET <prefix>:<q>:<id> timestamp` for the oldest waiting job and `processedOn` for the
/// newest active one. Nothing is written.
///
/// Reply: ONE bulk string on one line, printable ASCII only:
///   `RRQ1 <cursor> <rounds> <names> <counted>` then ` <hex name>` per name found, then per counted
///   queue 13 fields ` <f>`: `=<hex>` a value, `-` nil, `!` an error reply, `~` not asked (the job
///   `HGET`s when `wait` is empty or the id is blank or holds a space).
public enum BullMQScript {
    public static let source: String = {
        let states = BullMQ.states.map { "{'\($0.command)','\($0.suffix)'}" }.joined(separator: ",")
        return """
        local prefix, cursor, rounds, maxc, pattern, budget = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
        local head = prefix .. ':'
        local found, names, n = {}, {}, 0
        local function micros() local t = redis.call('TIME'); return tonumber(t[1]) * 1000000 + tonumber(t[2]) end
        local start = micros()
        repeat
          local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
          cursor = r[1]; n = n + 1
          for _, k in ipairs(r[2]) do
            if #k > #head + 5 and string.sub(k, 1, #head) == head and string.sub(k, -5) == ':meta' then
              local q = string.sub(k, #head + 1, -6)
              if not found[q] then found[q] = true; names[#names + 1] = q end
            end
          end
        until cursor == '0' or n >= rounds or micros() - start >= budget
        local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end
        local function f(v)
          if type(v) == 'table' then return '!' end
          if v == false or v == nil then return '-' end
          return '=' .. hex(tostring(v))
        end
        local states = {\(states)}
        local out = {'RRQ1', cursor, tostring(n), tostring(#names), tostring(math.min(#names, maxc))}
        for i = 1, #names do out[#out + 1] = hex(names[i]) end
        for i = 1, math.min(#names, maxc) do
          local base = head .. names[i] .. ':'
          local wait
          for j = 1, #states do
            local v = redis.pcall(states[j][1], base .. states[j][2])
            if j == 1 and type(v) == 'number' then wait = v end
            out[#out + 1] = f(v)
          end
          local oldest = redis.pcall('LINDEX', base .. 'wait', -1)
          local paused = redis.pcall('HGET', base .. 'meta', 'paused')
          local newest = redis.pcall('LINDEX', base .. 'active', 0)
          out[#out + 1] = f(oldest); out[#out + 1] = f(paused); out[#out + 1] = f(newest)
          for _, a in ipairs({{oldest, 'timestamp'}, {newest, 'processedOn'}}) do
            local id = type(a[1]) == 'string' and string.match(a[1], '^%s*(.-)%s*$') or ''
            if wait and wait > 0 and id ~= '' and not string.find(id, ' ', 1, true) then
              out[#out + 1] = f(redis.pcall('HGET', base .. id, a[2]))
            else
              out[#out + 1] = '~'
            end
          end
        end
        return table.concat(out, ' ')
        """
    }()

    /// The redis-cli line: `EVAL_RO <script> 0 prefix cursor rounds maxCounted pattern budget`.
    public static func command(prefix: String = "bull", cursor: String = "0", rounds: Int, maxCounted: Int, budgetMicros: Int) -> String {
        let cur = cursor.allSatisfy(\.isNumber) && !cursor.isEmpty ? cursor : "0"
        return RedisCLI.line(["EVAL_RO", source, "0", prefix, cur, String(max(rounds, 1)), String(max(maxCounted, 0)),
                              BullMQ.globEscape(prefix) + ":*:meta", String(max(budgetMicros, 0))])
    }

    /// One field of a counted queue: the reply redis-cli would have printed for that command,
    /// or nil when the script did not ask (`~`).
    public enum Field: Sendable, Equatable {
        case value(String), null, error, notAsked
        /// What a one-line redis-cli reply to the command reads as: the value, an empty line for
        /// nil, an error's words (never an integer, never "1", always with a space).
        public var line: String? {
            switch self {
            case .value(let v): return v
            case .null: return ""
            case .error: return "ERR error reply"
            case .notAsked: return nil
            }
        }
    }

    public struct Reply: Sendable, Equatable {
        public var cursor: String
        public var rounds: Int
        public var names: [String]
        /// Per counted queue (the first `counted.count` of `names`): 13 fields.
        public var counted: [String: [Field]]
    }

    public static let fieldsPerQueue = 13

    /// Parses the script's reply; nil when it is not one (an error: EVAL_RO unknown before
    /// Redis 7, NOPERM, LOADING...), and the caller walks with plain SCANs instead.
    public static func parse(_ text: String) -> Reply? {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 5, parts[0] == "RRQ1", parts[1].allSatisfy(\.isNumber), !parts[1].isEmpty,
              let rounds = Int(parts[2]), let n = Int(parts[3]), let c = Int(parts[4]), n >= 0, c >= 0, c <= n,
              parts.count == 5 + n + c * fieldsPerQueue else { return nil }
        var names: [String] = []
        for i in 0..<n {
            guard let s = unhex(parts[5 + i]) else { return nil }
            names.append(s)
        }
        var counted: [String: [Field]] = [:]
        var at = 5 + n
        for i in 0..<c {
            var fs: [Field] = []
            for p in parts[at..<(at + fieldsPerQueue)] {
                switch p.first {
                case "-" where p.count == 1: fs.append(.null)
                case "!" where p.count == 1: fs.append(.error)
                case "~" where p.count == 1: fs.append(.notAsked)
                case "=": guard let v = unhex(p.dropFirst()) else { return nil }; fs.append(.value(v))
                default: return nil
                }
            }
            at += fieldsPerQueue
            counted[names[i]] = fs
        }
        return Reply(cursor: String(parts[1]), rounds: rounds, names: names, counted: counted)
    }

    static func unhex(_ s: Substring) -> String? {
        guard s.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.count / 2)
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            guard let b = UInt8(s[i..<j], radix: 16) else { return nil }
            bytes.append(b)
            i = j
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The id the script trimmed (Lua's `%s`: ASCII blanks) before asking for the job's hash.
    public static func luaTrimmed(_ s: String) -> String {
        let blanks: Set<UInt8> = [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]
        var b = Array(s.utf8)
        while let f = b.first, blanks.contains(f) { b.removeFirst() }
        while let l = b.last, blanks.contains(l) { b.removeLast() }
        return String(decoding: b, as: UTF8.self)
    }
}
