import Foundation
import ProcessRunner
import Runbooks
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// No shell anywhere, kubectl never from the current directory, --read-only never mutates, the
/// incident log is private. Real binary, fake kubectl that records its argv.
@Suite("security")
struct SecurityTests {
    static let hostile = ["x; touch MARK", "$(touch MARK)", "`touch MARK`", "x && touch MARK", "x | touch MARK", "x\ntouch MARK", "'; touch MARK; '"]

    /// A pod name with shell syntax is not a Kubernetes name: it is refused before anything runs
    /// (no kubectl call carries it, no shell runs it), with a message naming the flag. Values
    /// that do reach kubectl as data: see `runbookVariableIsPassedAsData`.
    @Test func podNameWithShellSyntaxIsRefusedBeforeAnythingRuns() async throws {
        let env = try RelEnv()
        let k = try env.fakeKubectl()
        for (i, h) in Self.hostile.enumerated() {
            let mark = env.path("pwned-\(i)")
            let pod = h.replacingOccurrences(of: "MARK", with: mark)
            let r = await env.run(["status", "--json", "--kubectl", k, "--pod", pod], timeout: .seconds(40))
            #expect(r.exitCode != nil && r.exitCode != 0, "\(r.termination)")
            #expect(r.stderrText.contains("--pod") && r.stderrText.contains("DNS-1123"), "\(r.stderrText)")
            #expect(!FileManager.default.fileExists(atPath: mark), "the pod name \(pod.debugDescription) was run by a shell")
            #expect(!env.calls().contains { c in c.contains { $0.contains(mark) } }, "kubectl was called with \(pod.debugDescription)")
        }
    }

    /// A runbook variable (what a key name or pod would be) with shell syntax is one argv element.
    @Test func runbookVariableIsPassedAsData() async throws {
        let env = try RelEnv()
        let k = try env.fakeKubectl()
        let books = env.path("books")
        try FileManager.default.createDirectory(atPath: books, withIntermediateDirectories: true)
        try """
        id: rel-inject
        title: Injection probe
        summary: Passes a variable to kubectl as one argument.
        when: []
        variables:
          - name: victim
            description: a key or pod name
            option: victim
            default: redis-0
        steps:
          - kind: command
            title: Look at it
            command: [kubectl, get, pod, "{{victim}}", -o, name]
        """.write(toFile: books + "/inject.yaml", atomically: true, encoding: .utf8)
        for (i, h) in Self.hostile.enumerated() {
            let mark = env.path("pwned-rb-\(i)")
            let value = h.replacingOccurrences(of: "MARK", with: mark)
            let r = await env.run(["runbook", "run", "rel-inject", "--runbooks", books, "--kubectl", k, "--yes", "--set", "victim=\(value)"],
                                  timeout: .seconds(40))
            #expect(r.exitCode != nil, "\(r.termination) \(r.stderrText)")
            #expect(!FileManager.default.fileExists(atPath: mark), "\(value.debugDescription) was run by a shell")
            let get = env.calls().last { $0.contains("get") && $0.contains("-o") }
            #expect(get?.suffix(4) == ["pod", value, "-o", "name"], "kubectl argv: \(String(describing: get))")
        }
        // The incident log of those runs: private file in a private directory.
        let incidents = env.path("state/redis-runbook/incidents")
        let files = try FileManager.default.contentsOfDirectory(atPath: incidents)
        #expect(!files.isEmpty)
        var st = stat()
        #expect(stat(incidents, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o700, "incidents dir mode \(String(st.st_mode & 0o777, radix: 8))")
        for f in files {
            #expect(stat(incidents + "/" + f, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o600, "\(f) mode \(String(st.st_mode & 0o777, radix: 8))")
        }
    }

