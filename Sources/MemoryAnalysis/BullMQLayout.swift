import Foundation

/// Where a key sits in the BullMQ layout (`<prefix>:<queue>:<suffix>`), from its name and the
/// state the batch script found for the job it belongs to.
public struct BullKey: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        /// A queue-level structure (`wait`, `completed`, `events`, `meta`, `de:*`, ...), by row name.
        case structure(String)
        /// A job hash (`<prefix>:<queue>:<id>`) in the given state row.
        case job(String)
        /// A job's companion key (`:lock`, `:logs`, `:dependencies`, ...) in the given state row.
        case jobAux(String, suffix: String)
    }
    public var queue: [UInt8]
    public var role: Role
}

public enum BullMQLayout {
    /// State rows in report order: job states first, then the other queue structures.
    public static let stateOrder = [
        "wait", "active", "paused", "prioritized", "delayed", "waiting-children", "completed", "failed",
        "events", "meta", "id", "marker", "stalled", "stalled-check", "repeat", "limiter", "de", "pc", "metrics", "other",
    ]
    static let structures: Set<String> = [
        "active", "wait", "waiting-children", "paused", "id", "delayed", "prioritized", "stalled-check", "completed",
        "failed", "stalled", "repeat", "limiter", "meta", "events", "pc", "marker", "de", "metrics",
    ]
    static let auxSuffixes: Set<String> = ["lock", "logs", "dependencies", "processed", "failed", "unsuccessful"]

    public static func stateName(_ code: BullCode) -> String? {
        switch code {
        case .completed: return "completed"
        case .failed: return "failed"
        case .delayed: return "delayed"
        case .prioritized: return "prioritized"
        case .waitingChildren: return "waiting-children"
        case .active: return "active"
        case .waiting: return "wait"
        case .none, .structure: return nil
        }
    }

    /// `prefixColon` is the prefix with its trailing `:` (e.g. `bull:`).
    public static func classify(_ key: [UInt8], code: BullCode, prefixColon: [UInt8]) -> BullKey? {
        guard code != .none, !prefixColon.isEmpty, key.count > prefixColon.count,
              key[0..<prefixColon.count].elementsEqual(prefixColon) else { return nil }
        let rest = key[prefixColon.count...]
        guard let colon = rest.firstIndex(of: 0x3A) else {
            return BullKey(queue: Array(rest), role: .structure("other"))
        }
        let queue = Array(rest[rest.startIndex..<colon])
        let tail = rest[(colon + 1)...]
        if code == .structure {
            let name = String(decoding: tail, as: UTF8.self)
            if structures.contains(name) { return BullKey(queue: queue, role: .structure(name)) }
            if let c = tail.firstIndex(of: 0x3A) {
                let head = String(decoding: tail[tail.startIndex..<c], as: UTF8.self)
                if head == "de" || head == "metrics" || head == "repeat" { return BullKey(queue: queue, role: .structure(head)) }
            }
            return BullKey(queue: queue, role: .structure("other"))
        }
        let state = stateName(code) ?? "other"
        if let c = tail.lastIndex(of: 0x3A) {
            let last = String(decoding: tail[(c + 1)...], as: UTF8.self)
            if auxSuffixes.contains(last) { return BullKey(queue: queue, role: .jobAux(state, suffix: last)) }
        }
        return BullKey(queue: queue, role: .job(state))
    }

    /// Pattern for a key that `classify` placed: `bull:emails:{job}`, `bull:emails:{job}:lock`,
    /// `bull:emails:completed`, `bull:emails:de:{…}`.
    public static func pattern(prefixColon: [UInt8], _ k: BullKey, key: [UInt8]) -> String {
        let base = KeyDisplay.render(prefixColon) + KeyDisplay.render(k.queue) + ":"
        switch k.role {
        case .job: return base + "{job}"
        case .jobAux(_, let suffix): return base + "{job}:" + suffix
        case .structure(let name):
            let tailStart = prefixColon.count + k.queue.count + 1
            guard tailStart <= key.count else { return KeyPattern.pattern(key) }
            let tail = Array(key[tailStart...])
            if structures.contains(name), tail.count == name.utf8.count { return base + name }
            return KeyDisplay.render(prefixColon) + KeyDisplay.render(k.queue) + ":" + KeyPattern.pattern(tail)
        }
    }
}
