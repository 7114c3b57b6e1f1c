import Diagnosis
import Foundation
import ProcessRunner

// BullMQQueues: which BullMQ queues Redis holds and their counts, for `RedisSession`'s batch.
// Discovery walks the keyspace with bounded `SCAN ... MATCH prefix:*:meta COUNT 1000` (never
// KEYS), one round per dashboard refresh or up to `oneShotDiscoveryRounds` for a one-shot
// snapshot, again every `queueDiscoveryInterval`. It owns `QueueDiscovery` (the cursor, the names
// found so far, the finished list); the commands it sends go through the session it is given. It
// must not touch the session's state, the cluster objects, the exporter or the logs.

struct QueueDiscovery {
    var queueNames: [String] = []
    var cursor = "0"
    var found: Set<String> = []
    var next = Date.distantPast
    /// A whole discovery walk has finished at least once: an empty list then means no queues.
    var listKnown = false
    /// Redis refused the walk's script (`EVAL_RO` unknown before Redis 7, an ACL without it):
    /// plain SCANs from then on.
    var scriptUnavailable = false

    mutating func absorb(_ reply: String, at t: Date, prefix: String, interval: TimeInterval) {
        if let scan = BullMQ.parseScanReply(reply) {
            take(BullMQ.queueNames(fromMetaKeys: scan.keys, prefix: prefix), cursor: scan.cursor, at: t, interval: interval)
            // A cursor not "0": continued on the next refresh, one bounded SCAN per refresh.
        } else {
            next = t.addingTimeInterval(interval)
        }
    }

    /// The walk's first rounds as `BullMQScript` ran them: the same names, the same cursor.
    mutating func absorb(_ r: BullMQScript.Reply, at t: Date, interval: TimeInterval) {
        take(r.names, cursor: r.cursor, at: t, interval: interval)
    }

    private mutating func take(_ names: [String], cursor c: String, at t: Date, interval: TimeInterval) {
        found.formUnion(names)
        cursor = c
        guard c == "0" else { return }
        listKnown = true
        queueNames = found.sorted()
        found = []
        next = t.addingTimeInterval(interval)
    }
}

extension Prober {
    /// A one-shot snapshot walks at most this many SCAN COUNT 1000 rounds to find queues.
    static let oneShotDiscoveryRounds = 50
    /// Per queue: BullMQ's 8 counts, the oldest waiting job id, whether the queue is paused, and
    /// the job a worker took last (BullMQ moves jobs to the head of `active`).
    static let queueLineCount = 11
    /// The walk's script (`BullMQScript`) runs at most this many SCAN COUNT 1000 rounds, none
    /// begun after the budget (the rest of a large keyspace's walk goes on in plain SCANs; one
    /// round is ~0.5-1 ms on 200,000 keys), and counts at most this many queues
    /// (the others in one batch after it): its own time stays a few milliseconds
    /// (BENCHMARKS.md, session 10, figure 3).
    static let scriptDiscoveryRounds = 6
    static let scriptBudgetMicros = 2_000
    static let scriptMaxCounted = 100

    func queueLines(_ q: String) -> [String] {
        let p = target.bullmqPrefix
        return BullMQ.countCommands(prefix: p, queue: q)
            + [RedisCLI.line(["LINDEX", "\(p):\(q):wait", "-1"]), RedisCLI.line(["HGET", "\(p):\(q):meta", "paused"]),
               RedisCLI.line(["LINDEX", "\(p):\(q):active", "0"])]
    }

    func absorbDiscovery(_ reply: String, at t: Date) {
        discovery.absorb(reply, at: t, prefix: target.bullmqPrefix, interval: queueDiscoveryInterval)
    }

    /// Counts per queue, plus how long the oldest waiting job has waited (BullMQ pushes new jobs
    /// at the head of `wait`, so its tail is the oldest; its hash has the `timestamp` in ms).
    /// Jobs that wait long while the queue is not paused mean no worker takes them: a backlog
    /// that one snapshot can see, without comparing refreshes.
    /// `jobs`: the jobs' `HGET`s the walk's script already answered (fields 11 and 12 of
    /// `BullMQScript`), used when it asked for the same job as this code would.
    func queueCounts(_ queues: [String], _ replies: [String: ArraySlice<String>], jobs: [String: [BullMQScript.Field]] = [:],
                     session s: LineSession, now t: Date) async -> [QueueCounts] {
        let p = target.bullmqPrefix
        let prev = previousSnapshot?.queues ?? []
        var counts: [QueueCounts] = []
        var oldest: [(index: Int, id: String)] = []
        var newestActive: [(index: Int, id: String)] = []
        var known: [Int: (oldest: String?, newest: String?)] = [:]
        for q in queues {
            guard let r = replies[q], r.count == Self.queueLineCount else { continue }
            let lines = Array(r)
            var c = BullMQ.parseCounts(prefix: p, queue: q, reply: lines[0..<8].joined(separator: "\n"), previous: prev)
            let paused = lines[9].trimmingCharacters(in: .whitespacesAndNewlines)
            c.pausedFlag = paused == "1"
            let id = lines[8].trimmingCharacters(in: .whitespacesAndNewlines)
            let act = lines[10].trimmingCharacters(in: .whitespacesAndNewlines)
            // The script's answer stands only where it asked for this very job.
            let js = jobs[q].flatMap { $0.count == BullMQScript.fieldsPerQueue ? $0 : nil }
            func asked(_ k: Int, _ raw: String, _ trimmed: String) -> String? {
                guard let js, BullMQScript.luaTrimmed(raw) == trimmed else { return nil }
                return js[k].line
            }
            if !id.isEmpty, !id.contains(" "), (c.waiting ?? 0) > 0 {
                if let v = asked(11, lines[8], id) { known[counts.count, default: (nil, nil)].oldest = v } else { oldest.append((counts.count, id)) }
            }
            if !act.isEmpty, !act.contains(" "), (c.waiting ?? 0) > 0 {
                if let v = asked(12, lines[10], act) { known[counts.count, default: (nil, nil)].newest = v } else { newestActive.append((counts.count, act)) }
            }
            counts.append(c)
        }
        let asks = oldest.map { RedisCLI.line(["HGET", "\(p):\(queues[$0.index]):\($0.id)", "timestamp"]) }
            + newestActive.map { RedisCLI.line(["HGET", "\(p):\(queues[$0.index]):\($0.id)", "processedOn"]) }
        func seconds(_ reply: String) -> Int64? {
            Double(reply.trimmingCharacters(in: .whitespacesAndNewlines)).map { max(0, Int64(t.timeIntervalSince1970 - $0 / 1000)) }
        }
        for (i, k) in known {
            if let o = k.oldest { counts[i].oldestWaitingSeconds = seconds(o) }
            if let a = k.newest { counts[i].lastJobStartedSeconds = seconds(a) }
        }
        if !asks.isEmpty, let r = try? await oneLineEach(s, asks) {
            for (k, o) in oldest.enumerated() where k < r.count { counts[o.index].oldestWaitingSeconds = seconds(r[k]) }
            for (k, a) in newestActive.enumerated() where oldest.count + k < r.count {
                counts[a.index].lastJobStartedSeconds = seconds(r[oldest.count + k])
            }
        }
        return counts
    }
}