    /// kubectl is never taken from the current directory: not by default, not with "." or an
    /// empty entry in PATH.
    @Test func kubectlIsNeverTakenFromTheWorkingDirectory() async throws {
        let env = try RelEnv()
        let cwd = env.path("cwd")
        let mark = env.path("cwd-kubectl-ran")
        try env.script("cwd/kubectl", "touch '\(mark)'; exit 0")
        let real = try env.fakeKubectl("bin/kubectl")
        let binDir = (real as NSString).deletingLastPathComponent
        // (/usr/bin may hold a real kubectl: a directory without one stands for the rest of PATH.)
        let noKubectl = env.path("no-kubectl")
        try FileManager.default.createDirectory(atPath: noKubectl, withIntermediateDirectories: true)
        for path in [".", "", ":\(noKubectl)", ".:\(noKubectl)", "\(noKubectl):", "\(noKubectl)::/nonexistent", "bin", "./", "cwd"] {
            let r = await env.run(["status", "--json"], environment: ["PATH": path], cwd: cwd, timeout: .seconds(40))
            #expect(!FileManager.default.fileExists(atPath: mark), "PATH=\(path.debugDescription) ran ./kubectl")
            #expect(r.exitCode != 0 && r.stderrText.contains("kubectl was not found on PATH"), "PATH=\(path.debugDescription): \(r.stderrText)")
        }
        // `--kubectl kubectl` (a bare name) is looked up in PATH as well, never ./kubectl.
        let bare = await env.run(["status", "--json", "--kubectl", "kubectl"], environment: ["PATH": ".:\(binDir)"], cwd: cwd, timeout: .seconds(40))
        #expect(!FileManager.default.fileExists(atPath: mark), "--kubectl kubectl ran ./kubectl")
        #expect(bare.stdoutText.contains("\"phase\" : \"Running\""), "the PATH kubectl should have answered: \(bare.stdoutText.prefix(300)) \(bare.stderrText)")
    }

    /// What a command a runbook may not run in --read-only looks like: any kubectl verb that
    /// changes the cluster, any redis-cli write. Checked on what kubectl actually received.
    static func mutation(_ argv: [String]) -> String? {
        // `kubectl config current-context` reads the kubeconfig (the header's context name);
        // the redis-cli word list below would take its `config` for Redis's CONFIG.
        if let i = argv.firstIndex(of: "config"), i + 1 < argv.count, argv[i + 1] == "current-context", !argv.contains("redis-cli") { return nil }
        let cmd = CommandTemplate(argv: (["kubectl"] + argv).map { Template(literal: $0) })
        if let why = MutationLint.looksMutating(cmd) { return why }
        let upper = argv.map { $0.uppercased() }
        for w in ["SET", "DEL", "FLUSHALL", "FLUSHDB", "CONFIG", "BGREWRITEAOF", "SHUTDOWN", "DEBUG", "UNLINK", "EXPIRE", "BGSAVE", "SAVE"] where upper.contains(w) {
            if w == "CONFIG", let i = upper.firstIndex(of: "CONFIG"), i + 1 < upper.count, upper[i + 1] == "GET" { continue }
            return "redis-cli \(w)"
        }
        return nil
    }

