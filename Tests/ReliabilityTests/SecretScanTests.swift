import Diagnosis
import Foundation
import Live
import TmuxTestSupport
import ProcessRunner
import Sandbox
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A password-protected sandbox (`sandbox up --redis-password-secret`): the tool authenticates
/// with the pod's own REDISCLI_AUTH/REDIS_PASSWORD, and the password is never on a local command
/// line (every /proc/*/cmdline scanned every 20 ms during the runs), never in the incident log,
/// never in what is printed. Then the tool meets WRONGPASS and NOAUTH and says so.
@Suite("secrets", .serialized)
struct SecretScanTests {
    /// Scans every process's command line until stopped; collects the ones containing `needle`.
    final class Scanner: @unchecked Sendable {
        let needle: String
        private let lock = NSLock()
        private var hits: [String] = []
        private var scans = 0
        private var running = true
        private var thread: Thread?
        init(_ needle: String) { self.needle = needle }

        func start() {
            let t = Thread { [self] in
                while lock.withLock({ running }) {
                    for p in Procs.all() {
                        let argv = Procs.cmdline(p)
                        if argv.contains(where: { $0.contains(needle) }) {
                            let line = "pid \(p): \(argv.map { $0.replacingOccurrences(of: needle, with: "<PASSWORD>") }.joined(separator: " "))"
                            lock.withLock { if !hits.contains(line) { hits.append(line) } }
                        }
                    }
                    lock.withLock { scans += 1 }
                    usleep(20_000)
                }
            }
            thread = t
            t.start()
        }

        func stop() -> (hits: [String], scans: Int) {
            lock.withLock { running = false }
            usleep(60_000)
            return lock.withLock { (hits, scans) }
        }
    }

