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

/// The sandbox's application workload: cache and session keys with TTLs, and BullMQ queues
/// laid out exactly as BullMQ (v5/v6) stores them under the prefix `bull`.
public enum Workload {
    public static let queues = ["email", "reports", "webhooks"]

    public enum Preset: String, CaseIterable, Sendable { case demo, bullmq, large }

    /// Deterministic pseudo-random numbers (the seed is reproducible).
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// Command batches (each ≤ ~50k commands) for a preset. `keys` is the target key count for `large`.
    public static func seedBatches(preset: Preset, keys: Int?, nowMs: Int64, body: (RESPBuffer) async throws -> Void) async throws {
        var rng = Rng(s: 0x9E3779B97F4A7C15)
        var buf = RESPBuffer()
        func flush(_ force: Bool = false) async throws {
            if buf.commands >= 50_000 || (force && buf.commands > 0) { try await body(buf); buf.reset() }
        }
        let cacheKeys: Int, sessions: Int, jobsPerQueue: Int, queueNames: [String]
        switch preset {
        case .demo: cacheKeys = keys.map { max(0, $0 - 1500) } ?? 2500; sessions = 400; jobsPerQueue = 300; queueNames = queues
        case .bullmq: cacheKeys = keys ?? 200; sessions = 50; jobsPerQueue = 3000; queueNames = queues + ["thumbnails", "billing"]
        case .large:
            let n = keys ?? 1_000_000
            cacheKeys = n * 7 / 10; sessions = n * 2 / 10; jobsPerQueue = max(100, n / 10 / queues.count); queueNames = queues
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
        for q in queueNames {
            let p = "bull:\(q):"
            buf.add(["HSET", p + "meta", "opts.maxLenEvents", "10000", "version", "bullmq:5.12.0"])
            var id = 0
            var eventsAdded = 0
            func job(_ state: String) -> String {
                id += 1
                let ts = nowMs - Int64((jobsPerQueue - id) * 1000)
                var fields = ["HSET", p + String(id), "name", "\(q)-job", "data", "{\"to\":\"user\(id)@example.com\",\"n\":\(id)}",
                              "opts", "{\"attempts\":3,\"backoff\":{\"type\":\"exponential\",\"delay\":1000},\"removeOnComplete\":1000,\"removeOnFail\":5000}",
                              "timestamp", String(ts), "delay", "0", "priority", "0", "atm", "0"]
                switch state {
                case "completed":
                    fields += ["processedOn", String(ts + 20), "finishedOn", String(ts + 120), "returnvalue", "{\"ok\":true}", "ats", "1", "atm", "1"]
                case "failed":
                    fields += ["processedOn", String(ts + 20), "finishedOn", String(ts + 90), "failedReason", "connect ETIMEDOUT 10.0.3.7:443",
                               "stacktrace", "[\"Error: connect ETIMEDOUT 10.0.3.7:443\\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\"]",
                               "atm", "3", "ats", "3"]
                case "active":
                    fields += ["processedOn", String(nowMs - 500), "ats", "1"]
                default: break
                }
                buf.add(fields)
                if eventsAdded < 2000 {
                    buf.add(["XADD", p + "events", "MAXLEN", "~", "10000", "*", "event", "added", "jobId", String(id), "name", "\(q)-job"])
                    eventsAdded += 1
                }
                return String(id)
            }
            var completed = jobsPerQueue * 85 / 100, failed = jobsPerQueue * 5 / 100
            let delayed = max(3, jobsPerQueue / 60), prioritized = max(2, jobsPerQueue / 100)
            var waiting = max(10, jobsPerQueue / 20)
            if preset == .large {
                // As the job options say (removeOnComplete 1000, removeOnFail 5000): BullMQ keeps no
                // more than that, so a large queue is a backlog of waiting jobs. (The trickle worker
                // trims `completed` to 1,000; more would vanish during a benchmark.)
                completed = min(completed, 1000); failed = min(failed, 5000)
                waiting = max(10, jobsPerQueue - completed - failed - delayed - prioritized - 1)
            }
            for _ in 0..<completed { let j = job("completed"); buf.add(["ZADD", p + "completed", String(nowMs - Int64(jobsPerQueue - Int(j)!) * 1000 + 120), j]); try await flush() }
            for _ in 0..<failed { let j = job("failed"); buf.add(["ZADD", p + "failed", String(nowMs - Int64(jobsPerQueue - Int(j)!) * 1000 + 90), j]); try await flush() }
            for k in 0..<delayed {
                let j = job("delayed")
                buf.add(["ZADD", p + "delayed", String((nowMs + 3_600_000 + Int64(k) * 60_000) * 0x1000 + Int64(k)), j])
                buf.add(["HSET", p + j, "delay", "3600000"])
            }
            for k in 0..<prioritized {
                let j = job("prioritized")
                buf.add(["ZADD", p + "prioritized", String(Int64(3) << 32 + Int64(k + 1)), j])
                buf.add(["HSET", p + j, "priority", "3"])
            }
            buf.add(["SET", p + "pc", String(prioritized)])
            for _ in 0..<waiting { let j = job("wait"); buf.add(["LPUSH", p + "wait", j]) }
            buf.add(["ZADD", p + "marker", "0", "0"])
            // A flow parent waiting for its children.
            let parent = job("waiting-children")
            buf.add(["ZADD", p + "waiting-children", String(nowMs), parent])
            buf.add(["SADD", p + parent + ":dependencies", p + "child-of-\(parent)"])
            buf.add(["SET", p + "id", String(id)])
            try await flush()
        }
        try await flush(true)
    }

    /// One trickle step as a single EVAL: producers add jobs to every seeded queue; unless the
    /// worker is stopped (queue-backlog) or hung (queue-stalled), it completes the active jobs
    /// (1 in 10 fails) and takes up to 3 more from `wait` unless the queue is paused or at its
    /// rate limit, with the events BullMQ writes.
    public static func trickleCommand(now: Date, workerStopped: Bool, queues: [String]) -> [String] {
        let ms = Int64(now.timeIntervalSince1970 * 1000)
        return ["redis-cli", "EVAL", trickleScript, "0", String(ms), workerStopped ? "1" : "0"] + queues
    }

    static let trickleScript = """
    local now = tonumber(ARGV[1])
    local stopped = ARGV[2] == '1'
    local done = 0
    for qi = 3, #ARGV do
      local p = 'bull:' .. ARGV[qi] .. ':'
      if redis.call('EXISTS', p .. 'meta') == 1 then
      done = done + 1
      local n = 1 + (math.floor(now / 1000) % 2)
      for k = 1, n do
        local id = redis.call('INCR', p .. 'id')
        redis.call('HSET', p .. id, 'name', 'job', 'data', '{"n":' .. id .. '}', 'opts', '{"attempts":3,"removeOnComplete":1000,"removeOnFail":5000}', 'timestamp', now, 'delay', 0, 'priority', 0, 'atm', 0)
        redis.call('LPUSH', p .. 'wait', id)
        redis.call('XADD', p .. 'events', 'MAXLEN', '~', 10000, '*', 'event', 'added', 'jobId', id, 'name', 'job')
        redis.call('XADD', p .. 'events', 'MAXLEN', '~', 10000, '*', 'event', 'waiting', 'jobId', id)
        redis.call('ZADD', p .. 'marker', 0, '0')
      end
      if not stopped then
        local active = redis.call('LRANGE', p .. 'active', 0, -1)
        for _, id in ipairs(active) do
          redis.call('LREM', p .. 'active', 1, id)
          redis.call('DEL', p .. id .. ':lock')
          if tonumber(id) % 10 == 7 then
            redis.call('ZADD', p .. 'failed', now, id)
            redis.call('HSET', p .. id, 'finishedOn', now, 'failedReason', 'connect ETIMEDOUT 10.0.3.7:443', 'atm', 1, 'stacktrace', '[]')
            redis.call('XADD', p .. 'events', 'MAXLEN', '~', 10000, '*', 'event', 'failed', 'jobId', id, 'failedReason', 'connect ETIMEDOUT 10.0.3.7:443', 'prev', 'active')
          else
            redis.call('ZADD', p .. 'completed', now, id)
            redis.call('HSET', p .. id, 'finishedOn', now, 'returnvalue', '{"ok":true}', 'atm', 1)
            redis.call('XADD', p .. 'events', 'MAXLEN', '~', 10000, '*', 'event', 'completed', 'jobId', id, 'returnvalue', '{"ok":true}', 'prev', 'active')
          end
        end
        local extra = redis.call('ZCARD', p .. 'completed') - 1000
        if extra > 0 then
          local old = redis.call('ZRANGE', p .. 'completed', 0, extra - 1)
          for _, id in ipairs(old) do redis.call('DEL', p .. id) end
          redis.call('ZREMRANGEBYRANK', p .. 'completed', 0, extra - 1)
        end
        -- As moveToActive does: nothing is taken from a paused queue (meta paused) or while the
        -- rate limiter is at its max (limiter >= meta max, with a TTL); each job taken counts.
        local paused = redis.call('HGET', p .. 'meta', 'paused') == '1'
        local max = tonumber(redis.call('HGET', p .. 'meta', 'max') or '')
        local takes = 3
        if paused then takes = 0 end
        if max then
          local used = tonumber(redis.call('GET', p .. 'limiter') or '0') or 0
          if used >= max and redis.call('PTTL', p .. 'limiter') > 0 then takes = 0 elseif used < max then takes = math.min(takes, max - used) end
        end
        for k = 1, takes do
          if max then
            if redis.call('INCR', p .. 'limiter') == 1 then
              redis.call('PEXPIRE', p .. 'limiter', tonumber(redis.call('HGET', p .. 'meta', 'duration') or '1000'))
            end
          end
          local id = redis.call('RPOPLPUSH', p .. 'wait', p .. 'active')
          if not id then break end
          redis.call('HSET', p .. id, 'processedOn', now, 'ats', 1)
          redis.call('SET', p .. id .. ':lock', 'worker-1', 'PX', 30000)
          redis.call('XADD', p .. 'events', 'MAXLEN', '~', 10000, '*', 'event', 'active', 'jobId', id, 'prev', 'waiting')
        end
      end
      end
    end
    return done
    """
}
