import Foundation
import Testing
import MemoryAnalysis
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// A known dataset: what was written, and where each key must land.
struct Seeded {
    struct Entry { var key: [UInt8]; var pattern: String; var bullState: String?; var isJob: Bool }
    var resp = RESP()
    var entries: [Entry] = []

    mutating func add(_ key: [UInt8], pattern: String, bull: String? = nil, job: Bool = false, _ cmd: [[UInt8]]) {
        resp.add(cmd)
        if !entries.contains(where: { $0.key == key }) { entries.append(Entry(key: key, pattern: pattern, bullState: bull, isJob: job)) }
    }

    static let evilKey: [UInt8] = Array("\u{1b}]0;pwned\u{07}".utf8)
    static let newlineKey: [UInt8] = Array("line1\nline2\r\n__rrb_fake_1__\n".utf8) + [0xff, 0xfe]

    static func standard() -> Seeded {
        var s = Seeded()
        var rng = SplitMix(state: 42)
        func b(_ x: String) -> [UInt8] { Array(x.utf8) }
        func blob(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 97...122, using: &rng) } }
        for _ in 0..<300 {
            let k = b("sess:\(UUID().uuidString.lowercased())")
            s.add(k, pattern: "sess:{uuid}", [b("SET"), k, blob(Int.random(in: 100...400, using: &rng))])
        }
        for i in 0..<200 {
            let k = b("cache:\(100_000 + i)")
            s.add(k, pattern: "cache:{id}", [b("SET"), k, blob(1000)])
        }
        for i in 0..<50 {
            let k = b("user:\(i):profile")
            s.add(k, pattern: "user:{id}:profile", [b("HSET"), k, b("name"), blob(20), b("email"), blob(30), b("bio"), blob(200)])
        }
        // BullMQ queue "emails": 40 completed, 15 failed (with logs), 5 waiting, 2 active (with locks).
        let q = "bull:emails:"
        var id = 0
        func job(_ state: String, size: Int) -> String {
            id += 1
            let k = b(q + "\(id)")
            s.add(k, pattern: q + "{job}", bull: state, job: true,
                  [b("HSET"), k, b("name"), b("send"), b("data"), blob(size), b("opts"), b("{}"), b("timestamp"), b("1700000000000")])
            return "\(id)"
        }
        for _ in 0..<40 {
            let j = job("completed", size: 500)
            s.add(b(q + "completed"), pattern: q + "completed", bull: "completed", [b("ZADD"), b(q + "completed"), b("1700000000000"), b(j)])
        }
        for _ in 0..<15 {
            let j = job("failed", size: 2000)
            s.add(b(q + "failed"), pattern: q + "failed", bull: "failed", [b("ZADD"), b(q + "failed"), b("1700000000001"), b(j)])
            s.add(b(q + j + ":logs"), pattern: q + "{job}:logs", bull: "failed", [b("RPUSH"), b(q + j + ":logs"), blob(300), blob(300)])
        }
        for _ in 0..<5 {
            let j = job("wait", size: 100)
            s.add(b(q + "wait"), pattern: q + "wait", bull: "wait", [b("LPUSH"), b(q + "wait"), b(j)])
        }
        for _ in 0..<2 {
            let j = job("active", size: 100)
            s.add(b(q + "active"), pattern: q + "active", bull: "active", [b("LPUSH"), b(q + "active"), b(j)])
            s.add(b(q + j + ":lock"), pattern: q + "{job}:lock", bull: "active", [b("SET"), b(q + j + ":lock"), b(UUID().uuidString)])
        }
        s.add(b(q + "meta"), pattern: q + "meta", bull: "meta", [b("HSET"), b(q + "meta"), b("opts.maxLenEvents"), b("10000")])
        s.add(b(q + "id"), pattern: q + "id", bull: "id", [b("SET"), b(q + "id"), b("\(id)")])
        for i in 0..<20 {
            s.add(b(q + "events"), pattern: q + "events", bull: "events",
                  [b("XADD"), b(q + "events"), b("*"), b("event"), b("completed"), b("jobId"), b("\(i)")])
        }
        // A big list, sized with SAMPLES 5 (bounded).
        var push: [[UInt8]] = [b("RPUSH"), b("big:list")]
        for i in 0..<20_000 { push.append(b("item-\(i)-" + String(repeating: "x", count: 20))) }
        s.add(b("big:list"), pattern: "big:list", push)
        // Hostile names.
        s.add(evilKey, pattern: "\\e]0;pwned\\x07", [b("SET"), evilKey, blob(5000)])
        s.add(newlineKey, pattern: "line1\\nline2\\r\\n__rrb_fake_{id}__\\n\\xff\\xfe", [b("SET"), newlineKey, blob(3000)])
        return s
    }
}

