import Foundation
import TmuxTestSupport
import ProcessRunner
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Helpers for the live-dashboard end-to-end suite: a real sandbox cluster (started with the
// built `redis-runbook`, like Tests/SandboxTests/SandboxTestSupport.swift, which this target
// cannot import), `status --json` and `check` against it, and the dashboard in a private tmux
// server (TmuxSession from TmuxSupport.swift) read back with capture-pane.

struct DashFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The findings of one `status --json` run.
struct StatusView: Sendable {
    var ids: [String]
    var severities: [String: String]
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] ?? [:] }
    var raw: String
    var finishedAt: Date

    var pod: [String: Any]? { json["pod"] as? [String: Any] }
    var memory: [String: Any]? { json["memory"] as? [String: Any] }
    var errors: [[String: Any]] { json["errors"] as? [[String: Any]] ?? [] }
}

/// `check`'s first line, exit status and the finding ids of its detail lines.
struct CheckView: Sendable {
    var firstLine: String
    var exitCode: Int32
    var ids: [String]
    var text: String
}

/// A sandbox in its own temp dir, `--fast` timings, started with `redis-runbook-sandbox` and
/// driven with the real kubectl through its API server (DIR/kubeconfig). Always `stop()` it.
final class DashSandbox: Sendable {
    let process: SandboxProcess
    /// The tool: `redis-runbook`, built next to the test runner.
    let binary: String
    var dir: URL { process.dir }
    /// The real kubectl (Debian's dispatcher); every call gets `--kubeconfig` for this sandbox.
    let kubectl = SandboxProcess.kubectl
    var kubeconfig: String { process.kubeconfig }
    /// What points the tool at this sandbox: its kubeconfig, nothing sandbox-specific.
    var toolArgs: [String] { ["--kubectl", kubectl, "--kubeconfig", kubeconfig] }
    var sandboxBinary: String { process.binary }

    init(process: SandboxProcess, binary: String) { self.process = process; self.binary = binary }

