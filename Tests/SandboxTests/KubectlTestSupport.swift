import Foundation
import ProcessRunner
@testable import Sandbox

/// A real sandbox in a temp dir for kubectl end-to-end tests: `redis-runbook sandbox up --dir`,
/// `sandbox down` at the end (also on failure).
struct KctlSandbox {
    let dir: URL
    let binary: String
    var kubectl: String { dir.appendingPathComponent("bin/kubectl").path }
    let runner = Runner()

    /// The redis-runbook binary next to the test runner (build it first with swift build).
    static func binaryPath() -> String? {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("redis-runbook").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static func start() async throws -> KctlSandbox {
        guard let binary = binaryPath() else { throw KctlTestError("redis-runbook binary not built next to the test runner") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctl-e2e-\(UUID().uuidString.prefix(8))")
        let sb = KctlSandbox(dir: dir, binary: binary)
        let up = await sb.runner.run(CommandSpec([binary, "sandbox", "up", "--dir", dir.path], timeout: .seconds(90)))
        guard up.succeeded else {
            await sb.stop()
            throw KctlTestError("sandbox up failed: \(up.termination) \(up.stdoutText) \(up.stderrText)")
        }
        return sb
    }

    func stop() async {
        _ = await runner.run(CommandSpec([binary, "sandbox", "down", "--dir", dir.path], timeout: .seconds(60)))
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    func kubectl(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
        await runner.run(CommandSpec([kubectl] + args, stdin: stdin, timeout: timeout))
    }

    var state: ClusterState? { try? StateStore(layout: SandboxLayout(root: dir)).read() }

    /// Polls `condition` every 250 ms until true or `seconds` passed.
    func waitUntil(_ seconds: Double, _ condition: (ClusterState) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let s = state, condition(s) { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    static func ready(_ s: ClusterState, _ name: String = "redis-0") -> Bool {
        guard let p = s.pods.first(where: { $0.name == name }), p.deletionTimestamp == nil else { return false }
        return p.conditions.contains { $0.type == "Ready" && $0.status == "True" }
    }
}

struct KctlTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs `body` with a started sandbox, always stopping it.
func withKctlSandbox(_ body: (KctlSandbox) async throws -> Void) async throws {
    let sb = try await KctlSandbox.start()
    do {
        try await body(sb)
    } catch {
        await sb.stop()
        throw error
    }
    await sb.stop()
}
