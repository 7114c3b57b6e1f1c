import Common
import Diagnosis
import Foundation
import Live
import ProcessRunner
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `redis-runbook-exec-relay` (issue 16, figure 3: the dashboard starts one kubectl, not two):
/// the dashboard's Redis session as an exec WebSocket through the tool's own `kubectl proxy`
/// (the real `/usr/bin/kubectl proxy`, the sandbox's API server, real redis-server pods).
@Suite("exec relay through kubectl proxy", .serialized)
struct ExecRelayTests {
    /// The relay built beside the tests (as installed beside the tool).
    static func relay() throws -> String {
        try #require(KubeProxy.installedExecRelay, "redis-runbook-exec-relay is not built beside the tests (swift build --build-tests)")
    }

    final class ArgvRecorder: CommandRecorder, @unchecked Sendable {
        private let lock = NSLock()
        private var started: [[String]] = []
        func commandStarted(id: UInt64, spec: CommandSpec) { lock.withLock { started.append(spec.argv) } }
        func commandFinished(id: UInt64, result: CommandResult) {}
        var argvs: [[String]] { lock.withLock { started } }
    }

    static func descendants(of pid: pid_t) -> [pid_t] {
        var out: [pid_t] = [], queue = [pid]
        while let p = queue.popLast() {
            for c in Procs.children(of: p) where !out.contains(c) { out.append(c); queue.append(c) }
        }
        return out
    }

    /// A process of the kubectl binary (Debian's dispatcher or the versioned kubectl it runs).
    static func isKubectl(_ argv: [String]) -> Bool {
        guard let a0 = argv.first else { return false }
        return (a0 as NSString).lastPathComponent.hasPrefix("kubectl")
    }