@Suite("memory analysis against a real redis-server", .serialized)
struct MemoryAnalysisRedisTests {
    @Test("TTL state per pattern and the runbook's values: the top pattern outside BullMQ, its glob, keys, bytes")
    func ttlStateAndRunbookValues() async throws {
        try await withRedis { server in
            var resp = RESP()
            let blob = String(repeating: "b", count: 2000)
            for i in 0..<300 { resp.add(strings: ["SET", "cache:blob:\(i)", blob]) }
            for i in 0..<100 { resp.add(strings: ["SET", "sess:\(String(format: "%08x", 0xabc000 + i))", "v", "EX", "600"]) }
            for i in 0..<60 { resp.add(strings: ["SET", "tmp:item:\(i)", "v"]) }
            for i in 0..<20 { resp.add(strings: ["EXPIRE", "tmp:item:\(i)", "600"]) }
            // BullMQ jobs bigger than everything else: never the pattern a runbook frees.
            for i in 1...200 { resp.add(strings: ["HSET", "bull:q:\(i)", "data", String(repeating: "j", count: 4000)]) }
            resp.add(strings: ["HSET", "bull:q:meta", "opts", "{}"])
            try await server.pipe(resp.data)
            let session = server.session()
            var options = MemoryAnalysisOptions(scanCount: 100, top: 10)
            options.topPatterns = 10
            let report = await MemoryAnalyzer(channel: session, options: options).run()
            await session.close()
            #expect(report.complete)
            let rows = Dictionary(uniqueKeysWithValues: report.patterns.map { ($0.pattern, $0) })
            #expect(rows["cache:blob:{id}"]?.ttlState == "no TTL")
            #expect(rows["sess:{hash}"]?.ttlState == "all expire")
            #expect(rows["tmp:item:{id}"]?.ttlState == "20 of 60 expire")
            #expect(report.patterns.first?.pattern.hasPrefix("bull:") == true, "\(report.patterns.map(\.pattern))")
            let v = report.runbookValues()
            #expect(v["top_pattern"] == "cache:blob:{id}")
            #expect(v["top_pattern_glob"] == "cache:blob:*")
            #expect(v["top_pattern_keys"] == "300")
            #expect(v["top_pattern_ttl"] == "no TTL")
            #expect(Int(v["top_pattern_bytes"] ?? "") ?? 0 > 300 * 2000)
            #expect(report.renderText().contains("20 of 60 expire"))
        }
    }

