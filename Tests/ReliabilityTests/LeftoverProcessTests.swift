import Foundation
import ProcessRunner
import SandboxFixture
import Testing
import TmuxTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// No process started by the tool outlives it (issue 14, point 6): with a kubectl that hangs
/// on every call (each call writes its pid, so reparented ones are found too), quitting ends
/// every one of them within 2 s, in the dashboard (`q`) and in line mode (Ctrl-C / SIGTERM).
@Suite("no process outlives the tool", .serialized)
struct LeftoverProcessTests {
    static func hangingKubectl(_ env: RelEnv) throws -> (kubectl: String, pids: String) {
        let pids = env.path("hung.pids")
        let k = try env.script("kubectl", """
        echo $$ >> '\(pids)'
        exec sleep 600
        """)
        return (k, pids)
    }

    /// Hung kubectls still alive (not zombies): none may be left `within` seconds after the quit.
    static func leftovers(_ pids: String, within: Double) async -> [pid_t] {
        _ = await Procs.eventually(within) { Procs.pids(in: pids).allSatisfy { !Procs.alive($0) } }
        return Procs.pids(in: pids).filter(Procs.alive)
    }

    static func ppid(_ pid: pid_t) -> String {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.components(separatedBy: ") ").last?.split(separator: " ").dropFirst().first.map(String.init) ?? "?"
    }

    @Test(.timeLimit(.minutes(2))) func dashboardQuitEndsEveryHungKubectl() async throws {
        let env = try RelEnv()
        let (k, pids) = try Self.hangingKubectl(env)
        let tmux = try TmuxSession(width: 100, height: 30)
        defer {
            if let p = try? tmux.appPid() { kill(p, SIGKILL) }
            tmux.close()
            for p in Procs.pids(in: pids) where Procs.alive(p) { kill(p, SIGKILL) }
        }
        try tmux.launchApp(["--kubectl", k, "--refresh", "1"])
        _ = try tmux.appPid()
        // The first refresh's calls are running and well inside their timeout (12 s): the proxy
        // (the Redis session waits for it to serve, to run through it: no kubectl of its own).
        _ = await Procs.eventually(5) { Procs.pids(in: pids).count >= 1 }
        try await Task.sleep(for: .milliseconds(500))
        let started = Procs.pids(in: pids)
        #expect(started.count >= 1, "the hung kubectl calls did not start: \(started)")
        let t0 = Date()
        try tmux.type("q")
        let (status, _) = try tmux.waitForExit()
        let left = await Self.leftovers(pids, within: 2)
        let took = Date().timeIntervalSince(t0)
        print("dashboard quit with \(started.count) hung kubectl calls: exited and cleaned up in \(String(format: "%.2f", took)) s; left: \(left.map { "\($0) \(Procs.cmdline($0)) ppid \(Self.ppid($0))" })")
        #expect(status == 0)
        #expect(left.isEmpty, "alive after quit: \(left.map { "\($0) \(Procs.cmdline($0))" })")
        #expect(took < 4, "quit took \(took) s")
    }

