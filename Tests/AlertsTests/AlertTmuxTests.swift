import Foundation
import Testing
import TmuxTestSupport

/// The dashboard opened by `alert`, seen in a real terminal (tmux), and the Alertmanager script.
@Suite(.serialized) struct AlertTmuxTests {
    @Test func alertOpensTheDashboardOnTheRunbook() throws {
        let tmux = try TmuxSession(width: 110, height: 30)
        defer { tmux.close() }
        // No cluster needed: an unreachable kubectl only fills the panels with errors.
        try tmux.launchApp(["alert", "RedisWritesRejectedOOM", "--kubectl", "/nonexistent/kubectl"])
        let screen = try tmux.waitFor(timeout: 20, "the memory-pressure runbook on screen") { lines in
            lines.contains { $0.contains("Runbook memory-pressure") } && lines.contains { $0.contains("│ Redis is running out of memory") }
        }
        #expect(screen.contains { $0.contains("id memory-pressure · answers memory-pressure") })
        // Esc goes back to the dashboard the runbook was opened over.
        try tmux.sendKeys("Escape")
        try tmux.waitFor(timeout: 10, "the dashboard after Esc") { !$0.contains { $0.contains("Runbook memory-pressure") } }
        try tmux.sendKeys("q")
        let exit = try tmux.waitForExit()
        #expect(exit.status == 0)
    }

    /// deploy/alertmanager/open-in-tmux.sh: a payload becomes a tmux window on the runbook of its worst alert.
    @Test func alertmanagerScriptOpensATmuxWindow() async throws {
        let dir = try tempDir("am-tmux")
        // A private tmux server (TMUX_TMPDIR) that the script's plain `tmux` calls reach.
        let env = ["TMUX_TMPDIR": dir.path, "XDG_STATE_HOME": dir.appendingPathComponent("state").path, "REDIS_RUNBOOK": builtBinary,
                   "TMUX_SESSION": "oncall", "HOME": dir.path]
        @Sendable func tmux(_ args: [String]) async -> String {
            (await run(["tmux"] + args, environment: env, removeEnvironment: ["TMUX"], timeout: .seconds(10))).stdoutText
        }
        var failure: Error?
        do { try await Self.scriptScenario(dir: dir, env: env, tmux: tmux) } catch { failure = error }
        _ = await tmux(["kill-server"])
        try? FileManager.default.removeItem(at: dir)
        if let failure { throw failure }
    }

    static func scriptScenario(dir: URL, env: [String: String], tmux: @Sendable ([String]) async -> String) async throws {
        _ = await tmux(["-f", "/dev/null", "new-session", "-d", "-s", "oncall", "-x", "110", "-y", "30"])
        let payload = #"{"version":"4","status":"firing","receiver":"redis-runbook","alerts":[{"status":"firing","labels":{"alertname":"RedisRestarted","severity":"warning","runbook_id":"pod-restart"}},{"status":"firing","labels":{"alertname":"RedisAOFWriteFailing","severity":"critical","runbook_id":"disk-full","namespace":"default","pod":"redis-0"}}]}"#
        let r = await run([repoPath("deploy/alertmanager/open-in-tmux.sh"), "--", "--kubectl", "/nonexistent/kubectl"], stdin: Data(payload.utf8),
                          environment: env, removeEnvironment: ["TMUX"], timeout: .seconds(20))
        #expect(r.succeeded && r.stdoutText.contains("opened tmux window redis-alert in session oncall"), "\(r.stdoutText)\(r.stderrText)")
        let screen = try await waitUntil(20, "the disk-full runbook in window redis-alert", every: 0.3) { () -> String? in
            let s = await tmux(["capture-pane", "-p", "-t", "oncall:redis-alert"])
            return s.contains("Runbook disk-full") && s.contains("│ The Redis volume is full") ? s : nil
        }
        #expect(!screen.contains("pod-restart"))
        _ = await tmux(["send-keys", "-t", "oncall:redis-alert", "q"])
        // The payload copy is removed when the window's command ends.
        _ = try await waitUntil(10, "the payload copy to be removed") { () -> Bool? in
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("state/redis-runbook/alerts").path)) ?? ["?"]
            return files.isEmpty ? true : nil
        }
    }
}
