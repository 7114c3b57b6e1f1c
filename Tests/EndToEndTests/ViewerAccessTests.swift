import Foundation
import ProcessRunner
import TmuxTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The incident tool under the sandbox's read-only user (`--context sandbox-viewer`, user
/// `oncall-viewer`: get, list and watch only; exec, delete, patch, create and scale get a real
/// 403 from the API server), with the real kubectl: it shows what it can see, says plainly what
/// it cannot (no Redis data without exec rights), never pages "Redis down" for a 403, refuses a
/// mutating runbook before any step, runs a read-only one, and does not hammer the API server.
@Suite(.serialized) struct ViewerAccessTests {
    static let viewer = ["--context", "sandbox-viewer"]

    /// One sandbox for the whole suite: status, check, runbooks, then the dashboard.
    @Test(.timeLimit(.minutes(5))) func viewerSeesWhatItMayAndIsToldWhatItMayNot() async throws {
        let sb = try await DashSandbox.start()
        do {
            try await statusAndCheck(sb)
            try await runbooks(sb)
            try await dashboard(sb)
        } catch {
            let log = sb.daemonLog()
            await sb.stop()
            throw DashFailure("\(error)\n--- daemon.log ---\n\(log)")
        }
        await sb.stop()
    }

    func statusAndCheck(_ sb: DashSandbox) async throws {
        // status --json: the pod as the admin sees it, Redis "not readable" with the 403's words.
        let st = await sb.run(["status", "--json"] + sb.toolArgs + Self.viewer, timeout: .seconds(40))
        let obj = try #require(try? JSONSerialization.jsonObject(with: st.stdout) as? [String: Any], "status --json: \(st.stdoutText) \(st.stderrText)")
        let pod = obj["pod"] as? [String: Any]
        #expect(pod?["phase"] as? String == "Running")
        #expect(pod?["ready"] as? Bool == true)
        let redisError = obj["redisError"] as? String ?? ""
        #expect(redisError.contains("no Redis data: user oncall-viewer may not exec into pods"), "\(redisError)")
        #expect(redisError.contains("pods/exec"), "\(redisError)")
        let errors = obj["errors"] as? [[String: Any]] ?? []
        let redisErr = errors.first { $0["source"] as? String == "redis" }
        #expect(redisErr?["kind"] as? String == "forbidden")
        // kubectl's own 403 message, not a generic error.
        #expect((redisErr?["message"] as? String)?.contains("User \"oncall-viewer\" cannot create resource \"pods/exec\"") == true, "\(errors)")
        let ids = (obj["findings"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(!ids.contains("redis-unreachable"), "a 403 is not Redis down: \(ids)")
        #expect(!ids.contains("exporter-down"), "a 403 on the exporter's proxy is not the exporter down: \(ids)")
        #expect((obj["cluster"] as? [String: Any])?["state"] as? String == "reachable")

        // status (text): one plain line for Redis.
        let text = await sb.run(["status"] + sb.toolArgs + Self.viewer, timeout: .seconds(40))
        #expect(text.stdoutText.contains("Redis   not readable: no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden)"), "\(text.stdoutText)")
        #expect(text.stdoutText.contains("Pod     redis-0: Running, ready yes"), "\(text.stdoutText)")

        // check: UNKNOWN (3) saying why, never CRITICAL.
        let check = await sb.run(["check"] + sb.toolArgs + Self.viewer, timeout: .seconds(40))
        #expect(check.exitCode == 3, "\(check.termination): \(check.stdoutText)")
        let first = check.stdoutText.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("REDIS UNKNOWN - no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden)"), "\(first)")
        #expect(!check.stdoutText.contains("CRITICAL"), "\(check.stdoutText)")

        // The admin context, same sandbox: Redis read, check OK (the 403 is the viewer's only).
        let admin = await sb.run(["check"] + sb.toolArgs, timeout: .seconds(40))
        #expect(admin.exitCode == 0, "\(admin.stdoutText)")
    }

    func runbooks(_ sb: DashSandbox) async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("rrviewer-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: state) }
        // Run state and incident logs in a private place.
        func run(_ args: [String]) async -> CommandResult {
            await Runner().run(CommandSpec([sb.binary] + args, environment: ["XDG_STATE_HOME": state.path], timeout: .seconds(120)))
        }
        // The list marks which runbooks only read and which need write rights.
        let list = await run(["runbook", "list"])
        let lines = list.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("loading ") && $0.contains("read-only") }, "\(list.stdoutText)")
        #expect(lines.contains { $0.hasPrefix("pod-restart ") && $0.contains("needs write") }, "\(list.stdoutText)")

