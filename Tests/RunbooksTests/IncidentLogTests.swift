import Foundation
import Testing
@testable import Runbooks

@Suite struct IncidentLogTests {
    @Test func passwordsNeverReachTheFile() throws {
        let dir = makeTempDir().appendingPathComponent("incidents")
        let path = dir.appendingPathComponent("x.jsonl").path
        let log = try IncidentLog(path: path, redactor: Redactor(secrets: ["hunter2-known"]))
        var e = IncidentEntry(type: .command, runbook: "t")
        e.argv = ["kubectl", "exec", "redis-0", "--", "redis-cli", "-a", "s3cretA", "--pass=s3cretB", "CONFIG", "SET", "requirepass", "s3cretC"]
        e.stdout = "REDIS_PASSWORD=s3cretD\nrequirepass s3cretE\nREDISCLI_AUTH: s3cretF\nuri redis://default:s3cretG@redis:6379\nAUTH s3cretH\nvalue hunter2-known\n"
        e.stderr = "Warning: Using a password with '-a' ...\n+ redis-cli -h redis -a s3cretI ping"
        try log.append(e)
        var a = IncidentEntry(type: .answer, runbook: "t")
        a.variables = ["redis_password": "s3cretJ", "pod": "redis-0"]
        a.argv = ["redis-cli", "AUTH", "default", "s3cretK"]
        try log.append(a)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for i in "ABCDEFGHIJK" { #expect(!text.contains("s3cret\(i)"), "s3cret\(i) leaked") }
        #expect(!text.contains("hunter2-known"))
        #expect(text.contains("[REDACTED]"))
        #expect(text.contains("redis-0"))
        #expect(text.split(separator: "\n").count == 2)
        let back = try IncidentLog.read(path: path)
        #expect(back.count == 2 && back[0].argv?[6] == "[REDACTED]" && back[0].argv?[4] == "redis-cli")
        #expect(back[0].ts != nil)
    }

    /// Issue 19.4: the approval text, the log and the report showed `cp -a [REDACTED] /data/backup-...`
    /// for `cp -a /data/appendonlydir ...`: `-a` is redis-cli's password option, not cp's.
    /// `CONFIG GET *` lists parameters in hash order, different for every Redis process, so
    /// requirepass can be anywhere in the reply: first (then a check's "seen", which writes the
    /// reply's newlines as \\n, starts with it) or right where an excerpt cuts the shown output.
    /// At every position, with the value learned from the reply as the line runner does, the
    /// password is in neither the shown output, the check's "seen" nor the log file.
    @Test func aConfigGetReplyNeverShowsThePasswordWhereverRequirepassFalls() throws {
        let password = "vvN2dJLJRGK7RJLcNbL8ec76hRkCxHgH"
        var params: [(String, String)] = (0..<180).map { ("param-number-\($0)", "value-\($0)-\(String(repeating: "x", count: $0 % 13))") }
        params.insert(("masterauth", ""), at: 40)
        let dir = makeTempDir().appendingPathComponent("incidents")
        for pos in 0...params.count {
            var ps = params
            ps.insert(("requirepass", password), at: pos)
            let reply = ps.map { "\($0.0)\n\($0.1)" }.joined(separator: "\n") + "\n"
            #expect(Redactor.secretValues(in: reply) == [password], "position \(pos)")
            let log = try IncidentLog(path: dir.appendingPathComponent("p\(pos).jsonl").path)
            for s in Redactor.secretValues(in: reply) { log.addSecret(s) }
            let shown = RunMessage(.output, reply, excerptLimit: 2000).shown(log.redactor.redact)
            #expect(!shown.contains(password), "position \(pos): shown output")
            let out = CommandOutcome(exitCode: 0, termination: "exit 0", stdout: reply, stderr: "", durationSeconds: 0.1)
            let ev = try Condition.parse("stdout contains \"noeviction\"").evaluate(EvaluationContext(snapshot: { _ in nil }, result: out))
            // Without the learned value too: the pattern alone masks the \\n form.
            #expect(!Redactor().redact(ev.seenDescription).contains(password), "position \(pos): seen, by pattern")
            var e = IncidentEntry(type: .check, runbook: "config-drift")
            e.stdout = reply; e.seen = ev.seenDescription
            try log.append(e)
            #expect(!(try String(contentsOfFile: log.path, encoding: .utf8)).contains(password), "position \(pos): log")
        }
        // An empty masterauth is an empty line: the parameter named after it stays readable.
        let r = Redactor().redact("masterauth\n\nreplica-read-only\nyes\nrequirepass\n\(password)\n")
        #expect(r == "masterauth\n\nreplica-read-only\nyes\nrequirepass\n[REDACTED]\n")
        #expect(Redactor.secretValues(in: "masterauth\n\nreplica-read-only\nyes\n").isEmpty)
        #expect(Redactor.secretValues(in: "requirepass \"s3cr3t-file\"\n") == ["s3cr3t-file"])
    }

    @Test func pathsAreNeverRedactedOnlySecretValues() throws {
        let r = Redactor(secrets: ["pw-from-the-secret"])
        let cp = ["kubectl", "-n", "default", "exec", "redis-repair", "--", "cp", "-a", "/data/appendonlydir", "/data/backup-20261204T153000Z"]
        #expect(r.redact(argv: cp) == cp)
        let shown = "$ kubectl -n default exec redis-repair -- cp -a /data/appendonlydir /data/backup-20261204T153000Z"
        #expect(r.redact(shown) == shown)
        // The same in a redis-cli command: its -a value is the password.
        #expect(r.redact(argv: ["kubectl", "exec", "redis-0", "--", "redis-cli", "-a", "hunter22", "PING"])
                == ["kubectl", "exec", "redis-0", "--", "redis-cli", "-a", "[REDACTED]", "PING"])
        #expect(r.redact("$ kubectl exec redis-0 -- redis-cli -a hunter22 PING") == "$ kubectl exec redis-0 -- redis-cli -a [REDACTED] PING")
        // Paths, scripts and patches with secret-looking words stay byte for byte.
        let kept: [[String]] = [
            ["kubectl", "exec", "redis-0", "--", "ls", "-la", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
            ["kubectl", "exec", "redis-0", "--", "redis-cli", "--scan", "--pattern", "auth:*"],
            ["kubectl", "exec", "redis-0", "--", "redis-cli", "GET", "session:auth"],
            ["kubectl", "patch", "statefulset", "redis", "-p={\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"auth\",\"secret\":{\"secretName\":\"redis-auth\"}}]}}}}"],
            ["kubectl", "exec", "redis-repair", "--", "sh", "-c", "cp -a /data/appendonlydir /data/x && ls -a /data"],
            ["kubectl", "exec", "redis-repair", "--", "redis-check-aof", "--fix", "/data/appendonlydir/appendonly.aof.manifest"],
        ]
        for argv in kept { #expect(r.redact(argv: argv) == argv, "changed: \(argv)") }
        for argv in kept { let t = argv.joined(separator: " "); #expect(r.redact(t) == t, "changed: \(t)") }
        #expect(r.redact("secretName: redis-auth\nmountPath: /data\n") == "secretName: redis-auth\nmountPath: /data\n")
        #expect(r.redact("AUTH failed: WRONGPASS invalid username-password pair") == "AUTH failed: WRONGPASS invalid username-password pair")
        // Secret values are masked wherever they are.
        #expect(r.redact(argv: ["kubectl", "--token", "eyJhbGciOi.x.y", "get", "pods"]) == ["kubectl", "--token", "[REDACTED]", "get", "pods"])
        #expect(r.redact(argv: ["kubectl", "--token=eyJhbGciOi.x.y", "get", "pods"]) == ["kubectl", "--token=[REDACTED]", "get", "pods"])
        #expect(r.redact("Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig") == "Authorization: Bearer [REDACTED]")
        #expect(r.redact(argv: ["redis-cli", "HELLO", "3", "AUTH", "default", "s3cret"]) == ["redis-cli", "HELLO", "3", "AUTH", "[REDACTED]", "[REDACTED]"])
        #expect(r.redact(argv: ["kubectl", "exec", "-i", "redis-0", "--", "redis-cli"]) == ["kubectl", "exec", "-i", "redis-0", "--", "redis-cli"])
        #expect(r.redact("AUTH pw-from-the-secret\nPING\n") == "AUTH [REDACTED]\nPING\n")
        #expect(r.redact("cp -a /data/pw-from-the-secret") == "cp -a /data/[REDACTED]", "a known secret is masked even inside a path")
        #expect(r.redact(argv: ["redis-server", "--requirepass", "s3cret", "--dir", "/data"]) == ["redis-server", "--requirepass", "[REDACTED]", "--dir", "/data"])
    }

    @Test func fileIs0600InA0700Directory() throws {
        let base = makeTempDir()
        let dir = base.appendingPathComponent("state/redis-runbook/incidents")
        let path = IncidentLog.defaultPath(incidentsDir: dir, runbookId: "pod-restart")
        let log = try IncidentLog(path: path, tightenParent: true)
        try log.append(IncidentEntry(type: .note))
        let fmode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        let dmode = try FileManager.default.attributesOfItem(atPath: dir.path)[.posixPermissions] as? Int
        #expect(fmode == 0o600)
        #expect(dmode == 0o700)
        #expect(path.hasSuffix("-pod-restart.jsonl"))
        // appending again keeps earlier lines (append-only)
        let log2 = try IncidentLog(path: path)
        try log2.append(IncidentEntry(type: .note))
        #expect(try IncidentLog.read(path: path).count == 2)
    }

    @Test func aFileThatIsNotALogIsRefusedWithItsLine() throws {
        let dir = makeTempDir()
        let garbage = dir.appendingPathComponent("garbage.jsonl").path
        try "hello world\nsecond line\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        #expect(throws: IncidentLog.ReadError.self) { try IncidentLog.read(path: garbage) }
        do { _ = try IncidentLog.read(path: garbage) } catch let e as IncidentLog.ReadError {
            #expect(e.line == 1)
            #expect(e.description.hasPrefix("\(garbage):1: not an incident log entry: not JSON"))
        }
        // A log whose middle line is damaged names that line.
        let path = dir.appendingPathComponent("damaged.jsonl").path
        let log = try IncidentLog(path: path)
        try log.append(IncidentEntry(type: .note))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path)); try h.seekToEnd(); try h.write(contentsOf: Data("{\"no\":1}\n".utf8)); try h.close()
        try log.append(IncidentEntry(type: .note))
        do { _ = try IncidentLog.read(path: path); Issue.record("a damaged line was accepted") } catch let e as IncidentLog.ReadError {
            #expect(e.line == 2)
        }
    }

    @Test func aLastLineCutShortIsKeptAsANote() throws {
        let dir = makeTempDir()
        let path = dir.appendingPathComponent("torn.jsonl").path
        let log = try IncidentLog(path: path)
        try log.append(IncidentEntry(type: .note))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path)); try h.seekToEnd(); try h.write(contentsOf: Data("{\"type\":\"no".utf8)); try h.close()
        let entries = try IncidentLog.read(path: path)
        #expect(entries.count == 2)
        #expect(entries.last?.message?.contains("line 2 of the log was cut short") == true)
    }

    @Test func reportIsAMarkdownTimeline() throws {
        let dir = makeTempDir()
        let path = dir.appendingPathComponent("r.jsonl").path
        let log = try IncidentLog(path: path)
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions(), logPath: path)
        var h = Harness(answers: [.yes, .text("redis-0")], results: [Harness.ok("PONG"), Harness.ok("pod \"redis-0\" deleted"), Harness.ok("41")],
                        snapshot: ["pod.ready": "true"])
        h.drive(&run)
        for e in h.logs { try log.append(e) }
        var b = IncidentEntry(type: .capture, runbook: "t"); b.name = "keys_before"; b.value = "42"
        try log.append(b)
        let md = RunbookMarkdown.report(try IncidentLog.read(path: path), logPath: path)
        #expect(md.hasPrefix("# Incident report: t"))
        #expect(md.contains("| Outcome | **finished**"))
        #expect(md.contains("## Timeline"))
        #expect(md.contains("**Changed state**: `kubectl --context prod -n cache delete pod redis-0`"))
        #expect(md.contains("Answer to “Delete redis-0?”: **yes** (operator)"))
        #expect(md.contains("## Commands"))
        #expect(md.contains("Keys before: **42**, after: **41** (-1, 2.38% lost)"))
    }

    @Test func exportListsEveryCommand() throws {
        let lib = RunbookLibrary.load(folders: [bundledRunbooksDir()])
        let rb = try #require(lib.runbook(id: "aof-corruption"))
        let md = RunbookMarkdown.export(rb)
        #expect(md.contains("redis-check-aof --fix /data/appendonlydir/appendonly.aof.manifest"))
        #expect(md.contains("**DESTRUCTIVE: type the pod name to confirm**"))
        for s in rb.steps { if let c = s.command { #expect(md.contains(RunbookMarkdown.display(c))) } }
    }
}
