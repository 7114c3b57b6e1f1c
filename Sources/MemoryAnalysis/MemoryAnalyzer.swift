import Foundation

/// Settings of one analysis run.
public struct MemoryAnalysisOptions: Sendable {
    /// SCAN COUNT per batch (the upper bound; the engine lowers it while a batch takes longer
    /// than `scriptBudget` inside Redis, and raises it back).
    public var scanCount: Int = 2000
    /// Rows in the top-keys list.
    public var topKeys: Int = 20
    /// Rows in the pattern list (the rest is summed in `otherPatterns`).
    public var topPatterns: Int = 20
    /// Fraction of keys to size (0 < f ≤ 1), chosen by the SHA-1 of the key name; the rest is
    /// only counted and the totals are scaled up.
    public var sampleFraction: Double = 1
    /// `MEMORY USAGE key SAMPLES n` (1...64; never 0, which would be O(N) on big collections).
    public var memorySamples: Int = 5
    /// BullMQ key prefix; empty disables the BullMQ breakdown.
    public var bullPrefix: String = "bull"
    /// Two batch round trips in a row above max(this, 4 × the fastest round trip seen) count as
    /// Redis being slow: the engine pauses (the round trip, at most `maxPause`) before the next one.
    public var latencyThreshold: Duration = .milliseconds(50)
    /// Target time one batch may spend inside Redis (measured by the script with TIME); the
    /// next batch's COUNT is scaled to it (`nextCount`). A quarter of the 10 ms slow-log
    /// threshold: a batch that meets a rehash or a preempted core can take 2-3 times its usual time.
    public var scriptBudget: Duration = .microseconds(2500)
    public var maxPause: Duration = .seconds(2)
    /// Cap on distinct patterns kept in memory (the rest go to one overflow row).
    public var maxPatterns: Int = 10_000
    /// Independent SCAN cursors walked side by side, each with one batch in flight (1, 2, 4, 8 or
    /// 16): the cursor's low bits are its reversed bucket index's high bits, so cursor `rev(p)`
    /// starts the p-th part of the table and leaves it when those bits change. Redis's smallest
    /// table has 4 buckets, so up to 4 parts never overlap; 8 only with 1,024 keys or more at the
    /// start, 16 with 2,048 or more (the table would have to shrink below 8 or 16 buckets, i.e.
    /// lose nearly every key, for two parts to meet). The parts' batches in flight are what keeps
    /// Redis busy while replies travel back: 16 batches of ~2.5 ms cover a round trip of ~40 ms.
    /// Used only on a standalone Redis (a cluster node's cursor carries its slot in the low bits;
    /// other servers' cursors may differ).
    public var scanPartitions: Int = 16

    public init(scanCount: Int = 500, top: Int = 20, sampleFraction: Double = 1, bullPrefix: String = "bull") {
        self.scanCount = scanCount
        self.topKeys = top
        self.topPatterns = top
        self.sampleFraction = sampleFraction
        self.bullPrefix = bullPrefix
    }
}

/// Progress after each batch (for a progress bar; `fraction` is keys scanned / DBSIZE).
public struct MemoryProgress: Sendable, Equatable {
    public var keysScanned: Int
    public var keysSized: Int
    public var dbSize: Int?
    public var fraction: Double
    public var batches: Int
    public var elapsedSeconds: Double
    public var sizedBytes: Int
    public var lastBatchLatencyMs: Double
    /// True while the engine waits because Redis answered slowly.
    public var pausing: Bool

    public init(keysScanned: Int, keysSized: Int, dbSize: Int?, fraction: Double, batches: Int, elapsedSeconds: Double,
                sizedBytes: Int, lastBatchLatencyMs: Double, pausing: Bool) {
        self.keysScanned = keysScanned; self.keysSized = keysSized; self.dbSize = dbSize; self.fraction = fraction
        self.batches = batches; self.elapsedSeconds = elapsedSeconds; self.sizedBytes = sizedBytes
        self.lastBatchLatencyMs = lastBatchLatencyMs; self.pausing = pausing
    }
}

