import Foundation
import Testing

// End-to-end drills, one sandbox each (see DrillKit.swift). Two serialized suites run side by
// side: at most two sandboxes at a time on a 2-core machine.

private let drillsEnabled = Drill.available

/// Seeds `n` known keys (`drill:1...n`); returns DBSIZE (expected to be exactly `n`).
private func seeded(_ box: DrillBox, _ n: Int) async throws -> Int {
    try await box.seedKeys(n)
    let size = try #require(try await box.dbsize())
    #expect(size == n, "DBSIZE after seeding \(n) keys: \(size)")
    return size
}

/// The AOF files' contents by name (read straight from the volume on disk).
private func aofFingerprint(_ box: DrillBox) throws -> [String: Data] {
    let dir = box.sbx + "/volumes/data-redis-0/appendonlydir"
    var out: [String: Data] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
        out[f] = FileManager.default.contents(atPath: dir + "/" + f) ?? Data()
    }
    return out
}

@Suite("Drills A", .serialized, .enabled(if: drillsEnabled))
struct DrillsA {
    @Test func aofCorruptionDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 500)
            // The seeded keys go into the base file; the fault's own 201 writes form the incr file it damages.
            _ = try await box.cli(["BGREWRITEAOF"])
            try await box.eventually("AOF rewrite done", timeout: 30) { try await box.cli(["INFO", "persistence"]).contains("aof_rewrite_in_progress:0") }
            try await box.fault("aof-corruption")
            let f = try await box.waitFinding(runbook: "aof-corruption", timeout: 60)
            #expect(f.contains { $0.id == "aof-corruption" })
            let r = try await box.runRunbook("aof-corruption", ["--answer", "fix-multi-confirm=yes"], timeout: 300)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            // The runbook showed how much --fix removes, then fixed it.
            #expect(r.output.contains("ok_up_to="), "no redis-check-aof analysis in the output")
            #expect(r.output.contains("diff="))
            #expect(r.output.contains("Successfully truncated AOF"))
            try await box.verifyRecovered(runbook: "aof-corruption")
            // Accounting: every seeded key survives (base file intact); only the fault's writes after the bad byte are lost.
            let after = try #require(try await box.dbsize())
            let drillKeys = try await box.cli(["EVAL", "return #redis.call('KEYS', 'drill:*')", "0"])
            #expect(drillKeys == "500", "seeded keys after the repair: \(drillKeys)")
            #expect(after >= before && after < before + 201, "keys before \(before) (+201 written by the fault), after \(after)")
            print("aof-corruption: keys before \(before) (+201 by the fault), after \(after): \(before + 201 - after) lost past the bad byte")
            let counts = try box.capturedCounts()
            #expect(counts.after == after)
            let report = try await box.verifyLog(runOutput: r.output)
            #expect(report.contains("keys_after"))
            // The untouched backup of the AOF directory is on the volume.
            let vol = try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0")
            #expect(vol.contains { $0.hasPrefix("backup-") }, "no AOF backup on the volume: \(vol)")
        }
    }

    @Test func dryRunMutatesNothing() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 300)
            try await box.fault("aof-corruption")
            try await box.waitFinding(runbook: "aof-corruption", timeout: 60)
            let podBefore = try #require(try await box.pod())
            let aofBefore = try aofFingerprint(box)
            let volBefore = Set(try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0"))
            let r = try await box.runRunbook("aof-corruption", ["--dry-run", "--answer", "fix-multi-confirm=yes"], timeout: 240)
            #expect(r.status == 0, "dry run failed: \(r)")
            #expect(r.output.contains("[dry-run] not run."))
            #expect(r.output.contains("scale statefulset redis --replicas=0"))
            // Nothing changed: same pod, replicas, AOF bytes, no repair pod, no backup, no new file on the volume.
            let podAfter = try #require(try await box.pod())
            #expect(podAfter.uid == podBefore.uid)
            #expect(try aofFingerprint(box) == aofBefore, "the AOF files changed during a dry run")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0")) == volBefore)
            let replicas = try await box.kubectl(["get", "statefulset", "redis", "-o", "jsonpath={.spec.replicas}"])
            #expect(replicas.trimmed == "1")
            let repair = try await box.kubectl(["get", "pod", "redis-repair"])
            #expect(repair.status != 0, "a repair pod exists after a dry run")
            // The log: every mutating command is marked dry-run (none ran).
            let entries = try box.logEntries()
            let mutating = entries.filter { $0["type"] as? String == "command" && ($0["mutates"] as? Bool) == true }
            #expect(!mutating.isEmpty)
            #expect(mutating.allSatisfy { ($0["dryRun"] as? Bool) == true }, "a mutating command ran in a dry run")
            #expect(!entries.contains { $0["type"] as? String == "snapshot" }, "before/after snapshots imply a mutation ran")
            // The data is the AOF: its bytes are unchanged (above), so the \(before) seeded keys are too.
            print("dry run: \(before) keys seeded; pod uid, replicas, AOF bytes and volume unchanged")
        }
    }

    @Test func readOnlyIsRefusedAtTheFirstMutatingStep() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 200)
            try await box.fault("crash")
            try await box.waitFinding(runbook: "pod-restart", timeout: 60)
            try await box.eventually("redis-0 ready again", timeout: 60) { try await box.pod()?.ready == "True" }
            let podBefore = try #require(try await box.pod())
            let r = try await box.runRunbook("pod-restart", ["--read-only", "--answer", "decide=yes"], timeout: 120)
            #expect(r.status == 3, "expected exit 3 (refused): \(r)")
            #expect(r.output.contains("Refused: --read-only"))
            #expect(!r.output.contains("Step 9/"), "the run went past the refused step")
            let podAfter = try #require(try await box.pod())
            #expect(podAfter == podBefore, "pod changed: \(podBefore) -> \(podAfter)")
            #expect(try await box.dbsize() == before)
            let entries = try box.logEntries()
            #expect(entries.contains { $0["type"] as? String == "refused" })
            #expect(!entries.contains { $0["type"] as? String == "command" && ($0["mutates"] as? Bool) == true })
        }
    }

    @Test func podRestartDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 250)
            try await box.fault("crash")
            let f = try await box.waitFinding(runbook: "pod-restart", timeout: 60)
            #expect(f.contains { $0.id == "crash-loop" || $0.id == "pod-not-ready" })
            let uidBefore = try await box.pod()?.uid
            let r = try await box.runRunbook("pod-restart", ["--answer", "decide=yes"], timeout: 300)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("$ kubectl -n default delete pod redis-0 --wait=true"))
            #expect(r.output.contains("Runbook finished."))
            try await box.verifyRecovered(runbook: "pod-restart")
            #expect(try await box.pod()?.uid != uidBefore, "the pod was not recreated")
            let after = try await box.dbsize()
            #expect(after == before, "keys before \(before), after \(after ?? -1)")
            print("pod-restart: keys before \(before), after \(after ?? -1)")
            #expect(r.output.contains("Keys before: \(before). Keys after: \(before)."))
            let counts = try box.capturedCounts()
            #expect(counts.before == before && counts.after == before)
            let report = try await box.verifyLog(runOutput: r.output)
            #expect(report.contains("Keys before: **\(before)**, after: **\(before)** (+0)"))
            let text = try String(contentsOfFile: box.logPath, encoding: .utf8)
            #expect(text.contains("\"delete\",\"pod\",\"redis-0\""))
            let mode = try FileManager.default.attributesOfItem(atPath: box.logPath)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test func nodeFailureDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 300)
            try await box.fault("node-down", ["--duration", "25"])
            let f = try await box.waitFinding(runbook: "node-failure", timeout: 60)
            #expect(f.contains { $0.id == "node-not-ready" })
            // Default answer: wait for the node to come back.
            let r = try await box.runRunbook("node-failure", timeout: 300)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            #expect(r.output.contains("Wait for the pod to be ready again"))
            try await box.verifyRecovered(runbook: "node-failure")
            let after = try await box.dbsize()
            #expect(after == before, "keys before \(before), after \(after ?? -1)")
            print("node-failure: keys before \(before), after \(after ?? -1)")
            #expect(try box.capturedCounts().after == before)
            try await box.verifyLog(runOutput: r.output, expectMutations: false)
        }
    }

    @Test func exporterDownDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 100)
            try await box.fault("exporter-down")
            let f = try await box.waitFinding(runbook: "exporter-down", timeout: 60)
            #expect(f.contains { $0.id == "exporter-down" })
            // Default remedy: wait for the sidecar to come back. The cause here (a bad listen
            // address) goes away when the sandbox is healed while the runbook waits.
            async let run = box.runRunbook("exporter-down", timeout: 240)
            try await box.eventually("the runbook waits for the exporter", timeout: 120) {
                ((try? String(contentsOfFile: box.logPath, encoding: .utf8)) ?? "").contains("\"stepId\":\"wait-metrics\"")
            }
            _ = try await box.sandbox("heal")
            let r = try await run
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            #expect(r.output.contains("redis_up 1"))
            try await box.verifyRecovered(runbook: "exporter-down")
            let after = try await box.dbsize()
            #expect(after == before)
            print("exporter-down: keys before \(before), after \(after ?? -1)")
            let c = try box.capturedCounts()
            #expect(c.before == before && c.after == before)
            try await box.verifyLog(runOutput: r.output, expectMutations: false)
        }
    }
}