    static func start(_ extra: [String] = []) async throws -> DashSandbox {
        let binary = TmuxSession.binaryPath()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw DashFailure("redis-runbook is not built next to the test runner (\(binary))")
        }
        return DashSandbox(process: try await SandboxProcess.up(prefix: "rrdash", extra), binary: binary)
    }

    func stop() async { await process.down() }

    /// The tool: `redis-runbook ARGS`.
    func run(_ args: [String], timeout: Duration = .seconds(60)) async -> CommandResult {
        await Runner().run(CommandSpec([binary] + args, timeout: timeout))
    }

    func runSandbox(_ args: [String], timeout: Duration = .seconds(60)) async -> CommandResult {
        await process.run(args, timeout: timeout)
    }

    /// `redis-runbook-sandbox SUB --dir DIR ARGS`; throws with its output when it fails.
    @discardableResult
    func sandbox(_ sub: String, _ args: [String] = [], timeout: Duration = .seconds(120)) async throws -> CommandResult {
        let r = await runSandbox([sub, "--dir", dir.path] + args, timeout: timeout)
        guard r.succeeded else {
            throw DashFailure("sandbox \(sub) \(args.joined(separator: " ")) failed (\(r.termination)): \(r.stdoutText)\(r.stderrText)\n\(daemonLog())")
        }
        return r
    }

    /// The real kubectl against this sandbox, with its own discovery cache.
    func kubectl(_ args: [String], timeout: Duration = .seconds(30)) async -> CommandResult {
        await process.kubectl(args, timeout: timeout)
    }

    /// `redis-cli ARGS` in the pod through the sandbox kubectl.
    func redisCLI(_ args: [String]) async -> String { await process.redisCLI(args) }

    /// A value Redis answers (stdout only: kubectl 1.30+ may print a websocket notice such as
    /// "Unknown stream id 1, discarding message" on stderr, which is not Redis's answer).
    func redisValue(_ args: [String]) async -> String {
        await process.kubectl(["exec", "redis-0", "-c", "redis", "--", "redis-cli"] + args).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func status() async throws -> StatusView {
        let r = await run(["status", "--json"] + toolArgs, timeout: .seconds(40))
        guard r.succeeded, let obj = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] else {
            throw DashFailure("status --json failed (\(r.termination)): \(r.stdoutText) \(r.stderrText)")
        }
        let findings = obj["findings"] as? [[String: Any]] ?? []
        var sev: [String: String] = [:]
        for f in findings { if let id = f["id"] as? String { sev[id] = sev[id] ?? (f["severity"] as? String ?? "?") } }
        return StatusView(ids: findings.compactMap { $0["id"] as? String }, severities: sev, raw: r.stdoutText, finishedAt: Date())
    }

    func check() async throws -> CheckView {
        let r = await run(["check"] + toolArgs, timeout: .seconds(40))
        guard let code = r.exitCode else { throw DashFailure("check did not exit normally: \(r.termination)") }
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        var ids: [String] = []
        for l in lines.dropFirst() {
            for sev in ["CRITICAL ", "WARNING ", "INFO "] where l.hasPrefix(sev) {
                let rest = l.dropFirst(sev.count)
                if let colon = rest.firstIndex(of: ":") { ids.append(String(rest[..<colon])) }
            }
        }
        return CheckView(firstLine: lines.first ?? "", exitCode: code, ids: ids, text: r.stdoutText)
    }

    /// Polls `status --json` until `condition` holds (bounded); returns the matching view.
    func waitForStatus(_ timeout: Double, _ what: String, _ condition: (StatusView) -> Bool) async throws -> StatusView {
        let deadline = Date().addingTimeInterval(timeout)
        var last: StatusView?
        while Date() < deadline {
            if let s = try? await status() {
                if condition(s) { return s }
                last = s
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw DashFailure("timed out after \(timeout)s waiting for status --json: \(what); last findings \(last?.ids ?? []), errors \(last?.errors ?? [])\n\(daemonLog())")
    }

    func daemonLog() -> String { process.daemonLog() }
}

/// The findings panel as read from the screen: (severity label, id) per row, in screen order.
struct ScreenFindings: Equatable {
    var rows: [(sev: String, id: String)]
    var ids: [String] { rows.map(\.id) }
    var title: String?
    static func == (a: ScreenFindings, b: ScreenFindings) -> Bool { a.ids == b.ids && a.rows.map(\.sev) == b.rows.map(\.sev) }
    var hasCritical: Bool { rows.contains { $0.sev == "CRIT" } }
    var hasWarning: Bool { rows.contains { $0.sev == "WARN" } }

    /// Finds the "Findings nC nW nI" panel and reads the rows under it (same columns).
    static func parse(_ screen: [String]) -> ScreenFindings {
        var out = ScreenFindings(rows: [])
        for (y, line) in screen.enumerated() {
            guard let r = line.range(of: "┌ Findings ") else { continue }
            let col = line.distance(from: line.startIndex, to: r.lowerBound)
            let titleEnd = line[r.upperBound...].firstIndex(of: " ").map { line[r.upperBound..<$0] } ?? ""
            out.title = "Findings " + titleEnd
            for row in screen.dropFirst(y + 1) {
                let chars = Array(row)
                guard col < chars.count else { break }
                if chars[col] == "└" { break }
                let inner = String(chars[(col + 1)...]).drop { $0 == " " }
                for sev in ["CRIT", "WARN", "INFO"] where inner.hasPrefix(sev + " ") {
                    // A symptom folds under its cause: "WARN ↳ crash-loop ...".
                    var rest = inner.dropFirst(sev.count).drop { $0 == " " }
                    if rest.hasPrefix("↳ ") { rest = rest.dropFirst(2) }
                    let id = rest.prefix { $0 != " " && $0 != "│" }
                    out.rows.append((sev, String(id)))
                }
            }
            break
        }
        return out
    }
}

/// The dashboard running in a private tmux server at 160x48 against a sandbox.
final class LiveDashboard: @unchecked Sendable {
    let tmux: TmuxSession
    let refresh: Double

    init(kubectl: String, kubeconfig: String, refresh: Double = 1, width: Int = 160, height: Int = 48, extra: [String] = []) throws {
        tmux = try TmuxSession(width: width, height: height)
        self.refresh = refresh
        try tmux.launchApp(["--kubectl", kubectl, "--kubeconfig", kubeconfig, "--refresh", String(refresh)] + extra)
    }

    func close() {
        if let pid = try? tmux.appPid() { kill(pid, SIGTERM) }
        tmux.close()
    }

    func screen() throws -> [String] { try tmux.capture() }

    /// Polls the screen (async, never blocking a cooperative thread for long) until `condition`.
    @discardableResult
    func waitFor(_ timeout: Double, _ what: String, _ condition: ([String]) -> Bool) async throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String] = []
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DashFailure("timed out after \(timeout)s waiting for \(what); screen:\n" + last.joined(separator: "\n"))
    }

    /// Waits for the first live frame: the pod's row in the pod panel and Redis up.
    func waitUntilLive() async throws {
        try await waitFor(30, "the live dashboard") { l in
            l.first?.contains("redis: up") == true && l.contains { $0.contains("redis-0  Running") } && ScreenFindings.parse(l).title != nil
        }
    }
}

/// Runs `body` with a started, seeded sandbox and a dashboard on it; tears both down.
func withLiveDashboard(_ extra: [String] = [], seed preset: String? = "demo", width: Int = 160, height: Int = 48,
                       _ body: (DashSandbox, LiveDashboard) async throws -> Void) async throws {
    let sb = try await DashSandbox.start(extra)
    var dash: LiveDashboard?
    do {
        if let preset { try await sb.sandbox("seed", ["--preset", preset], timeout: .seconds(180)) }
        dash = try LiveDashboard(kubectl: sb.kubectl, kubeconfig: sb.kubeconfig, width: width, height: height)
        try await dash!.waitUntilLive()
        try await body(sb, dash!)
    } catch {
        let screen = (try? dash?.screen().joined(separator: "\n")) ?? nil
        dash?.close()
        let log = sb.daemonLog()
        await sb.stop()
        throw DashFailure("\(error)\n--- last screen ---\n\(screen ?? "(none)")\n--- daemon.log ---\n\(log)")
    }
    dash?.close()
    await sb.stop()
}