/// "Where did the memory go": walks the keyspace in read-only Lua batches over a line session.
///
/// `run` never throws: it returns a complete report, or a partial one whose `stopReason` says
/// why it stopped (LOADING, BUSY, NOSCRIPT loop, session lost, cancelled, unexpected reply).
/// Cancel the calling task to stop it between batches (the TUI's Esc).
public struct MemoryAnalyzer: Sendable {
    public let channel: any RedisLineChannel
    /// More sessions to the same Redis (e.g. a second `kubectl exec -i ... redis-cli`), used only
    /// for batches: redis-cli sends a line only after the reply before it is read and printed, and
    /// Redis waits meanwhile; with two sessions the other one's batch runs in that time. One that
    /// fails is dropped and its parts go on through `channel` (a note says so).
    public let extraChannels: [any RedisLineChannel]
    public let options: MemoryAnalysisOptions

    public init(channel: any RedisLineChannel, options: MemoryAnalysisOptions = MemoryAnalysisOptions(),
                extraChannels: [any RedisLineChannel] = []) {
        self.channel = channel
        self.extraChannels = extraChannels
        self.options = options
    }

    enum Stop: Error { case reason(String) }

    public func run(progress: @Sendable (MemoryProgress) -> Void = { _ in }) async -> MemoryReport {
        let clock = ContinuousClock()
        let start = clock.now
        let fraction = options.sampleFraction.isFinite ? min(1, max(options.sampleFraction, 1e-6)) : 1
        let samples = min(64, max(1, options.memorySamples))
        let maxCount = max(1, options.scanCount)
        var agg = Aggregator(topN: options.topKeys, maxPatterns: options.maxPatterns, bullPrefix: options.bullPrefix)
        var server = MemoryReport.ServerMemory(otherDatabases: [])
        var notes: [String] = []
        var stopReason: String?
        var complete = false
        var keysScanned = 0, batches = 0, pauses = 0
        var pausedFor: Duration = .zero
        var latencies: [Double] = []
        var scriptTimes: [Int] = []
        var maxLatency: Duration = .zero, baseline: Duration?
        var maxScriptMicros = 0
        var scriptMicrosTotal = 0
        var firstBatchAt: ContinuousClock.Instant?
        var lastAnswerAt: ContinuousClock.Instant?
        var lastCount = min(maxCount, 200)
        var slowInARow = 0
        var command = "EVALSHA_RO"

        func fractionDone() -> Double {
            guard let n = server.dbSize, n > 0 else { return complete ? 1 : 0 }
            return min(complete ? 1 : 0.99, Double(keysScanned) / Double(n))
        }
        func send(_ line: String) async throws -> String {
            try await sendLines([line]).first ?? ""
        }
        func sendLines(_ lines: [String]) async throws -> [String] {
            try await guarded { try await channel.send(lines) }
        }
        func guarded<T>(_ body: () async throws -> T) async throws -> T {
            if Task.isCancelled { throw Stop.reason("cancelled") }
            do {
                return try await body()
            } catch is CancellationError {
                throw Stop.reason("cancelled")
            } catch {
                if Task.isCancelled { throw Stop.reason("cancelled") }
                throw Stop.reason("the Redis session was lost (\(Self.describe(error)))")
            }
        }

        do {
            // 1. Server facts (INFO works even while loading).
            let info = try await send("INFO")
            if let problem = Self.errorLine(info) { throw Stop.reason(Self.explain(problem)) }
            let fields = Self.infoFields(info)
            Self.apply(fields, to: &server)
            if fields["loading"] == "1" {
                throw Stop.reason("Redis is loading its dataset (LOADING); run the analysis again once INFO shows loading:0")
            }
            server.dbSize = Self.keyspaceKeys(fields["db0"]) ?? 0
            server.otherDatabases = fields.keys.filter { $0.hasPrefix("db") && $0 != "db0" && Int($0.dropFirst(2)) != nil }.sorted()
            if !server.otherDatabases.isEmpty {
                notes.append("Only db0 is analysed; other databases hold keys too: \(server.otherDatabases.joined(separator: ", ")).")
            }

            // 2. Load the script (flagged no-writes; plain for servers without shebang support).
            var sha = try await loadScript(send: send, notes: &notes)
            var useBody = false
            var ro = true
            let threshold = BatchScript.threshold(forFraction: fraction)
            let prefix = options.bullPrefix.isEmpty ? "" : options.bullPrefix + ":"
            var script = sha.flagged ? BatchScript.flagged : BatchScript.plain
            var retries = 0
            var noscripts = 0
            // One cursor per partition (see `scanPartitions`): partition p starts at cursor rev(p)
            // and is done when a returned cursor is 0 or its low bits are no longer rev(p).
            let standalone = fields["cluster_enabled"] == "0" && fields["valkey_version"] == nil && fields["dragonfly_version"] == nil
            let keys0 = server.dbSize ?? 0
            let allowed = keys0 >= 2048 ? [1, 2, 4, 8, 16] : keys0 >= 1024 ? [1, 2, 4, 8] : [1, 2, 4]
            let parts = standalone ? allowed.last { $0 <= max(1, options.scanPartitions) }! : 1
            // In the order a single SCAN visits them (rev(0), rev(1), ...): each part's edge is the
            // next part's first cursor.
            let bits = parts.trailingZeroBitCount
            let homes: [UInt64] = (0..<parts).map { p in
                (0..<bits).reduce(UInt64(0)) { acc, i in acc | (UInt64(p >> i & 1) << (bits - 1 - i)) }
            }
            struct Part { var cursor: String; var home: UInt64; var edge: String; var count: Int; var done = false }
            var scans = homes.indices.map { i in
                Part(cursor: String(homes[i]), home: homes[i], edge: i + 1 < homes.count ? String(homes[i + 1]) : "0", count: min(maxCount, 200))
            }

            // 3. Batches, pipelined: every unfinished part has one batch in flight, and a part's
            // next batch is written as soon as its reply is in, while the other parts' batches
            // keep Redis busy (redis-cli runs the lines one after another; Redis serves its other
            // clients between any two). A channel without pipelining gets them in lock-step: one
            // batch of each unfinished part per round trip. With extra sessions (lanes), part p
            // goes through lane p mod lanes.
            struct Flight { var part: Int; var sent: ContinuousClock.Instant; var command: String; var lane: Int }
            let lanes: [any RedisLineChannel] = [channel] + extraChannels
            var alive = [Bool](repeating: true, count: lanes.count)
            var open = [Bool](repeating: false, count: lanes.count)
            var piped = [Bool](repeating: false, count: lanes.count)
            var pending = [[String]](repeating: [], count: lanes.count)  // lock-step: the next round trip's lines
            var ready = [[String]](repeating: [], count: lanes.count)    // lock-step: the last one's replies, last first
            var lastArrival = [ContinuousClock.Instant?](repeating: nil, count: lanes.count)
            var answered = [Bool](repeating: false, count: lanes.count)  // a lane's first answer waits for its start
            var resumedAt: ContinuousClock.Instant?                       // the end of the last pause
            var flights: [Flight] = []
            var head = 0
            func laneFor(_ i: Int) -> Int { let l = i % lanes.count; return alive[l] ? l : 0 }
            /// An extra lane that failed: its pipeline ends, its parts go through lane 0 from now on.
            func retire(_ l: Int, _ why: String) async {
                alive[l] = false
                if open[l] { open[l] = false; if piped[l] { await lanes[l].endPipeline() } }
                notes.append("A second Redis session failed (\(why)); the analysis went on with one.")
            }
            func begin(_ l: Int) async throws {
                do {
                    piped[l] = try await guarded { try await lanes[l].beginPipeline() }
                    open[l] = true
                } catch Stop.reason(let why) where l > 0 && why != "cancelled" {
                    await retire(l, why)
                }
            }
            func endAll() async {
                for l in lanes.indices where open[l] {
                    open[l] = false
                    if piped[l] { await lanes[l].endPipeline() }
                }
            }
            func launch(_ i: Int) async throws {
                let cmd = useBody ? (ro ? "EVAL_RO" : "EVAL") : (ro ? "EVALSHA_RO" : "EVALSHA")
                let target = useBody ? RedisCLIQuoting.quote(script) : sha.sha
                let args = [scans[i].cursor, String(scans[i].count), String(samples), String(threshold), prefix,
                            String(options.topKeys), String(agg.topMin), String(parts - 1), String(scans[i].home), scans[i].edge].map(RedisCLIQuoting.quote)
                let line = ([cmd, target, "0"] + args).joined(separator: " ")
                var l = laneFor(i)
                if !open[l] { try await begin(l); l = laneFor(i) }
                if firstBatchAt == nil { firstBatchAt = clock.now }
                // The script's reply is one line by construction (RRM2, keys hex-encoded when not
                // printable), an error one line too: no marker after it.
                if piped[l] {
                    do {
                        try await guarded { try await lanes[l].submit([line], oneLineReplies: true) }
                    } catch Stop.reason(let why) where l > 0 && why != "cancelled" {
                        await retire(l, why)
                        try await launch(i)
                        return
                    }
                } else {
                    pending[l].append(line)
                }
                flights.append(Flight(part: i, sent: clock.now, command: cmd, lane: l))
            }
            /// The next reply, and how long Redis had it: pipelined, from when it could start (its
            /// line written, the reply before it in) to its arrival; lock-step, the round trip, for
            /// the first reply of each.
            /// nil: the batch's extra lane failed; it was not run or not counted, and goes again.
            func receive(_ f: Flight) async throws -> (String, Duration?)? {
                let l = f.lane
                guard alive[l] else { return nil }
                if piped[l] {
                    let reply: String
                    do {
                        reply = try await guarded { try await lanes[l].receive() }
                    } catch Stop.reason(let why) where l > 0 && why != "cancelled" {
                        await retire(l, why)
                        return nil
                    }
                    let now = clock.now
                    defer { lastArrival[l] = now; answered[l] = true }
                    // Not counted: a lane's start (its first answer), the time this side paused.
                    if !answered[l] { return (reply, nil) }
                    return (reply, now - max(f.sent, lastArrival[l] ?? f.sent, resumedAt ?? f.sent))
                }
                var rtt: Duration?
                if ready[l].isEmpty {
                    let lines = pending[l]
                    pending[l] = []
                    let t0 = clock.now
                    let replies: [String]
                    do {
                        replies = try await guarded { try await lanes[l].send(lines) }
                    } catch Stop.reason(let why) where l > 0 && why != "cancelled" {
                        await retire(l, why)
                        return nil
                    }
                    rtt = clock.now - t0
                    guard replies.count == lines.count else { throw Stop.reason("the Redis session answered \(replies.count) of \(lines.count) batches") }
                    ready[l] = replies.reversed()
                }
                return (ready[l].removeLast(), rtt)
            }

            while true {
                if Task.isCancelled { throw Stop.reason("cancelled") }
                let active = scans.indices.filter { !scans[$0].done }
                if active.isEmpty { complete = true; break }
                flights = []; head = 0
                for l in lanes.indices { pending[l] = []; ready[l] = []; lastArrival[l] = nil }
                // A refusal (NOSCRIPT, no EVALSHA_RO, ...): the refused batches are not counted,
                // nothing more is written, the batches in flight are read (and counted when they
                // are answers), then the refusal is handled and every unfinished part goes on from
                // its cursor (the batches only read, and a refused one's cursor did not move).
                var problem: String?
                do {
                    for i in active { try await launch(i) }
                    while head < flights.count {
                        if Task.isCancelled { throw Stop.reason("cancelled") }
                        let f = flights[head]
                        head += 1
                        guard let (reply, rtt) = try await receive(f) else {
                            if problem == nil { try await launch(f.part) }
                            continue
                        }
                        if let refused = Self.errorLine(reply) {
                            // An extra lane that lost its Redis connection (or was never let in):
                            // dropped, the batch goes again through lane 0.
                            if f.lane > 0, Self.isLaneLoss(refused) {
                                await retire(f.lane, refused)
                                if problem == nil { try await launch(f.part) }
                                continue
                            }
                            if problem == nil { problem = refused }
                            continue
                        }
                        let batch: BatchReply
                        do { batch = try BatchReply.parse(reply) } catch { throw Stop.reason("\(error)") }
                        if problem == nil { retries = 0 }
                        command = f.command
                        let i = f.part
                        batches += 1
                        keysScanned += batch.keysScanned
                        for g in batch.groups { agg.add(g) }
                        for k in batch.top { agg.offerTop(k) }
                        if scriptTimes.count < 200_000 { scriptTimes.append(batch.scriptMicros) }
                        maxScriptMicros = max(maxScriptMicros, batch.scriptMicros)
                        scriptMicrosTotal += batch.scriptMicros
                        lastAnswerAt = clock.now
                        scans[i].cursor = batch.cursor
                        let next = UInt64(batch.cursor) ?? 0
                        if next == 0 || (parts > 1 && next & UInt64(parts - 1) != scans[i].home) { scans[i].done = true }
                        // Keep each batch short inside Redis.
                        scans[i].count = Self.nextCount(scans[i].count, scriptMicros: batch.scriptMicros,
                                                        budgetMicros: Int(Self.ms(options.scriptBudget) * 1000), maxCount: maxCount)
                        lastCount = scans[i].count
                        if scans.allSatisfy(\.done) { complete = true }

                        var slow = false
                        var ms = 0.0
                        if let rtt {
                            ms = Self.ms(rtt)
                            if latencies.count < 200_000 { latencies.append(ms) }
                            maxLatency = max(maxLatency, rtt)
                            baseline = min(baseline ?? rtt, rtt)
                            // One slow answer on a busy laptop is noise; two in a row say Redis (or
                            // the way to it) is slow: then pause before writing the next batch.
                            let slowTrip = rtt > max(options.latencyThreshold, (baseline ?? rtt) * 4)
                            slowInARow = slowTrip ? slowInARow + 1 : 0
                            slow = slowInARow >= 2
                        }
                        progress(MemoryProgress(keysScanned: keysScanned, keysSized: agg.keysSized, dbSize: server.dbSize,
                                                fraction: fractionDone(), batches: batches,
                                                elapsedSeconds: Self.seconds(clock.now - start), sizedBytes: agg.sizedBytes,
                                                lastBatchLatencyMs: ms, pausing: slow && !complete))
                        if scans[i].done || problem != nil { continue }
                        if slow, let rtt {
                            let pause = min(options.maxPause, rtt)
                            pauses += 1
                            pausedFor += pause
                            do { try await Task.sleep(for: pause) } catch { throw Stop.reason("cancelled") }
                            resumedAt = clock.now
                        }
                        try await launch(i)
                    }
                } catch {
                    await endAll()
                    throw error
                }
                await endAll()

                if let problem {
                    complete = false
                    retries += 1
                    if retries > 5 { throw Stop.reason("Redis kept refusing the analysis script: \(problem)") }
                    if problem.hasPrefix("NOSCRIPT") {
                        noscripts += 1
                        if noscripts <= 2 {
                            sha = try await loadScript(send: send, notes: &notes)
                            script = sha.flagged ? BatchScript.flagged : BatchScript.plain
                        } else if !useBody {
                            useBody = true
                            notes.append("The script cache kept losing the analysis script (NOSCRIPT); sent the script body with each batch instead.")
                        } else {
                            throw Stop.reason("Redis keeps answering NOSCRIPT (\(problem))")
                        }
                        continue
                    }
                    if ro, problem.lowercased().contains("unknown command") {
                        ro = false
                        notes.append("This Redis has no EVALSHA_RO (before 7.0); used EVALSHA with a script that only reads.")
                        continue
                    }
                    throw Stop.reason(Self.explain(problem))
                }
            }
        } catch Stop.reason(let why) {
            stopReason = why
        } catch {
            stopReason = Self.describe(error)
        }

        // 4. Fresh memory figures at the end (skipped when the session is gone or we were cancelled).
        if stopReason == nil || !(stopReason!.hasPrefix("the Redis session was lost") || stopReason == "cancelled"),
           !Task.isCancelled,
           let info = try? await channel.send(["INFO memory"]).first, Self.errorLine(info) == nil {
            Self.apply(Self.infoFields(info), to: &server)
        }

        let elapsed = clock.now - start
        let scale = (fraction < 1 && agg.keysSized > 0) ? Double(keysScanned) / Double(agg.keysSized) : 1
        let estimated = fraction < 1
        if estimated {
            notes.append(String(format: "Sampled: sized %d of %d scanned keys (%.1f%%, chosen by key hash); counts and bytes are estimates scaled by %.2f.",
                                agg.keysSized, keysScanned, fraction * 100, scale))
        }
        let rows = agg.rows(scale: scale, patternLimit: options.topPatterns)
        var totals = MemoryReport.Totals(keyBytes: rows.keyBytes, sizedBytes: agg.sizedBytes, usedMemory: server.usedMemory)
        if let used = server.usedMemory, used > 0 {
            totals.unattributedBytes = used - rows.keyBytes
            totals.unattributedShare = Double(used - rows.keyBytes) / Double(used)
            totals.keyShare = Double(rows.keyBytes) / Double(used)
        }
        let sorted = latencies.sorted()
        let secs = Self.seconds(elapsed)
        let scan = MemoryReport.ScanStats(
            keysScanned: keysScanned, keysSized: agg.keysSized, batches: batches, durationSeconds: secs,
            keysPerSecond: secs > 0 ? Double(keysScanned) / secs : 0,
            maxBatchLatencyMs: Self.ms(maxLatency), medianBatchLatencyMs: sorted.isEmpty ? 0 : sorted[sorted.count / 2],
            maxScriptMs: Double(maxScriptMicros) / 1000,
            medianScriptMs: scriptTimes.isEmpty ? 0 : Double(scriptTimes.sorted()[scriptTimes.count / 2]) / 1000, pauses: pauses, pausedSeconds: Self.seconds(pausedFor),
            scanCount: maxCount, lastScanCount: lastCount, memorySamples: samples, command: command,
            scriptSeconds: Double(scriptMicrosTotal) / 1e6,
            startSeconds: firstBatchAt.map { Self.seconds($0 - start) }, endSeconds: lastAnswerAt.map { Self.seconds(clock.now - $0) })
        return MemoryReport(
            complete: complete && stopReason == nil, stopReason: stopReason, progressPercent: fractionDone() * 100,
            server: server, totals: totals, scan: scan,
            sampling: MemoryReport.Sampling(fraction: fraction, estimated: estimated, scale: scale),
            patterns: rows.patterns, otherPatterns: rows.other, topKeys: rows.top,
            bullmq: MemoryReport.BullReport(prefix: options.bullPrefix, queues: rows.bull), notes: notes)
    }

