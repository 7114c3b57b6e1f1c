import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// The one way a test gets a real sandbox: `redis-runbook-sandbox up --dir <new temp dir>
/// [--fast] [extra]` with the binary built next to the test runner, `down` (and the directory
/// removed) at the end, the real kubectl pointed at `DIR/kubeconfig` with the sandbox's own
/// discovery cache, `redis-cli` in the pod through `kubectl exec`, and the daemon's log for
/// failure messages. Every suite's fixture (TestSandbox, APISandbox, StreamsSandbox,
/// DashSandbox, DrillBox, RelEnv) is a thin view over this.
public struct SandboxProcess: Sendable {
    public let dir: URL
    /// The `redis-runbook-sandbox` binary.
    public let binary: String
    public var kubeconfig: String { dir.appendingPathComponent("kubeconfig").path }
    /// Debian's kubectl dispatcher (it runs the kubectl matching the server's version).
    public static let kubectl = "/usr/bin/kubectl"

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = d }
    }

    public init(dir: URL, binary: String) { self.dir = dir; self.binary = binary }

    /// A binary named `name` next to (or up to four folders above) the test runner.
    public static func builtBinary(_ name: String) -> String? {
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// `up` in a new temp directory named `<prefix>-<random>`; throws with the daemon's log when it fails.
    public static func up(prefix: String, _ extra: [String] = [], fast: Bool = true,
                          timeout: Duration = .seconds(150)) async throws -> SandboxProcess {
        guard let binary = builtBinary("redis-runbook-sandbox") else {
            throw Failure("redis-runbook-sandbox is not built next to the test runner (swift build --build-tests)")
        }
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        let sb = SandboxProcess(dir: dir, binary: binary)
        let r = await sb.run(["up", "--dir", dir.path] + (fast ? ["--fast"] : []) + extra, timeout: timeout)
        guard r.succeeded else {
            let log = sb.daemonLog()
            await sb.down()
            throw Failure("sandbox up failed (\(r.termination)): \(r.stdoutText) \(r.stderrText)\n\(log)")
        }
        return sb
    }

    /// `down`, then the directory is removed. Returns down's result.
    @discardableResult
    public func down() async -> CommandResult {
        let r = await run(["down", "--dir", dir.path], timeout: .seconds(60))
        try? FileManager.default.removeItem(at: dir)
        return r
    }

    /// `down` without awaiting (for a `defer`): waits for it on this thread, then removes the directory.
    public func downBlocking() {
        if let c = try? Child.spawn([binary, "down", "--dir", dir.path], stdoutPath: "/dev/null", stderrPath: "/dev/null") { _ = c.wait() }
        try? FileManager.default.removeItem(at: dir)
    }

    /// `redis-runbook-sandbox ARGS`.
    public func run(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
        await Runner().run(CommandSpec([binary] + args, stdin: stdin, timeout: timeout))
    }

    /// `redis-runbook-sandbox SUB --dir DIR ARGS`.
    public func sandbox(_ sub: String, _ args: [String] = [], timeout: Duration = .seconds(120)) async -> CommandResult {
        await run([sub, "--dir", dir.path] + args, timeout: timeout)
    }

    /// The real kubectl (`kubectl`, Debian's dispatcher by default) against this sandbox, with
    /// its own discovery cache (`HOME` too when `home` is given, for kubectls that ignore --cache-dir).
    public func kubectl(_ args: [String], kubectl: String = SandboxProcess.kubectl, stdin: Data? = nil,
                        timeout: Duration = .seconds(60), home: String? = nil, workingDirectory: String? = nil) async -> CommandResult {
        let argv = [kubectl, "--kubeconfig", kubeconfig, "--cache-dir", dir.appendingPathComponent("kcache").path] + args
        var spec = CommandSpec(argv, workingDirectory: workingDirectory, stdin: stdin, timeout: timeout)
        if let home {
            try? FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            spec.environment = ["HOME": home]
        }
        return await Runner().run(spec)
    }

    /// The kubectl argv (binary and flags) that reaches this sandbox, for commands run otherwise.
    public var kubectlArgv: [String] { [Self.kubectl, "--kubeconfig", kubeconfig] }

    /// `redis-cli ARGS` in the pod's redis container; stdout and stderr together, without
    /// kubectl's own client notices (kubectl 1.30+ may log "Unknown stream id 1, discarding
    /// message" when a frame arrives before its streams are set up: not Redis's answer).
    public func redisCLI(_ args: [String], pod: String = "redis-0", timeout: Duration = .seconds(30)) async -> String {
        let r = await kubectl(["exec", pod, "-c", "redis", "--", "redis-cli"] + args, timeout: timeout)
        return r.stdoutText + Self.withoutKubectlNotices(r.stderrText)
    }

    /// `text` without kubectl's own client notices: kubectl 1.30+ may log `E1204 21:13:15.762501
    /// 22542 websocket.go:297] Unknown stream id 1, discarding message` on stderr when a frame
    /// arrives before its streams are set up. It is not Redis's answer.
    public static func withoutKubectlNotices(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !($0.contains("websocket.go:") && $0.contains("Unknown stream id")) }
            .joined(separator: "\n")
    }

    /// The last `lines` lines of the daemon's log.
    public func daemonLog(lines: Int = 25) -> String {
        ((try? String(contentsOf: dir.appendingPathComponent("daemon.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Polls `check` until it holds or `seconds` pass.
    public static func eventually(_ seconds: Double, every: Duration = .milliseconds(200), _ check: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await check() { return true }
            try? await Task.sleep(for: every)
        }
        return await check()
    }
}

/// Processes, as the sandbox suites check them (what `down` or a closed session must leave none of).
public enum TestProcesses {
    /// Live (not zombie) processes other than this one whose command line contains `marker`.
    public static func mentioning(_ marker: String) -> [Int32] {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard pid != me, let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !d.isEmpty else { return false }
            return alive(pid) && String(decoding: d.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self).contains(marker)
        }
    }

    /// Running (not a zombie).
    public static func alive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno != ESRCH else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        }
        return false
    }
}
