import Foundation
import SandboxFixture
import Testing

// Issue 18's split-brain and migrate-to-sentinel runbooks, drilled end to end: the real
// `redis-runbook` in line mode against one `--topology sentinel --fast` sandbox (three pods,
// real redis-server and redis-sentinel, the real kubectl). The split brain is real (the master
// comes back with a new IP, `fault master-returns-new-ip`), and so is the migration's "before"
// state (the Sentinels forget the master, the replicas are detached and emptied). Every path,
// each "no" included, is judged by what the live system shows afterwards: ROLE / INFO
// replication of every pod, what every Sentinel names, key counts.

private let sentinelDrillsEnabled = Drill.available

/// The live replication picture of the three pods.
/// Shared with MigrateFromSingleDrillTests.
struct Pods {
    let box: DrillBox
    static let names = ["redis-0", "redis-1", "redis-2"]

    func cli(_ pod: String, _ args: [String], container: String = "redis") async throws -> String {
        let r = try await box.kubectl(["exec", pod, "-c", container, "--", "redis-cli"] + args, timeout: 20)
        return SandboxProcess.withoutKubectlNotices(r.output).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func info(_ pod: String) async throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try await cli(pod, ["INFO", "replication"]).split(whereSeparator: \.isNewline) {
            let kv = line.split(separator: ":", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = kv[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    func roles() async throws -> [String: String] {
        var out: [String: String] = [:]
        for p in Self.names { out[p] = try await info(p)["role"] ?? "none" }
        return out
    }

    func masters() async throws -> [String] { try await roles().filter { $0.value == "master" }.keys.sorted() }

    /// What each Sentinel names as the master of mymaster ("" when it names none).
    func sentinelAddrs() async throws -> [String] {
        var out: [String] = []
        for p in Self.names {
            out.append(try await cli(p, ["-p", "26379", "SENTINEL", "get-master-addr-by-name", "mymaster"], container: "sentinel")
                .split(whereSeparator: \.isNewline).first.map(String.init) ?? "")
        }
        return out
    }

    /// Every Sentinel knows the master's two replicas and the two other Sentinels (what it learns
    /// from the master's INFO every 10 s and the hello messages every 2 s). A fault injected
    /// before that leaves Sentinels that cannot fail over: no known replica to promote.
    func sentinelsKnowEachOther() async throws -> Bool {
        for p in Self.names {
            let m = try await cli(p, ["-p", "26379", "SENTINEL", "master", "mymaster"], container: "sentinel").split(whereSeparator: \.isNewline).map(String.init)
            func field(_ k: String) -> String? { m.firstIndex(of: k).flatMap { $0 + 1 < m.count ? m[$0 + 1] : nil } }
            guard field("num-slaves") == "2", field("num-other-sentinels") == "2" else { return false }
        }
        return true
    }

    func ip(_ pod: String) async throws -> String {
        try await box.kubectl(["get", "pod", pod, "-o", "jsonpath={.status.podIP}"]).trimmed
    }

    func dbsize(_ pod: String) async throws -> Int? { Int(try await cli(pod, ["DBSIZE"])) }

    var picture: String {
        get async {
            var s: [String] = []
            for p in Self.names {
                let i = (try? await info(p)) ?? [:]
                s.append("\(p) \((try? await ip(p)) ?? "?") role=\(i["role"] ?? "?") master_host=\(i["master_host"] ?? "-") link=\(i["master_link_status"] ?? "-") keys=\((try? await dbsize(p)).flatMap { $0 }.map(String.init) ?? "?")")
            }
            return s.joined(separator: "; ") + "; sentinels=\((try? await sentinelAddrs()) ?? [])"
        }
    }
}

/// `runbook run ID FLAGS` with its own incident log; returns the result and its verdict line.
/// Shared with MigrateFromSingleDrillTests.
func run(_ box: DrillBox, _ id: String, _ name: String, _ flags: [String], timeout: TimeInterval = 240) async throws -> (Drill.Result, String) {
    box.cellNumber += 1
    let r = try await box.redisRunbook(["runbook", "run", id, "--kubectl", box.kubectlPath, "--audit-log", box.logPath] + flags, timeout: timeout)
    box.transcript.append(String(r.output.suffix(5000)))
    let verdicts = r.output.split(separator: "\n").filter { $0.hasPrefix("finished") || $0.hasPrefix("stopped") }.map(String.init)
    #expect(verdicts.count == 1, "\(id) [\(name)]: \(verdicts.count) verdict lines")
    let line = verdicts.last ?? "(no verdict line)"
    print("DRILL-MATRIX|\(id)|\(name)|exit \(r.status)|\(String(format: "%.0f", r.seconds)) s|\(line.prefix(160))")
    return (r, line)
}

/// An expectation about the live system; when it fails, the message carries the picture of every pod.
private func expectLive(_ ok: Bool, _ what: String, _ pods: Pods, sourceLocation: SourceLocation = #_sourceLocation) async {
    if !ok { Issue.record("\(what)\(await pods.picture)", sourceLocation: sourceLocation) }
}

private func captures(_ box: DrillBox) throws -> [String: String] {
    var last: [String: String] = [:]
    for e in try box.logEntries() where e["type"] as? String == "capture" {
        if let n = e["name"] as? String { last[n] = e["value"] as? String ?? "" }
    }
    return last
}

@Suite("Drills: split brain and migration to Sentinel", .serialized, .enabled(if: sentinelDrillsEnabled))
struct SplitBrainDrillTests {
    @Test(.timeLimit(.minutes(8)))
    func splitBrainThenMigrateToSentinel() async throws {
        try await DrillBox.with(["--topology", "sentinel"]) { box in
            let pods = Pods(box: box)
            let started = Date()
            // A healthy start: redis-0 master, two linked replicas, the Sentinels agree.
            try await box.eventually("one master, two linked replicas, the Sentinels agree and know each other", timeout: 60) {
                let ms = try await pods.masters()
                let a = try await pods.sentinelAddrs()
                guard ms == ["redis-0"] && Set(a).count == 1 && !a[0].isEmpty else { return false }
                return try await pods.sentinelsKnowEachOther()
            }
            try await box.seedKeys(200)
            // The data reached both replicas before the split.
            try await box.eventually("both replicas linked, holding the 200 keys", timeout: 60) {
                for p in ["redis-1", "redis-2"] {
                    let i = try await pods.info(p)
                    guard i["master_link_status"] == "up", try await pods.dbsize(p) == 200 else { return false }
                }
                return true
            }

            // ---------------- split-brain ----------------
            try await box.fault("master-returns-new-ip")
            var trueIP = "", truePod = "", stray = ""
            try await box.eventually("two role:master pods, the Sentinels agreeing on one of them", timeout: 90) {
                let ms = try await pods.masters()
                let a = try await pods.sentinelAddrs()
                guard ms.count == 2, Set(a).count == 1, !a[0].isEmpty else { return false }
                for m in ms { if try await pods.ip(m) == a[0] { truePod = m } }
                guard !truePod.isEmpty else { return false }
                trueIP = a[0]
                stray = ms.first { $0 != truePod }!
                return true
            }
            await expectLive(stray == "redis-0", "the master that came back with a new IP is the stray: ", pods)
            // Writes since the split, that only the stray holds.
            #expect(try await pods.cli(stray, ["EVAL", "for i = 1, 7 do redis.call('SET', 'split:' .. i, i) end return 1", "0"]) == "1")
            let strayKeys = try #require(try await pods.dbsize(stray))
            let trueKeys = try #require(try await pods.dbsize(truePod))
            await expectLive(strayKeys == 207 && trueKeys == 200, "", pods)
            // The dashboard's finding names this runbook.
            try await box.waitFinding(runbook: "split-brain", timeout: 30)

            // "no" 1: --yes alone never answers a destructive question yes.
            let (n1, v1) = try await run(box, "split-brain", "--yes (default no)", ["--yes", "--set", "sample_max=500"])
            #expect(n1.status == 3 && v1.hasPrefix("stopped"), "\(n1.output.suffix(2500))")
            #expect(n1.output.contains("Nothing was changed: \(stray) is still a master"))
            #expect(n1.output.contains("Of 207 sampled keys of \(stray), 7 do not exist on"), "\(n1.output.suffix(4000))")
            let counted = try captures(box)
            #expect(counted["missing_count"] == "7" && counted["stray_keys"] == "207" && counted["true_keys"] == "200", "\(counted)")
            #expect(Int(counted["true_offset"] ?? "") != nil && Int(counted["stray_offset"] ?? "") != nil, "both masters' offsets: \(counted)")
            #expect(counted["true_pod"] == truePod && counted["stray_pod"] == stray && counted["true_master_ip"] == trueIP)
            #expect(!n1.output.contains("REPLICAOF \(trueIP) 6379\n   | OK"))
            // "no" 2: an explicit no, with --yes-destructive given.
            let (n2, v2) = try await run(box, "split-brain", "--answer decide=no", ["--yes", "--yes-destructive", "--answer", "decide=no"])
            #expect(n2.status == 3 && v2.hasPrefix("stopped"), "\(n2.output.suffix(2500))")
            // Nothing changed: still two masters, the stray keeps its 207 keys, the Sentinels still name the true master.
            let stillTwoMasters = try await pods.masters() == [stray, truePod].sorted()
            await expectLive(stillTwoMasters, "", pods)
            #expect(try await pods.dbsize(stray) == 207)
            #expect(try await pods.sentinelAddrs() == [trueIP, trueIP, trueIP])

            // yes: the typed confirmation (--yes-destructive types the pod name) demotes the stray.
            let (y, vy) = try await run(box, "split-brain", "yes", ["--yes", "--yes-destructive", "--set", "sample_max=500"])
            #expect(y.status == 0 && vy.hasPrefix("finished"), "\(y.output.suffix(3000))")
            #expect(y.output.contains("$ kubectl -n default exec \(stray) -c redis -- redis-cli REPLICAOF \(trueIP) 6379"))
            let log = try box.logEntries()
            let typed = log.first { ($0["type"] as? String) == "answer" && (($0["prompt"] as? String) ?? "").hasPrefix("type ") }
            #expect((typed?["answer"] as? String) == stray, "the typed confirmation names the demoted pod: \(typed ?? [:])")
            // The counts were recorded before the REPLICAOF ran.
            let capIdx = log.firstIndex { ($0["type"] as? String) == "capture" && ($0["name"] as? String) == "missing_count" }
            let cmdIdx = log.firstIndex { (($0["argv"] as? [String]) ?? []).contains("REPLICAOF") }
            #expect(capIdx != nil && cmdIdx != nil && capIdx! < cmdIdx!)
            // Live: exactly one role:master (the true one), the stray replicates it with its link up,
            // every Sentinel names it, and the stray holds the true master's 200 keys.
            try await box.eventually("one master, the Sentinels agree, the demoted pod linked", timeout: 30) {
                let ms = try await pods.masters(), a = try await pods.sentinelAddrs()
                return ms == [truePod] && a == [trueIP, trueIP, trueIP]
            }
            let si = try await pods.info(stray)
            await expectLive(si["role"] == "slave" && si["master_host"] == trueIP && si["master_link_status"] == "up", "", pods)
            #expect(try await pods.dbsize(stray) == 200)
            #expect(try await pods.dbsize(truePod) == 200)
            try await box.waitFinding(runbook: "split-brain", absent: true, timeout: 30)
            print("split-brain drill: \(String(format: "%.0f", Date().timeIntervalSince(started))) s so far")

            // ---------------- migrate-to-sentinel ----------------
            // The "before" of ADR 0005's path A on the same pods: the Sentinels monitor nothing,
            // redis-0 is a lone master with the data (200 keys + one BullMQ queue), redis-1 and
            // redis-2 are empty masters (new pods), each config file saying so.
            for p in Pods.names { _ = try await pods.cli(p, ["-p", "26379", "SENTINEL", "REMOVE", "mymaster"], container: "sentinel") }
            #expect(try await pods.cli("redis-0", ["REPLICAOF", "NO", "ONE"]) == "OK")
            for p in Pods.names where p != "redis-0" {
                #expect(try await pods.cli(p, ["REPLICAOF", "NO", "ONE"]) == "OK")
                #expect(try await pods.cli(p, ["FLUSHALL"]) == "OK")
            }
            for p in Pods.names { #expect(try await pods.cli(p, ["CONFIG", "REWRITE"]) == "OK") }
            let queue = "local p = 'bull:drillq:' redis.call('HSET', p .. 'meta', 'opts.maxLenEvents', 10000) for i = 1, 5 do redis.call('HSET', p .. i, 'name', 'job', 'data', '{}') redis.call('RPUSH', p .. 'wait', i) end for i = 6, 8 do redis.call('HSET', p .. i, 'name', 'job', 'data', '{}', 'finishedOn', i) redis.call('ZADD', p .. 'completed', i, i) end redis.call('SET', p .. 'id', 8) return 1"
            #expect(try await pods.cli("redis-0", ["EVAL", queue, "0"]) == "1")
            let keysBefore = try #require(try await pods.dbsize("redis-0"))
            #expect(keysBefore == 200 + 12)   // the queue: meta, id, wait, completed and 8 job hashes
            let masterIP = try await pods.ip("redis-0")
            let threeLoneMasters = try await pods.masters() == Pods.names
            await expectLive(threeLoneMasters, "", pods)
            #expect(try await pods.sentinelAddrs() == ["", "", ""])

            // "no": --yes takes the start question's default (no): nothing changes.
            let (m0, vm0) = try await run(box, "migrate-to-sentinel", "--yes (default no)", ["--yes"])
            #expect(m0.status == 3 && vm0.hasPrefix("stopped"), "\(m0.output.suffix(2500))")
            #expect(m0.output.contains("Redis and the Sentinels were not touched: redis-0 serves as before"))
            let stillThreeLoneMasters = try await pods.masters() == Pods.names
            await expectLive(stillThreeLoneMasters, "", pods)
            #expect(try await pods.sentinelAddrs() == ["", "", ""])
            for (p, n) in [("redis-0", keysBefore), ("redis-1", 0), ("redis-2", 0)] { #expect(try await pods.dbsize(p) == n, "\(p)") }

            // yes to start, the BullMQ switch not confirmed (its default): the Redis side is done and kept.
            let (m1, vm1) = try await run(box, "migrate-to-sentinel", "start=yes, switch not confirmed", ["--yes", "--answer", "start=yes"])
            #expect(m1.status == 4 && vm1.hasPrefix("stopped"), "\(m1.output.suffix(3000))")
            #expect(m1.output.contains("sentinels: [") && m1.output.contains("{ host: 'redis-1.redis.default.svc.cluster.local', port: 26379 },"),
                    "the step shows the app's connection settings")
            #expect(m1.output.contains("SENTINEL REMOVE mymaster"), "the verdict lists how to take the Sentinels back")
            try await box.eventually("redis-0 master of two linked replicas, the Sentinels name it", timeout: 30) {
                let ms = try await pods.masters(), a = try await pods.sentinelAddrs()
                return ms == ["redis-0"] && a == [masterIP, masterIP, masterIP]
            }
            // The operator switched the app: --resume at the question, answered yes.
            let (m2, vm2) = try await run(box, "migrate-to-sentinel", "--resume, switched", ["--resume", "--yes", "--answer", "bullmq-switched=yes"])
            #expect(m2.status == 0 && vm2.hasPrefix("finished"), "\(m2.output.suffix(3000))")
            #expect(m2.output.contains("ok: ✓ stdout matches \"^{{queues_before}}"), "the queues were compared: \(m2.output.suffix(2000))")
            // Live: one master, both replicas follow it with their link up, every Sentinel names it,
            // the quorum holds, and every pod has the same keys and the same queue.
            for p in ["redis-1", "redis-2"] {
                let i = try await pods.info(p)
                await expectLive(i["role"] == "slave" && i["master_host"] == masterIP && i["master_link_status"] == "up", "", pods)
            }
            #expect(try await pods.masters() == ["redis-0"])
            #expect(try await pods.sentinelAddrs() == [masterIP, masterIP, masterIP])
            #expect(try await pods.cli("redis-1", ["-p", "26379", "SENTINEL", "CKQUORUM", "mymaster"], container: "sentinel").hasPrefix("OK 3 usable Sentinels"))
            for p in Pods.names {
                let sameKeys = try await pods.dbsize(p) == keysBefore
                await expectLive(sameKeys, "\(p): ", pods)
                #expect(try await pods.cli(p, ["LLEN", "bull:drillq:wait"]) == "5")
                #expect(try await pods.cli(p, ["ZCARD", "bull:drillq:completed"]) == "3")
            }
            print("split-brain + migrate-to-sentinel drills: \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
        }
    }

    /// A Sentinel left with a stale master address (`fault stale-sentinel-config redis-2`: it
    /// restarts on a config naming an address no pod has). The dashboard's sentinel-disagree
    /// names split-brain; with one master there is nothing to demote, and the runbook points the
    /// stale Sentinel at the master the other two name (SENTINEL REMOVE + MONITOR with their
    /// settings): "no" by default, yes when asked.
    @Test(.timeLimit(.minutes(6)))
    func staleSentinelIsPointedAtTheTrueMaster() async throws {
        try await DrillBox.with(["--topology", "sentinel"]) { box in
            let pods = Pods(box: box)
            let started = Date()
            try await box.eventually("one master, the Sentinels agree and know each other", timeout: 60) {
                let a = try await pods.sentinelAddrs()
                guard try await pods.masters() == ["redis-0"] && Set(a).count == 1 && !a[0].isEmpty else { return false }
                return try await pods.sentinelsKnowEachOther()
            }
            let masterIP = try await pods.ip("redis-0")
            try await box.fault("stale-sentinel-config", ["redis-2"])
            var stale = ""
            try await box.eventually("the Sentinel of redis-2 names another address", timeout: 30) {
                let a = try await pods.sentinelAddrs()
                stale = a[2]
                return a[0] == masterIP && a[1] == masterIP && !a[2].isEmpty && a[2] != masterIP
            }
            let f = try await box.waitFinding(runbook: "split-brain", timeout: 60)
            #expect(f.contains { $0.id == "sentinel-disagree" }, "\(f)")

            // "no": --yes takes the question's default.
            let (n, vn) = try await run(box, "split-brain", "stale Sentinel: --yes (default no)", ["--yes"])
            #expect(n.status == 3 && vn.hasPrefix("stopped"), "\(n.output.suffix(2500))")
            #expect(n.output.contains("Only redis-0 (\(masterIP)) answers role:master"), "\(n.output.suffix(3000))")
            #expect(n.output.contains("The Sentinel of redis-2 names \(stale), the other two \(masterIP)"), "\(n.output.suffix(3000))")
            #expect(!n.output.contains("$ kubectl -n default exec redis-2 -c sentinel -- redis-cli -p 26379 SENTINEL REMOVE"), "a declined repoint ran a command")
            #expect(try await pods.sentinelAddrs() == [masterIP, masterIP, stale], "a declined repoint changed a Sentinel")
            let counted = try captures(box)
            #expect(counted["stale_pod"] == "redis-2" && counted["healthy_pod"] == "redis-0" && counted["quorum"] == "2", "\(counted)")

            // yes: the Sentinel monitors the true master with the others' settings and rejoins them.
            let (y, vy) = try await run(box, "split-brain", "stale Sentinel: yes (repointed)", ["--yes", "--answer", "repoint-ask=yes"])
            #expect(y.status == 0 && vy.hasPrefix("finished"), "\(y.output.suffix(3000))")
            #expect(y.output.contains("$ kubectl -n default exec redis-2 -c sentinel -- redis-cli -p 26379 SENTINEL MONITOR mymaster \(masterIP) 6379 2"), "\(y.output.suffix(3000))")
            #expect(try await pods.sentinelAddrs() == [masterIP, masterIP, masterIP])
            let m = try await pods.cli("redis-2", ["-p", "26379", "SENTINEL", "master", "mymaster"], container: "sentinel").split(separator: "\n").map(String.init)
            func field(_ k: String) -> String? { m.firstIndex(of: k).flatMap { $0 + 1 < m.count ? m[$0 + 1] : nil } }
            #expect(field("down-after-milliseconds") == "3000" && field("failover-timeout") == "10000" && field("quorum") == "2", "\(m)")
            #expect(try await pods.cli("redis-2", ["-p", "26379", "SENTINEL", "CKQUORUM", "mymaster"], container: "sentinel").hasPrefix("OK 3 usable Sentinels"))
            try await box.waitFinding(runbook: "split-brain", absent: true, timeout: 30)

            // The same with redis-0's Sentinel stale: the settings come from redis-1's.
            try await box.fault("stale-sentinel-config", ["redis-0"])
            try await box.eventually("the Sentinel of redis-0 names another address", timeout: 30) {
                let a = try await pods.sentinelAddrs()
                return a[1] == masterIP && a[2] == masterIP && !a[0].isEmpty && a[0] != masterIP
            }
            let (y0, vy0) = try await run(box, "split-brain", "stale Sentinel of redis-0: yes", ["--yes", "--answer", "repoint-ask=yes"])
            #expect(y0.status == 0 && vy0.hasPrefix("finished"), "\(y0.output.suffix(3000))")
            let c0 = try captures(box)
            #expect(c0["stale_pod"] == "redis-0" && c0["healthy_pod"] == "redis-1", "\(c0)")
            #expect(try await pods.sentinelAddrs() == [masterIP, masterIP, masterIP])
            print("stale-Sentinel drill: \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
        }
    }

    /// A split brain from a partition (`fault partition redis-0`, the master cut off from the
    /// other pods): the two Sentinels on the majority side fail over, while redis-0 keeps
    /// answering role:master and takes writes from clients beside it. The runbook finds the true
    /// master by the majority, counts what the cut-off master alone holds before anything is
    /// discarded, and stops at "it cannot reach the true master": demoting it now could not sync.
    /// Once the network is back, Sentinel demotes it by itself (its writes are gone, as counted),
    /// and the runbook then finds one master and every Sentinel agreeing.
    @Test(.timeLimit(.minutes(8)))
    func partitionedMasterSplitBrain() async throws {
        try await DrillBox.with(["--topology", "sentinel"]) { box in
            let pods = Pods(box: box)
            let started = Date()
            try await box.eventually("one master, two linked replicas, the Sentinels agree and know each other", timeout: 60) {
                let a = try await pods.sentinelAddrs()
                guard try await pods.masters() == ["redis-0"] && Set(a).count == 1 && !a[0].isEmpty else { return false }
                return try await pods.sentinelsKnowEachOther()
            }
            try await box.seedKeys(200)
            try await box.eventually("both replicas hold the 200 keys", timeout: 60) {
                for p in ["redis-1", "redis-2"] where try await pods.dbsize(p) != 200 { return false }
                return true
            }
            let oldIP = try await pods.ip("redis-0")
            try await box.fault("partition", ["redis-0"])
            var trueIP = "", truePod = ""
            try await box.eventually("the majority's Sentinels fail over while redis-0 still says role:master", timeout: 90) {
                let ms = try await pods.masters(), a = try await pods.sentinelAddrs()
                guard ms.count == 2, ms.contains("redis-0"), a[1] == a[2], !a[1].isEmpty, a[1] != oldIP else { return false }
                trueIP = a[1]
                for m in ms where m != "redis-0" { if try await pods.ip(m) == trueIP { truePod = m } }
                return !truePod.isEmpty
            }
            // A client beside redis-0 (same pod network namespace) still writes to it.
            #expect(try await pods.cli("redis-0", ["EVAL", "for i = 1, 7 do redis.call('SET', 'cut:' .. i, i) end return 1", "0"]) == "1")
            #expect(try await pods.dbsize("redis-0") == 207)
            try await box.waitFinding(runbook: "split-brain", timeout: 60)

            // yes to everything: the run still stops before REPLICAOF, since redis-0 cannot reach
            // the true master; the accounting was recorded first.
            let (r, v) = try await run(box, "split-brain", "partitioned master, yes", ["--yes", "--yes-destructive", "--set", "sample_max=500"])
            #expect(r.status == 3 && v.hasPrefix("stopped"), "\(r.output.suffix(3000))")
            #expect(r.output.contains("redis-0 cannot reach the true master"), "\(r.output.suffix(3000))")
            #expect(!r.output.contains("redis-cli REPLICAOF \(trueIP) 6379"), "no REPLICAOF while cut off")
            let counted = try captures(box)
            #expect(counted["stray_pod"] == "redis-0" && counted["true_pod"] == truePod && counted["missing_count"] == "7", "\(counted)")
            #expect(try await pods.dbsize("redis-0") == 207, "nothing discarded by the runbook")

            // The network comes back: Sentinel turns redis-0 into a replica of the true master.
            let healed = try await box.sandbox("heal")
            #expect(healed.status == 0, "\(healed.output)")
            try await box.eventually("Sentinel demotes redis-0 once it sees it again", timeout: 90) {
                let i = try await pods.info("redis-0"), a = try await pods.sentinelAddrs()
                return i["role"] == "slave" && i["master_host"] == trueIP && i["master_link_status"] == "up" && a == [trueIP, trueIP, trueIP]
            }
            #expect(try await pods.dbsize("redis-0") == 200, "redis-0 resynced from the true master: its 7 keys are gone, as counted")
            let (r2, v2) = try await run(box, "split-brain", "after the partition healed", ["--yes"])
            #expect(r2.status == 0 && v2.hasPrefix("finished"), "\(r2.output.suffix(3000))")
            try await box.waitFinding(runbook: "split-brain", absent: true, timeout: 60)

            // Every pod at once (`all-restart`): each redis and Sentinel starts from the files on
            // its volume (the roles Sentinel's CONFIG REWRITE left there), so one master comes
            // back; the runbook finds no split and nothing to do.
            try await box.fault("all-restart")
            try await box.eventually("three pods back, one master, the Sentinels agree", timeout: 90) {
                let ms = try await pods.masters(), a = try await pods.sentinelAddrs()
                return ms == [truePod] && a == [trueIP, trueIP, trueIP]
            }
            let (r3, v3) = try await run(box, "split-brain", "after all-restart", ["--yes", "--yes-destructive"])
            #expect(r3.status == 0 && v3.hasPrefix("finished"), "\(r3.output.suffix(3000))")
            #expect(!r3.output.contains("redis-cli REPLICAOF"), "nothing demoted")
            print("partition split-brain drill: \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
        }
    }
}