/// One fault as observed: when `status --json` first showed the finding, how long the screen
/// took after that, and what all three faces said at a steady moment.
struct Observation: CustomStringConvertible {
    var fault: String
    var finding: String
    var statusToScreen: Double
    var screen: ScreenFindings
    var status: [String]
    var check: String
    var description: String {
        "\(fault) → \(finding): screen \(String(format: "%.2f", statusToScreen)) s after status; screen \(screen.rows.map { "\($0.sev) \($0.id)" }); status \(status); check \"\(check)\""
    }
}

/// Collected observations, printed at the end of each test (the report's table).
enum ObservationLog {
    static func print(_ o: Observation) {
        Swift.print("DASHBOARD-OBSERVATION \(o)")
    }
}

extension LiveDashboard {
    /// After `status --json` first shows `finding` (at `status.finishedAt`), the screen must show
    /// it within two refresh intervals (+1 s for tmux capture and painting). Returns the delay.
    func expectOnScreen(_ finding: String, after status: StatusView, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Double {
        let bound = 2 * refresh + 1
        let screen = try await waitFor(bound + 20, "\(finding) in the findings panel") { ScreenFindings.parse($0).ids.contains(finding) }
        let delay = max(0, Date().timeIntervalSince(status.finishedAt))
        #expect(delay <= bound, "\(finding) reached the screen \(String(format: "%.2f", delay)) s after status --json showed it (bound \(bound) s)\n\(screen.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        return delay
    }

    /// Screen, `status --json` and `check` at one steady moment: the same finding ids in the
    /// panel as in status and check, and check's status matches the most severe row on screen.
    /// Retries (bounded) while the situation is still moving.
    /// `criticalOnly`: compare the critical findings only (a frozen node makes the log-derived
    /// warnings of each one-shot run come and go).
    func expectAgreement(_ sb: DashSandbox, including ids: [String] = [], criticalOnly: Bool = false,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws -> (ScreenFindings, StatusView, CheckView) {
        let deadline = Date().addingTimeInterval(25)
        var last = ""
        while Date() < deadline {
            let a = ScreenFindings.parse(try screen())
            let st = try await sb.status()
            let ck = try await sb.check()
            let b = ScreenFindings.parse(try screen())
            let sameScreen = a.ids.sorted() == b.ids.sorted()
            let screenCrit = Set(a.rows.filter { $0.sev == "CRIT" }.map(\.id))
            let agree = criticalOnly
                ? Set(b.rows.filter { $0.sev == "CRIT" }.map(\.id)) == screenCrit && Set(st.ids.filter { st.severities[$0] == "critical" }) == screenCrit
                : sameScreen && Set(st.ids) == Set(a.ids) && Set(ck.ids) == Set(a.ids)
            let expectedStatus = a.hasCritical ? "CRITICAL" : (a.hasWarning ? "WARNING" : nil)
            let checkAgrees = expectedStatus.map { ck.firstLine.hasPrefix("REDIS \($0) - ") } ?? (ck.firstLine.hasPrefix("REDIS OK") || ck.firstLine.hasPrefix("REDIS UNKNOWN"))
            let codeAgrees = ck.exitCode == (a.hasCritical ? 2 : (a.hasWarning ? 1 : ck.exitCode))
            if agree && checkAgrees && codeAgrees && ids.allSatisfy(a.ids.contains) {
                return (a, st, ck)
            }
            last = "screen \(a.rows.map { "\($0.sev) \($0.id)" }) / \(b.ids); status \(st.ids) \(st.severities); check \(ck.exitCode) \(ck.firstLine) \(ck.ids)"
            try await Task.sleep(for: .milliseconds(300))
        }
        Issue.record("screen, status --json and check never agreed within 25 s: \(last)\n\(try screen().joined(separator: "\n"))", sourceLocation: sourceLocation)
        throw DashFailure("no agreement: \(last)")
    }
}

/// Waits until the dashboard and status --json show no finding from `ids` (after a heal).
func waitUntilGone(_ ids: Set<String>, _ sb: DashSandbox, _ dash: LiveDashboard, timeout: Double = 60) async throws {
    _ = try await sb.waitForStatus(timeout, "\(ids) gone") { Set($0.ids).isDisjoint(with: ids) }
    try await dash.waitFor(timeout, "\(ids) gone from the screen") { Set(ScreenFindings.parse($0).ids).isDisjoint(with: ids) }
}
