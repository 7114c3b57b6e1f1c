import Foundation
import ProcessRunner
import TmuxTestSupport
import Yams

/// The repository root (this file is Tests/AlertsTests/Support.swift).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
func repoPath(_ rel: String) -> String { repoRoot.appendingPathComponent(rel).path }

struct AlertsTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The built `redis-runbook` next to the test runner.
var builtBinary: String { TmuxSession.binaryPath() }
/// The sandbox's own executable, built beside redis-runbook.
var sandboxBinary: String { URL(fileURLWithPath: builtBinary).deletingLastPathComponent().appendingPathComponent("redis-runbook-sandbox").path }

/// Runs argv (no shell), bounded.
func run(_ argv: [String], stdin: Data? = nil, environment: [String: String] = [:], removeEnvironment: [String] = [],
         cwd: String? = nil, timeout: Duration = .seconds(60)) async -> CommandResult {
    await Runner().run(CommandSpec(argv, environment: environment, removeEnvironment: removeEnvironment, workingDirectory: cwd,
                                   stdin: stdin, timeout: timeout, outputLimit: 32 << 20))
}

/// The environment the tool gets in these tests: the repo's runbooks and rules, wherever the binary is.
let toolEnvironment = ["REDIS_RUNBOOK_RUNBOOKS": repoPath("runbooks"), "REDIS_RUNBOOK_ALERT_RULES": repoPath("deploy/alerts/redis.rules.yaml")]

func tempDir(_ prefix: String) throws -> URL {
    let d = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// One rule of deploy/alerts/redis.rules.yaml, as YAML data.
struct RuleDoc {
    var alert: String
    var expr: String
    var forDuration: String?
    var labels: [String: String]
    var annotations: [String: String]
}

func loadRules(_ path: String = repoPath("deploy/alerts/redis.rules.yaml")) throws -> [RuleDoc] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    guard let top = try Yams.load(yaml: text) as? [String: Any], let groups = top["groups"] as? [[String: Any]] else {
        throw AlertsTestFailure("\(path): no groups")
    }
    var out: [RuleDoc] = []
    for g in groups {
        for r in g["rules"] as? [[String: Any]] ?? [] {
            guard let a = r["alert"] as? String else { continue }
            out.append(RuleDoc(alert: a, expr: r["expr"] as? String ?? "", forDuration: r["for"] as? String,
                               labels: r["labels"] as? [String: String] ?? [:], annotations: r["annotations"] as? [String: String] ?? [:]))
        }
    }
    return out
}

/// A bounded poll.
func waitUntil<T>(_ timeout: Double, _ what: String, every: Double = 1, _ probe: () async throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    var lastError: Error?
    while Date() < deadline {
        do { if let v = try await probe() { return v } } catch { lastError = error }
        try await Task.sleep(for: .milliseconds(Int(every * 1000)))
    }
    throw AlertsTestFailure("timed out after \(Int(timeout)) s waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
}