    /// The next batch's SCAN COUNT: proportional to how far the last batch's time inside Redis
    /// (`scriptMicros`, measured by the script) was from `budgetMicros`; it shrinks at once to
    /// what fits the budget, grows at most 2x a batch, and stays within 10...maxCount.
    public static func nextCount(_ count: Int, scriptMicros: Int, budgetMicros: Int, maxCount: Int) -> Int {
        let lower = min(10, maxCount)
        guard scriptMicros > 0 else { return min(maxCount, max(lower, count * 2)) }
        let fit = Int(Double(count) * Double(budgetMicros) / Double(scriptMicros))
        return min(maxCount, max(lower, min(count * 2, fit)))
    }

    struct LoadedScript { var sha: String; var flagged: Bool }

    private func loadScript(send: (String) async throws -> String, notes: inout [String]) async throws -> LoadedScript {
        let r1 = try await send(RedisCLIQuoting.line("SCRIPT", ["LOAD", BatchScript.flagged]))
        if let sha = Self.sha(r1) { return LoadedScript(sha: sha, flagged: true) }
        guard let e1 = Self.errorLine(r1) else { throw Stop.reason("unexpected reply to SCRIPT LOAD: \(Self.clip(r1))") }
        if Self.isFatal(e1) { throw Stop.reason(Self.explain(e1)) }
        let r2 = try await send(RedisCLIQuoting.line("SCRIPT", ["LOAD", BatchScript.plain]))
        if let sha = Self.sha(r2) {
            if !notes.contains(where: { $0.hasPrefix("Script flags") }) {
                notes.append("Script flags are not supported here (\(Self.clip(e1))); loaded the read-only script without them.")
            }
            return LoadedScript(sha: sha, flagged: false)
        }
        throw Stop.reason("cannot load the analysis script: \(Self.explain(Self.errorLine(r2) ?? Self.clip(r2)))")
    }

