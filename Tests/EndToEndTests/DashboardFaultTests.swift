import Foundation
import TmuxTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The live dashboard against the sandbox, one fault at a time: `status --json` sees the
/// finding, the screen shows it within two refresh intervals, and screen, `status --json` and
/// `check` agree. Needs the built binary (`swift build --scratch-path ... --build-tests`), root
/// for `disk-full` (tmpfs volume), tmux and redis-server.
///
/// Faults that can share a sandbox run in sequence (healing in between); the suites run in
/// parallel with each other.
/// Thresholds of Diagnosis.FindingRules this target cannot import (it links ProcessRunner only).
enum FindingRulesMirror {
    static let growthStreak = 3
}

@Suite(.serialized) struct DashboardFaultTests {
    /// Injects `fault`, waits (bounded) until `status --json` shows `ids[0]`, then expects the
    /// screen to show it within 2 × refresh + 1 s, then waits for the other ids on both faces,
    /// and checks that screen, status and check agree.
    @discardableResult
    static func observe(_ fault: String, _ args: [String] = [], expect ids: [String], _ sb: DashSandbox, _ dash: LiveDashboard,
                        faultTimeout: Duration = .seconds(120), statusTimeout: Double = 60, criticalOnly: Bool = false,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> Observation {
        try await sb.sandbox("fault", [fault] + args, timeout: faultTimeout)
        let st = try await sb.waitForStatus(statusTimeout, "finding \(ids[0]) after \(fault)") { $0.ids.contains(ids[0]) }
        let delay = try await dash.expectOnScreen(ids[0], after: st, sourceLocation: sourceLocation)
        for other in ids.dropFirst() {
            _ = try await sb.waitForStatus(statusTimeout, "finding \(other) after \(fault)") { $0.ids.contains(other) }
            try await dash.waitFor(20, "\(other) on screen after \(fault)") { ScreenFindings.parse($0).ids.contains(other) }
        }
        let (screen, status, check) = try await dash.expectAgreement(sb, including: ids, criticalOnly: criticalOnly, sourceLocation: sourceLocation)
        for id in ids {
            #expect(screen.ids.contains(id), "\(fault): \(id) not on screen at the agreement point: \(screen.ids)", sourceLocation: sourceLocation)
        }
        let o = Observation(fault: fault, finding: ids.joined(separator: " + "), statusToScreen: delay, screen: screen, status: status.ids, check: check.firstLine)
        ObservationLog.print(o)
        return o
    }

    static func podRow(_ screen: [String], _ container: String) -> String? {
        screen.first { $0.contains("│ \(container) ") && ($0.contains("↻") ) }
    }

    /// crash, then disk-full, aof-truncated, node-down: one default-size sandbox.
    @Test(.timeLimit(.minutes(5))) func crashDiskFullTruncatedAOFAndNodeDown() async throws {
        try await withLiveDashboard(["--memory-limit", "128Mi"]) { sb, dash in
            // crash: SIGKILL, restarted at once; a recent restart is a crash-loop warning.
            try await Self.observe("crash", expect: ["crash-loop"], sb, dash)
            let st = try await sb.status()
            #expect(st.severities["crash-loop"] == "warning")
            var screen = try await dash.waitFor(10, "the restart in the pod panel") { l in
                Self.podRow(l, "redis").map { $0.contains("↻1") } == true && l.contains { $0.contains("last: Error exit 137") }
            }
            #expect(ScreenFindings.parse(screen).rows.first { $0.id == "crash-loop" }?.sev == "WARN")

            // disk-full: the volume fills; AOF writes fail, MISCONF.
            try await Self.observe("disk-full", expect: ["aof-write-error"], sb, dash)
            screen = try await dash.waitFor(10, "write err in the persistence panel") { l in l.contains { $0.contains("write err") } }
            #expect(screen.first?.contains("redis: MISCONF") == true || screen.contains { $0.contains("write err") })
            try await sb.sandbox("heal")
            try await waitUntilGone(["aof-write-error", "bgsave-error", "pod-not-ready"], sb, dash)

            // aof-truncated: Redis loads with a warning and truncates; the previous log proves it.
            try await Self.observe("aof-truncated", expect: ["aof-corruption"], sb, dash)
            #expect(try await sb.status().severities["aof-corruption"] == "warning")
            screen = try dash.screen()
            #expect(ScreenFindings.parse(screen).rows.first { $0.id == "aof-corruption" }?.sev == "WARN")

            // node-down: NotReady/Unknown, then eviction; `heal` ends it (else it would come back
            // by itself after --duration). The outage outlasts the agreement check: with the pod's
            // processes frozen, each `status --json` and `check` waits out Redis's silence (12 s).
            try await Self.observe("node-down", ["--duration", "150"], expect: ["node-not-ready"], sb, dash, criticalOnly: true)
            screen = try await dash.waitFor(15, "NotReady in the pod panel") { l in l.contains { $0.contains("NotReady") } }
            #expect(ScreenFindings.parse(screen).rows.first { $0.id == "node-not-ready" }?.sev == "CRIT")
            try await sb.sandbox("heal")
            try await waitUntilGone(["node-not-ready"], sb, dash, timeout: 60)
        }
    }

    /// oom-kill, memory-pressure, then aof-corruption: a small (128Mi) sandbox so all are quick.
    @Test(.timeLimit(.minutes(4))) func oomKillMemoryPressureAndAOFCorruption() async throws {
        try await withLiveDashboard(["--memory-limit", "128Mi"]) { sb, dash in
            try await Self.observe("oom-kill", expect: ["oom-killed"], sb, dash)
            var screen = try await dash.waitFor(10, "OOMKilled in the pod panel") { l in l.contains { $0.contains("last: OOMKilled exit 137") } }
            #expect(ScreenFindings.parse(screen).rows.first { $0.id == "oom-killed" }?.sev == "CRIT")
            let st = try await sb.status()
            let redis = (st.pod?["containers"] as? [[String: Any]])?.first { $0["name"] as? String == "redis" }
            let last = redis?["lastTermination"] as? [String: Any]
            #expect(last?["reason"] as? String == "OOMKilled" && last?["exitCode"] as? Int == 137, "\(st.raw)")

            // Back with the manifest's maxmemory (96M = 75 % of 128Mi): fill it.
            _ = try await sb.waitForStatus(40, "Redis back with maxmemory 96M") { ($0.memory?["maxmemoryBytes"] as? Int) == 96 << 20 }
            try await Self.observe("memory-pressure", expect: ["memory-pressure", "oom-rejections"], sb, dash, faultTimeout: .seconds(180))
            screen = try dash.screen()
            #expect(screen.contains { $0.contains("used/max") && $0.contains("/96.0M") }, "\(screen.joined(separator: "\n"))")

            // aof-corruption last: the sandbox is left crash-looping (Bad file format). Free the
            // memory first so its writes go through.
            #expect(await sb.redisCLI(["FLUSHALL"]).contains("OK"))
            try await Self.observe("aof-corruption", expect: ["aof-corruption", "crash-loop"], sb, dash, statusTimeout: 90)
            // The container cycles (start, exit, back-off): a snapshot taken while it waits in
            // CrashLoopBackOff has the critical crash loop; one taken in the second it runs sees a
            // recent restart (a warning). Wait for the former, bounded.
            let s = try await sb.waitForStatus(40, "a critical crash-loop with the corrupt AOF") {
                $0.severities["aof-corruption"] == "critical" && $0.severities["crash-loop"] == "critical"
            }
            #expect(s.severities["aof-corruption"] == "critical" && s.severities["crash-loop"] == "critical", "\(s.severities)")
            // Between two restarts the container waits in CrashLoopBackOff (short, --fast back-off).
            try await dash.waitFor(30, "CrashLoopBackOff in the pod panel") { l in l.contains { $0.contains("CrashLoopBackOff") } }
        }
    }

    /// queue-backlog (then heal), config-drift, exporter-down. The BullMQ preset seeds 150
    /// waiting jobs per queue, so a stopped worker makes `wait` grow above the 100-job floor at once.
    @Test(.timeLimit(.minutes(4))) func queueBacklogConfigDriftAndExporterDown() async throws {
        try await withLiveDashboard(["--memory-limit", "128Mi"], seed: "bullmq") { sb, dash in
            // Discovery is a bounded SCAN (1000 keys a refresh): the queues show after a few refreshes.
            try await dash.waitFor(60, "the five seeded queues") { l in l.contains { $0.contains("BullMQ queues (5)") } }
            try await sb.sandbox("fault", ["queue-backlog"])
            // The growth rule needs 3 rising refreshes in a row: only the dashboard keeps a history.
            let t0 = Date()
            var screen = try await dash.waitFor(30, "queue-backlog on the dashboard") { ScreenFindings.parse($0).ids.contains("queue-backlog") }
            let took = Date().timeIntervalSince(t0)
            #expect(took <= Double(FindingRulesMirror.growthStreak + 2) * dash.refresh + 2, "queue-backlog took \(took) s after the worker stopped")
            screen = try await dash.waitFor(10, "a rising waiting count (↑)") { l in l.contains { $0.contains("↑") } }
            // One sample sees it too, from the age of the oldest waiting job (no worker takes it).
            let st = try await sb.waitForStatus(60, "queue-backlog in status --json (oldest waiting job >= 30 s)") { $0.ids.contains("queue-backlog") }
            let ck = try await sb.check()
            #expect(ck.ids.contains("queue-backlog"), "check: \(ck.ids)")
            ObservationLog.print(Observation(fault: "queue-backlog", finding: "queue-backlog", statusToScreen: took, screen: ScreenFindings.parse(screen),
                                             status: st.ids, check: ck.firstLine))
            try await sb.sandbox("heal")
            try await dash.waitFor(30, "queue-backlog gone after the worker restarted") { !ScreenFindings.parse($0).ids.contains("queue-backlog") }

            try await Self.observe("config-drift", expect: ["eviction-policy"], sb, dash)
            screen = try dash.screen()
            let policyRow = screen.firstIndex { $0.contains("✗ maxmemory-policy noeviction") }
            #expect(policyRow.map { screen[$0 + 1].contains("maxmemory-policy allkeys-lru") } == true, "\(screen.joined(separator: "\n"))")
            #expect(await sb.redisCLI(["CONFIG", "SET", "maxmemory-policy", "noeviction"]).contains("OK"))
            try await waitUntilGone(["eviction-policy"], sb, dash)

            try await Self.observe("exporter-down", expect: ["exporter-down"], sb, dash)
            screen = try await dash.waitFor(20, "the exporter row not ready") { l in
                Self.podRow(l, "redis-exporter").map { $0.contains("not ready") } == true
            }
            // The ADR row keeps the last good exporter value, marked stale in the panel's title.
            #expect(screen.contains { $0.contains("✗ exporter sidecar present and up") }
                    || screen.contains { l in l.range(of: "┌ ADR compliance").map { l[$0.lowerBound...].contains("stale") || l[$0.lowerBound...].contains("error") } ?? false },
                    "\(screen.joined(separator: "\n"))")
        }
    }

