import Foundation
import TmuxTestSupport
import ProcessRunner
import Testing

/// A runbook drill driven through the dashboard in tmux, as an operator would do it: the pod is
/// crashed, the dashboard names the runbook, the operator opens it, types its id to start it,
/// answers its questions in the same terminal, and comes back to the dashboard.
@Suite(.serialized) struct RunbookTUIDrillTests {
    @Test(.timeLimit(.minutes(5))) func podRestartRunbookFromTheDashboard() async throws {
        let sb = try await DashSandbox.start()
        var dash: LiveDashboard?
        let log = sb.dir.appendingPathComponent("incident.jsonl")
        do {
            // Known data, then the fault: redis-server killed; the kubelet restarts it.
            for i in 0..<40 { _ = await sb.redisCLI(["SET", "tui-drill:\(i)", "v\(i)"]) }
            let before = await sb.redisValue(["DBSIZE"])
            let uidBefore = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"]).stdoutText
            dash = try LiveDashboard(kubectl: sb.kubectl, kubeconfig: sb.kubeconfig, extra: ["--audit-log", log.path])
            try await dash!.waitUntilLive()
            _ = try await sb.sandbox("fault", ["crash"])
            // The dashboard shows the restart and names the runbook.
            try await dash!.waitFor(30, "a finding that names pod-restart") { l in l.contains { $0.contains("crash-loop") || $0.contains("pod-restart") } }

            // Open the runbook from the palette, start it with X and its id.
            try dash!.tmux.type(":runbook pod-restart")
            try dash!.tmux.sendKeys("Enter")
            try await dash!.waitFor(10, "the runbook screen") { l in l.contains { $0.contains("Runbook pod-restart") } }
            try dash!.tmux.sendKeys("X")
            try await dash!.waitFor(5, "the typed confirmation dialog") { l in l.contains { $0.contains("Type the runbook id") } }
            try dash!.tmux.type("pod-restart")
            try dash!.tmux.sendKeys("Enter")

            // Line mode in the same pane: answer every question as an operator who decided to delete.
            var answered = 0
            var lastAnswered = ""
            var sawExactCommand = false
            let deadline = Date().addingTimeInterval(180)
            while Date() < deadline {
                let lines = try dash!.screen().filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                if lines.contains(where: { $0.contains("$ kubectl") && $0.contains("delete pod redis-0") }) { sawExactCommand = true }
                guard let last = lines.last else { try await Task.sleep(for: .milliseconds(200)); continue }
                if last.contains("Press Enter to return to the dashboard") {
                    try dash!.tmux.sendKeys("Enter")
                    break
                }
                // Answer each question once (a question stays the last line while its command runs).
                if last.hasPrefix("? "), last != lastAnswered {
                    lastAnswered = last
                    if last.contains("(type redis-0") { try dash!.tmux.type("redis-0") }
                    else if last.contains("[y/N]") || last.contains("[Y/n]") { try dash!.tmux.type("y") }
                    else if last.contains("[r]etry") { try dash!.tmux.type("a") }
                    try dash!.tmux.sendKeys("Enter")
                    answered += 1
                    try await Task.sleep(for: .milliseconds(700))
                    continue
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(answered >= 2, "the runbook asked its questions in the dashboard's terminal")
            #expect(sawExactCommand, "the exact delete command was shown before it ran")

            // "Press Enter to return to the dashboard" returns to the dashboard (not the runbook
            // screen the run was started from), with the outcome in the status bar, live again.
            let back = try await dash!.waitFor(15, "the runbook's outcome in the status bar") { l in l.last?.contains("runbook pod-restart: finished") == true }
            #expect(!back.contains { $0.contains("┌ Runbook pod-restart") }, "Enter returned to the runbook screen")
            #expect(back.contains { $0.contains("Pod health") }, "Enter did not return to the dashboard")
            let screen = try await dash!.waitFor(30, "the dashboard after the runbook") { l in
                l.first?.contains("redis-runbook") == true && l.contains { $0.contains("redis-0  Running") }
            }
            #expect(!screen.joined().contains("\u{FFFD}"), "the screen is repainted cleanly after the line-mode run")
            let uidAfter = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"]).stdoutText
            #expect(!uidAfter.isEmpty && uidAfter != uidBefore, "the pod was deleted and recreated by the StatefulSet")
            let pong = await sb.redisCLI(["PING"]).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(pong == "PONG")
            let after = await sb.redisValue(["DBSIZE"])
            #expect(after == before, "no key lost: \(before) before, \(after) after")
            let logText = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(logText.contains("delete"), "the incident log records the delete")
            let mode = (try? FileManager.default.attributesOfItem(atPath: log.path)[.posixPermissions] as? Int) ?? nil
            #expect(mode == 0o600)
        } catch {
            let screen = (try? dash?.screen().joined(separator: "\n")) ?? nil
            dash?.close()
            await sb.stop()
            throw DashFailure("\(error)\n--- last screen ---\n\(screen ?? "(none)")")
        }
        dash?.close()
        await sb.stop()
    }
}