        // A mutating runbook under the viewer: refused before any step, naming the missing rights.
        let uidBefore = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"]).stdoutText
        let refused = await run(["runbook", "run", "pod-restart", "--yes"] + sb.toolArgs + Self.viewer)
        let out = refused.stdoutText + refused.stderrText
        #expect(refused.exitCode != 0 && refused.exitCode != nil, "\(refused.termination): \(out)")
        #expect(out.contains("refused: runbook 'pod-restart' changes the cluster"), "\(out)")
        #expect(out.contains("user oncall-viewer"), "\(out)")
        #expect(out.contains("delete pods"), "\(out)")
        #expect(out.contains("Read-only runbooks this user can start: loading"), "\(out)")
        #expect(!out.contains("Step 1"), "no step may run: \(out)")
        #expect(!out.lowercased().contains("incident log:"), "no run may start: \(out)")
        let uidAfter = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}"]).stdoutText
        #expect(!uidBefore.isEmpty && uidBefore == uidAfter, "the pod was not touched")

        // A read-only runbook still runs under the viewer (its steps start; the verdict comes).
        let ro = await run(["runbook", "run", "loading", "--yes"] + sb.toolArgs + Self.viewer)
        let roOut = ro.stdoutText + ro.stderrText
        #expect(!roOut.contains("refused: runbook"), "\(roOut)")
        #expect(roOut.contains("Loading progress"), "\(roOut)")
        #expect(roOut.lowercased().contains("incident log:"), "\(roOut)")
        #expect(roOut.contains("finished:") || roOut.contains("stopped:"), "\(roOut)")
        // Its checks through a refused exec say so; none reads "not loading" from a 403.
        #expect(roOut.contains("Cannot check: the API server refused the command"), "\(roOut)")
        #expect(!roOut.contains("continuing at 'not-loading'"), "\(roOut)")
    }

    func dashboard(_ sb: DashSandbox) async throws {
        // The real kubectl behind a wrapper that only records each argv (to count exec attempts).
        let wrapDir = sb.dir.appendingPathComponent("wrap")
        try FileManager.default.createDirectory(at: wrapDir, withIntermediateDirectories: true)
        let calls = wrapDir.appendingPathComponent("calls.log").path
        let wrapper = wrapDir.appendingPathComponent("kubectl").path
        try "#!/bin/sh\necho \"$*\" >> '\(calls)'\nexec /usr/bin/kubectl \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)

        let dash = try LiveDashboard(kubectl: wrapper, kubeconfig: sb.kubeconfig, extra: Self.viewer)
        defer { dash.close() }
        let screen = try await dash.waitFor(30, "the viewer's dashboard") { l in
            l.contains { $0.contains("redis-0  Running") }
                && l.contains { $0.contains("no Redis data: user oncall-viewer may not exec into pods") }
                && ScreenFindings.parse(l).title != nil
        }
        #expect(screen.first?.contains("redis: no access (no exec rights)") == true, "\(screen.first ?? "")")
        #expect(!ScreenFindings.parse(screen).hasCritical, "no CRIT finding for a 403: \(ScreenFindings.parse(screen).rows)")
        #expect(!screen.contains { $0.contains("redis-unreachable") })

        // ~8 refreshes at 1 s: the forbidden exec is asked once, not every refresh.
        try await Task.sleep(for: .seconds(8))
        let execs = ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(" exec ") }
        #expect(execs.count <= 2, "kubectl exec started \(execs.count) times in ~8 s under a 403: \(execs)")
        let later = try dash.screen()
        #expect(later.contains { $0.contains("no Redis data: user oncall-viewer may not exec into pods") }, "\(later.joined(separator: "\n"))")
        #expect(!ScreenFindings.parse(later).hasCritical, "\(ScreenFindings.parse(later).rows)")

        // Keys answer: help and back, then q quits cleanly.
        try dash.tmux.type("?")
        try await dash.waitFor(5, "help") { l in l.contains { $0.contains("Help: keys") } }
        try dash.tmux.sendKeys("Escape")
        try await dash.waitFor(5, "the dashboard again") { l in l.contains { $0.contains("redis-0  Running") } }
        try dash.tmux.type("q")
        let (status, _) = try dash.tmux.waitForExit()
        #expect(status == 0)
    }
}