    @Test(.timeLimit(.minutes(4))) func relayRunsRedisCLIThroughTheProxy() async throws {
        let relay = try Self.relay()
        let sb = try await SandboxProcess.up(prefix: "exec-relay-cli")
        defer { sb.downBlocking() }
        let proxy = KubeProxy(target: LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(kubeconfig: sb.kubeconfig)))
        defer { Task { await proxy.stop() } }
        let socket = try #require(await proxy.ready(timeout: 20), "the proxy did not serve: \(proxy.lastFailure ?? "?")")
        #expect(proxy.argv.last == "--reject-paths=^/api/.*/pods/.*/attach", "\(proxy.argv)")
        let target = LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(kubeconfig: sb.kubeconfig))
        let path = target.redisExecAPIPath
        #expect(path == "/api/v1/namespaces/default/pods/redis-0/exec?container=redis&stdin=true&stdout=true&stderr=true&command=redis-cli")

        // INFO through the proxy; the end of stdin ends redis-cli, and the relay with its exit code 0.
        let t0 = Date()
        let info = await Runner().run(CommandSpec([relay, socket, path], stdin: Data("PING\nINFO server\n".utf8), timeout: .seconds(30)))
        let took = Date().timeIntervalSince(t0)
        #expect(info.exitCode == 0, "\(info.termination) \(info.stderrText)")
        #expect(info.stdoutText.hasPrefix("PONG\n# Server"), "\(info.stdoutText.prefix(200))")
        #expect(info.stdoutText.contains("redis_version:") && info.stdoutText.contains("tcp_port:6379"), "\(info.stdoutText.prefix(400))")
        #expect(info.stderrText.isEmpty, "\(info.stderrText)")

        // The same as `kubectl exec -i`, byte for byte (INFO's uptime aside: CONFIG GET is stable).
        let line = "CONFIG GET maxmemory-policy\nDBSIZE\n"
        let viaRelay = await Runner().run(CommandSpec([relay, socket, path], stdin: Data(line.utf8), timeout: .seconds(30)))
        let viaKubectl = await sb.kubectl(["exec", "-i", "redis-0", "-c", "redis", "--", "redis-cli"], stdin: Data(line.utf8))
        #expect(viaRelay.exitCode == 0 && viaKubectl.exitCode == 0)
        #expect(viaRelay.stdoutText == viaKubectl.stdoutText, "relay \(viaRelay.stdoutText) kubectl \(viaKubectl.stdoutText)")

        // A command's exit code travels as kubectl's does (channel 3's NonZeroExitCode).
        let exit3 = path.replacingOccurrences(of: "command=redis-cli", with: "command=sh&command=-c&command=exit%203")
        let three = await Runner().run(CommandSpec([relay, socket, exit3], stdin: Data(), timeout: .seconds(30)))
        #expect(three.exitCode == 3 && three.stderrText == "command terminated with exit code 3\n", "\(three.termination) \(three.stderrText)")

        // A missing pod: exit 1 and the API's message in kubectl's words, the same line kubectl prints.
        let missing = path.replacingOccurrences(of: "/pods/redis-0/", with: "/pods/redis-9/")
        let notFound = await Runner().run(CommandSpec([relay, socket, missing], stdin: Data("PING\n".utf8), timeout: .seconds(30)))
        let kubectlNotFound = await sb.kubectl(["exec", "-i", "redis-9", "-c", "redis", "--", "redis-cli"], stdin: Data("PING\n".utf8))
        #expect(notFound.exitCode == 1, "\(notFound.termination)")
        #expect(notFound.stderrText == "Error from server (NotFound): pods \"redis-9\" not found\n", "\(notFound.stderrText)")
        #expect(notFound.stderrText == kubectlNotFound.stderrText, "kubectl said: \(kubectlNotFound.stderrText)")
        #expect(notFound.stdoutText.isEmpty)
        let classified = KubectlError.classify(stderr: notFound.stderrText, exitCode: 1)
        #expect(classified.kind == KubectlError.classify(stderr: kubectlNotFound.stderrText, exitCode: 1).kind)

        // attach stays refused by the proxy.
        let attach = path.replacingOccurrences(of: "/exec?", with: "/attach?")
        let refused = await Runner().run(CommandSpec([relay, socket, attach], stdin: Data(), timeout: .seconds(30)))
        #expect(refused.exitCode == 1 && refused.stderrText.contains("403"), "\(refused.termination) \(refused.stderrText)")
        print("exec relay: PING + INFO server through kubectl proxy in \(String(format: "%.3f", took)) s")
        await proxy.stop()
    }

    /// The dashboard's prober: one kubectl process (the proxy), the Redis session through the
    /// relay (recorded with its API path), Redis data in the first snapshot.
    @Test(.timeLimit(.minutes(4))) func dashboardStartsOneKubectl() async throws {
        let relay = try Self.relay()
        let sb = try await SandboxProcess.up(prefix: "exec-relay-dash")
        defer { sb.downBlocking() }
        let recorder = ArgvRecorder()
        let target = LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(context: "sandbox", kubeconfig: sb.kubeconfig))
        let prober = Prober(target: target, runner: Runner(recorder: recorder), useWatches: true)
        #expect(await prober.execRelay == relay)
        var snap = await prober.snapshot()
        for _ in 0..<10 where snap.redisState != "ok" {
            try await Task.sleep(for: .seconds(1))
            snap = await prober.snapshot()
        }
        #expect(snap.redisState == "ok", "\(snap.errors)")
        #expect(snap.redisVersion != nil && snap.memory.usedBytes != nil)
        let tree = Self.descendants(of: getpid()).map { ($0, Procs.cmdline($0).filter { !$0.isEmpty }) }
        // This sandbox's kubectl processes (other suites may run beside this one in the same process).
        let kubectls = tree.filter { Self.isKubectl($0.1) && $0.1.contains(sb.kubeconfig) }
        #expect(kubectls.count == 1 && kubectls.first?.1.contains("proxy") == true, "kubectl processes: \(kubectls)")
        #expect(tree.contains { $0.1.first == relay && $0.1.last == target.redisExecAPIPath }, "no relay session: \(tree)")
        // Every spawn recorded: the relay with the socket and the API path, no `kubectl exec`.
        let argvs = recorder.argvs
        #expect(argvs.contains { $0.first == relay && $0.last == target.redisExecAPIPath }, "\(argvs)")
        #expect(!argvs.contains { $0.contains("exec") && Self.isKubectl($0) }, "\(argvs)")
        await prober.shutdown()
        #expect(await SandboxProcess.eventually(5) { Self.descendants(of: getpid()).allSatisfy { !Procs.alive($0) || !(Procs.cmdline($0).first == relay) } })
    }

    /// Without the relay (not installed) the session is a `kubectl exec -i`, as before.
    @Test(.timeLimit(.minutes(4))) func withoutTheRelayTheSessionIsKubectlExec() async throws {
        let sb = try await SandboxProcess.up(prefix: "exec-relay-none")
        defer { sb.downBlocking() }
        let recorder = ArgvRecorder()
        let target = LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(context: "sandbox", kubeconfig: sb.kubeconfig))
        let prober = Prober(target: target, runner: Runner(recorder: recorder), useWatches: true)
        await prober.setExecRelay("/nonexistent/redis-runbook-exec-relay")
        var snap = await prober.snapshot()
        for _ in 0..<10 where snap.redisState != "ok" {
            try await Task.sleep(for: .seconds(1))
            snap = await prober.snapshot()
        }
        #expect(snap.redisState == "ok", "\(snap.errors)")
        let argvs = recorder.argvs
        #expect(argvs.contains { $0.first == "/nonexistent/redis-runbook-exec-relay" }, "\(argvs)")
        #expect(argvs.contains { Self.isKubectl($0) && $0.contains("exec") && $0.contains("redis-cli") }, "\(argvs)")
        await prober.shutdown()
    }
}
