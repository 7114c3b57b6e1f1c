import Foundation
import ProcessRunner
import SandboxFixture
import Testing
@testable import Sandbox

/// Issue 18.5: queue traffic from the real BullMQ client (PyPI `bullmq`, the maintainers' Python
/// port, in the project's virtualenv .tools/venv made by scripts/install-deps.sh) connected through
/// Sentinel, across a failover: jobs added, processed and present in Redis, counted against what
/// Redis promises. The client (scripts/bullmq-traffic.py) runs in the sandbox's pod network
/// namespace, as a client pod would, and asks the three Sentinels (pod IPs, port 26379) for the
/// master. And the tool's queue-depth figures checked against the library that wrote the queue.
@Suite("Sandbox runtime: BullMQ with the real client (through Sentinel; queue depths)", .serialized)
struct BullMQSentinelTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var venv: URL { repoRoot.appendingPathComponent(".tools/venv") }
    /// Skipped only where scripts/install-deps.sh never ran (no .tools/venv at all); `make test`
    /// runs it first. A venv whose install failed fails the test with pip's words.
    static var venvPresent: Bool { FileManager.default.fileExists(atPath: venv.path) }

    /// What the sandbox's Redis is set to for the drill: writes are refused unless one replica
    /// acknowledged within 10 s (Redis's default max lag), on every pod so the promoted one keeps it.
    static let minReplicasToWrite = 1, minReplicasMaxLagS = 10

    struct Summary: Decodable {
        var added: Int
        var add_errors: Int
        var worker_errors: Int
        var processed_unique: Int
        var processed_runs: Int
        var duplicated: [String]
        var lost: [String]
        var vanished: [String]
        var unprocessed: [String]
        var longest_ack_gap_ms: Int
        var states: [String: Int]
        var job_counts: [String: Int]
        var final_read_error: String?
    }

    /// `<job id> <ms>` lines of a driver log.
    static func timedLines(_ url: URL) -> [(id: String, ms: Int64)] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { l in
            let f = l.split(separator: " ")
            guard f.count == 2, let ms = Int64(f[1]) else { return nil }
            return (String(f[0]), ms)
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func setMinReplicas(_ sb: TestSandbox) async {
        for p in SentinelTopologyTests.pods {
            _ = await sb.process.redisCLI(["CONFIG", "SET", "min-replicas-to-write", String(minReplicasToWrite),
                                           "min-replicas-max-lag", String(minReplicasMaxLagS)], pod: p, timeout: .seconds(10))
        }
    }

    /// One master, two replicas with their link up, every Sentinel naming the master: its pod and IP.
    static func settled(_ sb: TestSandbox, within seconds: Double) async -> (pod: String, ip: String)? {
        var found: (String, String)?
        _ = await SandboxProcess.eventually(seconds, every: .milliseconds(500)) {
            var master: String?, linked = 0
            for p in SentinelTopologyTests.pods {
                let r = await SentinelTopologyTests.replication(sb, p)
                if r["role"] == "master" { if master != nil { return false }; master = p }
                if r["role"] == "slave" && r["master_link_status"] == "up" { linked += 1 }
            }
            guard let m = master, linked == 2 else { return false }
            let ip = await SentinelTopologyTests.podIP(sb, m)
            guard await SentinelTopologyTests.masterAddrs(sb) == [ip, ip, ip] else { return false }
            found = (m, ip)
            return true
        }
        return found
    }

    /// The figures of one drill, for the test output and RELIABILITY.md.
    struct Figures {
        var sentinelsAgreeS: Double
        var clientResumeS: Double
        var outageS: Double
        var longestAckGapS: Double
        var summary: Summary
        var ackedInPromiseWindow: Int
    }

    /// Traffic through Sentinel, `disrupt` once `before` jobs were acknowledged, then the counts.
    static func drill(_ sb: TestSandbox, name: String, jobs: Int, before: Int, disrupt: () async -> CommandResult) async throws -> Figures {
        guard let (oldMaster, oldIP) = await settled(sb, within: 60) else {
            throw TestSandbox.Failure("\(name): no settled master (one master, two linked replicas, the Sentinels agreeing) within 60 s")
        }
        await setMinReplicas(sb)
        var sentinels: [String] = []
        for p in SentinelTopologyTests.pods { sentinels += ["--sentinel", "\(await SentinelTopologyTests.podIP(sb, p)):\(SentinelTopology.sentinelPort)"] }
        let out = sb.dir.appendingPathComponent("bullmq-\(name)")
        let netns = "/run/netns/\(SentinelNet.namespace(sb.dir))"
        let argv = ["/usr/bin/nsenter", "--net=\(netns)", "--", venv.appendingPathComponent("bin/python").path,
                    repoRoot.appendingPathComponent("scripts/bullmq-traffic.py").path] + sentinels +
            ["--queue", name, "--job-prefix", name, "--jobs", String(jobs), "--rate", "25", "--max-seconds", "75",
             "--drain-seconds", "25", "--out", out.path]
        let driver = Task { await Runner().run(CommandSpec(argv, timeout: .seconds(90))) }

        let added = out.appendingPathComponent("added.log")
        let warm = await SandboxProcess.eventually(30) { timedLines(added).count >= before }
        guard warm else {
            driver.cancel()
            let r = await driver.value
            throw TestSandbox.Failure("\(name): the client acknowledged \(timedLines(added).count) adds in 30 s: \(r.stdoutText) \(r.stderrText)")
        }
        let killMs = nowMs()
        let fault = await disrupt()
        #expect(fault.succeeded, "\(name): \(fault.stdoutText) \(fault.stderrText)")
        // The Sentinels' view: all three name a new master.
        var sentinelsAgreeS = -1.0
        if await SandboxProcess.eventually(40, every: .milliseconds(250), {
            let a = await SentinelTopologyTests.masterAddrs(sb)
            return !a[0].isEmpty && a[0] != oldIP && Set(a).count == 1
        }) { sentinelsAgreeS = Double(nowMs() - killMs) / 1000 }
        #expect(sentinelsAgreeS >= 0, "\(name): the Sentinels did not agree on a new master within 40 s")

        let r = await driver.value
        let summaryData = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try JSONDecoder().decode(Summary.self, from: summaryData)
        #expect(r.succeeded, "\(name): driver \(r.termination): \(r.stderrText.suffix(2000))")
        #expect(summary.final_read_error == nil, "\(name): \(summary.final_read_error ?? "")")

        let acks = timedLines(added)
        let gone = Set(summary.lost + summary.vanished)
        // The client's outage: the longest time, from just before the fault on, without an
        // acknowledged add that stayed (a job acknowledged by the old master and gone with its
        // demotion does not count); it is back at the end of that gap.
        let stayed = acks.filter { !gone.contains($0.id) && $0.ms >= killMs - 1000 }.map(\.ms)
        var outage: (from: Int64, to: Int64) = (killMs, killMs)
        for (a, b) in zip(stayed, stayed.dropFirst()) where b - a > outage.to - outage.from { outage = (a, b) }
        let firstAfter: Int64? = stayed.isEmpty ? nil : outage.to
        let outageS = Double(outage.to - outage.from) / 1000
        let clientResumeS = firstAfter.map { Double($0 - killMs) / 1000 } ?? -1
        // The promise: an acknowledged write is lost in a failover only if the replica Sentinel
        // promoted never received it. With min-replicas-to-write 1 the old master refuses writes
        // (NOREPLICAS) once no replica has acknowledged for min-replicas-max-lag seconds, so only
        // writes acknowledged within that lag (plus the 1 s between a replica's ACKs) of the fault
        // can be lost: before a kill, or after SENTINEL FAILOVER took its replicas and before it
        // was demoted. appendfsync everysec bounds what a node loses on its own restart (~1 s, 2 s
        // at worst) and does not come into play: after a failover the old master resyncs from the
        // new one, discarding its own AOF.
        let lag = Int64(minReplicasMaxLagS + 1) * 1000
        let windowStart = killMs - lag, windowEnd = killMs + lag + 1000
        let inWindow = Set(acks.filter { $0.ms >= windowStart && $0.ms <= windowEnd }.map(\.id))
        let ackMs = Dictionary(acks.map { ($0.id, $0.ms) }, uniquingKeysWith: { a, _ in a })
        let outsideWindow = gone.filter { !inWindow.contains($0) }.sorted()
        let f1 = { (x: Double) in String(format: "%.1f", x) }
        print("""
        BULLMQ-SENTINEL \(name): promise: min-replicas-to-write \(minReplicasToWrite), min-replicas-max-lag \(minReplicasMaxLagS) s: \
        only jobs acknowledged within \(minReplicasMaxLagS + 1) s of the fault may be lost (\(inWindow.count) jobs acknowledged then); \
        appendfsync everysec: ≤ ~1-2 s on a node's own restart, not in play after a failover. \
        measured: Sentinels agree on the new master \(f1(sentinelsAgreeS)) s after the fault; the client without an add \
        that stayed for \(f1(outageS)) s, back \(f1(clientResumeS)) s after the fault; longest gap between acknowledged adds \(f1(Double(summary.longest_ack_gap_ms) / 1000)) s; \
        added \(summary.added)/\(jobs) (\(summary.add_errors) add errors, retried), processed \(summary.processed_unique) \
        (\(summary.processed_runs) runs); lost (acknowledged, never run, gone) \(summary.lost.count) \(summary.lost.prefix(3)); \
        vanished (run, then gone from Redis) \(summary.vanished.count) \(summary.vanished.prefix(3)); duplicated \(summary.duplicated.count) \
        \(summary.duplicated.prefix(3)); worker errors \(summary.worker_errors); states in Redis \(summary.states); \
        getJobCounts \(summary.job_counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        """)

        // Every job the client was told was added is accounted for.
        #expect(summary.added == jobs, "\(name): only \(summary.added) of \(jobs) adds acknowledged within the driver's time")
        #expect(outsideWindow.isEmpty, "\(name): jobs gone that were acknowledged outside the promise's window: \(outsideWindow.prefix(10).map { "\($0)@\(ackMs[$0].map { $0 - killMs } ?? 0)ms" })")
        #expect(Set(summary.unprocessed) == Set(summary.lost), "\(name): acknowledged, still in Redis, never processed: \(Set(summary.unprocessed).subtracting(summary.lost).sorted().prefix(10))")
        // The client resumes through Sentinel within a bound: after a kill, down-after-milliseconds
        // (3 s), the election and promotion, the reconnect; after SENTINEL FAILOVER, until the old
        // master, refusing writes (NOREPLICAS) or demoted (READONLY), sends it to the new one.
        #expect(clientResumeS > 0 && clientResumeS <= 25 && outageS <= 20, "\(name): the client was without an add that stayed for \(outageS) s, back \(clientResumeS) s after the fault")
        // A job runs twice only around the failover (BullMQ is at-least-once), never in steady state.
        let runs = timedLines(out.appendingPathComponent("processed.log"))
        let firstRun = Dictionary(runs.map { ($0.id, $0.ms) }, uniquingKeysWith: { a, _ in a })
        let steadyDuplicates = summary.duplicated.filter { (firstRun[$0] ?? 0) < windowStart || (firstRun[$0] ?? 0) > max(windowEnd, (firstAfter ?? killMs) + 1000) }
        #expect(steadyDuplicates.isEmpty, "\(name): jobs run twice away from the failover: \(steadyDuplicates)")

        // The live system at the end: one master, Sentinels agree, the queue in Redis matches.
        let now = try #require(await settled(sb, within: 40), "\(name): no settled master after the drill")
        #expect(now.pod != oldMaster, "\(name): \(oldMaster) is master again")
        let zcard = { (key: String) async -> Int in
            Int((await sb.process.redisCLI(["ZCARD", "bull:\(name):\(key)"], pod: now.pod, timeout: .seconds(10))).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        let completed = await zcard("completed"), failed = await zcard("failed")
        #expect(completed + failed == jobs - gone.count, "\(name): completed \(completed) + failed \(failed) in Redis, \(jobs - gone.count) expected")
        let wait = (await sb.process.redisCLI(["LLEN", "bull:\(name):wait"], pod: now.pod)).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(wait == "0", "\(name): \(wait) jobs still waiting")
        return Figures(sentinelsAgreeS: sentinelsAgreeS, clientResumeS: clientResumeS, outageS: outageS,
                       longestAckGapS: Double(summary.longest_ack_gap_ms) / 1000, summary: summary, ackedInPromiseWindow: inWindow.count)
    }

    @Test(.enabled(if: BullMQSentinelTests.venvPresent,
                   "no .tools/venv: scripts/install-deps.sh (run by make test) installs the real BullMQ client there"),
          .timeLimit(.minutes(4)))
    func jobsAcrossMasterKillAndSentinelFailover() async throws {
        let failed = Self.venv.appendingPathComponent("INSTALL-FAILED")
        if let why = try? String(contentsOf: failed, encoding: .utf8) {
            Issue.record("scripts/install-deps.sh could not install the BullMQ client: \(why)")
            return
        }
        try await withTestSandbox(["--topology", "sentinel"]) { sb in
            // The sandbox's own application (scripts/bullmq-app.py: seed, producer, worker) is the
            // same client, through the same Sentinels: it must follow the master across both.
            let seed = await sb.sandbox("seed", ["--preset", "demo"], timeout: .seconds(120))
            #expect(seed.succeeded && seed.stdoutText.contains("by the BullMQ client"), "seed: \(seed.stdoutText) \(seed.stderrText)")
            // 1. master-kill: redis-server of the master SIGKILLed, its restart held 10 s.
            _ = try await Self.drill(sb, name: "kill", jobs: 400, before: 100) {
                await sb.sandbox("fault", ["master-kill"])
            }
            // 2. SENTINEL FAILOVER (what the sentinel-failover runbook runs), once the old master
            // is back as a replica.
            _ = try await Self.drill(sb, name: "failover", jobs: 600, before: 100) {
                await sb.kubectl(["exec", "redis-0", "-c", "sentinel", "--", "redis-cli", "-p", "26379", "SENTINEL", "FAILOVER", "mymaster"], timeout: .seconds(10))
            }
            // 3. The sandbox's producer and worker found the new master by themselves: on it, the
            // email queue's job ids grow and jobs complete.
            let master = try #require(await Self.settled(sb, within: 40), "no settled master after the drills")
            func read(_ args: [String]) async -> Int {
                Int((await sb.process.redisCLI(args, pod: master.pod, timeout: .seconds(10))).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            }
            let id0 = await read(["GET", "bull:email:id"]), done0 = await read(["ZCARD", "bull:email:completed"])
            var id1 = id0, done1 = done0
            let moving = await SandboxProcess.eventually(30, every: .seconds(1)) {
                id1 = await read(["GET", "bull:email:id"]); done1 = await read(["ZCARD", "bull:email:completed"])
                return id1 > id0 && done1 > done0
            }
            #expect(id0 > 0 && moving, "the sandbox's application on \(master.pod) after both failovers: job id \(id0) -> \(id1), completed \(done0) -> \(done1)")
            print("BULLMQ-SENTINEL sandbox application on \(master.pod) after both failovers: job id \(id0) -> \(id1), completed \(done0) -> \(done1)")
        }
    }

    /// The queue-depth figures `status --json` reads (the dashboard's BullMQ panel) against the
    /// library that wrote the queue: the real client, in the pod's network namespace on
    /// 127.0.0.1:6379, runs jobs to completed and failed with a Worker, then adds delayed,
    /// prioritized and waiting jobs; every count the tool shows must be the library's own
    /// `getJobCounts`.
    @Test(.enabled(if: BullMQSentinelTests.venvPresent,
                   "no .tools/venv: scripts/install-deps.sh (run by make test) installs the real BullMQ client there"),
          .timeLimit(.minutes(2)))
    func queueDepthsMatchTheLibrary() async throws {
        if let why = try? String(contentsOf: Self.venv.appendingPathComponent("INSTALL-FAILED"), encoding: .utf8) {
            Issue.record("scripts/install-deps.sh could not install the BullMQ client: \(why)")
            return
        }
        let tool = try #require(SandboxProcess.builtBinary("redis-runbook"), "redis-runbook is not built next to the test runner")
        try await withTestSandbox { sb in
            let pid = try #require(sb.pod()?.sandboxPid)
            // The client in the pod's own network namespace, on its Redis.
            func client(_ name: String, _ args: [String]) async throws -> Data {
                let out = sb.dir.appendingPathComponent("bullmq-\(name)")
                let r = await Runner().run(CommandSpec(["/usr/bin/nsenter", "-t", String(pid), "-n", "--", Self.venv.appendingPathComponent("bin/python").path,
                                                        Self.repoRoot.appendingPathComponent("scripts/bullmq-traffic.py").path, "--redis", "127.0.0.1:6379",
                                                        "--max-seconds", "60", "--out", out.path] + args, timeout: .seconds(75)))
                #expect(r.succeeded, "\(name): \(r.termination): \(r.stderrText.suffix(2000))")
                return try Data(contentsOf: out.appendingPathComponent("summary.json"))
            }
            var spec = CommandSpec([tool, "status", "--json", "--kubeconfig", sb.kubeconfig], timeout: .seconds(60))
            spec.environment = ["HOME": sb.dir.path]
            /// status --json's queues by name, once every queue in `names` is listed.
            func toolQueues(_ names: [String]) async -> [String: [String: Any]] {
                var out: [String: [String: Any]] = [:]
                _ = await SandboxProcess.eventually(20, every: .milliseconds(500)) {
                    let st = await Runner().run(spec)
                    guard let json = try? JSONSerialization.jsonObject(with: Data(st.stdoutText.utf8)) as? [String: Any] else { return false }
                    out = [:]
                    for q in json["queues"] as? [[String: Any]] ?? [] { if let n = q["name"] as? String { out[n] = q } }
                    return names.allSatisfy { out[$0] != nil }
                }
                return out
            }
            let fields = ["waiting": "wait", "active": "active", "completed": "completed", "failed": "failed", "delayed": "delayed",
                          "prioritized": "prioritized", "waitingChildren": "waiting-children"].sorted { $0.key < $1.key }

            // 1. A queue the library wrote: jobs run to completed and failed, then delayed,
            // prioritized and waiting jobs.
            struct Shape: Decodable { var job_counts: [String: Int] }
            let lib = try JSONDecoder().decode(Shape.self, from: try await client("shape", ["--queue", "realq", "--job-prefix", "real",
                "--shape", "completed=170,failed=20,delayed=7,prioritized=4,waiting=150"])).job_counts
            #expect(lib["completed"] == 170 && lib["failed"] == 20 && lib["delayed"] == 7 && lib["prioritized"] == 4 && lib["wait"] == 150, "\(lib)")
            let queue = await toolQueues(["realq"])["realq"] ?? [:]
            #expect(!queue.isEmpty, "status --json lists no queue realq")
            var shown: [String] = []
            for (toolKey, libKey) in fields {
                shown.append("\(toolKey) \(queue[toolKey].map { "\($0)" } ?? "-")/\(lib[libKey] ?? -1)")
                #expect(queue[toolKey] as? Int == lib[libKey], "realq \(toolKey): status --json \(queue[toolKey] ?? "nil"), getJobCounts \(libKey) \(lib[libKey] ?? -1)")
            }
            print("BULLMQ-DEPTHS realq (written by the library) status --json / getJobCounts: \(shown.joined(separator: ", "))")

            // 2. The sandbox's own seed and traffic (the same client: scripts/bullmq-app.py) read
            // back by the library: the same figures as the tool's. The workers stopped (queue-backlog) so only `wait` moves
            // (the producers keep adding): it must lie between the library's two reads.
            #expect(await sb.sandbox("seed", ["--preset", "demo"]).succeeded)
            #expect(await sb.sandbox("fault", ["queue-backlog"]).succeeded)
            try await Task.sleep(for: .seconds(2))
            struct Counts: Decodable { var queues: [String: [String: Int]] }
            let names = Workload.queues
            let before = try JSONDecoder().decode(Counts.self, from: try await client("counts1", ["--counts", names.joined(separator: ",")])).queues
            let tool = await toolQueues(names)
            let after = try JSONDecoder().decode(Counts.self, from: try await client("counts2", ["--counts", names.joined(separator: ",")])).queues
            for name in names {
                let t = tool[name] ?? [:], b = before[name] ?? [:], a = after[name] ?? [:]
                var shown: [String] = []
                for (toolKey, libKey) in fields {
                    let v = t[toolKey] as? Int ?? -1, lo = min(b[libKey] ?? -1, a[libKey] ?? -1), hi = max(b[libKey] ?? -1, a[libKey] ?? -1)
                    shown.append("\(toolKey) \(v)/\(lo == hi ? "\(lo)" : "\(lo)-\(hi)")")
                    #expect(v >= lo && v <= hi, "\(name) \(toolKey): status --json \(v), getJobCounts \(libKey) \(lo)...\(hi)")
                }
                print("BULLMQ-DEPTHS \(name) (seeded) status --json / getJobCounts: \(shown.joined(separator: ", "))")
            }
        }
    }
}
