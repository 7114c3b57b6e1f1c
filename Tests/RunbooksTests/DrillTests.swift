import Foundation
import Testing

// The drill matrix (issue 14): every runbook, unattended, on a real sandbox (real redis-server
// pods), for `--yes`, `--yes --yes-destructive` and "no" at each question it reaches, one
// sandbox per runbook shared by its cells (a cell either changes nothing, takes its changes
// back, or is the last one to run on that fault). Each cell asserts the verdict line, the exit
// code and the live state after the run (DrillBox.cell / live / expectServing). Two serialized
// suites run side by side: at most two sandboxes at a time on a 2-core machine.

private let drillsEnabled = Drill.available

/// Seeds `n` known keys (`drill:1...n`); returns DBSIZE (expected to be exactly `n`).
private func seeded(_ box: DrillBox, _ n: Int) async throws -> Int {
    try await box.seedKeys(n)
    let size = try #require(try await box.dbsize())
    #expect(size == n, "DBSIZE after seeding \(n) keys: \(size)")
    return size
}

/// Deletes redis-0 and waits for the StatefulSet's new pod (another uid) to be Ready and answer PONG.
private func restartPod(_ box: DrillBox) async throws {
    let uid = try await box.pod()?.uid
    _ = try await box.kubectl(["delete", "pod", "redis-0", "--wait=false"])
    try await box.eventually("redis-0 recreated and answering", timeout: 180) {
        guard let p = try await box.pod(), p.uid != uid, p.ready == "True" else { return false }
        return (try? await box.cli(["PING"], timeout: 5)) == "PONG"
    }
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

/// A key count as the verdict prints it (49,812).
private func g(_ n: Int) -> String {
    let f = NumberFormatter()
    f.numberStyle = .decimal
    f.groupingSeparator = ","
    f.groupingSize = 3
    f.usesGroupingSeparator = true
    return f.string(from: NSNumber(value: n)) ?? String(n)
}

private let yes = ["--yes"]
private let yesD = ["--yes", "--yes-destructive"]

@Suite("Drills A", .serialized, .enabled(if: drillsEnabled))
struct DrillsA {
    /// On a password-protected sandbox (REDIS_PASSWORD / REDISCLI_AUTH from Secret redis-auth), so
    /// the exact-command assertions (issue 19.4) also show the password never reaches the log.
    @Test func aofCorruptionMatrix() async throws {
        try await DrillBox.with(["--redis-password-secret"]) { box in
            let before = try await seeded(box, 500)
            // The seeded keys go into the base file; the fault's own 201 writes form the incr file it damages.
            _ = try await box.cli(["BGREWRITEAOF"])
            try await box.eventually("AOF rewrite done", timeout: 30) { try await box.cli(["INFO", "persistence"]).contains("aof_rewrite_in_progress:0") }
            try await box.fault("aof-corruption")
            try await box.waitFinding(runbook: "aof-corruption", timeout: 60)
            let damaged = try aofFingerprint(box)
            // What the dashboard last saw before Redis went down (the 500 seeded + 201 written by the fault).
            let lastKnown = ["--set", "keys_before=\(before + 201)"]

            // --yes: the first destructive step (scale to 0) needs the typed pod name: nothing changes.
            var c = try await box.cell("aof-corruption", "--yes", yes + lastKnown, exit: 3, verdict: "stopped: pod redis-0 Ready: no")
            #expect(c.live.replicas == "1" && !c.live.repairPod, "\(c.live)")
            #expect(c.result.output.contains("Nothing this run changed is left in place."))
            #expect(try aofFingerprint(box) == damaged, "the AOF changed")

            // "no" at the repair question: the repair pod and the scale-down are undone; the AOF is as found.
            c = try await box.cell("aof-corruption", "no at fix-multi-confirm", yesD + lastKnown + ["--answer", "fix-multi-confirm=no"],
                                   exit: 3, verdict: "stopped: pod redis-0 Ready: no")
            #expect(c.live.replicas == "1" && !c.live.repairPod, "\(c.live)")
            #expect(c.result.output.contains("Undone: step 6 (Start a repair pod that mounts the Redis volume), step 4 (Stop the restart loop"))
            #expect(try aofFingerprint(box) == damaged, "a declined repair changed the AOF")
            #expect(!c.result.output.contains("Successfully truncated"))
            let entries = try box.logEntries()
            #expect(entries.filter { $0["type"] as? String == "command" && $0["message"] as? String == "undo" }.count == 2)

            // --yes --yes-destructive: repaired, the verdict counts the keys against the last known count.
            c = try await box.cell("aof-corruption", "--yes --yes-destructive", yesD + lastKnown, exit: 0,
                                   verdict: "finished: Redis serving; ")
            #expect(c.verdict.contains(" of \(g(before + 201)) keys (AOF tail lost: "), "\(c.verdict)")
            #expect(c.result.output.contains("ok_up_to=") && c.result.output.contains("Successfully truncated AOF"))
            let after = try #require(c.live.keys)
            box.expectServing(c.live, "after the repair")
            #expect(c.verdict.contains("\(after) of"), "\(c.verdict)")
            let drillKeys = try await box.cli(["EVAL", "return #redis.call('KEYS', 'drill:*')", "0"])
            #expect(drillKeys == "500", "seeded keys after the repair: \(drillKeys)")
            #expect(after >= before && after < before + 201)
            try await box.verifyRecovered(runbook: "aof-corruption")
            let report = try await box.verifyLog(runOutput: c.result.output)
            #expect(report.contains("keys_after"))
            let vol = try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0")
            #expect(vol.contains { $0.hasPrefix("backup-") }, "no AOF backup on the volume: \(vol)")

            // Issue 19.4: what is approved, logged and reported is the command that runs, byte for
            // byte: `cp -a /data/appendonlydir /data/backup-...`, not `cp -a [REDACTED] ...`.
            let backup = try #require(vol.first { $0.hasPrefix("backup-") && !$0.hasSuffix("-live") })
            let exact = "$ kubectl -n default exec redis-repair -- cp -a /data/appendonlydir /data/\(backup)"
            #expect(c.result.output.contains("Exact command:\n  \(exact)"), "approval text:\n\(c.result.output.prefix(4000))")
            let logText = try String(contentsOfFile: box.logPath, encoding: .utf8)
            let cp = try box.logEntries().filter { $0["type"] as? String == "command" && ($0["argv"] as? [String])?.contains("cp") == true }
            #expect(cp.contains { ($0["argv"] as? [String])?.suffix(4) == ["cp", "-a", "/data/appendonlydir", "/data/\(backup)"] }, "logged: \(cp.map { $0["argv"] ?? "" })")
            #expect(report.contains("cp -a /data/appendonlydir /data/\(backup)"), "report")
            #expect(!logText.contains("[REDACTED]") && !report.contains("[REDACTED]") && !c.result.output.contains("[REDACTED]"))
            let password = try String(contentsOfFile: box.sbx + "/secrets/redis-auth/password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(password.count >= 16)
            #expect(!logText.contains(password) && !report.contains(password) && !c.result.output.contains(password), "the password reached the log, report or screen")
        }
    }

    /// Issue 19.6 "Data accounted for": `status` leaves the target's last-seen record (keys,
    /// AOF sizes, jobs) in the state directory; the AOF is damaged (Redis down); the runbook,
    /// repaired unattended from an empty current directory, ends with one "Data:" line naming
    /// the keys last seen (not unknown) and the bytes --fix cut (the real file sizes), in the
    /// output, the incident log and `report`; its local backup is under the state directory and
    /// nothing appears in the current directory.
    @Test func aofCorruptionDataAccounted() async throws {
        try await DrillBox.with { box in
            _ = try await seeded(box, 300)
            _ = try await box.cli(["BGREWRITEAOF"])
            try await box.eventually("AOF rewrite done", timeout: 30) { try await box.cli(["INFO", "persistence"]).contains("aof_rewrite_in_progress:0") }
            let status = try await box.redisRunbook(["status", "--kubectl", box.kubectlPath], timeout: 60)
            #expect(status.status == 0, "\(status)")
            let seenDir = box.tmp.appendingPathComponent("state/redis-runbook/last-seen")
            func record() throws -> [String: Any] {
                let files = try FileManager.default.contentsOfDirectory(atPath: seenDir.path).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
                try #require(files.count == 1, "last-seen records: \(files)")
                let data = try #require(FileManager.default.contents(atPath: seenDir.appendingPathComponent(files[0]).path))
                return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            }
            let seenKeys = try #require(((try record()["data"] as? [String: Any])?["keys"] as? [String: Any])?["db0"] as? Int)
            #expect(seenKeys >= 300, "keys in the last-seen record: \(seenKeys)")
            var st = stat()
            #expect(stat(seenDir.path, &st) == 0 && st.st_mode & 0o777 == 0o700)

            try await box.fault("aof-corruption")
            try await box.waitFinding(runbook: "aof-corruption", timeout: 60)
            // `status` while Redis is down leaves the record as it was.
            #expect(((try record()["data"] as? [String: Any])?["keys"] as? [String: Any])?["db0"] as? Int == seenKeys)
            let damaged = try aofFingerprint(box)

            let cwd = box.tmp.appendingPathComponent("cwd")
            try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
            let r = try await Drill.run([box.b, "runbook", "run", "aof-corruption", "--kubectl", box.kubectlPath, "--audit-log", box.logPath,
                                         "--yes", "--yes-destructive"], env: box.env, cwd: cwd, timeout: 400)
            box.transcript.append(String(r.output.suffix(5000)))
            #expect(r.status == 0, "\(r)")
            let lines = r.output.split(separator: "\n").map(String.init)
            let verdictAt = try #require(lines.lastIndex { $0.hasPrefix("finished") || $0.hasPrefix("stopped") }, "\(r.output.suffix(2000))")
            let data = try #require(lines.first { $0.hasPrefix("Data: ") }, "\(r.output.suffix(2000))")
            #expect(lines.firstIndex(of: data) == verdictAt + 1, "the Data line follows the verdict")

            // The bytes cut, from the real files: redis-check-aof's size of the damaged file is its
            // size on disk, and --fix keeps it up to ok_up_to.
            func field(_ name: String, _ line: String) -> String? {
                line.range(of: "\(name)=").map { String(line[$0.upperBound...].prefix { $0 != "," && $0 != " " }) }
            }
            // The damaged file's line (the base file's comes first and is whole).
            let analyzed = try #require(lines.first { l in
                l.contains("AOF analyzed: filename=") && field("size", l) != nil && field("size", l) != field("ok_up_to", l)
            }, "no AOF analyzed line for a damaged file")
            let file = try #require(field("filename", analyzed))
            let size = try #require(field("size", analyzed).flatMap { Int($0) })
            let okUpTo = try #require(field("ok_up_to", analyzed).flatMap { Int($0) })
            #expect(damaged[file]?.count == size, "\(file): \(damaged[file]?.count ?? -1) bytes on disk, check-aof says \(size)")
            #expect(size > okUpTo)
            #expect(data.hasPrefix("Data: keys \(g(seenKeys)) (last seen "), "\(data)")
            #expect(data.contains("AOF tail cut: \(g(size - okUpTo)) bytes of \(file)"), "\(data)")
            #expect(!data.contains("unknown"), "\(data)")
            #expect(r.output.contains("Keys before the incident (last seen): \(seenKeys)."), "the runbook's text")

            // In the incident log (structured) and in `report`.
            let entry = try #require(try box.logEntries().last { $0["type"] as? String == "data" })
            #expect(entry["message"] as? String == data)
            let cuts = try #require((entry["data"] as? [String: Any])?["aofCuts"] as? [[String: Any]])
            #expect(cuts.count == 1 && cuts[0]["beforeBytes"] as? Int == size && cuts[0]["afterBytes"] as? Int == okUpTo, "\(cuts)")
            let report = try await box.redisRunbook(["report", box.logPath])
            #expect(report.output.contains("| Data | \(data) |"), "\(report.output.prefix(1500))")

            // The local backup is in this run's folder in the state directory; the current directory stays empty.
            let said = try #require(lines.first { $0.hasPrefix("Backups of this run on this machine go to: ") })
            let backupDir = String(said.dropFirst("Backups of this run on this machine go to: ".count))
            #expect(backupDir.hasPrefix(box.tmp.appendingPathComponent("state/redis-runbook/backups/aof-corruption-").path), "\(backupDir)")
            let copied = try FileManager.default.contentsOfDirectory(atPath: backupDir)
            #expect(copied.contains { $0.hasPrefix("redis-aof-backup-") }, "backup folder: \(copied)")
            #expect(r.output.contains("kubectl -n default cp redis-repair:/data/backup-") && r.output.contains(" \(backupDir)/redis-aof-backup-"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path).isEmpty, "files in the current directory")
        }
    }

    /// Issue 19.2: every cause of a BullMQ backlog made real in the sandbox (workers' connections
    /// gone, the queue paused as BullMQ pauses it, the rate limiter at its max, a hung worker's
    /// stalled jobs, Redis at maxmemory) and the queue-backlog runbook on each: the default and
    /// each "no"/stop.
    @Test func queueBacklogMatrix() async throws {
        try await DrillBox.with(["--memory-limit", "64Mi"]) { box in
            let seed = try await box.sandbox("seed", ["--preset", "demo"])
            try #require(seed.status == 0, "seed failed: \(seed)")
            // The sandbox's worker is the real client's Python port, which names its connections
            // bull:<queue>:w:<worker name> (the Node library: bull:<base64 of the queue>).
            let workerName = "name=bull:email:w:sandbox "
            try await box.eventually("the BullMQ workers' connections are open", timeout: 30) {
                try await box.cli(["CLIENT", "LIST"]).contains(workerName)
            }
            func hget(_ f: String) async throws -> String { try await box.cli(["HGET", "bull:email:meta", f]) }
            func stalled() async throws -> Int {
                Int(try await box.cli(["EVAL", "local n = 0 for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, 999)) do if redis.call('EXISTS', 'bull:email:' .. id .. ':lock') == 0 then n = n + 1 end end return n", "1", "bull:email:active"])) ?? -1
            }
            func runWhileHealing(_ name: String, _ flags: [String], waitingAt step: String) async throws -> (result: Drill.Result, verdict: String, live: DrillBox.Live) {
                let n = box.cellNumber + 1
                async let run = box.cell("queue-backlog", name, flags, exit: 0, verdict: "finished: Redis serving; ")
                try await box.eventually("the runbook waits at \(step)", timeout: 120) {
                    ((try? String(contentsOfFile: box.tmp.appendingPathComponent("incident-\(n).jsonl").path, encoding: .utf8)) ?? "").contains("\"stepId\":\"\(step)\"")
                }
                _ = try await box.sandbox("heal")
                return try await run
            }

            // (a) No worker connected: the workers' connections are closed, wait grows.
            try await box.fault("queue-backlog")
            try await box.eventually("the workers' connections are gone", timeout: 30) { try await !box.cli(["CLIENT", "LIST"]).contains(workerName) }
            let f = try await box.waitFinding(runbook: "queue-backlog", timeout: 120)
            #expect(f.contains { $0.id == "queue-backlog" && $0.runbook == "queue-backlog" }, "\(f)")
            var c = try await box.cell("queue-backlog", "no workers: stop at remedy-workers", yes + ["--answer", "remedy-workers=stop"], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("No worker of ") && c.result.output.contains(" is connected"))
            #expect(c.verdict.contains("a BullMQ worker of the queue is connected (CLIENT LIST): no"), "\(c.verdict)")
            c = try await runWhileHealing("no workers: --yes (workers restarted while it waits)", yes, waitingAt: "wait-workers")
            #expect(c.result.output.contains("Wait for a worker of "))
            try await box.verifyRecovered(runbook: "queue-backlog", timeout: 120)

            // (b) Paused: meta paused=1 as Queue.pause() sets it.
            try await box.fault("queue-paused")
            #expect(try await hget("paused") == "1")
            c = try await box.cell("queue-backlog", "paused: no at resume-ask", yes + ["--answer", "resume-ask=no"], exit: 3, verdict: "stopped: ")
            #expect(c.verdict.contains("the queue is not paused (meta paused): no"), "\(c.verdict)")
            #expect(try await hget("paused") == "1", "a declined resume changed the queue")
            c = try await box.cell("queue-backlog", "paused: --yes (resume)", yes, exit: 0, verdict: "finished: Redis serving; ")
            #expect(c.result.output.contains("Resume email as Queue.resume() does"))
            #expect(try await hget("paused") == "", "still paused after the run")
            try await box.verifyLog(runOutput: c.result.output)

            // (c) Rate-limited: limiter = MAX_SAFE_INTEGER with a TTL, as Worker.rateLimit(ms) sets it.
            try await box.fault("queue-rate-limited", ["--duration", "600"])
            c = try await box.cell("queue-backlog", "rate limit: stop at remedy-limiter", yes + ["--answer", "remedy-limiter=stop"], exit: 3, verdict: "stopped: ")
            #expect(c.verdict.contains("the queue is not held by its rate limiter: no"), "\(c.verdict)")
            #expect(try await box.cli(["GET", "bull:email:limiter"]) == "9007199254740991")
            c = try await box.cell("queue-backlog", "rate limit: remove (--yes-destructive)", yesD + ["--answer", "remedy-limiter=remove"], exit: 0, verdict: "finished: Redis serving; ")
            #expect(c.result.output.contains("redis-cli DEL bull:email:limiter"))
            #expect(try await box.cli(["GET", "bull:email:limiter"]) != "9007199254740991")
            try await box.fault("queue-rate-limited", ["--duration", "15"])
            c = try await box.cell("queue-backlog", "rate limit: --yes (waits for the limiter)", yes, exit: 0, verdict: "finished: Redis serving; ")
            #expect(c.result.output.contains("Wait for the rate limiter of email to run out"))

            // (d) Stalled: the worker hangs (still connected); its jobs' locks run out.
            try await box.fault("queue-stalled")
            let stalledBefore = try await stalled()
            #expect(stalledBefore > 0)
            #expect(try await box.cli(["CLIENT", "LIST"]).contains(workerName), "a hung worker stays connected")
            c = try await box.cell("queue-backlog", "stalled: no at requeue-ask", yes + ["--answer", "requeue-ask=no"], exit: 3, verdict: "stopped: ")
            #expect(c.verdict.contains("no stalled job (every active job holds its lock): no"), "\(c.verdict)")
            #expect(try await stalled() == stalledBefore, "a declined requeue moved jobs")
            c = try await runWhileHealing("stalled: --yes (requeue; worker restarted while it waits)", yes, waitingAt: "wait-healthy-worker")
            #expect(c.result.output.contains(" are stalled"))
            #expect(try await stalled() == 0)
            #expect(try await box.cli(["HGET", "bull:email:meta", "paused"]) == "")

            // (e) Redis full: hands over to memory-pressure, changes nothing.
            try await box.fault("memory-pressure")
            c = try await box.cell("queue-backlog", "OOM: --yes (hands over to memory-pressure)", yesD, exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("Redis is full; run the memory-pressure runbook"))
            #expect(!c.result.output.contains("This step changes state"), "the OOM branch ran a command that changes state")
            #expect(!c.verdict.contains("worker of the queue is connected (CLIENT LIST): no"), "the workers stay connected while Redis is full: \(c.verdict)")
        }
    }

    /// Issue 14.7: a container with only REDIS_PASSWORD (the chart convention). A plain redis-cli
    /// in the pod gets NOAUTH; the runbooks' redis-cli steps authenticate with the password read
    /// inside the pod and sent on redis-cli's stdin, and the value is never on a command line,
    /// in the output or in the incident log.
    @Test func passwordOnlyContainerMemoryPressureAndAOFCorruption() async throws {
        try await DrillBox.with(["--redis-password-env-only", "--memory-limit", "64Mi"]) { box in
            let password = try #require(box.redisPassword, "no password secret in the sandbox")
            #expect(password.count >= 16)
            // What the container really has: no REDISCLI_AUTH, so a plain redis-cli is refused.
            let plain = try await box.kubectl(["exec", "redis-0", "-c", "redis", "--", "redis-cli", "DBSIZE"])
            #expect(plain.output.contains("NOAUTH"), "a plain redis-cli in the pod: \(plain)")
            let env = try await box.kubectl(["exec", "redis-0", "-c", "redis", "--", "printenv", "REDISCLI_AUTH"])
            // printenv exits 1 for an unset variable (kubectl adds "command terminated with exit code 1").
            #expect(env.status != 0 && !env.output.contains(password), "REDISCLI_AUTH is set in the container: exit \(env.status)")
            _ = try await seeded(box, 200)

            // memory-pressure: the "no" path and the limit remedy, both through redis-cli steps.
            try await box.fault("memory-pressure")
            let before = try #require(try await box.dbsize())
            try await box.waitFinding(runbook: "memory-pressure", timeout: 60)
            var c = try await box.cell("memory-pressure", "password-only: stop at remedy", yesD + ["--answer", "remedy=stop"],
                                       exit: 3, verdict: "stopped: writes accepted: no")
            #expect(c.live.keys == before && c.live.ready == "True", "\(c.live)")
            // The keyspace analysis authenticates as `memory` does (AUTH on the session's stdin).
            #expect(c.result.output.contains("The biggest pattern outside BullMQ: cache:blob:{id}"), "\(c.result.output.suffix(3000))")
            c = try await box.cell("memory-pressure", "password-only: remedy=limit",
                                   yes + ["--answer", "remedy=limit", "--set", "new_limit=128Mi", "--set", "limit_maxmemory=100663296"],
                                   exit: 0, verdict: "finished: Redis serving; \(g(before)) of \(g(before)) keys")
            box.expectServing(c.live, keys: before, "after raising the limit, password-only")
            #expect(c.result.output.contains("Redis answered NOAUTH"), "the run never said how it authenticates\n\(c.result.output.suffix(2000))")
            #expect(!c.result.output.contains(password), "the password was shown")
            try await box.verifyRecovered(runbook: "memory-pressure")

            // aof-corruption, repaired unattended (--yes --yes-destructive), keys accounted for.
            let beforeAOF = try #require(try await box.dbsize())
            _ = try await box.cli(["BGREWRITEAOF"])
            try await box.eventually("AOF rewrite done", timeout: 30) { try await box.cli(["INFO", "persistence"]).contains("aof_rewrite_in_progress:0") }
            try await box.fault("aof-corruption")
            try await box.waitFinding(runbook: "aof-corruption", timeout: 60)
            c = try await box.cell("aof-corruption", "password-only: --yes --yes-destructive",
                                   yesD + ["--set", "keys_before=\(beforeAOF + 201)"], exit: 0, verdict: "finished: Redis serving; ")
            box.expectServing(c.live, "after the repair, password-only")
            let after = try #require(c.live.keys)
            #expect(after >= beforeAOF && after < beforeAOF + 201, "keys after the repair: \(after), before \(beforeAOF)")
            #expect(!c.result.output.contains(password), "the password was shown")
            try await box.verifyRecovered(runbook: "aof-corruption")
            try await box.verifyLog(runOutput: c.result.output)

            // Never on a local command line (the tool's argv are in the log) nor in the log at all.
            let logs = try FileManager.default.contentsOfDirectory(atPath: box.tmp.path).filter { $0.hasPrefix("incident-") }
            #expect(logs.count == 3, "\(logs)")
            for f in logs {
                let log = try String(contentsOfFile: box.tmp.appendingPathComponent(f).path, encoding: .utf8)
                #expect(!log.isEmpty && !log.contains(password), "the password is in the incident log \(f)")
            }
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
            let r = try await box.cell("aof-corruption", "--dry-run", yesD + ["--dry-run", "--answer", "fix-multi-confirm=yes"],
                                       exit: 0, verdict: "finished (dry run): nothing that changes state was run").result
            #expect(r.output.contains("[dry-run] not run."))
            #expect(r.output.contains("scale statefulset redis --replicas=0"))
            let podAfter = try #require(try await box.pod())
            #expect(podAfter.uid == podBefore.uid)
            #expect(try aofFingerprint(box) == aofBefore, "the AOF files changed during a dry run")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0")) == volBefore)
            let live = try await box.live()
            #expect(live.replicas == "1" && !live.repairPod)
            let entries = try box.logEntries()
            let mutating = entries.filter { $0["type"] as? String == "command" && ($0["mutates"] as? Bool) == true }
            #expect(!mutating.isEmpty)
            #expect(mutating.allSatisfy { ($0["dryRun"] as? Bool) == true }, "a mutating command ran in a dry run")
            #expect(!entries.contains { $0["type"] as? String == "snapshot" }, "before/after snapshots imply a mutation ran")
            print("dry run: \(before) keys seeded; pod uid, replicas, AOF bytes and volume unchanged")
        }
    }

    @Test func podRestartMatrixAndReadOnly() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 250)
            try await box.fault("crash")
            try await box.waitFinding(runbook: "pod-restart", timeout: 60)
            try await box.eventually("redis-0 ready again", timeout: 60) { try await box.pod()?.ready == "True" }
            let podBefore = try #require(try await box.pod())

            // --read-only: refused at the first mutating step (exit 3, nothing changed).
            var c = try await box.cell("pod-restart", "--read-only", yesD + ["--read-only", "--answer", "decide=yes"], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("Refused: --read-only"))
            #expect(try box.logEntries().contains { $0["type"] as? String == "refused" })
            #expect(try await box.pod() == podBefore)

            c = try await box.cell("pod-restart", "--yes", yes, exit: 3, verdict: "stopped: Stopped at step")
            #expect(c.verdict.contains("The end state holds: Redis serving; \(before) of \(before) keys"), "\(c.verdict)")
            box.expectServing(c.live, keys: before, "--yes")
            #expect(try await box.pod()?.uid == podBefore.uid, "--yes deleted the pod")

            c = try await box.cell("pod-restart", "no at decide", yesD + ["--answer", "decide=no"], exit: 3, verdict: "stopped: Stopped at step")
            box.expectServing(c.live, keys: before, "no at decide")
            #expect(try await box.pod()?.uid == podBefore.uid, "a 'no' deleted the pod")

            c = try await box.cell("pod-restart", "--yes --yes-destructive", yesD, exit: 0, verdict: "finished: Redis serving; \(before) of \(before) keys")
            box.expectServing(c.live, keys: before, "after the restart")
            #expect(try await box.pod()?.uid != podBefore.uid, "the pod was not recreated")
            #expect(c.result.output.contains("$ kubectl -n default delete pod redis-0 --wait=true"))
            try await box.verifyRecovered(runbook: "pod-restart")
            let report = try await box.verifyLog(runOutput: c.result.output)
            #expect(report.contains("Keys before: **\(before)**, after: **\(before)** (+0)"))
            let mode = try FileManager.default.attributesOfItem(atPath: box.logPath)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test func nodeFailureMatrix() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 300)
            // Long enough that the first cell (which reads Redis's data before and after, each
            // read waiting out the frozen session's time-out) still ends inside the outage.
            try await box.fault("node-down", ["--duration", "75"])
            try await box.waitFinding(runbook: "node-failure", timeout: 60)
            var c = try await box.cell("node-failure", "stop at what-now", yes + ["--answer", "what-now=stop"], exit: 3, verdict: "stopped: pod redis-0 Ready: no")
            #expect(c.live.replicas == "1")
            // "force" leads to a manual step (make sure the node is off): --yes stops there, so
            // the really-off question is never answered unattended.
            c = try await box.cell("node-failure", "force (manual step)", yesD + ["--answer", "what-now=force"], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("is manual: --yes never answers it done"))
            #expect(!c.result.output.contains("--grace-period=0 --force\n   |"), "the pod was force-deleted")
            c = try await box.cell("node-failure", "--yes", yes, exit: 0, verdict: "finished: Redis serving; ", timeout: 400)
            box.expectServing(c.live, keys: before, "after the node came back")
            c = try await box.cell("node-failure", "--yes --yes-destructive", yesD, exit: 0, verdict: "finished: Redis serving; \(before) of \(before) keys")
            box.expectServing(c.live, keys: before, "healthy")
            try await box.verifyRecovered(runbook: "node-failure")
        }
    }

    @Test func exporterDownMatrix() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 100)
            try await box.fault("exporter-down")
            try await box.waitFinding(runbook: "exporter-down", timeout: 60)
            var c = try await box.cell("exporter-down", "stop at remedy", yes + ["--answer", "remedy=stop"], exit: 3, verdict: "stopped: ")
            #expect(c.verdict.contains("the exporter serves redis_up 1: no"), "\(c.verdict)")
            // Redis untouched and answering (the pod is not Ready while its exporter container is down).
            #expect(c.live.replicas == "1" && c.live.ping == "PONG" && c.live.keys == before, "\(c.live)")
            // Default remedy: wait for the sidecar; the cause (a bad listen address) goes away
            // when the sandbox is healed while the runbook waits.
            let n = box.cellNumber + 1
            async let run = box.cell("exporter-down", "--yes", yes, exit: 0, verdict: "finished: Redis serving; \(before) of \(before) keys")
            try await box.eventually("the runbook waits for the exporter", timeout: 120) {
                ((try? String(contentsOfFile: box.tmp.appendingPathComponent("incident-\(n).jsonl").path, encoding: .utf8)) ?? "").contains("\"stepId\":\"wait-metrics\"")
            }
            _ = try await box.sandbox("heal")
            c = try await run
            #expect(c.result.output.contains("redis_up 1"))
            c = try await box.cell("exporter-down", "--yes --yes-destructive", yesD, exit: 0, verdict: "finished: Redis serving; \(before) of \(before) keys")
            try await box.verifyRecovered(runbook: "exporter-down")
        }
    }
}