    @Test("pattern breakdown, BullMQ per state and top keys match MEMORY USAGE of what was written; no write command runs")
    func knownDataset() async throws {
        try await withRedis { server in
            let seeded = Seeded.standard()
            try await server.pipe(seeded.resp.data)
            let sizes = try await directSizes(server, seeded.entries.map(\.key))
            var expected: [String: (keys: Int, bytes: Int)] = [:]
            for (e, size) in zip(seeded.entries, sizes) {
                expected[e.pattern, default: (0, 0)].keys += 1
                expected[e.pattern]!.bytes += size
            }
            let before = await commandStats(server)
            let session = server.session()
            var options = MemoryAnalysisOptions(scanCount: 100, top: 50)
            options.topPatterns = 100
            let report = await MemoryAnalyzer(channel: session, options: options).run()
            await session.close()
            let after = await commandStats(server)

            #expect(report.complete, "stopped: \(report.stopReason ?? "")")
            #expect(report.scan.keysScanned == seeded.entries.count)
            #expect(report.totals.keyBytes == sizes.reduce(0, +))
            #expect(report.otherPatterns.patterns == 0)
            let got = Dictionary(uniqueKeysWithValues: report.patterns.map { ($0.pattern, $0) })
            for (pattern, want) in expected {
                let row = try #require(got[pattern], "pattern \(pattern) missing; got \(got.keys.sorted())")
                #expect(row.keys == want.keys, "\(pattern)")
                #expect(abs(row.bytes - want.bytes) <= want.bytes / 100, "\(pattern): \(row.bytes) vs \(want.bytes)")
            }
            #expect(got.count == expected.count, "unexpected patterns: \(Set(got.keys).subtracting(expected.keys))")

            // BullMQ: structure bytes and job bytes per state.
            let queue = try #require(report.bullmq.queues.first { $0.queue == "emails" })
            #expect(queue.jobs == 62)
            for state in ["completed", "failed", "wait", "active"] {
                let row = try #require(queue.states.first { $0.state == state })
                var jobBytes = 0, jobs = 0, structBytes = 0
                for (e, size) in zip(seeded.entries, sizes) where e.bullState == state {
                    if e.pattern.hasSuffix("{job}") || e.pattern.hasSuffix(":logs") || e.pattern.hasSuffix(":lock") {
                        jobBytes += size
                        if e.isJob { jobs += 1 }
                    } else {
                        structBytes += size
                    }
                }
                #expect(row.jobs == jobs, "\(state)")
                #expect(row.jobBytes == jobBytes, "\(state)")
                #expect(row.structureBytes == structBytes, "\(state)")
            }
            #expect(queue.states.map(\.state).prefix(4) == ["wait", "active", "completed", "failed"])

            // Top keys: the big list first, sizes exact, hostile names rendered safely.
            let bySize = zip(seeded.entries, sizes).sorted { $0.1 > $1.1 }
            #expect(report.topKeys.first?.key == "big:list")
            #expect(report.topKeys.first?.bytes == bySize.first?.1)
            #expect(report.topKeys.prefix(10).map(\.bytes) == bySize.prefix(10).map(\.1))
            let evil = try #require(report.topKeys.first { $0.key == "\\e]0;pwned\\x07" })
            #expect(evil.keyHex == "1b5d303b70776e656407")
            #expect(report.topKeys.contains { $0.key == "line1\\nline2\\r\\n__rrb_fake_1__\\n\\xff\\xfe" })
            let text = report.renderText()
            #expect(!text.utf8.contains(0x1B) && !text.utf8.contains(0x07) && !text.contains("\r"))
            #expect(text.contains("\\e]0;pwned\\x07"))
            let json = try report.jsonData()
            #expect(!json.contains(0x1B) && !json.contains(0x07))
            let decoded = try JSONDecoder().decode(MemoryReport.self, from: json)
            #expect(decoded == report)
            #expect(report.server.usedMemory ?? 0 > report.totals.keyBytes)
            #expect(report.totals.unattributedBytes == (report.server.usedMemory ?? 0) - report.totals.keyBytes)

            // Only reads: the commands that ran are the script (and what it calls) plus INFO/ECHO.
            let allowed: Set<String> = ["info", "echo", "script|load", "evalsha_ro", "scan", "memory|usage", "type", "zscore",
                                        "exists", "time", "command|docs", "command", "pttl"]
            let ran = Set(after.keys.filter { (after[$0] ?? 0) > (before[$0] ?? 0) })
            #expect(ran.isSubset(of: allowed), "unexpected commands: \(ran.subtracting(allowed))")
            #expect(ran.contains("evalsha_ro"))
            #expect(!ran.contains("eval") && !ran.contains("evalsha"))
        }
    }

    @Test("sampling 10% of 60k keys estimates the total within 10%")
    func sampling() async throws {
        try await withRedis { server in
            var resp = RESP()
            var rng = SplitMix(state: 7)
            for i in 0..<60_000 {
                let n = i % 3 == 0 ? Int.random(in: 20...200, using: &rng) : Int.random(in: 300...1500, using: &rng)
                resp.add(strings: ["SET", i % 2 == 0 ? "s:\(i)" : "c:\(UUID().uuidString)", String(repeating: "v", count: n)])
            }
            try await server.pipe(resp.data)
            let s1 = server.session()
            let full = await MemoryAnalyzer(channel: s1, options: MemoryAnalysisOptions()).run()
            await s1.close()
            let s2 = server.session()
            let sampled = await MemoryAnalyzer(channel: s2, options: MemoryAnalysisOptions(sampleFraction: 0.1)).run()
            await s2.close()
            #expect(full.complete && sampled.complete)
            #expect(full.scan.keysScanned == 60_000 && sampled.scan.keysScanned == 60_000)
            #expect(sampled.sampling.estimated && !full.sampling.estimated)
            #expect(abs(sampled.scan.keysSized - 6_000) < 600, "sized \(sampled.scan.keysSized)")
            let err = abs(Double(sampled.totals.keyBytes - full.totals.keyBytes)) / Double(full.totals.keyBytes)
            #expect(err < 0.10, "estimate \(sampled.totals.keyBytes) vs \(full.totals.keyBytes)")
            let fullS = try #require(full.patterns.first { $0.pattern == "s:{id}" })
            let estS = try #require(sampled.patterns.first { $0.pattern == "s:{id}" })
            #expect(abs(Double(estS.keys - fullS.keys)) / Double(fullS.keys) < 0.10)
            #expect(sampled.renderText().contains("Sampling: sized"))
            #expect(sampled.notes.contains { $0.hasPrefix("Sampled:") })
        }
    }

