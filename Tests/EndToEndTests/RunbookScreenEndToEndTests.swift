import Foundation
import TmuxTestSupport
import Testing

/// The runbook screen of the real binary in tmux against the sandbox, at 80x24: a finding's
/// runbook opens as numbered steps with exact commands (not Markdown), `v` shows the variables
/// with the live values, and `:runbook nope` is an error with nothing to run.
@Suite(.serialized) struct RunbookScreenEndToEndTests {
    @Test(.timeLimit(.minutes(4))) func runbookScreenFromTheDashboard() async throws {
        try await withLiveDashboard(seed: nil, width: 80, height: 24) { sb, dash in
            // A real cause for a finding with a runbook: maxmemory-policy changed at runtime.
            _ = try await sb.sandbox("fault", ["config-drift"])
            try await dash.waitFor(30, "the eviction-policy finding") { l in l.contains { $0.contains("eviction-policy") } }

            // Enter on the selected finding opens its runbook.
            try dash.tmux.sendKeys("Enter")
            var screen = try await dash.waitFor(15, "the runbook screen") { l in l.count > 1 && l[1].contains("┌ Runbook ") }
            let text = screen.joined(separator: "\n")
            #expect(!text.contains("{{") && !text.contains("|---|") && !text.contains("# "), "raw Markdown on screen:\n\(text)")
            #expect(screen[23].contains("X run") && screen[23].contains("v variables"), "\(screen[23])")

            // Page down to the steps: numbered, with their kind, and the exact command the run
            // would use (kubectl with the dashboard's own --kubeconfig and namespace).
            // The box's rows, without borders; a wrapped command reads whole when they are joined.
            func inner(_ l: [String]) -> [String] {
                l.dropFirst(2).dropLast(2).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "│ ")) }
            }
            var rows: [String] = []
            for _ in 0..<8 {
                screen = try dash.screen()
                rows += inner(screen)
                if rows.joined(separator: " ").contains("$ kubectl --kubeconfig \(sb.kubeconfig) -n default") { break }
                try dash.tmux.sendKeys("PageDown")
                try await Task.sleep(for: .milliseconds(300))
            }
            let body = rows.joined(separator: "\n")
            #expect(body.contains("Steps ("), "\(body)")
            #expect(body.range(of: #"(^|\n) ?\d+\. (check|explain|command|confirm|choice|wait-until|manual) "#, options: .regularExpression) != nil, "\(body)")
            #expect(rows.joined(separator: " ").contains("$ kubectl --kubeconfig \(sb.kubeconfig) -n default "), "\(body)")
            #expect(!body.contains("…"), "a row was cut:\n\(body)")

            // v: the variables, with the values known now.
            try dash.tmux.sendKeys("v")
            screen = try await dash.waitFor(10, "the variables") { l in l.contains { $0.contains("Variables (") } }
            let vars = screen.joined(separator: "\n")
            #expect(vars.contains("namespace = default") || vars.contains("container = redis"), "\(vars)")
            try dash.tmux.sendKeys("v")
            try await dash.waitFor(10, "the variables hidden again") { l in !l.contains { $0.contains("Variables (") } }

            // An unknown id: an error naming it and the known runbooks; no X.
            try dash.tmux.type(":runbook nope")
            try dash.tmux.sendKeys("Enter")
            screen = try await dash.waitFor(10, "the unknown-runbook error") { l in l.contains { $0.contains("No runbook 'nope'.") } }
            #expect(screen.joined(separator: " ").contains("Known runbooks, the closest first:"))
            #expect(screen.joined(separator: " ").contains("pod-restart"))
            #expect(!screen[23].contains("X run") && !screen[23].contains("v variables"), "\(screen[23])")
            try dash.tmux.sendKeys("X")
            try await Task.sleep(for: .milliseconds(500))
            screen = try dash.screen()
            #expect(!screen.joined().contains("Type the runbook id"), "X offered a run of an unknown runbook")
            #expect(screen[23].contains("nothing to run"), "\(screen[23])")
        }
    }
}