@Suite("Drills B", .serialized, .enabled(if: drillsEnabled))
struct DrillsB {
    @Test func backupAndRestoreMatrix() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 400)
            let rdb = box.tmp.appendingPathComponent("backup.rdb").path
            _ = try await box.cli(["BGSAVE"])
            var c = try await box.cell("backup", "--yes", yes + ["--set", "backup_path=\(rdb)"], exit: 0,
                                       verdict: "finished: Redis serving; \(before) of \(before) keys")
            #expect(c.result.output.contains("[info] \(before) keys read"), "backup did not report the key count")
            let size = (try FileManager.default.attributesOfItem(atPath: rdb)[.size] as? Int) ?? 0
            #expect(size > 0, "no local backup copy")
            try await box.verifyLog(runOutput: c.result.output)
            let rdb2 = box.tmp.appendingPathComponent("backup2.rdb").path
            c = try await box.cell("backup", "--yes --yes-destructive", yesD + ["--set", "backup_path=\(rdb2)"], exit: 0,
                                   verdict: "finished: Redis serving; \(before) of \(before) keys")

            // Data is lost after the backup.
            #expect(try await box.cli(["FLUSHALL"]) == "OK")
            let restore = ["--set", "backup_path=\(rdb)"]
            c = try await box.cell("restore", "--yes", yes + restore, exit: 3, verdict: "stopped: Stopped at step")
            box.expectServing(c.live, keys: 0, "--yes restore")
            c = try await box.cell("restore", "no at sure", yesD + restore + ["--answer", "sure=no"], exit: 3, verdict: "stopped: Stopped at step")
            box.expectServing(c.live, keys: 0, "declined restore")
            c = try await box.cell("restore", "--yes --yes-destructive", yesD + restore, exit: 0,
                                   verdict: "finished: Redis serving; \(before) keys (0 before the run)")
            box.expectServing(c.live, keys: before, "restored")
            try await box.verifyRecovered(runbook: "restore")
            let vol = try FileManager.default.contentsOfDirectory(atPath: box.sbx + "/volumes/data-redis-0")
            #expect(vol.contains { $0.hasPrefix("appendonlydir.before-restore-") })
            #expect(try await box.cli(["CONFIG", "GET", "appendonly"]).contains("yes"))
        }
    }

    @Test func memoryPressureMatrix() async throws {
        try await DrillBox.with(["--memory-limit", "64Mi"]) { box in
            _ = try await seeded(box, 200)
            try await box.fault("memory-pressure")
            let before = try #require(try await box.dbsize())
            try await box.waitFinding(runbook: "memory-pressure", timeout: 60)
            for (name, flags) in [("--yes", yes), ("--yes --yes-destructive", yesD),
                                  ("free: no at the typed confirmation", yes + ["--answer", "remedy=free"]),
                                  ("stop at remedy", yesD + ["--answer", "remedy=stop"])] {
                let c = try await box.cell("memory-pressure", name, flags, exit: 3, verdict: "stopped: writes accepted: no")
                #expect(c.live.keys == before && c.live.ready == "True", "\(name): \(c.live)")
                // The keyspace analysis (the code of `redis-runbook memory`) names the fault's
                // values as the biggest pattern, with its TTL state.
                #expect(c.result.output.contains("The biggest pattern outside BullMQ: cache:blob:{id}"), "\(name): no cause named\n\(c.result.output.suffix(3000))")
                #expect(c.result.output.contains("TTL: no TTL"), "\(name): no TTL state")
                #expect(!c.result.output.split(separator: "\n").contains { $0.hasPrefix("-- Step") && $0.contains("{{") }, "\(name): a title printed a raw {{variable}}")
            }
            let c = try await box.cell("memory-pressure", "remedy=limit", yes + ["--answer", "remedy=limit", "--set", "new_limit=128Mi",
                                                                                   "--set", "limit_maxmemory=100663296"], exit: 0,
                                       verdict: "finished: Redis serving; \(g(before)) of \(g(before)) keys")
            box.expectServing(c.live, keys: before, "after raising the limit")
            #expect(try await box.cli(["CONFIG", "GET", "maxmemory-policy"]).contains("noeviction"))
            // Limit and --maxmemory are both in the manifest: a deleted pod comes back with them.
            try await restartPod(box)
            #expect(try await box.cli(["CONFIG", "GET", "maxmemory"]).contains("100663296"))
            try await box.verifyRecovered(runbook: "memory-pressure")
            try await box.verifyLog(runOutput: c.result.output)
        }
    }

    /// Issue 19.5: the runbook finds the cause and frees it. The analysis names the fault's
    /// values (cache:blob:{id}, no TTL) as the top pattern; the delete path removes them in
    /// bounded SCAN + UNLINK batches after the typed confirmation, memory goes down and writes
    /// are accepted again, BullMQ and the seeded keys stay. Then maxmemory: a runtime CONFIG
    /// SET left unpersisted makes the dashboard flag config-not-persisted; persisted into the
    /// StatefulSet, it survives a deleted pod and the finding goes.
    @Test func memoryPressureFreesThePattern() async throws {
        try await DrillBox.with(["--memory-limit", "64Mi"]) { box in
            _ = try await seeded(box, 200)
            try await box.fault("memory-pressure")
            let before = try #require(try await box.dbsize())
            let blobs = Int(try await box.cli(["EVAL", "local n = 0 local c = '0' repeat local r = redis.call('SCAN', c, 'MATCH', 'cache:blob:*', 'COUNT', 1000) c = r[1] n = n + #r[2] until c == '0' return n", "0"])) ?? 0
            #expect(blobs > 1000, "the fault wrote \(blobs) cache:blob keys")
            try await box.waitFinding(runbook: "memory-pressure", timeout: 60)
            let c = try await box.cell("memory-pressure", "remedy=free --yes-destructive", yesD + ["--answer", "remedy=free"], exit: 0,
                                       verdict: "finished: Redis serving")
            let out = c.result.output
            #expect(out.contains("The biggest pattern outside BullMQ: cache:blob:{id}"))
            #expect(out.contains("SCAN MATCH glob of the keys to delete or expire (the top pattern is cache:blob:{id}): cache:blob:*"))
            #expect(out.contains("Typed confirmation given by --yes-destructive"))
            // Progress "N of M keys", batch by batch, and the scan ran to its end.
            let progress = out.split(separator: "\n").filter { $0.contains("batch ") && $0.contains(" keys (cursor ") }
            #expect(progress.count >= 3, "batches shown: \(progress.count)\n\(out.suffix(3000))")
            #expect(out.contains("Scan finished: \(blobs) keys in \(progress.count) batches"), "\(out.suffix(3000))")
            #expect(out.contains("✓ memory.usedBytes <"), "memory did not go down\n\(out.suffix(3000))")
            #expect(out.contains("WRITES-OK"))
            #expect(!out.split(separator: "\n").contains { $0.hasPrefix("-- Step") && $0.contains("{{") }, "a title printed a raw {{variable}}")
            // Every batch is a logged command with at most 500 keys (SCAN COUNT 500), never KEYS.
            let batches = try box.logEntries().filter { e in
                e["type"] as? String == "command" && ((e["argv"] as? [String]) ?? []).contains("cache:blob:*")
            }
            #expect(batches.count == progress.count)
            for b in batches {
                let argv = (b["argv"] as? [String]) ?? []
                #expect(argv.contains("500") && !argv.contains("KEYS"))
                let n = ((b["stdout"] as? String) ?? "").split(separator: "\n").dropFirst().first.flatMap { Int($0) } ?? -1
                #expect((0...1000).contains(n), "a batch handled \(n) keys")
            }
            let left = try await box.cli(["EVAL", "local n = 0 local c = '0' repeat local r = redis.call('SCAN', c, 'MATCH', 'cache:blob:*', 'COUNT', 1000) c = r[1] n = n + #r[2] until c == '0' return n", "0"])
            #expect(left == "0", "cache:blob keys left: \(left)")
            #expect(try #require(try await box.dbsize()) < before)
            #expect(try await box.cli(["EXISTS", "drill:1", "drill:200"]) == "2", "a seeded key went")
            #expect(!(try await box.cli(["SET", "drill:probe", "x"])).contains("OOM"))
            _ = try await box.cli(["DEL", "drill:probe"])
            // The dashboard no longer sees pressure (the OOM count since Redis started stays, as
            // the oom-rejections finding says, until a restart).
            try await box.eventually("no memory-pressure finding", timeout: 60) {
                !(try await box.findings().contains { $0.id == "memory-pressure" })
            }

            // maxmemory at runtime only: the dashboard flags the running value against the manifest.
            // Declined: the run stops with the runtime value kept (exit 4) and says it is lost at a restart.
            var r = try await box.cell("memory-pressure", "remedy=maxmemory, persist no",
                                       yes + ["--answer", "remedy=maxmemory", "--set", "new_maxmemory=52428800", "--answer", "persist-ask=no"],
                                       exit: 4, verdict: "stopped: ")
            #expect(r.result.output.contains("CONFIG SET maxmemory 50331648"), "the verdict does not list the undo")
            #expect(r.result.output.contains("- 48mb") && r.result.output.contains("+ 52428800"), "no diff shown\n\(r.result.output.suffix(3000))")
            #expect(r.result.output.contains("maxmemory 52428800 is a runtime change only"))
            try await box.eventually("config-not-persisted finding", timeout: 60) {
                try await box.findings().contains { $0.id == "config-not-persisted" && $0.runbook == "memory-pressure" }
            }
            // Persisted: the StatefulSet carries it, a deleted pod comes back with it, the finding goes.
            r = try await box.cell("memory-pressure", "remedy=maxmemory, persist yes",
                                   yes + ["--answer", "remedy=maxmemory", "--set", "new_maxmemory=54525952", "--answer", "persist-ask=yes"],
                                   exit: 0, verdict: "finished: Redis serving")
            #expect(r.result.output.contains("- 48mb") && r.result.output.contains("+ 54525952"))
            #expect(r.result.output.contains("\"op\":\"test\""), "the patch does not test the old value")
            let args = try await box.kubectl(["get", "statefulset", "redis", "-o", "jsonpath={.spec.template.spec.containers[0].args}"])
            #expect(args.output.contains("\"--maxmemory\",\"54525952\""), "StatefulSet args: \(args.output)")
            try await restartPod(box)
            #expect(try await box.cli(["CONFIG", "GET", "maxmemory"]).contains("54525952"))
            try await box.eventually("config-not-persisted gone", timeout: 60) {
                !(try await box.findings().contains { $0.id == "config-not-persisted" })
            }
        }
    }

    @Test func configDriftMatrix() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 150)
            for (name, flags) in [("--yes", yes), ("--yes --yes-destructive", yesD)] {
                try await box.fault("config-drift")
                try await box.waitFinding(runbook: "config-drift", timeout: 60)
                let c = try await box.cell("config-drift", name, flags, exit: 0, verdict: "finished: Redis serving; \(before) of \(before) keys")
                box.expectServing(c.live, keys: before, name)
                #expect(try await box.cli(["CONFIG", "GET", "maxmemory-policy"]).contains("noeviction"))
            }
            try await box.verifyRecovered(runbook: "config-drift")
        }
    }

    @Test func diskFullMatrix() async throws {
        try await DrillBox.with { box in
            _ = try await seeded(box, 300)
            try await box.fault("disk-full")
            try await box.waitFinding(runbook: "disk-full", timeout: 60)
            let during = try #require(try await box.dbsize())
            var c = try await box.cell("disk-full", "stop at how", yes + ["--answer", "how=stop"], exit: 3, verdict: "stopped: ")
            #expect(c.verdict.contains("writes accepted: no"), "\(c.verdict)")
            #expect(c.live.keys == during)
            c = try await box.cell("disk-full", "free (manual step)", yes + ["--answer", "how=free"], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("is manual: --yes never answers it done"))
            c = try await box.cell("disk-full", "--yes", yes + ["--set", "new_size=20Gi"], exit: 0, verdict: "finished: Redis serving; \(during) of \(during) keys")
            box.expectServing(c.live, keys: during, "after growing the volume")
            #expect(c.result.output.contains("patch pvc data-redis-0"))
            c = try await box.cell("disk-full", "--yes --yes-destructive", yesD + ["--set", "new_size=30Gi"], exit: 0, verdict: "finished: Redis serving; \(during) of \(during) keys")
            try await box.verifyRecovered(runbook: "disk-full")
        }
    }

    /// SIGTERM during a step that changes state (the pod delete hangs here): the step's process
    /// group is ended at once, no process of the run is left, the run state and the incident log
    /// record the interruption, the verdict says a change may be in place (exit 4), and
    /// --resume finishes the run.
    @Test func interruptedRunAndResume() async throws {
        try await DrillBox.with { box in
            let before = try await seeded(box, 120)
            let hang = try box.hangingKubectl(on: "delete pod redis-0")
            let marker = UUID().uuidString
            box.cellNumber += 1
            let (p, out) = try box.start(["runbook", "run", "pod-restart", "--kubectl", hang, "--audit-log", box.logPath,
                                          "--yes", "--yes-destructive"], marker: marker)
            try await box.eventually("the run is inside the delete step", timeout: 60) {
                ((try? String(contentsOfFile: box.logPath, encoding: .utf8)) ?? "").contains("\"phase\":\"before\"")
            }
            try await Task.sleep(for: .milliseconds(700))
            #expect(DrillBox.processes(withMarker: marker).contains { $0.contains("sleep 600") }, "the hanging delete is not running")
            let signalled = Date()
            kill(p.processIdentifier, SIGTERM)
            while p.isRunning && Date().timeIntervalSince(signalled) < 10 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!p.isRunning, "the run did not end within 10 s of SIGTERM")
            let took = Date().timeIntervalSince(signalled)
            p.waitUntilExit()
            let left = DrillBox.processes(withMarker: marker)
            #expect(left.isEmpty, "processes of the run still alive: \(left)")
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            box.transcript.append(text)
            print("DRILL-MATRIX|pod-restart|SIGTERM during the delete step|exit \(p.terminationStatus)|\(String(format: "%.1f", took)) s after the signal|\(left.isEmpty ? "pass" : "FAIL")|\(text.split(separator: "\n").last { $0.hasPrefix("stopped") } ?? "")")
            #expect(p.terminationStatus == 4, "exit \(p.terminationStatus)\n\(text)")
            #expect(text.contains("\nstopped: interrupted (SIGTERM) during step"), "\(text)")
            #expect(text.contains("may or may not have taken effect"))
            let log = try String(contentsOfFile: box.logPath, encoding: .utf8)
            #expect(log.contains("interrupted: SIGTERM"))
            let state = try String(contentsOfFile: box.tmp.appendingPathComponent("state/redis-runbook/runs/pod-restart.json").path, encoding: .utf8)
            #expect(state.contains("\"interrupted\"") && state.contains("\"inFlightStep\""), "\(state)")
            // Redis itself was never touched (the delete never reached the API).
            let live = try await box.live()
            box.expectServing(live, keys: before, "after the interruption")

            // --resume with the real kubectl continues at the interrupted step and finishes.
            let c = try await box.cell("pod-restart", "--resume after SIGTERM", ["--resume", "--yes", "--yes-destructive"], exit: 0,
                                       verdict: "finished: Redis serving; \(before) of \(before) keys")
            #expect(c.result.output.contains("Resuming at step"))
            #expect(c.result.output.contains("may or may not have taken effect"))
            box.expectServing(c.live, keys: before, "resumed")
        }
    }

    @Test func loadingMatrix() async throws {
        try await DrillBox.with(["--memory-limit", "128Mi"]) { box in
            _ = try await seeded(box, 100)
            let fault = try await box.sandbox("fault", ["slow-loading"])
            try #require(fault.status == 0, "fault failed: \(fault)")
            let written = try #require(fault.output.split(separator: " ").drop { $0 != "wrote" }.dropFirst().first.flatMap { Int($0) },
                                       "no key count in: \(fault.output)")
            var c = try await box.cell("loading", "--yes", yes, exit: 0, verdict: "finished: Redis serving; ")
            box.expectServing(c.live, keys: written + 100, "loaded")
            c = try await box.cell("loading", "--yes --yes-destructive", yesD, exit: 0, verdict: "finished: Redis serving; \(g(written + 100)) of \(g(written + 100)) keys")
            try await box.verifyRecovered(runbook: "loading")
        }
    }
}