    @Test("killing the redis-cli child mid-way ends with a clear message and partial results")
    func sessionKilled() async throws {
        try await withRedis { server in
            var resp = RESP()
            for i in 0..<5_000 { resp.add(strings: ["SET", "k:\(i)", "value"]) }
            try await server.pipe(resp.data)
            let session = server.session(timeout: .seconds(10))
            let killer = KillAfter(session: session, server: server, after: 6)
            let report = await MemoryAnalyzer(channel: killer, options: MemoryAnalysisOptions(scanCount: 100)).run()
            await session.close()
            #expect(await killer.killed)
            #expect(!report.complete)
            let why = try #require(report.stopReason)
            #expect(why.hasPrefix("the Redis session was lost"), "\(why)")
            #expect(report.scan.keysScanned > 0 && report.scan.keysScanned < 5_000)
            #expect(report.progressPercent > 0 && report.progressPercent < 100)
            #expect(report.renderText().hasPrefix("PARTIAL RESULT: stopped at "))
        }
    }

    @Test("killing the redis-cli child between batches: the session restarts it and the analysis completes")
    func sessionRestarted() async throws {
        try await withRedis { server in
            var resp = RESP()
            for i in 0..<5_000 { resp.add(strings: ["SET", "k:\(i)", "value"]) }
            try await server.pipe(resp.data)
            let session = server.session(timeout: .seconds(10))
            let killer = KillAfter(session: session, server: server, after: 6, betweenSends: true)
            let report = await MemoryAnalyzer(channel: killer, options: MemoryAnalysisOptions(scanCount: 100)).run()
            #expect(await session.restarts == 1)
            await session.close()
            #expect(await killer.killed)
            #expect(report.complete, "\(report.stopReason ?? "")")
            #expect(report.scan.keysScanned == 5_000)
        }
    }

    @Test("Redis shutting down mid-way ends with a clear message and partial results")
    func serverShutdown() async throws {
        let server = try await RedisServer.start()
        var resp = RESP()
        for i in 0..<5_000 { resp.add(strings: ["SET", "k:\(i)", "value"]) }
        try await server.pipe(resp.data)
        let session = server.session(timeout: .seconds(3))
        let channel = ShutdownAfter(session: session, server: server, after: 6)
        let report = await MemoryAnalyzer(channel: channel, options: MemoryAnalysisOptions(scanCount: 100)).run()
        await session.close()
        await server.stop()
        #expect(!report.complete)
        let why = try #require(report.stopReason)
        #expect(why.contains("session was lost") || why.contains("connection"), "\(why)")
        #expect(report.scan.keysScanned > 0 && report.scan.keysScanned < 5_000)
    }

    @Test("works while Redis rejects writes with OOM (maxmemory reached, noeviction)")
    func underOOM() async throws {
        try await withRedis(["--maxmemory-policy", "noeviction"]) { server in
            var resp = RESP()
            for i in 0..<2_000 { resp.add(strings: ["SET", "k:\(i)", String(repeating: "x", count: 200)]) }
            try await server.pipe(resp.data)
            let used = await server.cli(["INFO", "memory"]).stdoutText
                .split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
                .flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
            _ = await server.cli(["CONFIG", "SET", "maxmemory", "\(used - 100_000)"])
            let write = await server.cli(["SET", "new", "value"])
            #expect(write.stdoutText.hasPrefix("OOM"), "\(write.stdoutText)")
            let session = server.session()
            let report = await MemoryAnalyzer(channel: session).run()
            await session.close()
            #expect(report.complete, "\(report.stopReason ?? "")")
            #expect(report.scan.keysScanned == 2_000)
            #expect(report.patterns.first?.pattern == "k:{id}")
            #expect(report.patterns.first?.keys == 2_000)
        }
    }