@Suite("Drills B", .serialized, .enabled(if: drillsEnabled))
struct DrillsB {
    @Test func backupAndRestoreDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 400)
            let rdb = box.tmp.appendingPathComponent("backup.rdb").path
            // backup: no fault; the normal flow, right after another save (LASTSAVE counts whole
            // seconds: the runbook's own save must still be told apart from this one).
            _ = try await box.cli(["BGSAVE"])
            let b = try await box.runRunbook("backup", ["--set", "backup_path=\(rdb)"], timeout: 300)
            #expect(b.status == 0, "backup failed: \(b)")
            #expect(b.output.contains("RDB looks OK"))
            #expect(b.output.contains("[info] \(before) keys read"), "backup did not report the key count")
            #expect(b.output.contains("Keys at backup time: \(before)"))
            #expect(b.output.contains("backup-") && b.output.contains(".rdb"))
            let size = (try FileManager.default.attributesOfItem(atPath: rdb)[.size] as? Int) ?? 0
            #expect(size > 0, "no local backup copy")
            try await box.verifyLog(runOutput: b.output)

            // Data is lost after the backup.
            #expect(try await box.cli(["FLUSHALL"]) == "OK")
            #expect(try await box.dbsize() == 0)
            let restoreLog = box.tmp.appendingPathComponent("restore.jsonl").path
            let r = try await box.redisRunbook(["runbook", "run", "restore", "--kubectl", box.kubectlPath, "--audit-log", restoreLog,
                                                "--yes", "--yes-destructive", "--answer", "sure=yes", "--set", "backup_path=\(rdb)"], timeout: 300)
            box.transcript.append(String(r.output.suffix(6000)))
            #expect(r.status == 0, "restore failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            try await box.verifyRecovered(runbook: "restore")
            let after = try await box.dbsize()
            #expect(after == before, "keys in the backup \(before), after the restore \(after ?? -1)")
            print("backup/restore: keys at backup \(before), lost to 0, restored \(after ?? -1)")
            #expect(r.output.contains("Keys before the restore: 0; after: \(before)"))
            // The old AOF was moved aside, not deleted; AOF is on (a restart keeps the data).
            let vol = try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0")
            #expect(vol.contains { $0.hasPrefix("appendonlydir.before-restore-") })
            #expect(try await box.cli(["CONFIG", "GET", "appendonly"]).contains("yes"))
            let rep = try await box.redisRunbook(["report", restoreLog], timeout: 30)
            #expect(rep.status == 0)
            #expect(rep.output.contains("Keys before: **0**, after: **\(before)**"))
        }
    }

    @Test func memoryPressureDrill() async throws {
        try await DrillBox.with(["--memory-limit", "64Mi"]) { box in
            _ = try await seeded(box, 200)
            try await box.fault("memory-pressure")
            let before = try #require(try await box.dbsize())
            let f = try await box.waitFinding(runbook: "memory-pressure", timeout: 60)
            #expect(f.contains { $0.id == "memory-pressure" || $0.id == "oom-rejections" })
            let r = try await box.runRunbook("memory-pressure", ["--answer", "remedy=limit", "--set", "new_limit=128Mi",
                                                                 "--set", "limit_maxmemory=100663296"], timeout: 300)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            try await box.verifyRecovered(runbook: "memory-pressure")
            #expect(try await box.cli(["CONFIG", "GET", "maxmemory-policy"]).contains("noeviction"))
            #expect(try await box.cli(["SET", "drill:write", "ok"]) == "OK", "writes still refused")
            _ = try await box.cli(["DEL", "drill:write"])
            let after = try await box.dbsize()
            #expect(after == before, "keys before \(before), after \(after ?? -1)")
            print("memory-pressure: keys before \(before), after \(after ?? -1)")
            let c = try box.capturedCounts()
            #expect(c.before == before && c.after == before)
            try await box.verifyLog(runOutput: r.output)
        }
    }

    @Test func configDriftDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 150)
            try await box.fault("config-drift")
            let f = try await box.waitFinding(runbook: "config-drift", timeout: 60)
            #expect(f.contains { $0.id == "eviction-policy" })
            let r = try await box.runRunbook("config-drift", timeout: 240)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            #expect(try await box.cli(["CONFIG", "GET", "maxmemory-policy"]).contains("noeviction"))
            try await box.verifyRecovered(runbook: "config-drift")
            let after = try await box.dbsize()
            #expect(after == before)
            print("config-drift: keys before \(before), after \(after ?? -1)")
            let c = try box.capturedCounts()
            #expect(c.before == before && c.after == before)
            try await box.verifyLog(runOutput: r.output)
        }
    }

    @Test func diskFullDrill() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 300)
            try await box.fault("disk-full")
            let f = try await box.waitFinding(runbook: "disk-full", timeout: 60)
            #expect(f.contains { $0.id == "aof-write-error" })
            let during = try #require(try await box.dbsize())
            // The PVC asks for 10Gi (the manifest); grow it to 20Gi (the sandbox's tmpfs grows to its 2 GiB cap).
            let r = try await box.runRunbook("disk-full", ["--set", "new_size=20Gi"], timeout: 300)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            #expect(r.output.contains("patch pvc data-redis-0"))
            try await box.verifyRecovered(runbook: "disk-full")
            let p = try await box.cli(["INFO", "persistence"])
            #expect(p.contains("aof_last_write_status:ok") && p.contains("aof_last_bgrewrite_status:ok"))
            #expect(try await box.cli(["SET", "drill:write", "ok"]) == "OK")
            _ = try await box.cli(["DEL", "drill:write"])
            // No key lost: everything Redis accepted before the disk filled is still there.
            let after = try #require(try await box.dbsize())
            #expect(after == during && after >= before, "keys seeded \(before), when full \(during), after \(after)")
            print("disk-full: keys seeded \(before), when the disk filled \(during), after \(after)")
            let c = try box.capturedCounts()
            #expect(c.before == during && c.after == after)
            try await box.verifyLog(runOutput: r.output)
        }
    }

    @Test func loadingDrill() async throws {
        try await DrillBox.with(["--memory-limit", "128Mi"]) { box in
            _ = try await seeded(box, 100)
            let fault = try await box.sandbox("fault", ["slow-loading"])
            try #require(fault.status == 0, "fault failed: \(fault)")
            // "wrote N keys (each a SET in the AOF) and killed redis-server"
            let written = try #require(fault.output.split(separator: " ").drop { $0 != "wrote" }.dropFirst().first.flatMap { Int($0) },
                                       "no key count in: \(fault.output)")
            // On a quiet machine the replay can end before a status poll lands in it: that is
            // recorded as a known, intermittent issue (the dashboard test sees LOADING on screen).
            var sawLoading = true
            do {
                let f = try await box.waitFinding(runbook: "loading", timeout: 60)
                #expect(f.contains { $0.id == "loading" })
            } catch {
                sawLoading = false
                withKnownIssue("the LOADING window was shorter than a status --json poll", isIntermittent: true) { throw error }
            }
            let r = try await box.runRunbook("loading", timeout: 300)
            #expect(r.status == 0, "runbook failed: \(r)")
            #expect(r.output.contains("Runbook finished."))
            if sawLoading {
                #expect(r.output.contains("Wait until loading is done"), "the run did not see Redis loading")
            }
            try await box.verifyRecovered(runbook: "loading")
            let after = try #require(try await box.dbsize())
            // KEYS drill:* returns 100 names only (never KEYS slow:*: that array alone would not fit in the limit).
            let drill = try await box.cli(["EVAL", "return #redis.call('KEYS', 'drill:*')", "0"])
            #expect(drill == "100")
            #expect(after == written + 100, "keys before the restart: 100 seeded + \(written) written by the fault; after: \(after)")
            print("loading: keys before the restart 100 + \(written) = \(written + 100), after \(after)")
            if sawLoading { #expect(try box.capturedCounts().after == after) }
            try await box.verifyLog(runOutput: r.output, expectMutations: false)
        }
    }
}
