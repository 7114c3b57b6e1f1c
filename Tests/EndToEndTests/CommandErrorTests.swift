import Foundation
import TmuxTestSupport
import Testing

/// What the built binary says and which code it exits with when the input or the cluster is
/// wrong: the subcommand's own usage line, and `status`/`check` telling "cannot read the
/// cluster" (exit 3, UNKNOWN) from "Redis is down" (CRITICAL).
@Suite struct CommandErrorTests {
    let binary = TmuxSession.binaryPath()

    func run(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-err-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var argv = ["/usr/bin/env"]
        for (k, v) in env { argv.append("\(k)=\(v)") }
        return try Spawn.run(argv + [binary] + args, timeout: 60, in: dir)
    }

    @Test func aSubcommandsErrorPrintsThatSubcommandsUsage() throws {
        let show = try run(["runbook", "show", "nope"])
        #expect(show.status == 64)
        #expect(show.err.contains("Error: no valid runbook 'nope'"), "\(show.err)")
        #expect(show.err.contains("Usage: redis-runbook runbook show"), "\(show.err)")
        #expect(!show.err.contains("SUBCOMMANDS"), "not the whole tool's usage")

        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(UUID().uuidString.prefix(6)).jsonl")
        try "hello\n".write(to: garbage, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let report = try run(["report", garbage.path])
        #expect(report.status == 64)
        #expect(report.err.contains("\(garbage.path):1: not an incident log entry"), "\(report.err)")
        #expect(report.err.contains("Usage: redis-runbook report"), "\(report.err)")
        #expect(report.out.isEmpty, "no report for a file that is not a log")

        let kubectl = try run(["status", "--kubectl", "/nonexistent/kubectl"])
        #expect(kubectl.status == 64)
        #expect(kubectl.err.contains("--kubectl /nonexistent/kubectl"), "\(kubectl.err)")
        #expect(kubectl.err.contains("Usage: redis-runbook status"), "\(kubectl.err)")
    }

    /// A kubeconfig whose API server refuses connections: not a Redis outage.
    @Test func anUnreachableClusterIsUnknownForStatusAndCheck() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let kubeconfig = dir.appendingPathComponent("kubeconfig")
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: down
          cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
        users:
        - name: u
          user: {token: not-a-real-token}
        contexts:
        - name: down
          context: {cluster: down, user: u, namespace: default}
        current-context: down
        """.write(to: kubeconfig, atomically: true, encoding: .utf8)
        let env = ["KUBECONFIG": kubeconfig.path, "HOME": dir.path, "KUBECACHEDIR": dir.appendingPathComponent("cache").path]
        let check = try run(["check", "--kubectl", "/usr/bin/kubectl"], env: env)
        #expect(check.status == 3, "\(check.out)\(check.err)")
        #expect(check.out.hasPrefix("REDIS UNKNOWN - cannot read the cluster (refused)"), "\(check.out)")
        #expect(!check.out.contains("CRITICAL"), "\(check.out)")
        let status = try run(["status", "--json", "--kubectl", "/usr/bin/kubectl"], env: env)
        #expect(status.status == 3, "\(status.err)")
        let json = try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any]
        let cluster = json?["cluster"] as? [String: Any]
        #expect(cluster?["state"] as? String == "refused", "\(status.out)")
        let findings = (json?["findings"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(!findings.contains("redis-unreachable") && !findings.contains("exporter-down"), "\(findings)")
    }
}