    // MARK: - Reply helpers

    static func sha(_ reply: String) -> String? {
        let t = reply.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.utf8.count == 40, t.utf8.allSatisfy({ KeyPattern.isHex($0) }) else { return nil }
        return t
    }

    static let errorPrefixes = ["ERR", "LOADING", "BUSY", "NOSCRIPT", "NOAUTH", "WRONGPASS", "NOPERM", "OOM", "READONLY",
                                "MASTERDOWN", "MISCONF", "WRONGTYPE", "EXECABORT", "CROSSSLOT", "MOVED", "ASK", "TRYAGAIN",
                                "CLUSTERDOWN", "UNKILLABLE", "NOREPLICAS", "Error:", "Could not connect", "AUTH failed"]

    /// The first line of `reply` when it is an error (from Redis or from redis-cli itself).
    static func errorLine(_ reply: String) -> String? {
        // The first non-empty line, found on the bytes: a batch reply is one line of up to
        // ~100 KB, and splitting it into Characters cost more than decoding it.
        let u = reply.utf8
        var s = u.startIndex
        while s < u.endIndex, u[s] == 0x0A || u[s] == 0x0D { s = u.index(after: s) }
        var e = s
        while e < u.endIndex, u[e] != 0x0A, u.distance(from: s, to: e) < 512 { e = u.index(after: e) }
        var end = e
        if end > s, u[u.index(before: end)] == 0x0D { end = u.index(before: end) }
        let first = String(Substring(reply.utf8[s..<end])) ?? ""
        let t = first.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("RRM2 ") { return nil }
        for p in errorPrefixes where t.hasPrefix(p) {
            let next = t.dropFirst(p.count).first
            if next == nil || next == " " || p.hasSuffix(":") || p.hasSuffix("connect") || p.hasSuffix("failed") { return clip(t) }
        }
        if reply.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return "empty reply (the connection to Redis was lost)" }
        return nil
    }

    static func isLaneLoss(_ e: String) -> Bool {
        ["Error:", "Could not connect", "empty reply", "NOAUTH", "WRONGPASS", "AUTH failed"].contains { e.hasPrefix($0) }
    }

    static func isFatal(_ e: String) -> Bool {
        ["LOADING", "BUSY", "NOAUTH", "WRONGPASS", "NOPERM", "Error:", "Could not connect", "empty reply"].contains { e.hasPrefix($0) }
    }

    static func explain(_ e: String) -> String {
        if e.hasPrefix("LOADING") { return "Redis is loading its dataset (LOADING); run the analysis again once it has loaded" }
        if e.hasPrefix("BUSY") { return "Redis is busy running a script or function (BUSY); not adding load: \(e)" }
        if e.hasPrefix("NOAUTH") || e.hasPrefix("WRONGPASS") || e.hasPrefix("AUTH failed") {
            return "Redis requires authentication (\(e)); check --redis-password-env"
        }
        if e.hasPrefix("NOPERM") { return "the Redis user may not run this (\(e)); it needs SCAN, MEMORY, TYPE, ZSCORE, EXISTS, EVALSHA_RO, SCRIPT LOAD" }
        if e.hasPrefix("Error:") || e.hasPrefix("Could not connect") || e.hasPrefix("empty reply") {
            return "the Redis session was lost (\(e))"
        }
        return "Redis answered: \(e)"
    }

    static func clip(_ s: String) -> String {
        let r = KeyDisplay.render(Array(s.utf8.prefix(300)))
        return r.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func describe(_ error: any Error) -> String {
        if error is CancellationError { return "cancelled" }
        return clip(String(describing: error))
    }

    static func infoFields(_ info: String) -> [String: String] {
        var f: [String: String] = [:]
        for raw in info.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            guard !raw.hasPrefix("#"), let c = raw.firstIndex(of: ":") else { continue }
            f[String(raw[..<c])] = String(raw[raw.index(after: c)...]).trimmingCharacters(in: .whitespaces)
        }
        return f
    }

    static func apply(_ f: [String: String], to s: inout MemoryReport.ServerMemory) {
        if let v = f["redis_version"] { s.redisVersion = v }
        if let v = f["used_memory"].flatMap({ Int($0) }) { s.usedMemory = v }
        if let v = f["used_memory_rss"].flatMap({ Int($0) }) { s.usedMemoryRSS = v }
        if let v = f["used_memory_dataset"].flatMap({ Int($0) }) { s.usedMemoryDataset = v }
        if let v = f["used_memory_overhead"].flatMap({ Int($0) }) { s.usedMemoryOverhead = v }
        if let v = f["mem_fragmentation_bytes"].flatMap({ Int($0) }) { s.fragmentationBytes = v }
        if let v = f["mem_fragmentation_ratio"].flatMap({ Double($0) }) { s.fragmentationRatio = v }
        if let v = f["maxmemory"].flatMap({ Int($0) }) { s.maxmemory = v }
        if let v = f["maxmemory_policy"] { s.maxmemoryPolicy = v }
    }

    /// `keys=123,expires=0,avg_ttl=0` → 123
    static func keyspaceKeys(_ v: String?) -> Int? {
        guard let v else { return nil }
        for part in v.split(separator: ",") where part.hasPrefix("keys=") { return Int(part.dropFirst(5)) }
        return nil
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
    static func seconds(_ d: Duration) -> Double { ms(d) / 1000 }
}