    /// What the session says when it is not authenticated, as shown to the operator.
    @Test func authRefusalIsNamed() {
        let stderr = "Warning: AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n"
        // redis-cli's own warning (REDISCLI_AUTH wrong) and the tool's refused AUTH both read as wrongpass.
        let fromEnv = RedisAuth.refusal(preludeReplies: [], stderrTail: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n")
        #expect(fromEnv.map(RedisReplyState.classify) == "wrongpass", "\(fromEnv ?? "nil")")
        let fromPrelude = RedisAuth.refusal(preludeReplies: ["\n(error) WRONGPASS invalid username-password pair or user is disabled."], stderrTail: "")
        #expect(fromPrelude == "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.")
        #expect(fromPrelude.map(RedisReplyState.classify) == "wrongpass")
        // Nothing said: plain NOAUTH stays NOAUTH.
        #expect(RedisAuth.refusal(preludeReplies: [], stderrTail: "") == nil)
        #expect(RedisAuth.refusal(preludeReplies: ["OK"], stderrTail: "") == nil)
        #expect(RedisAuth.refusal(preludeReplies: [], stderrTail: "Warning: something else\n") == nil)
        #expect(RedisAuth.refusal(preludeReplies: [], stderrTail: "noise\n" + stderr) == "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.")
    }

    /// In password mode the sandbox's own in-pod redis-cli calls (seed, faults; the BullMQ trickle
    /// too) get the redis container's environment, as `kubectl exec` does: they authenticate.
    @Test(.timeLimit(.minutes(5))) func sandboxSeedAndFaultsAuthenticateInPasswordMode() async throws {
        let env = try RelEnv()
        // 128Mi: at 64Mi the 16 MiB between maxmemory and the limit was once too little for an
        // automatic BGSAVE's copy-on-write while the fault filled Redis (OOMKilled: the oom-kill
        // fault's story, not this test's).
        let sb = try await SandboxProcess.up(prefix: "rrrel", ["--redis-password-secret", "--memory-limit", "128Mi"])
        defer { sb.downBlocking() }
        let sbDir = sb.dir.path
        let kubectl = RelEnv.kubectl
        let kc = sbDir + "/kubeconfig"
        let seed = await env.runSandbox(["seed", "--dir", sbDir, "--preset", "demo"], timeout: .seconds(120))
        #expect(seed.succeeded && seed.stdoutText.contains(", 0 errors"), "seed: \(seed.stdoutText) \(seed.stderrText)")
        let fault = await env.runSandbox(["fault", "--dir", sbDir, "memory-pressure"], timeout: .seconds(180))
        #expect(fault.succeeded, "memory-pressure: \(fault.stdoutText) \(fault.stderrText)")
        let status = await env.run(["status", "--json", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
        let ids = ((RelEnv.json(status)?["findings"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(ids.contains("memory-pressure") || ids.contains("oom-rejections"), "findings \(ids): \(status.stdoutText.prefix(600))")
    }

    @Test(.timeLimit(.minutes(5))) func passwordNeverOnACommandLineLogOrScreen() async throws {
        let env = try RelEnv()
        let sb = try await SandboxProcess.up(prefix: "rrrel", ["--redis-password-secret"])
        defer { sb.downBlocking() }
        let sbDir = sb.dir.path
        let root = URL(fileURLWithPath: sbDir)
        let password = try #require(SandboxSecrets.read(root, name: SandboxSecrets.redisSecretName, key: SandboxSecrets.redisSecretKey))
        #expect(password.count == 32)
        let kubectl = RelEnv.kubectl
        let kc = sbDir + "/kubeconfig"

        let scanner = Scanner(password)
        scanner.start()
        // status (one-shot probes + the redis-cli session), check, a runbook in line mode.
        let status = await env.run(["status", "--json", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
        let statusText = await env.run(["status", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
        let check = await env.run(["check", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
        let log = env.path("incident.jsonl")
        let rb = await env.run(["runbook", "run", "config-drift", "--read-only", "--yes", "--kubectl", kubectl, "--kubeconfig", kc, "--audit-log", log], timeout: .seconds(120))
        // The dashboard, live on the protected pod: its screen.
        var dashboardScreen: [String] = []
        do {
            let t = try TmuxSession(width: 160, height: 48)
            defer { if let p = try? t.appPid() { kill(p, SIGTERM) }; t.close() }
            try t.launchApp(["--kubectl", kubectl, "--kubeconfig", kc, "--refresh", "1"])
            if let s = try? t.waitFor(timeout: 30, "the live dashboard", { $0.first?.contains("redis: up") == true }) { dashboardScreen = s } else { dashboardScreen = try t.capture() }
            try t.type("q")
        }
        #expect(dashboardScreen.first?.contains("redis: up") == true, "the dashboard did not authenticate:\n\(dashboardScreen.joined(separator: "\n"))")
        #expect(!dashboardScreen.joined().contains(password), "the password is on the dashboard")
        // Redis restarted: redis-server gets the password again through $(REDIS_PASSWORD).
        func uid() async -> String {
            await Runner().run(CommandSpec(RelEnv.kubectlArgv(sbDir) + ["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"], timeout: .seconds(10))).stdoutText
        }
        let oldUID = await uid()
        let restart = await Runner().run(CommandSpec(RelEnv.kubectlArgv(sbDir) + ["delete", "pod", "redis-0", "--wait=false"], timeout: .seconds(30)))
        #expect(restart.succeeded, "\(restart.stderrText)")
        // A new pod (new uid), Ready, and the tool reading Redis through it again.
        var status2 = status
        var back = false
        for _ in 0..<60 {
            try await Task.sleep(for: .seconds(1))
            let u = await uid()
            guard !u.isEmpty, u != oldUID else { continue }
            status2 = await env.run(["status", "--json", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
            if RelEnv.json(status2)?["redisState"] as? String == "ok" { back = true; break }
        }
        #expect(back, "after the restart: \(status2.stdoutText.suffix(800))")
        // A container with REDIS_PASSWORD but no REDISCLI_AUTH (a kubectl that unsets it in the
        // pod, in front of whatever runs there): Redis answers NOAUTH, the tool reads
        // REDIS_PASSWORD in the pod with `printenv` and sends AUTH on the session's stdin.
        let passwordOnly = try env.script("kubectl-password-only", """
        n=$#; sawdash=0
        for a in "$@"; do
          set -- "$@" "$a"
          if [ "$sawdash" = 0 ] && [ "$a" = "--" ]; then sawdash=1; set -- "$@" env -u REDISCLI_AUTH; fi
        done
        shift $n
        exec '\(kubectl)' "$@"
        """)
        let po = await env.run(["status", "--json", "--kubectl", passwordOnly, "--kubeconfig", kc], timeout: .seconds(60))
        #expect(RelEnv.json(po)?["redisState"] as? String == "ok", "REDIS_PASSWORD only: \(po.stdoutText.prefix(600)) \(po.stderrText)")
        let key = await Runner().run(CommandSpec(RelEnv.kubectlArgv(sbDir) + ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "SET", "rrb:only:1", "v"], timeout: .seconds(20)))
        #expect(key.stdoutText.contains("OK"), "\(key.stdoutText) \(key.stderrText)")
        let poMemory = await env.run(["memory", "--top", "3", "--kubectl", passwordOnly, "--kubeconfig", kc], timeout: .seconds(120))
        #expect(poMemory.succeeded && poMemory.stdoutText.contains("rrb:only:"), "memory, REDIS_PASSWORD only: \(poMemory.stdoutText.prefix(600)) \(poMemory.stderrText)")
        let (hits, scans) = scanner.stop()

        // The tool authenticated: Redis answered with data, not NOAUTH.
        let json = try #require(RelEnv.json(status), "\(status.stdoutText) \(status.stderrText)")
        #expect(json["redisState"] as? String == "ok", "redisState \(String(describing: json["redisState"])) errors \(RelEnv.errors(json))")
        // The scan.
        // The one allowed place: the pod's own redis-server, which gets `--requirepass
        // $(REDIS_PASSWORD)` expanded by the kubelet exactly as Kubernetes does, until it sets its
        // process title (milliseconds after start; seen here only around the restart). Anything
        // else (redis-runbook, kubectl, redis-cli, a shell, nsenter) is a leak.
        let podServer = hits.filter { h in
            let argv0 = h.split(separator: " ").dropFirst(2).first.map(String.init) ?? ""
            return argv0.hasSuffix("redis-server") || (argv0.hasSuffix("nsenter") && h.contains("redis-server --"))
        }
        let leaks = hits.filter { !podServer.contains($0) }
        print("secret scan: \(scans) scans of every /proc/*/cmdline, \(leaks.count) leaks, \(podServer.count) sightings in the pod's own redis-server argv at its start")
        #expect(scans > 20, "the scanner hardly ran: \(scans)")
        #expect(leaks.isEmpty, "the password is on a command line:\n\(leaks.joined(separator: "\n"))")
        // Never printed, never logged.
        for (what, r) in [("status --json", status), ("status", statusText), ("check", check), ("runbook run", rb), ("status after restart", status2), ("status, REDIS_PASSWORD only", po), ("memory, REDIS_PASSWORD only", poMemory)] {
            #expect(!r.stdoutText.contains(password) && !r.stderrText.contains(password), "\(what) printed the password")
        }
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!logText.isEmpty, "no incident log: \(rb.stdoutText.suffix(400))")
        #expect(!logText.contains(password), "the incident log contains the password")
        let daemonLog = (try? String(contentsOfFile: sbDir + "/daemon.log", encoding: .utf8)) ?? ""
        #expect(!daemonLog.contains(password), "the sandbox daemon log contains the password")
        let state = (try? String(contentsOfFile: sbDir + "/state.json", encoding: .utf8)) ?? ""
        #expect(!state.isEmpty && !state.contains(password), "the sandbox state file contains the password")
        let podJSON = await Runner().run(CommandSpec(RelEnv.kubectlArgv(sbDir) + ["get", "pod", "redis-0", "-o", "json"], timeout: .seconds(10)))
        #expect(podJSON.stdoutText.contains("secretKeyRef") && !podJSON.stdoutText.contains(password))

        // NOAUTH: a kubectl that runs redis-cli in the pod without the pod's credentials.
        let noauth = try env.script("kubectl-noauth", """
        n=$#; i=0; sawdash=0
        for a in "$@"; do
          i=$((i+1))
          if [ "$sawdash" = 0 ]; then set -- "$@" "$a"; fi
          [ "$a" = "--" ] && sawdash=1
        done
        shift $n
        if [ "$sawdash" = 1 ]; then exec '\(kubectl)' "$@" env -u REDISCLI_AUTH -u REDIS_PASSWORD redis-cli; fi
        exec '\(kubectl)' "$@"
        """)
        let na = await env.run(["status", "--json", "--kubectl", noauth, "--kubeconfig", kc], timeout: .seconds(60))
        let naJSON = RelEnv.json(na)
        #expect(naJSON?["redisState"] as? String == "noauth", "NOAUTH: \(na.stdoutText.prefix(600)) \(na.stderrText)")
        #expect(((naJSON?["findings"] as? [[String: Any]]) ?? []).contains { ($0["id"] as? String) == "redis-unreachable" }, "no finding for NOAUTH")
        // WRONGPASS: the server's password changes under the pod's env.
        // WRONGPASS, as a reply: a kubectl that authenticates redis-cli with a wrong password
        // (REDISCLI_AUTH set inside the pod by `env`, never on this machine's command line).
        let wrong = try env.script("kubectl-wrongpass", """
        n=$#; sawdash=0
        for a in "$@"; do
          if [ "$sawdash" = 0 ]; then set -- "$@" "$a"; fi
          [ "$a" = "--" ] && sawdash=1
        done
        shift $n
        if [ "$sawdash" = 1 ]; then exec '\(kubectl)' "$@" env REDISCLI_AUTH=not-the-password redis-cli; fi
        exec '\(kubectl)' "$@"
        """)
        let wr = await env.run(["status", "--json", "--kubectl", wrong, "--kubeconfig", kc], timeout: .seconds(60))
        let wrState = RelEnv.json(wr)?["redisState"] as? String
        #expect(wrState == "wrongpass" || wrState == "noauth", "wrong password: \(wr.stdoutText.prefix(600))")
        print("redis-cli with a wrong password is shown as: \(wrState ?? "nil")")
        let newPass = "Changed" + String(password.prefix(8)).lowercased()
        let cfg = await Runner().run(CommandSpec(RelEnv.kubectlArgv(sbDir) + ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "CONFIG", "SET", "requirepass", newPass], timeout: .seconds(20)))
        #expect(cfg.stdoutText.contains("OK"), "\(cfg.stdoutText) \(cfg.stderrText)")
        let wp = await env.run(["status", "--json", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
        let wpJSON = RelEnv.json(wp)
        // redis-cli only warns when the AUTH of REDISCLI_AUTH fails (on stderr), then every
        // command answers NOAUTH: the tool sees NOAUTH (see RELIABILITY.md, not covered).
        let wpState = wpJSON?["redisState"] as? String
        print("the server's password changed under the pod's env: shown as \(wpState ?? "nil")")
        #expect(wpState == "wrongpass" || wpState == "noauth", "changed password: \(wp.stdoutText.prefix(600)) \(wp.stderrText)")
        let wpText = await env.run(["status", "--kubectl", kubectl, "--kubeconfig", kc], timeout: .seconds(60))
        #expect(wpText.stdoutText.contains("Redis   \(wpState ?? "?")"), "\(wpText.stdoutText)")
        #expect(!wpText.stdoutText.contains(newPass) && !wpText.stdoutText.contains(password))
    }
}
