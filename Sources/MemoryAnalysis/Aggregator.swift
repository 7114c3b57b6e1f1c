import Foundation

/// Folds sized keys into bounded aggregates: per pattern, the top N keys, and BullMQ per queue
/// and state. Memory stays bounded whatever the key count (patterns and queues are capped).
struct Aggregator {
    struct PatternStat { var keys = 0; var bytes = 0; var withTTL = 0; var byType = [Int](repeating: 0, count: KeyType.allCases.count) }
    struct StateStat { var structureKeys = 0; var structureBytes = 0; var jobs = 0; var jobKeys = 0; var jobBytes = 0 }
    struct QueueStat { var keys = 0; var bytes = 0; var states: [String: StateStat] = [:] }

    let topN: Int
    let maxPatterns: Int
    let maxQueues: Int
    let prefixColon: [UInt8]

    var patterns: [String: PatternStat] = [:]
    var overflow = PatternStat()
    var overflowed = false
    var top: [SizedKey] = []   // sorted by bytes descending, at most topN
    var queues: [[UInt8]: QueueStat] = [:]
    var sizedBytes = 0
    var keysSized = 0

    static let overflowPattern = "(other patterns: pattern limit reached)"

    init(topN: Int, maxPatterns: Int = 10_000, maxQueues: Int = 1_000, bullPrefix: String) {
        self.topN = max(0, topN)
        self.maxPatterns = maxPatterns
        self.maxQueues = maxQueues
        self.prefixColon = bullPrefix.isEmpty ? [] : Array(bullPrefix.utf8) + [0x3A]
    }

    /// One key: its group of one, and a candidate for the top list.
    mutating func add(_ k: SizedKey) {
        add(KeyGroup(key: k.key, type: k.type, hasTTL: k.hasTTL, bull: k.bull, count: 1, bytes: k.bytes))
        offerTop(k)
    }

    /// A group of keys from a batch (every key of it has the pattern of its first key).
    mutating func add(_ g: KeyGroup) {
        keysSized += g.count
        sizedBytes += g.bytes
        let bull = BullMQLayout.classify(g.key, code: g.bull, prefixColon: prefixColon)
        let pattern = bull.map { BullMQLayout.pattern(prefixColon: prefixColon, $0, key: g.key) } ?? KeyPattern.pattern(g.key)
        let ti = KeyType.allCases.firstIndex(of: g.type)!
        func count(_ st: inout PatternStat) {
            st.keys += g.count; st.bytes += g.bytes; st.byType[ti] += g.count
            if g.hasTTL { st.withTTL += g.count }
        }
        if patterns.count < maxPatterns || patterns[pattern] != nil {
            count(&patterns[pattern, default: PatternStat()])  // one hash lookup, updated in place
        } else {
            overflowed = true
            count(&overflow)
        }
        if let bull {
            if queues[bull.queue] == nil, queues.count >= maxQueues { return }
            var q = queues[bull.queue, default: QueueStat()]
            q.keys += g.count; q.bytes += g.bytes
            switch bull.role {
            case .structure(let name):
                q.states[name, default: StateStat()].structureKeys += g.count
                q.states[name]!.structureBytes += g.bytes
            case .job(let state):
                q.states[state, default: StateStat()].jobs += g.count
                q.states[state]!.jobKeys += g.count
                q.states[state]!.jobBytes += g.bytes
            case .jobAux(let state, _):
                q.states[state, default: StateStat()].jobKeys += g.count
                q.states[state]!.jobBytes += g.bytes
            }
            queues[bull.queue] = q
        }
    }

    /// A key for the top list: kept when it is bigger than the smallest kept (ties: the first seen stays).
    mutating func offerTop(_ k: SizedKey) {
        if topN > 0, top.count < topN || k.bytes > top[top.count - 1].bytes {
            let at = top.firstIndex { $0.bytes < k.bytes } ?? top.count
            top.insert(k, at: at)
            if top.count > topN { top.removeLast() }
        }
    }

    /// The size a key must exceed to enter the top list (-1: any key; the list is not full).
    var topMin: Int { topN == 0 || top.count < topN ? -1 : top[top.count - 1].bytes }

    /// Builds the report rows; `scale` multiplies counts and bytes (sampling).
    func rows(scale: Double, patternLimit: Int) -> (patterns: [MemoryReport.PatternRow], other: MemoryReport.OtherPatterns,
                                                     top: [MemoryReport.KeyRow], bull: [MemoryReport.QueueRow], keyBytes: Int) {
        func s(_ v: Int) -> Int { Int((Double(v) * scale).rounded()) }
        let keyBytes = s(sizedBytes)
        let denom = Double(max(keyBytes, 1))
        var all = patterns.map { ($0.key, $0.value) }
        if overflowed { all.append((Self.overflowPattern, overflow)) }
        all.sort { $0.1.bytes != $1.1.bytes ? $0.1.bytes > $1.1.bytes : $0.0 < $1.0 }
        let shown = all.prefix(max(0, patternLimit))
        let rest = all.dropFirst(max(0, patternLimit))
        let prow = shown.map { (name, st) -> MemoryReport.PatternRow in
            let ti = st.byType.indices.max { st.byType[$0] < st.byType[$1] }!
            return MemoryReport.PatternRow(pattern: name, keys: s(st.keys), bytes: s(st.bytes),
                                           share: Double(s(st.bytes)) / denom,
                                           averageBytes: st.keys > 0 ? st.bytes / st.keys : 0,
                                           type: KeyType.allCases[ti].rawValue, keysWithTTL: s(st.withTTL))
        }
        let restBytes = rest.reduce(0) { $0 + $1.1.bytes }
        let other = MemoryReport.OtherPatterns(patterns: rest.count, keys: s(rest.reduce(0) { $0 + $1.1.keys }),
                                               bytes: s(restBytes), share: Double(s(restBytes)) / denom)
        let trow = top.map { k -> MemoryReport.KeyRow in
            let shown = KeyDisplay.render(k.key)
            let clean = String(validating: k.key, as: UTF8.self).map { $0 == shown } ?? false
            let bull = BullMQLayout.classify(k.key, code: k.bull, prefixColon: prefixColon)
            let pattern = bull.map { BullMQLayout.pattern(prefixColon: prefixColon, $0, key: k.key) } ?? KeyPattern.pattern(k.key)
            return MemoryReport.KeyRow(key: shown, keyHex: clean ? nil : k.key.map { String(format: "%02x", $0) }.joined(),
                                       type: k.type.rawValue, bytes: k.bytes, pattern: pattern)
        }
        let order = Dictionary(uniqueKeysWithValues: BullMQLayout.stateOrder.enumerated().map { ($1, $0) })
        var qrows = queues.map { (name, q) -> MemoryReport.QueueRow in
            let states = q.states.map { (state, st) in
                MemoryReport.StateRow(state: state, structureKeys: s(st.structureKeys), structureBytes: s(st.structureBytes),
                                      jobs: s(st.jobs), jobKeys: s(st.jobKeys), jobBytes: s(st.jobBytes),
                                      bytes: s(st.structureBytes + st.jobBytes))
            }.sorted { (order[$0.state] ?? 999, $0.state) < (order[$1.state] ?? 999, $1.state) }
            return MemoryReport.QueueRow(queue: KeyDisplay.render(name), keys: s(q.keys), bytes: s(q.bytes),
                                         jobs: s(q.states.values.reduce(0) { $0 + $1.jobs }), states: states)
        }
        qrows.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.queue < $1.queue }
        return (prow, other, trow, qrows, keyBytes)
    }
}