    @Test("BUSY: another client's long script makes the analysis stop with a clear message")
    func busy() async throws {
        try await withRedis(["--busy-reply-threshold", "100"]) { server in
            _ = await server.cli(["SET", "a", "1"])
            let runner = server.runner
            let port = server.port
            let blocker = Task { await runner.run(["redis-cli", "-p", "\(port)", "EVAL", "local i = 0 while true do i = i + 1 end", "0"], timeout: .seconds(20)) }
            let busy = await eventually(timeout: .seconds(5)) {
                await server.cli(["PING"]).stdoutText.hasPrefix("BUSY")
            }
            #expect(busy)
            let session = server.session()
            let report = await MemoryAnalyzer(channel: session).run()
            _ = await server.cli(["SCRIPT", "KILL"])
            _ = await blocker.value
            await session.close()
            #expect(!report.complete)
            #expect(report.stopReason?.contains("BUSY") == true, "\(report.stopReason ?? "")")
        }
    }

    @Test("LOADING: the analysis stops at once with a clear message")
    func loading() async throws {
        let seed = try await RedisServer.start()
        var resp = RESP()
        for i in 0..<3_000 { resp.add(strings: ["SET", "k:\(i)", "v"]) }
        try await seed.pipe(resp.data)
        _ = await seed.cli(["SAVE"])
        let dump = seed.dir + "/dump.rdb"
        let dir2 = NSTemporaryDirectory() + "rrb-mem-load-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir2, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dump, toPath: dir2 + "/dump.rdb")
        await seed.stop()
        // 3000 keys × 2 ms each: about 6 s of loading, answering clients every 1 KiB read.
        let server = try await RedisServer.start(["--key-load-delay", "2000", "--loading-process-events-interval-bytes", "1024",
                                                  "--dbfilename", "dump.rdb"], dir: dir2, waitReady: false)
        let loading = await server.cli(["PING"]).stdoutText
        let session = server.session()
        let report = await MemoryAnalyzer(channel: session).run()
        await session.close()
        await server.stop()
        #expect(loading.hasPrefix("LOADING"), "\(loading)")
        #expect(!report.complete)
        #expect(report.stopReason?.contains("LOADING") == true, "\(report.stopReason ?? "")")
    }

    /// A second session (as `redis-runbook memory` opens): half the parts go through it, the report
    /// is the one session's; a second session that cannot reach Redis, or whose child exits, is
    /// dropped and the analysis completes through the first, with a note.
    @Test("a second session gives the same report; a broken second session is dropped and the analysis completes")
    func secondSession() async throws {
        try await withRedis { server in
            var resp = RESP()
            for i in 0..<20_000 { resp.add(strings: ["SET", "k:\(i)", "v"]) }
            for i in 0..<3_000 { resp.add(strings: ["HSET", "h:\(i)", "f", "v"]) }
            try await server.pipe(resp.data)
            let options = MemoryAnalysisOptions(scanCount: 100)
            func rows(_ r: MemoryReport) -> [String] { r.patterns.map { "\($0.pattern) \($0.keys) \($0.bytes) \($0.keysWithTTL)" } }
            let one = server.session()
            let alone = await MemoryAnalyzer(channel: one, options: options).run()
            await one.close()
            #expect(alone.complete)
            #expect(alone.scan.keysScanned == 23_000)

            let a = server.session(), b = server.session()
            let both = await MemoryAnalyzer(channel: a, options: options, extraChannels: [b]).run()
            let secondUsed = await b.isRunning  // its child starts on its first batch
            await a.close(); await b.close()
            #expect(both.complete, "\(both.stopReason ?? "")")
            #expect(both.scan.keysScanned == 23_000)
            #expect(rows(both) == rows(alone))
            #expect(both.notes.allSatisfy { !$0.contains("second Redis session") })
            #expect(secondUsed)

            let closedPort = try freePort()
            for broken in [["redis-cli", "-p", "\(closedPort)"], ["false"]] {
                let c = server.session()
                let d = LineSession(argv: broken, runner: Runner(), timeout: .seconds(10), label: nil, marker: SessionMarker.unknownCommand)
                let dropped = await MemoryAnalyzer(channel: c, options: options, extraChannels: [d]).run()
                await c.close(); await d.close()
                #expect(dropped.complete, "\(broken): \(dropped.stopReason ?? "")")
                #expect(dropped.scan.keysScanned == 23_000)
                #expect(rows(dropped) == rows(alone))
                #expect(dropped.notes.contains { $0.contains("second Redis session failed") }, "\(dropped.notes)")
            }
        }
    }

