import Foundation
import TmuxTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct DashboardADRAndInputTests {
    /// The host's RAM as the dashboard would format it (1024-based, like App.Fmt.bytes).
    static func hostRAMTexts() -> [String] {
        guard let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return [] }
        let g = kb / 1024 / 1024
        return [String(format: "%.2fG", g), String(format: "%.1fG", g), String(format: "%.0fG", g)]
    }

    /// The ADR's manifest sets no maxmemory: patched out of the StatefulSet, the pod comes back
    /// without it, and the dashboard says what that means instead of a share of host RAM.
    @Test(.timeLimit(.minutes(3))) func maxmemoryUnsetSaysTheLimitIsTheOnlyLimit() async throws {
        try await withLiveDashboard(seed: nil) { sb, dash in
            let before = try await sb.status()
            #expect(!before.ids.contains("maxmemory-unset"))
            #expect(before.memory?["maxmemoryBytes"] as? Int == 384 << 20)
            let args = #"["--appendonly","yes","--appendfsync","everysec","--maxmemory-policy","noeviction"]"#
            let patch = await sb.kubectl(["patch", "statefulset", "redis", "--type", "json", "-p",
                                          #"[{"op":"replace","path":"/spec/template/spec/containers/0/args","value":\#(args)}]"#])
            #expect(patch.succeeded, "\(patch.stdoutText) \(patch.stderrText)")
            let st = try await sb.waitForStatus(90, "the new pod without maxmemory, ready") {
                $0.ids.contains("maxmemory-unset") && ($0.pod?["ready"] as? Bool) == true
            }
            #expect(st.memory?["maxmemoryBytes"] as? Int == 0)
            #expect(st.memory?["limitBytes"] as? Int == 512 << 20)
            let delay = try await dash.expectOnScreen("maxmemory-unset", after: st)
            let screen = try await dash.waitFor(10, "the memory panel's words for maxmemory 0") { l in
                l.joined(separator: "\n").contains("maxmemory unset: the container limit is the only")
            }
            let text = screen.joined(separator: "\n")
            // The memory panel wraps at 160 columns: the sentence ends on the next row.
            let row = try #require(screen.firstIndex { $0.contains("maxmemory unset: the container limit is the only") }, "\(text)")
            #expect(screen[row].contains("is the only limit") || screen[row + 1].contains("│ limit "), "\(text)")
            #expect(text.contains("✗ maxmemory <= 75% of the container limit"), "\(text)")
            #expect(text.contains("maxmemory unset: Redis is OOMKilled before"), "\(text)")
            #expect(!screen.contains { $0.contains("used/max") }, "no gauge against maxmemory 0\n\(text)")
            for ram in Self.hostRAMTexts() { #expect(!text.contains("/\(ram)"), "host RAM \(ram) on screen\n\(text)") }
            // The only percentage of memory is against the 512M container limit.
            let gauge = try #require(screen.first { $0.contains("used/lim") }, "\(text)")
            #expect(gauge.contains("/512M "), "\(gauge)")
            let check = try await sb.check()
            #expect(check.ids.contains("maxmemory-unset"))
            #expect(check.text.contains("maxmemory is unset: the container limit is the only limit"), "\(check.text)")
            let (fs, _, _) = try await dash.expectAgreement(sb)
            ObservationLog.print(Observation(fault: "manifest without --maxmemory", finding: "maxmemory-unset", statusToScreen: delay, screen: fs, status: st.ids, check: check.firstLine))
        }
    }

    /// A kubectl that hangs forever on every API read (`proxy`, the dashboard's one way to the
    /// API, and `get`): keys still answer at once, and the pod panel says its source failed
    /// while Redis (through `exec`) stays live.
    @Test(.timeLimit(.minutes(3))) func keysAnswerWhileKubectlGetHangs() async throws {
        let sb = try await DashSandbox.start()
        let wrapDir = FileManager.default.temporaryDirectory.appendingPathComponent("rrhang-\(UUID().uuidString.prefix(8))")
        var dash: LiveDashboard?
        defer { try? FileManager.default.removeItem(at: wrapDir) }
        func killHung() {
            let pids = ((try? String(contentsOf: wrapDir.appendingPathComponent("hung.pids"), encoding: .utf8)) ?? "")
                .split(separator: "\n").compactMap { pid_t($0) }
            for p in pids { kill(p, SIGKILL) }
        }
        do {
            try FileManager.default.createDirectory(at: wrapDir, withIntermediateDirectories: true)
            let wrapper = wrapDir.appendingPathComponent("kubectl")
            // Test scaffolding (not product code): hangs on `get`, the real sandbox kubectl otherwise.
            let script = """
            #!/bin/sh
            for a in "$@"; do
              case "$a" in
                get|proxy) echo $$ >> '\(wrapDir.path)/hung.pids'; exec sleep 600 ;;
                exec|logs) break ;;
              esac
            done
            exec '\(sb.kubectl)' "$@"

            """
            try script.write(to: wrapper, atomically: true, encoding: .utf8)
            chmod(wrapper.path, 0o755)

            let d = try LiveDashboard(kubectl: wrapper.path, kubeconfig: sb.kubeconfig)
            dash = d
            try await d.waitFor(15, "the first frame") { l in l.contains { $0.contains("Pod health") } }
            // The first refresh is stuck in `get` now: a key must still answer at once.
            let t0 = Date()
            try d.tmux.type("?")
            try await d.waitFor(5, "help while kubectl get hangs") { l in l.contains { $0.contains("Help: keys") } }
            let helpDelay = Date().timeIntervalSince(t0)
            #expect(helpDelay < 1.5, "help took \(helpDelay) s")
            try d.tmux.sendKeys("Escape")
            // The pod source fails (the proxy never serves: killed after its 8 s and started
            // again) while Redis answers through exec.
            // (Both on one frame: the pod's error and Redis up. On a loaded machine the first
            // `kubectl exec` may take a few seconds; Redis must come up while the pod stays failed.)
            let screen = try await d.waitFor(40, "the pod panel's error beside Redis up") { l in
                l.first?.contains("redis: up") == true
                    && l.contains { $0.contains("┌ Pod health") && ($0.contains("error: kubectl proxy") || $0.contains("stale")) }
            }
            let text = screen.joined(separator: "\n")
            #expect(screen.first?.contains("redis: up") == true, "\(text)")
            let memTitle = try #require(screen.first { $0.contains("┌ Memory") }, "\(text)")
            let memPanel = memTitle[memTitle.range(of: "┌ Memory")!.lowerBound...].prefix { $0 != "┐" }
            #expect(!memPanel.contains("error") && !memPanel.contains("stale"), "\(memPanel)")
            #expect(screen.contains { $0.contains("used/max") && $0.contains("/384M") }, "Redis data through exec\n\(text)")
            // Keys still answer while the next refresh hangs again.
            let t1 = Date()
            try d.tmux.type("?")
            try await d.waitFor(5, "help again") { l in l.contains { $0.contains("Help: keys") } }
            #expect(Date().timeIntervalSince(t1) < 1.5)
            try d.tmux.sendKeys("Escape")
            try d.tmux.type("q")
            let exited = try await d.waitFor(15, "the app to quit while get hangs") { l in l.contains { $0 == "APP-EXITED" } }
            #expect(!exited.isEmpty)
        } catch {
            dash?.close(); killHung()
            await sb.stop()
            throw error
        }
        dash?.close(); killHung()
        await sb.stop()
    }
}