    /// Every bundled runbook, run in line mode with --read-only and every "yes" flag: kubectl
    /// never receives a mutating command, and the run says it refused.
    @Test(.timeLimit(.minutes(4))) func readOnlyRunbooksNeverMutate() async throws {
        let env = try RelEnv()
        let k = try env.fakeKubectl()
        let list = await env.run(["runbook", "list", "--json"])
        let items = (try? JSONSerialization.jsonObject(with: list.stdout) as? [[String: Any]]) ?? []
        let ids = items.compactMap { $0["id"] as? String }
        #expect(ids.count >= 10, "bundled runbooks: \(ids) \(list.stderrText)")
        var mutatingBooks = 0
        for id in ids {
            let mutates = items.first { $0["id"] as? String == id }?["mutates"] as? Bool ?? false
            if mutates { mutatingBooks += 1 }
            let before = env.calls().count
            let log = env.path("ro-\(id).jsonl")
            let r = await env.run(["runbook", "run", id, "--read-only", "--yes", "--yes-destructive", "--kubectl", k, "--audit-log", log],
                                  timeout: .seconds(20))
            // Runbooks that wait (wait-until with minutes of timeout) are cut at 20 s: what they
            // ran until then is checked all the same.
            let finished = r.exitCode != nil
            if !finished { #expect(r.termination == .timedOut, "\(id): \(r.termination)") }
            if case .signaled = r.termination { Issue.record("\(id) crashed: \(r.stderrText)") }
            for c in env.calls().dropFirst(before) {
                #expect(Self.mutation(c) == nil, "\(id) ran a mutating command in --read-only: kubectl \(c.joined(separator: " "))")
            }
            if mutates && finished {
                let text = r.stdoutText.lowercased() + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").lowercased()
                #expect(text.contains("read-only"), "\(id): the run does not say read-only refused something\n\(r.stdoutText.suffix(600))")
            }
        }
        #expect(mutatingBooks >= 5, "expected several runbooks with mutating steps, got \(mutatingBooks)")
    }
}

/// SIGKILL in the middle of a runbook: the completed steps are on disk, `--resume` continues at
/// the step that was running and never repeats a finished one.
@Suite("runbook kill and resume")
struct RunbookKillResumeTests {
    @Test(.timeLimit(.minutes(2))) func sigkillThenResume() async throws {
        let env = try RelEnv()
        let gate = env.path("gate")
        try "closed\n".write(toFile: gate, atomically: true, encoding: .utf8)
        let k = try env.fakeKubectl(extra: """
        case "$*" in *"pod gate"*) cat '\(gate)'; exit 0 ;; esac
        """)
        let books = env.path("books")
        try FileManager.default.createDirectory(atPath: books, withIntermediateDirectories: true)
        try """
        id: rel-resume
        title: Resume probe
        summary: Two quick steps, then a wait the test interrupts, then one more.
        when: []
        steps:
          - id: one
            kind: command
            title: Step one
            command: [kubectl, get, pod, step-one]
          - id: two
            kind: command
            title: Step two
            command: [kubectl, get, pod, step-two]
          - id: gate
            kind: wait-until
            title: Wait for the gate
            command: [kubectl, get, pod, gate]
            condition: stdout contains "open"
            interval: 1
            timeout: 300
          - id: four
            kind: command
            title: Step four
            command: [kubectl, get, pod, step-four]
        """.write(toFile: books + "/resume.yaml", atomically: true, encoding: .utf8)
        let log = env.path("incident.jsonl")
        let out = env.path("run1.out")
        var environ = ProcessInfo.processInfo.environment.merging(env.environment) { $1 }
        environ["PATH"] = "/usr/bin:/bin"
        let child = try Child.spawn([env.binary, "runbook", "run", "rel-resume", "--runbooks", books, "--kubectl", k, "--yes", "--audit-log", log],
                                    environment: environ, stdoutPath: out, stderrPath: out)
        func count(_ marker: String) -> Int { env.calls().filter { $0.contains(marker) }.count }
        let waiting = await Procs.eventually(30) { count("gate") >= 2 }
        #expect(waiting, "the run never reached the wait step: \((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")")
        child.signal(SIGKILL, wholeGroup: false)
        let term = await child.wait(timeout: .seconds(10))
        #expect(term == .signaled(SIGKILL), "\(String(describing: term))")

        // On disk: both finished steps, not the unfinished ones.
        let entries = try IncidentLog.read(path: log)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("step-one") && text.contains("step-two"), "finished steps missing from the incident log:\n\(text)")
        #expect(!text.contains("step-four"))
        #expect(entries.count >= 3)
        var st = stat()
        #expect(stat(log, &st) == 0 && st.st_mode & 0o777 == 0o600)

        // Resume: starts at the wait (the step that was running), finishes, repeats nothing.
        try "open\n".write(toFile: gate, atomically: true, encoding: .utf8)
        let r = await env.run(["runbook", "run", "rel-resume", "--resume", "--runbooks", books, "--kubectl", k, "--yes", "--audit-log", log],
                              timeout: .seconds(60))
        #expect(r.exitCode == 0, "\(r.termination)\n\(r.stdoutText)\n\(r.stderrText)")
        #expect(count("step-one") == 1 && count("step-two") == 1, "a finished step ran again: \(env.calls())")
        #expect(count("step-four") == 1)
        #expect(!r.stdoutText.contains("Step one"), "resume re-announced step one:\n\(r.stdoutText)")
        #expect(r.stdoutText.contains("Wait for the gate") && r.stdoutText.contains("Step four"), "\(r.stdoutText)")
        let after = try String(contentsOfFile: log, encoding: .utf8)
        #expect(after.contains("step-four"))
        #expect(after.hasPrefix(text), "the resumed run rewrote the earlier log instead of appending")
        // Nothing left of the killed run.
        for p in Procs.all() where Procs.cmdline(p).contains(k) && Procs.alive(p) { kill(p, SIGKILL) }
    }
}