    /// The script cache flushed mid-run while 16 parts' batches are in flight: every refused
    /// batch (NOSCRIPT) is sent again after the reload, none is counted twice or lost.
    @Test("SCRIPT FLUSH mid-run: the pipelined batches refused with NOSCRIPT are sent again, every key counted once")
    func scriptFlushMidRun() async throws {
        try await withRedis { server in
            try await seedStrings(server, 20_000)
            let session = server.session()
            let seen = Counter()
            var options = MemoryAnalysisOptions(scanCount: 40)
            options.scanPartitions = 16
            let task = Task { await MemoryAnalyzer(channel: session, options: options).run { p in seen.set(p.batches) } }
            _ = await eventually(timeout: .seconds(20)) { seen.value >= 20 }
            let flushedAt = seen.value
            _ = await server.cli(["SCRIPT", "FLUSH"])
            let report = await task.value
            await session.close()
            let errors = await server.cli(["INFO", "errorstats"]).stdoutText
            #expect(errors.contains("errorstat_NOSCRIPT:count="), "\(errors)")
            #expect(report.complete, "\(report.stopReason ?? "")")
            #expect(flushedAt < report.scan.batches, "the flush came before the last batch")
            #expect(report.scan.keysScanned == 20_000)
            #expect(report.scan.keysSized == 20_000)
            #expect(report.patterns.first { $0.pattern == "k:{id}" }?.keys == 20_000)
        }
    }

    @Test("cancelling the task stops between batches with partial results")
    func cancellation() async throws {
        try await withRedis { server in
            try await seedStrings(server, 5_000)
            let session = server.session()
            let seen = Counter()
            let task = Task {
                await MemoryAnalyzer(channel: session, options: MemoryAnalysisOptions(scanCount: 50)).run { p in
                    seen.set(p.batches)
                }
            }
            _ = await eventually(timeout: .seconds(10)) { seen.value >= 3 }
            task.cancel()
            let report = await task.value
            await session.close()
            #expect(!report.complete)
            #expect(report.stopReason == "cancelled")
            #expect(report.scan.keysScanned > 0 && report.scan.keysScanned < 5_000)
        }
    }
}

/// `n` string keys `k:0` ... `k:<n-1>`.
func seedStrings(_ server: RedisServer, _ n: Int) async throws {
    var resp = RESP()
    for i in 0..<n { resp.add(strings: ["SET", "k:\(i)", "v"]) }
    try await server.pipe(resp.data)
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var v = 0
    func set(_ x: Int) { lock.lock(); v = x; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return v }
}

/// Forwards to a real session. On the Nth send, while the command is in flight (Redis held
/// with CLIENT PAUSE by another client), SIGKILLs the real redis-cli child. With
/// `betweenSends`, kills it before the send instead (the session then restarts the child).
actor KillAfter: RedisLineChannel {
    let session: LineSession
    let server: RedisServer
    let after: Int
    let betweenSends: Bool
    var sends = 0
    private(set) var killed = false
    init(session: LineSession, server: RedisServer, after: Int, betweenSends: Bool = false) {
        self.session = session; self.server = server; self.after = after; self.betweenSends = betweenSends
    }
    func send(_ lines: [String]) async throws -> [String] {
        sends += 1
        guard sends == after, let pid = await session.pid else { return try await session.send(lines) }
        killed = true
        if betweenSends {
            kill(pid, SIGKILL)
            let s = session
            _ = await eventually(timeout: .seconds(5)) { !(await s.isRunning) }
            return try await session.send(lines)
        }
        _ = await server.cli(["CLIENT", "PAUSE", "3000", "ALL"])
        let session = self.session
        let inFlight = Task { try await session.send(lines) }
        try? await Task.sleep(for: .milliseconds(300))
        kill(pid, SIGKILL)
        let result = await inFlight.result
        _ = await server.cli(["CLIENT", "UNPAUSE"])
        return try result.get()
    }
}

/// Forwards to a real session; before the Nth send, shuts the real server down.
actor ShutdownAfter: RedisLineChannel {
    let session: LineSession
    let server: RedisServer
    let after: Int
    var sends = 0
    init(session: LineSession, server: RedisServer, after: Int) { self.session = session; self.server = server; self.after = after }
    func send(_ lines: [String]) async throws -> [String] {
        sends += 1
        if sends == after { _ = await server.cli(["SHUTDOWN", "NOSAVE"]) }
        return try await session.send(lines)
    }
}