    /// slow-loading. Default 512Mi limit: the bigger dataset keeps Redis LOADING long enough for
    /// both faces to be read.
    @Test(.timeLimit(.minutes(4))) func slowLoading() async throws {
        try await withLiveDashboard(seed: nil) { sb, dash in  // 512Mi: 1.2M keys, LOADING for ~10 s
            try await sb.sandbox("fault", ["slow-loading"], timeout: .seconds(240))
            // LOADING lasts a few seconds: watch both faces at once.
            async let screenSaw: [String] = dash.waitFor(60, "loading on the dashboard") { ScreenFindings.parse($0).ids.contains("loading") }
            // The fault puts the replay on a slow volume (Redis's key-load-delay): LOADING lasts
            // several seconds on any machine, longer than a status --json poll.
            let st = try await sb.waitForStatus(60, "loading") { $0.ids.contains("loading") }
            let screen = try await screenSaw
            let shownAt = Date()
            let delay = max(0, shownAt.timeIntervalSince(st.finishedAt))
            #expect(delay <= 2 * dash.refresh + 1, "loading reached the screen \(delay) s after status")
            #expect(screen.contains { $0.contains("LOADING") }, "\(screen.joined(separator: "\n"))")
            ObservationLog.print(Observation(fault: "slow-loading", finding: "loading", statusToScreen: delay, screen: ScreenFindings.parse(screen), status: st.ids, check: "-"))
            _ = try await sb.waitForStatus(90, "loaded") { !$0.ids.contains("loading") && ($0.pod?["ready"] as? Bool) == true }
        }
    }
}
