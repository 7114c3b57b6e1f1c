import Foundation
import TmuxTestSupport
import Testing

/// The dashboard follows Redis and its pod as they are, not as they were (issue 19.3): when
/// Redis stops answering, a finding says so within a few refreshes, before the node's own status
/// changes; when the pod is deleted and recreated, every panel follows the new pod.
@Suite(.serialized) struct DashboardPodLifecycleTests {
    /// Lines of the screen that call a panel stale or failed.
    static func staleLines(_ screen: [String]) -> [String] {
        screen.filter { $0.contains("stale ") || $0.contains("error: ") || $0.contains("waiting for data") }
    }

    static func podPanelSaysNotReady(_ screen: [String]) -> Bool {
        screen.contains { $0.contains("NotReady") || $0.contains("Unknown") }
    }

    @Test(.timeLimit(.minutes(5))) func redisSilentIsAFindingAtOnceAndADeletedPodLeavesNoStalePanel() async throws {
        // The node controller's grace period as on a real cluster's scale (40 s there; --fast
        // would make it 3 s, shorter than any probe could tell Redis is silent).
        try await withLiveDashboard(["--node-monitor-grace-period", "20"]) { sb, dash in
            // The node freezes (kubelet stopped, every pod process SIGSTOPped): Redis answers
            // nothing; the node controller calls the node Unknown only after its grace period.
            let frozenAt = Date()
            try await sb.sandbox("fault", ["node-down", "--duration", "40"])
            let screen = try await dash.waitFor(20, "a finding that Redis does not answer") {
                ScreenFindings.parse($0).ids.contains("redis-unreachable") || Self.podPanelSaysNotReady($0)
            }
            let seconds = Date().timeIntervalSince(frozenAt)
            let rows = ScreenFindings.parse(screen).rows
            #expect(rows.first { $0.id == "redis-unreachable" }?.sev == "CRIT",
                    "Redis silent: a critical finding, not only the header:\n\(screen.joined(separator: "\n"))")
            #expect(!Self.podPanelSaysNotReady(screen) && !rows.contains { $0.id == "node-not-ready" },
                    "the finding came before the node's status changed (\(seconds) s):\n\(screen.joined(separator: "\n"))")
            #expect(screen.contains { $0.contains("no reply from redis-cli") }, "its evidence says what was seen")
            print("redis-silent finding after \(String(format: "%.1f", seconds)) s of a frozen node")

            // The node comes back (rebooted: the pod's processes are gone, restarted by the kubelet).
            try await sb.sandbox("heal")
            try await waitUntilGone(["redis-unreachable", "node-not-ready", "pod-not-ready"], sb, dash, timeout: 90)

            // The pod is deleted; the StatefulSet recreates it (same name, new uid). Within 15 s
            // every panel follows the new pod: no stale or failed panel, Redis up, no exporter-down.
            let before = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"]).stdoutText
            let deletedAt = Date()
            let deleted = await sb.kubectl(["delete", "pod", "redis-0", "--wait=false"])
            #expect(deleted.exitCode == 0, "\(deleted.stderrText)")
            try await Task.sleep(for: .seconds(max(0, 15 - Date().timeIntervalSince(deletedAt))))
            // One refresh of grace for the frame being painted.
            let after = try await dash.waitFor(2, "every panel fresh on the new pod 15 s after the delete") { l in
                Self.staleLines(l).isEmpty && l.first?.contains("redis: up") == true && l.contains { $0.contains("redis-0  Running") }
            }
            let afterRows = ScreenFindings.parse(after).ids
            #expect(!afterRows.contains("exporter-down"), "no exporter-down after the pod came back: \(afterRows)")
            let now = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"]).stdoutText
            #expect(!now.isEmpty && now != before, "the pod was recreated")
            // A moment later it still holds (not one lucky frame).
            try await Task.sleep(for: .seconds(3))
            let later = try dash.screen()
            #expect(Self.staleLines(later).isEmpty, "no stale panel:\n\(later.joined(separator: "\n"))")
        }
    }
}
