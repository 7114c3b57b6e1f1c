import Foundation
import TmuxTestSupport
import Runbooks
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The dashboard in tmux with a recording kubectl: --read-only holds on every TUI path to a
/// runbook (X on a finding, the palette, X on the runbook screen with its typed id), and the
/// terminal survives a 20x5 pane and comes back.
@Suite("terminal and read-only dashboard", .serialized)
struct TerminalReadOnlyTests {
    static func mutating(_ env: RelEnv) -> [[String]] { env.calls().filter { SecurityTests.mutation($0) != nil } }

    @Test(.timeLimit(.minutes(2))) func readOnlyDashboardStartsNothing() async throws {
        let env = try RelEnv()
        let k = try env.fakeKubectl()
        let t = try TmuxSession(width: 120, height: 40)
        defer { if let p = try? t.appPid() { kill(p, SIGKILL) }; t.close() }
        try t.launchApp(["--kubectl", k, "--read-only", "--refresh", "1", "--audit-log", env.path("tui.jsonl")])
        let app = try t.appPid()
        _ = try t.waitFor(timeout: 15, "the dashboard") { $0.first?.contains("READ-ONLY") == true }
        // X on the dashboard, then every runbook through the palette and X + its typed id.
        try t.sendKeys("X")
        let ids = ["pod-restart", "memory-pressure", "disk-full", "config-drift", "restore", "aof-corruption", "node-failure"]
        for id in ids {
            try t.type(":runbook \(id)")
            try t.sendKeys("Enter")
            _ = try? t.waitFor(timeout: 5, "the runbook screen of \(id)") { $0.contains { $0.contains(id) } }
            try t.sendKeys("X")
            try t.type(id)
            try t.sendKeys("Enter")
            usleep(300_000)
            try t.sendKeys("Escape")
            try t.sendKeys("Escape")
        }
        let screen = try t.capture()
        #expect(Procs.alive(app), "the app died:\n\(screen.joined(separator: "\n"))")
        #expect(!screen.contains { $0.contains("Runbook finished") || $0.contains("Press Enter to return") }, "a runbook ran in --read-only:\n\(screen.joined(separator: "\n"))")
        let bad = Self.mutating(env)
        #expect(bad.isEmpty, "--read-only dashboard ran: \(bad)")
        #expect(!env.calls().isEmpty, "the dashboard never called kubectl: the check proves nothing")
        // Nothing was logged as run either.
        let log = (try? String(contentsOfFile: env.path("tui.jsonl"), encoding: .utf8)) ?? ""
        #expect(!log.contains("\"type\":\"command\""), "commands in the incident log: \(log.prefix(400))")
        try t.type("q")
        let (status, _) = try t.waitForExit()
        #expect(status == 0)
    }

    @Test(.timeLimit(.minutes(2))) func tinyPaneAndBack() async throws {
        let env = try RelEnv()
        let k = try env.fakeKubectl()
        let t = try TmuxSession(width: 100, height: 30)
        defer { if let p = try? t.appPid() { kill(p, SIGKILL) }; t.close() }
        try t.launchApp(["--kubectl", k, "--refresh", "1"])
        let app = try t.appPid()
        _ = try t.waitFor(timeout: 15, "the dashboard") { $0.contains { $0.contains("Pod") } }
        try t.resize(20, 5)
        usleep(1_500_000)
        let tiny = try t.capture()
        #expect(Procs.alive(app), "the app died at 20x5")
        #expect(tiny.count <= 5 && tiny.allSatisfy { $0.count <= 20 }, "\(tiny)")
        try t.type("?")   // keys still answer at 20x5
        usleep(300_000)
        try t.sendKeys("Escape")
        for (w, h) in [(1, 1), (20, 5), (100, 30)] { try t.resize(w, h); usleep(400_000) }
        let back = try t.waitFor(timeout: 10, "the full dashboard again") { l in l.count == 30 && l.contains { $0.contains("Pod") } }
        #expect(back.contains { $0.contains("Pod") })
        #expect(Procs.alive(app))
        try t.type("q")
        let (status, stty) = try t.waitForExit()
        #expect(status == 0)
        #expect(stty.contains(" echo") && stty.contains(" icanon"), "terminal not restored: \(stty)")
    }
}