    /// Every process under the tool, grandchildren included.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var out: [pid_t] = [], queue = [pid]
        while let p = queue.popLast() {
            for c in Procs.children(of: p) where !out.contains(c) { out.append(c); queue.append(c) }
        }
        return out
    }

    /// A crash is no quit: SIGKILL gives the tool no chance to stop anything. Its `kubectl proxy`
    /// runs under `redis-runbook-watchdog`, which ends it when the tool's end of its stdin closes,
    /// and the Redis session (`redis-runbook-exec-relay` through that proxy) ends on its stdin's
    /// end-of-file: nothing the dashboard started on a real sandbox with the real kubectl is alive
    /// 5 s after the kill. The dashboard runs ONE kubectl process: the proxy.
    @Test(.timeLimit(.minutes(3))) func dashboardKilledLeavesNoProxyOrSession() async throws {
        let sb = try await SandboxProcess.up(prefix: "rrleft", ["--fast"])
        defer { sb.downBlocking() }
        let tmux = try TmuxSession(width: 120, height: 40)
        var started: [pid_t] = []
        defer {
            if let p = try? tmux.appPid() { kill(p, SIGKILL) }
            tmux.close()
            for p in started where Procs.alive(p) { kill(p, SIGKILL) }
        }
        try tmux.launchApp(["--kubectl", RelEnv.kubectl, "--kubeconfig", sb.dir.path + "/kubeconfig", "--refresh", "1"])
        let app = try tmux.appPid()
        _ = try tmux.waitFor(timeout: 60, "the dashboard with Redis data") { l in l.contains { $0.contains("used/max") && $0.contains("%") } }
        // The proxy (under its watchdog) and the Redis session are running.
        var tree: [(pid: pid_t, argv: [String])] = []
        _ = await Procs.eventually(10) {
            tree = Self.descendants(of: app).map { ($0, Procs.cmdline($0)) }
            return tree.contains { $0.argv.contains("proxy") && $0.argv.first?.hasSuffix("kubectl") == true }
                && tree.contains { $0.argv.first?.hasSuffix("redis-runbook-exec-relay") == true }
        }
        started = tree.map(\.pid)
        let proxy = tree.filter { $0.argv.contains("proxy") }
        #expect(proxy.contains { $0.argv.first?.hasSuffix("redis-runbook-watchdog") == true }, "the proxy does not run under the watchdog: \(proxy)")
        #expect(proxy.contains { $0.argv.first?.hasSuffix("kubectl") == true }, "no kubectl proxy under the tool: \(tree)")
        #expect(tree.contains { $0.argv.first?.hasSuffix("redis-runbook-exec-relay") == true && $0.argv.contains { $0.contains("/pods/redis-0/exec?") } },
                "no Redis session through the exec relay under the tool: \(tree)")
        // (`kubectl config current-context`, read once without reaching the cluster, aside.)
        let kubectls = tree.filter { ($0.argv.first.map { ($0 as NSString).lastPathComponent.hasPrefix("kubectl") }) == true && !$0.argv.contains("current-context") }
        #expect(kubectls.count == 1 && kubectls.first?.argv.contains("proxy") == true, "kubectl processes under the dashboard: \(kubectls)")
        let t0 = Date()
        kill(app, SIGKILL)
        let gone = await Procs.eventually(5) { started.allSatisfy { !Procs.alive($0) } }
        let left = started.filter(Procs.alive)
        print("dashboard SIGKILLed with \(started.count) processes under it (\(proxy.count) for the proxy): "
            + "\(gone ? "all gone after \(String(format: "%.2f", Date().timeIntervalSince(t0))) s" : "left: \(left.map { "\($0) \(Procs.cmdline($0))" })")")
        #expect(left.isEmpty, "alive 5 s after the tool was killed: \(left.map { "\($0) \(Procs.cmdline($0)) ppid \(Self.ppid($0))" })")
    }

    @Test(.timeLimit(.minutes(2)), arguments: [SIGINT, SIGTERM])
    func lineModeSignalEndsEveryHungKubectl(_ sig: Int32) async throws {
        let env = try RelEnv()
        let (k, pids) = try Self.hangingKubectl(env)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: env.binary)
        p.arguments = ["runbook", "run", "pod-restart", "--kubectl", k, "--audit-log", env.path("log.jsonl"), "--yes"]
        p.environment = ProcessInfo.processInfo.environment.merging(env.environment) { $1 }
        p.standardInput = FileHandle.nullDevice
        let out = env.path("out.txt")
        FileManager.default.createFile(atPath: out, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardOutput = h
        p.standardError = h
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; for q in Procs.pids(in: pids) where Procs.alive(q) { kill(q, SIGKILL) } }
        _ = await Procs.eventually(10) { !Procs.pids(in: pids).isEmpty }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!Procs.pids(in: pids).isEmpty, "no kubectl call started")
        let t0 = Date()
        kill(p.processIdentifier, sig)
        _ = await Procs.eventually(5) { !p.isRunning }
        let left = await Self.leftovers(pids, within: 2)
        let took = Date().timeIntervalSince(t0)
        #expect(!p.isRunning, "the run did not end after signal \(sig)")
        p.waitUntilExit()
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        print("line mode, signal \(sig): exit \(p.terminationStatus) after \(String(format: "%.2f", took)) s; left: \(left)")
        #expect(left.isEmpty, "alive after the signal: \(left.map { "\($0) \(Procs.cmdline($0))" })")
        #expect(took < 2.5, "took \(took) s")
        #expect(text.contains("stopped: interrupted (\(sig == SIGINT ? "SIGINT" : "SIGTERM"))"), "\(text.suffix(1500))")
        #expect(p.terminationStatus == 3, "nothing was changed, so exit 3: \(p.terminationStatus)")
    }
}