@Suite("Drills C", .serialized, .enabled(if: drillsEnabled))
struct DrillsC {
    /// memory-pressure's other way to free a pattern (issue 19.5): give its keys a TTL in bounded
    /// batches. Nothing is deleted by the run; the keys go when their TTL runs out, writes are
    /// accepted again, and only then does the run say finished. The seeded keys stay.
    @Test func memoryPressureExpiresThePattern() async throws {
        try await DrillBox.with(["--memory-limit", "64Mi"]) { box in
            _ = try await seeded(box, 200)
            try await box.fault("memory-pressure")
            let count = "local n = 0 local c = '0' repeat local r = redis.call('SCAN', c, 'MATCH', 'cache:blob:*', 'COUNT', 1000) c = r[1] n = n + #r[2] until c == '0' return n"
            let blobs = Int(try await box.cli(["EVAL", count, "0"])) ?? 0
            #expect(blobs > 1000, "the fault wrote \(blobs) cache:blob keys")
            try await box.waitFinding(runbook: "memory-pressure", timeout: 60)
            let c = try await box.cell("memory-pressure", "remedy=expire, 5 s --yes-destructive",
                                       yesD + ["--answer", "remedy=expire", "--set", "expire_seconds=5"], exit: 0,
                                       verdict: "finished: Redis serving")
            let out = c.result.output
            #expect(out.contains("Typed confirmation given by --yes-destructive"))
            #expect(out.contains("keys now expire within 5 s"), "\(out.suffix(3000))")
            // Every batch gave TTLs only (EXPIRE, never UNLINK or KEYS), at most 500 keys scanned a batch.
            let batches = try box.logEntries().filter { e in
                e["type"] as? String == "command" && ((e["argv"] as? [String]) ?? []).contains("cache:blob:*")
            }
            #expect(!batches.isEmpty)
            for b in batches {
                let argv = (b["argv"] as? [String]) ?? []
                #expect(argv.contains("expire") && argv.contains("500") && !argv.contains("KEYS"), "\(argv)")
            }
            // The keys went by their TTL; the seeded keys (outside the pattern) stay; writes are accepted.
            try await box.eventually("the pattern's keys expired", timeout: 30) {
                (try await box.cli(["EVAL", count, "0"])) == "0"
            }
            #expect(try await box.cli(["EXISTS", "drill:1", "drill:200"]) == "2", "a seeded key went")
            #expect(!(try await box.cli(["SET", "drill:probe", "x"])).contains("OOM"))
            _ = try await box.cli(["DEL", "drill:probe"])
        }
    }
}
