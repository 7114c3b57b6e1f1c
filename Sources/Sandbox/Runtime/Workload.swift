import Foundation

/// RESP (Redis protocol) encoding for `redis-cli --pipe`.
public struct RESPBuffer {
    public private(set) var bytes: [UInt8] = []
    public private(set) var commands = 0
    public init() { bytes.reserveCapacity(1 << 20) }
    public mutating func add(_ args: [String]) {
        appendHeader(42, args.count)
        for var a in args {
            a.withUTF8 { u in
                appendHeader(36, u.count)
                bytes.append(contentsOf: u)
            }
            bytes.append(13); bytes.append(10)
        }
        commands += 1
    }

    /// "*N\r\n" or "$N\r\n" without building strings.
    private mutating func appendHeader(_ sigil: UInt8, _ n: Int) {
        bytes.append(sigil)
        if n == 0 { bytes.append(48) } else {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            var v = n
            withUnsafeMutableBytes(of: &digits) { d in
                while v > 0 && count < 10 { d[count] = UInt8(48 + v % 10); v /= 10; count += 1 }
                for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[i]) }
            }
        }
        bytes.append(13); bytes.append(10)
    }
    public var data: Data { Data(bytes) }
    public mutating func reset() { bytes.removeAll(keepingCapacity: true); commands = 0 }
}

/// The sandbox's application workload: cache and session keys with TTLs (written here), and
/// BullMQ queues, written and worked by the real BullMQ client (`BullMQApp`, scripts/bullmq-app.py).
public enum Workload {
    public static let queues = ["email", "reports", "webhooks"]

    public enum Preset: String, CaseIterable, Sendable { case demo, bullmq, large }

    /// Deterministic pseudo-random numbers (the seed is reproducible).
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// The BullMQ queues of a preset and the jobs the seed gives each (`large`: a backlog).
    public static func queuePlan(preset: Preset, keys: Int?) -> (queues: [String], jobsPerQueue: Int, large: Bool) {
        switch preset {
        case .demo: return (queues, 300, false)
        case .bullmq: return (queues + ["thumbnails", "billing"], 3000, false)
        case .large: return (queues, max(100, (keys ?? 1_000_000) / 10 / queues.count), true)
        }
    }

    /// The cache and session keys of a preset as command batches (each ≤ ~50k commands). `keys`
    /// is the target key count for `large` (the queues' jobs make the last tenth).
    public static func seedBatches(preset: Preset, keys: Int?, nowMs: Int64, body: (RESPBuffer) async throws -> Void) async throws {
        var rng = Rng(s: 0x9E3779B97F4A7C15)
        var buf = RESPBuffer()
        func flush(_ force: Bool = false) async throws {
            if buf.commands >= 50_000 || (force && buf.commands > 0) { try await body(buf); buf.reset() }
        }
        let cacheKeys: Int, sessions: Int
        switch preset {
        case .demo: cacheKeys = keys.map { max(0, $0 - 1500) } ?? 2500; sessions = 400
        case .bullmq: cacheKeys = keys ?? 200; sessions = 50
        case .large:
            let n = keys ?? 1_000_000
            cacheKeys = n * 7 / 10; sessions = n * 2 / 10
        }
        // The large preset is what benchmarks size: its keys must still be there minutes later,
        // so its TTLs are a day (plus the same jitter) instead of minutes.
        let ttlBase = preset == .large ? 86_400 : 0
        func ex(_ s: Int) -> String { String(ttlBase + s) }
        let pad = String(repeating: "x", count: 64)
        for i in 0..<cacheKeys {
            let kind = i % 10
            if kind < 6 {
                let v = "{\"id\":\(i),\"name\":\"user-\(i)\",\"plan\":\"\(["free", "pro", "team"][i % 3])\",\"bio\":\"\(pad.prefix(20 + rng.int(120) % 60))\"}"
                buf.add(["SET", "cache:user:\(i):profile", v, "EX", ex(600 + rng.int(3000))])
            } else if kind < 8 {
                buf.add(["SET", "cache:api:/v1/products?page=\(i)", String(pad.prefix(40)) + String(i), "EX", ex(60 + rng.int(600))])
            } else if kind == 8 {
                buf.add(["SET", "ratelimit:10.\(i / 62_500 % 250).\(i / 250 % 250).\(i % 250)", String(rng.int(100)), "EX", ex(60)])
            } else {
                buf.add(["SET", "feature-flags:\(i)", "{\"beta\":\(i % 2 == 0)}"])
            }
            try await flush()
        }
        for i in 0..<sessions {
            let sid = String(format: "%016llx", rng.next())
            buf.add(["HSET", "sess:\(sid)", "user_id", String(i), "created", String(nowMs - Int64(rng.int(3_600_000))),
                     "ip", "10.0.\(i % 250).\(i % 200)", "ua", "Mozilla/5.0"])
            buf.add(["EXPIRE", "sess:\(sid)", ex(900 + rng.int(1800))])
            try await flush()
        }
        try await flush(true)
    }
}
