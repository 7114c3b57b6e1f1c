import Foundation
import ProcessRunner
import Sandbox
import SandboxFixture
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers for the sandbox suites: a real sandbox in a temp dir, started with the built
/// `redis-runbook-sandbox` binary (next to the test runner), stopped by `down` at the end, also
/// on failure. kubectl is the real one, pointed at DIR/kubeconfig.
struct TestSandbox: Sendable {
    let process: SandboxProcess
    var dir: URL { process.dir }
    var binary: String { process.binary }
    var layout: SandboxLayout { SandboxLayout(root: dir) }
    var kubeconfig: String { process.kubeconfig }
    var store: StateStore { StateStore(layout: layout) }

    typealias Failure = SandboxProcess.Failure

    static func binaryPath() -> String? { SandboxProcess.builtBinary("redis-runbook-sandbox") }

    /// `sandbox up --dir <new temp dir> --fast [extra]`; short kubelet/node timings (SandboxTimings.fast).
    static func start(_ extra: [String] = [], fast: Bool = true) async throws -> TestSandbox {
        TestSandbox(process: try await SandboxProcess.up(prefix: "rrsbx", extra, fast: fast))
    }

    /// `sandbox down`, then removes the directory. Returns down's result.
    @discardableResult
    func stop() async -> CommandResult { await process.down() }

    func run(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
        await process.run(args, stdin: stdin, timeout: timeout)
    }

    /// `redis-runbook-sandbox <sub> --dir DIR args...`
    func sandbox(_ sub: String, _ args: [String] = [], timeout: Duration = .seconds(120)) async -> CommandResult {
        await process.sandbox(sub, args, timeout: timeout)
    }

    /// The real kubectl against this sandbox's API server.
    func kubectl(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
        await process.kubectl(args, stdin: stdin, timeout: timeout)
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

    func daemonLog() -> String { process.daemonLog(lines: 30) }

    /// Polls the state every 200 ms until `condition` holds or `seconds` pass.
    func waitUntil(_ seconds: Double, _ condition: (ClusterState) -> Bool) async -> Bool {
        await SandboxProcess.eventually(seconds) { state.map(condition) ?? false }
    }

    /// Polls an async check until true or `seconds` pass.
    func eventually(_ seconds: Double, _ check: () async -> Bool) async -> Bool {
        await SandboxProcess.eventually(seconds, check)
    }

    static func isReady(_ s: ClusterState, _ name: String = "redis-0") -> Bool {
        guard let p = s.pods.first(where: { $0.name == name }), p.deletionTimestamp == nil else { return false }
        return p.conditions.contains { $0.type == "Ready" && $0.status == "True" }
    }

    /// Every live process whose command line mentions `dir` (what `down` must leave none of).
    static func processesMentioning(_ dir: String) -> [Int32] { TestProcesses.mentioning(dir) }

    static func alive(_ pid: Int32) -> Bool { TestProcesses.alive(pid) }
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
