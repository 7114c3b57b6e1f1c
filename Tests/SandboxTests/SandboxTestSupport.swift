import Foundation
import ProcessRunner
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers for the sandbox suites: a real sandbox in a temp dir, started with the built
/// `redis-runbook-sandbox` binary (next to the test runner), stopped by `down` at the end, also
/// on failure. kubectl is the real one, pointed at DIR/kubeconfig.
struct TestSandbox: Sendable {
    let dir: URL
    let binary: String
    var layout: SandboxLayout { SandboxLayout(root: dir) }
    var kubeconfig: String { dir.appendingPathComponent("kubeconfig").path }
    var store: StateStore { StateStore(layout: layout) }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// The redis-runbook-sandbox binary next to (or above) the test runner.
    static func binaryPath() -> String? {
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("redis-runbook-sandbox").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// `sandbox up --dir <new temp dir> --fast [extra]`; short kubelet/node timings (SandboxTimings.fast).
    static func start(_ extra: [String] = [], fast: Bool = true) async throws -> TestSandbox {
        guard let binary = binaryPath() else { throw Failure("redis-runbook-sandbox is not built next to the test runner") }
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rrsbx-\(UUID().uuidString.prefix(8))")
        let sb = TestSandbox(dir: dir, binary: binary)
        let up = await sb.run(["up", "--dir", dir.path] + (fast ? ["--fast"] : []) + extra, timeout: .seconds(120))
        guard up.succeeded else {
            await sb.stop()
            throw Failure("sandbox up failed (\(up.termination)): \(up.stdoutText) \(up.stderrText)\n\(sb.daemonLog())")
        }
        return sb
    }

    /// `sandbox down`, then removes the directory. Returns down's result.
    @discardableResult
    func stop() async -> CommandResult {
        let r = await run(["down", "--dir", dir.path], timeout: .seconds(60))
        try? FileManager.default.removeItem(at: dir)
        return r
    }

    func run(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
        await Runner().run(CommandSpec([binary] + args, stdin: stdin, timeout: timeout))
    }

    /// `redis-runbook-sandbox <sub> --dir DIR args...`
    func sandbox(_ sub: String, _ args: [String] = [], timeout: Duration = .seconds(120)) async -> CommandResult {
        await run([sub, "--dir", dir.path] + args, timeout: timeout)
    }

    /// The real kubectl against this sandbox's API server.
    func kubectl(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
        let argv = ["/usr/bin/kubectl", "--kubeconfig", kubeconfig, "--cache-dir", dir.appendingPathComponent("kcache").path] + args
        return await Runner().run(CommandSpec(argv, stdin: stdin, timeout: timeout))
    }

    var state: ClusterState? { try? store.read() }

    func pod(_ name: String = "redis-0") -> PodState? { state?.pods.first { $0.name == name } }

    func container(_ name: String, pod: String = "redis-0") -> ContainerStatus? {
        self.pod(pod)?.containerStatuses.first { $0.name == name }
    }

    /// `redis-cli ARGS` inside the pod, exactly as `kubectl exec` does it (nsenter into the
    /// pod's namespaces). stdout + stderr.
    func redisCLI(_ args: [String], pod: String = "redis-0", timeout: Duration = .seconds(30)) async -> String {
        guard let s = state, let p = s.pods.first(where: { $0.name == pod }),
              let argv = PodExec.argv(state: s, pod: p, command: ["redis-cli"] + args) else { return "<no pod sandbox>" }
        let r = await Runner().run(CommandSpec(argv, timeout: timeout))
        return r.stdoutText + r.stderrText
    }

    func info(_ section: String) async -> [String: String] {
        var out: [String: String] = [:]
        for line in await redisCLI(["INFO", section]).split(whereSeparator: \.isNewline) {
            let kv = line.split(separator: ":", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = kv[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// Text of a container's log file for a given restart (0 = first run).
    func containerLog(_ container: String, restart: Int, pod: String = "redis-0") -> String {
        (try? String(contentsOf: layout.containerLog(pod: pod, container: container, restart: restart), encoding: .utf8)) ?? ""
    }

    func daemonLog() -> String {
        ((try? String(contentsOf: layout.daemonLog, encoding: .utf8)) ?? "").split(separator: "\n").suffix(30).joined(separator: "\n")
    }

    /// Polls the state every 200 ms until `condition` holds or `seconds` pass.
    func waitUntil(_ seconds: Double, _ condition: (ClusterState) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let s = state, condition(s) { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Polls an async check until true or `seconds` pass.
    func eventually(_ seconds: Double, _ check: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    static func isReady(_ s: ClusterState, _ name: String = "redis-0") -> Bool {
        guard let p = s.pods.first(where: { $0.name == name }), p.deletionTimestamp == nil else { return false }
        return p.conditions.contains { $0.type == "Ready" && $0.status == "True" }
    }

    /// Every live process whose command line mentions `dir` (what `down` must leave none of).
    static func processesMentioning(_ dir: String) -> [Int32] {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard pid != me, let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !d.isEmpty else { return false }
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")"),
               stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z") { return false }
            return String(decoding: d, as: UTF8.self).contains(dir)
        }
    }

    static func alive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno != ESRCH else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        }
        return false
    }
}

/// Runs `body` with a started sandbox and always stops it.
func withTestSandbox(_ extra: [String] = [], fast: Bool = true, _ body: (TestSandbox) async throws -> Void) async throws {
    let sb = try await TestSandbox.start(extra, fast: fast)
    do {
        try await body(sb)
    } catch {
        let log = sb.daemonLog()
        await sb.stop()
        throw TestSandbox.Failure("\(error)\n--- daemon.log ---\n\(log)")
    }
    await sb.stop()
}
