import Foundation
import ProcessRunner
import Testing
import SandboxFixture
import TmuxTestSupport

/// The Sentinel topology end to end: a real `up --topology sentinel` (3 redis-server, 3
/// redis-sentinel), the real kubectl, the tool's `status --json` and `check`, and the dashboard in
/// tmux. Faults are the sandbox's own (SentinelFaults.swift); roles and failover are Redis's.
@Suite(.serialized) struct SentinelDashboardTests {
    static func replication(_ s: StatusView) -> [String: Any] { s.json["replication"] as? [String: Any] ?? [:] }
    static func masters(_ s: StatusView) -> [String] { replication(s)["masters"] as? [String] ?? [] }
    static func roles(_ s: StatusView) -> [String] {
        (replication(s)["pods"] as? [[String: Any]] ?? []).map { $0["role"] as? String ?? "?" }
    }
    /// Every answering Sentinel names the one master, and that master is `pod`.
    static func sentinelsAgree(on pod: String, _ s: StatusView) -> Bool {
        let r = replication(s)
        guard r["sentinelsAgree"] as? Bool == true else { return false }
        let named = (r["pods"] as? [[String: Any]] ?? []).compactMap { ($0["sentinel"] as? [String: Any])?["masterPod"] as? String }
        return named.count == 3 && Set(named) == [pod]
    }

    /// Every Sentinel has seen the two others and both replicas: before that a failover cannot be
    /// authorized or has no replica to promote (a kill 8 s after start was not failed over).
    static func settled(_ s: StatusView) -> Bool {
        let sentinels = (replication(s)["pods"] as? [[String: Any]] ?? []).compactMap { $0["sentinel"] as? [String: Any] }
        return sentinels.count == 3 && sentinels.allSatisfy { ($0["otherSentinels"] as? Int) == 2 && ($0["replicas"] as? [Any])?.count == 2 }
    }

    @Test(.timeLimit(.minutes(6))) func rolesFailoverQuorumAndSplitBrain() async throws {
        try await withLiveDashboard(["--topology", "sentinel"], seed: nil) { sb, dash in
            // Healthy: 1 master + 2 replicas, quorum OK, the panel with 3 pods.
            let healthy = try await sb.waitForStatus(60, "1 master, 2 replicas, quorum OK") { s in
                Self.masters(s) == ["redis-0"] && Self.roles(s).sorted() == ["master", "replica", "replica"]
                    && Self.replication(s)["quorumOK"] as? Bool == true && Self.sentinelsAgree(on: "redis-0", s) && Self.settled(s)
            }
            #expect(!healthy.ids.contains("split-brain"))
            let screen = try await dash.waitFor(40, "the Replication panel with 3 pods") { l in
                l.contains { $0.contains("Replication (3 pods)") } && l.contains { $0.contains("mymaster master redis-0  quorum OK") } && l.contains { $0.contains("Sentinels agree on") }
                    && l.filter { $0.contains(" off ") }.count == 3
            }
            #expect(screen.filter { $0.contains("Sentinel→redis-0") }.count == 3)

            // master-kill: Sentinel fails over for real; status and the screen name the new master.
            let killedAt = Date()
            try await sb.sandbox("fault", ["master-kill"])
            // The screen is watched first (its own figure), then status --json must agree with it.
            let seen = try await dash.waitFor(60, "the panel naming a new master") { l in
                l.contains { $0.contains("mymaster master redis-1  quorum OK") || $0.contains("mymaster master redis-2  quorum OK") }
                    && l.contains { $0.contains("Sentinels agree on") }
            }
            let screenSeconds = Date().timeIntervalSince(killedAt)
            let after = try await sb.waitForStatus(60, "a new master all Sentinels agree on") { s in
                let m = Self.masters(s)
                return m.count == 1 && m[0] != "redis-0" && Self.sentinelsAgree(on: m[0], s)
            }
            let newMaster = Self.masters(after)[0]
            let statusSeconds = Date().timeIntervalSince(killedAt)
            #expect(seen.contains { $0.contains("mymaster master \(newMaster)  quorum OK") })
            print("sentinel e2e: failover seen on the dashboard after \(String(format: "%.1f", screenSeconds)) s, status --json agreeing after \(String(format: "%.1f", statusSeconds)) s (new master \(newMaster))")
            #expect(screenSeconds < 40)

            // Two Sentinels stopped: no quorum, check exits 2 with the finding.
            try await sb.sandbox("heal")
            try await sb.sandbox("fault", ["sentinel-down"])
            try await sb.sandbox("fault", ["sentinel-down"])
            var check = try await sb.check()
            let noQuorum = await SandboxProcess.eventually(40, every: .milliseconds(500)) {
                check = (try? await sb.check()) ?? check
                return check.exitCode == 2 && check.ids.contains("sentinel-no-quorum")
            }
            #expect(noQuorum, "check: \(check.text)")
            #expect(check.text.contains("runbook=sentinel-reset"))

            // The master comes back with a new IP and its old config: two masters, split brain.
            try await sb.sandbox("heal")
            try await sb.sandbox("fault", ["master-returns-new-ip"], timeout: .seconds(90))
            let split = try await sb.waitForStatus(60, "two role:master") { s in Self.masters(s).count == 2 && s.ids.contains("split-brain") }
            #expect(split.severities["split-brain"] == "critical")
            let c = try await sb.check()
            #expect(c.exitCode == 2 && c.ids.contains("split-brain"))
            try await dash.waitFor(30, "SPLIT BRAIN on the panel") { l in l.contains { $0.contains("SPLIT BRAIN") } }
        }
    }
}
