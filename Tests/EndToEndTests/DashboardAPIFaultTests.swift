import Foundation
import ProcessRunner
import TmuxTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The API server itself failing (issues 13.5 and 20.6): the sandbox's API faults against the
/// real kubectl and the real dashboard in tmux. For each outage: one banner with kubectl's
/// message, no finding blamed on Redis or the exporter, every panel stale, `status --json` and
/// `check` UNKNOWN (exit 3), keys answering, requests bounded while it lasts (kubectl processes
/// the dashboard starts, read from /proc), and every panel fresh again soon after `heal`.
///
/// Timing bounds are generous (a loaded 2-core CI machine); the measured figures are printed as
/// `API-FAULT-FIGURES` lines (the goals — banner within a refresh plus the request time-out,
/// fresh within 5 s of heal — are reported from them, not asserted at their tight values).
@Suite(.serialized) struct DashboardAPIFaultTests {
    /// How long each outage is held.
    static let outage: Double = 20
    /// Recovery bound after heal (the goal is 5 s; measured figures are printed).
    static let recoveryBound: Double = 15

    struct Figures: CustomStringConvertible {
        var fault: String
        var bannerAfter: Double
        var spawnsDuringOutage: Int
        var outageSeconds: Double
        var recoveryAfterHeal: Double
        var description: String {
            "API-FAULT-FIGURES \(fault): banner \(String(format: "%.1f", bannerAfter)) s after the fault; "
                + "\(spawnsDuringOutage) kubectl processes in \(String(format: "%.0f", outageSeconds)) s of outage "
                + "(\(String(format: "%.2f", Double(spawnsDuringOutage) / max(outageSeconds, 1)))/s); "
                + "all panels fresh \(String(format: "%.1f", recoveryAfterHeal)) s after heal"
        }
    }

    // MARK: the screen

    static func banner(_ l: [String]) -> String? {
        l.count > 1 && l[1].hasPrefix(" ⚠ ") ? l[1] : nil
    }

    /// Titles of the panels that show data from the API server (pod) or through it (memory).
    static func panelTitle(_ l: [String], _ name: String) -> String? {
        guard let line = l.first(where: { $0.contains("┌ \(name)") }), let r = line.range(of: "┌ \(name)") else { return nil }
        return String(line[r.lowerBound...].prefix { $0 != "┐" })
    }

    /// Every panel fresh: no banner, Redis up, the pod panel's title without "stale"/"error",
    /// the header's oldest age small.
    static func allFresh(_ l: [String]) -> Bool {
        guard banner(l) == nil, l.first?.contains("redis: up") == true,
              let pod = panelTitle(l, "Pod health"), !pod.contains("stale"), !pod.contains("error"),
              l.contains(where: { $0.contains("redis-0  Running") }) else { return false }
        guard let header = l.first, let r = header.range(of: "updated ") else { return false }
        let age = Int(header[r.upperBound...].prefix { $0.isNumber }) ?? 99
        return age <= 3
    }

    /// Nothing blamed on Redis or the exporter.
    static func expectNoFalseFinding(_ l: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let f = ScreenFindings.parse(l)
        #expect(!f.ids.contains("exporter-down"), "\(what): exporter-down on screen\n\(l.joined(separator: "\n"))", sourceLocation: sourceLocation)
        #expect(!f.hasCritical, "\(what): a critical finding on screen: \(f.rows.map { "\($0.sev) \($0.id)" })\n\(l.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        #expect(l.first?.contains("redis: DOWN") != true && l.first?.contains("redis: CRIT") != true, "\(what): \(l.first ?? "")",
                sourceLocation: sourceLocation)
    }

    /// `?` opens the help overlay promptly while the cluster fails; Escape closes it.
    static func expectKeysAnswer(_ dash: LiveDashboard, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let t0 = Date()
        try dash.tmux.type("?")
        try await dash.waitFor(10, "help during \(what)") { l in l.contains { $0.contains("Help: keys") } }
        let took = Date().timeIntervalSince(t0)
        #expect(took < 1.5, "\(what): the help overlay took \(String(format: "%.2f", took)) s", sourceLocation: sourceLocation)
        try dash.tmux.sendKeys("Escape")
        try await dash.waitFor(10, "help closed") { l in !l.contains { $0.contains("Help: keys") } }
    }

    /// `status --json` and `check` while the cluster cannot be read: exit 3, UNKNOWN, the state,
    /// no critical finding and no exporter-down.
    static func expectUnknown(_ sb: DashSandbox, state: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let st = await sb.run(["status", "--json"] + sb.toolArgs, timeout: .seconds(60))
        #expect(st.exitCode == 3, "\(what): status --json exit \(st.termination)\n\(st.stdoutText.prefix(600)) \(st.stderrText.prefix(300))",
                sourceLocation: sourceLocation)
        let json = (try? JSONSerialization.jsonObject(with: st.stdout)) as? [String: Any] ?? [:]
        let cluster = json["cluster"] as? [String: Any]
        #expect(cluster?["state"] as? String == state, "\(what): cluster \(cluster ?? [:]); errors \(json["errors"] ?? "none")", sourceLocation: sourceLocation)
        let findings = json["findings"] as? [[String: Any]] ?? []
        #expect(!findings.contains { $0["severity"] as? String == "critical" || $0["id"] as? String == "exporter-down" },
                "\(what): status --json findings \(findings.map { "\($0["id"] ?? "?")" })", sourceLocation: sourceLocation)
        let ck = await sb.run(["check"] + sb.toolArgs, timeout: .seconds(60))
        #expect(ck.exitCode == 3 && ck.stdoutText.hasPrefix("REDIS UNKNOWN"), "\(what): check exit \(ck.termination): \(ck.stdoutText.prefix(300))",
                sourceLocation: sourceLocation)
    }

    // MARK: one outage

    /// Injects `fault`, checks every face during the outage, heals, and measures the recovery.
    static func outage(_ fault: String, _ args: [String] = [], state: String, bannerSays: [String], _ sb: DashSandbox, _ dash: LiveDashboard,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> Figures {
        try await dash.waitFor(60, "every panel fresh before \(fault)") { allFresh($0) }
        let counter = try KubectlSpawnCounter(parent: dash.tmux.appPid())
        try await sb.sandbox("fault", [fault] + args)
        let t0 = Date()
        counter.start()
        // One banner, with kubectl's own words.
        var screen = try await dash.waitFor(45, "the cluster banner after \(fault)") { banner($0) != nil }
        let bannerAfter = Date().timeIntervalSince(t0)
        let b = banner(screen) ?? ""
        #expect(bannerSays.contains { b.contains($0) }, "\(fault): banner '\(b)' says none of \(bannerSays)", sourceLocation: sourceLocation)
        #expect(screen.first?.contains("redis: unknown") == true, "\(fault): header \(screen.first ?? "")", sourceLocation: sourceLocation)
        // Every panel that depends on the API server is stale, and says so.
        screen = try await dash.waitFor(20, "the pod panel stale after \(fault)") { l in
            panelTitle(l, "Pod health")?.contains("stale") == true
        }
        expectNoFalseFinding(screen, fault, sourceLocation: sourceLocation)
        try await expectKeysAnswer(dash, fault, sourceLocation: sourceLocation)
        try await expectUnknown(sb, state: state, fault, sourceLocation: sourceLocation)
        // Hold the outage; the banner stays, nothing false appears, the ages grow.
        while Date().timeIntervalSince(t0) < outage {
            let l = try dash.screen()
            #expect(banner(l) != nil, "\(fault): the banner went away during the outage\n\(l.joined(separator: "\n"))", sourceLocation: sourceLocation)
            expectNoFalseFinding(l, "\(fault) (held)", sourceLocation: sourceLocation)
            try await Task.sleep(for: .milliseconds(500))
        }
        let spawns = counter.stop()
        let held = Date().timeIntervalSince(t0)
        screen = try dash.screen()
        if let h = screen.first, let r = h.range(of: "updated ") {
            let age = Int(h[r.upperBound...].prefix { $0.isNumber }) ?? 0
            #expect(Double(age) >= outage - bannerAfter - 8, "\(fault): header age \(age) s after \(Int(held)) s of outage: \(h)", sourceLocation: sourceLocation)
        }
        // Back-off: bounded requests, not one per second per source (pod, node, events,
        // exporter, Redis: 5 a second would be ~100 in 20 s).
        #expect(Double(spawns) <= held * 1.25, "\(fault): \(spawns) kubectl processes in \(Int(held)) s of outage: \(counter.commands.prefix(40))",
                sourceLocation: sourceLocation)

        try await sb.sandbox("heal")
        let t1 = Date()
        try await dash.waitFor(60, "every panel fresh after heal (\(fault))") { allFresh($0) }
        let recovery = Date().timeIntervalSince(t1)
        #expect(recovery <= recoveryBound, "\(fault): fresh only \(String(format: "%.1f", recovery)) s after heal", sourceLocation: sourceLocation)
        let f = Figures(fault: ([fault] + args).joined(separator: " "), bannerAfter: bannerAfter, spawnsDuringOutage: spawns, outageSeconds: held,
                        recoveryAfterHeal: recovery)
        print(f)
        return f
    }

    // MARK: tests

    /// api-down (connection refused) then token-expired (401), one sandbox.
    @Test(.timeLimit(.minutes(6))) func apiDownAndTokenExpired() async throws {
        try await withLiveDashboard(["--memory-limit", "128Mi"]) { sb, dash in
            try await dash.waitFor(30, "the context's name in the header") { $0.first?.contains("ctx sandbox ") == true }
            _ = try await Self.outage("api-down", state: "refused", bannerSays: ["connection refused"], sb, dash)
            _ = try await Self.outage("token-expired", state: "unauthorized", bannerSays: ["Unauthorized"], sb, dash)
        }
    }

    /// api-slow --delay 60: a hung API server (connections accepted, nothing answered). The
    /// watches stay alive and silent: only the liveness probe tells.
    @Test(.timeLimit(.minutes(6))) func hungAPIServer() async throws {
        try await withLiveDashboard(["--memory-limit", "128Mi"]) { sb, dash in
            _ = try await Self.outage("api-slow", ["--delay", "60"], state: "timed-out",
                                      bannerSays: ["Timeout exceeded", "deadline exceeded", "timed out", "not answering"], sb, dash)
        }
    }

    /// api-errors (500s and 429s on a share of requests) and watch-drop: the API server answers,
    /// so the dashboard goes on: nothing false, keys answer, `check` never pages (exit 2), and
    /// it is fresh after heal.
    @Test(.timeLimit(.minutes(6))) func apiErrorsAndWatchDrop() async throws {
        try await withLiveDashboard(["--memory-limit", "128Mi"]) { sb, dash in
            for fault in ["api-errors", "watch-drop"] {
                try await dash.waitFor(60, "every panel fresh before \(fault)") { Self.allFresh($0) }
                try await sb.sandbox("fault", [fault])
                let t0 = Date()
                var fresh = 0, samples = 0
                var checkCodes: [Int32] = []
                while Date().timeIntervalSince(t0) < Self.outage {
                    let l = try dash.screen()
                    samples += 1
                    if Self.allFresh(l) { fresh += 1 }
                    Self.expectNoFalseFinding(l, fault)
                    if checkCodes.count < 2, Date().timeIntervalSince(t0) > 5 {
                        let ck = await sb.run(["check"] + sb.toolArgs, timeout: .seconds(60))
                        checkCodes.append(ck.exitCode ?? -1)
                        #expect(ck.exitCode != 2, "\(fault): check pages: \(ck.stdoutText.prefix(400))")
                        if ck.exitCode == 3 { #expect(ck.stdoutText.hasPrefix("REDIS UNKNOWN"), "\(ck.stdoutText.prefix(300))") }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
                try await Self.expectKeysAnswer(dash, fault)
                // watch-drop: the watches end every few seconds and are restarted; the objects
                // come back with each restart, so the dashboard stays fresh nearly all the time.
                if fault == "watch-drop" {
                    #expect(Double(fresh) >= Double(samples) * 0.8, "watch-drop: fresh in only \(fresh) of \(samples) samples")
                }
                try await sb.sandbox("heal")
                let t1 = Date()
                try await dash.waitFor(60, "every panel fresh after heal (\(fault))") { Self.allFresh($0) }
                let recovery = Date().timeIntervalSince(t1)
                #expect(recovery <= Self.recoveryBound)
                print("API-FAULT-FIGURES \(fault): fresh in \(fresh) of \(samples) samples over \(Int(Self.outage)) s; check exits \(checkCodes); fresh \(String(format: "%.1f", recovery)) s after heal")
            }
        }
    }

    /// A runbook run in flight when the API server goes down stops with its verdict (not
    /// "finished"), and `--resume` completes it after heal.
    @Test(.timeLimit(.minutes(6))) func runbookStoppedByAPIDownResumesAfterHeal() async throws {
        let sb = try await DashSandbox.start(["--memory-limit", "128Mi"])
        let state = sb.dir.appendingPathComponent("xdg-state")
        let logPath = sb.dir.appendingPathComponent("incident.jsonl").path
        let env = ["XDG_STATE_HOME": state.path, "NO_COLOR": "1"]
        do {
            try await sb.sandbox("seed", ["--preset", "demo"], timeout: .seconds(180))
            let run = try RunbookProcess(sb.binary, ["runbook", "run", "pod-restart", "--audit-log", logPath] + sb.toolArgs, env: env)
            // Up to the destructive confirmation: the diagnosis steps ran against a live API.
            try await run.waitForOutput(120, "the delete question") { $0.contains("Delete redis-0 now") }
            try await sb.sandbox("fault", ["api-down"])
            run.answer("y")
            try await run.waitForOutput(30, "the typed confirmation") { $0.contains("Type the pod name") }
            run.answer("redis-0")
            // The delete cannot reach the API server: the step fails; the operator aborts.
            try await run.waitForOutput(60, "the recovery question") { $0.contains("[r]etry / [s]kip") }
            run.answer("a")
            let exit = try await run.waitForExit(120)
            let out = run.output
            let verdict = out.split(separator: "\n").last { $0.hasPrefix("stopped") || $0.hasPrefix("finished") }.map(String.init) ?? "(none)"
            print("API-FAULT-FIGURES runbook under api-down: exit \(exit), verdict '\(verdict)'")
            #expect(verdict.hasPrefix("stopped"), "verdict \(verdict)\n\(out.suffix(2500))")
            #expect(exit != 0, "exit \(exit)")
            #expect(out.contains("refused"), "kubectl's refusal not shown\n\(out.suffix(2000))")
            #expect(out.components(separatedBy: "Incident log: ").count == 2, "the incident log path printed more than once\n\(out.suffix(800))")
            #expect(out.contains("--resume"))

            try await sb.sandbox("heal")
            let t0 = Date()
            let resumed = await Runner().run(CommandSpec([sb.binary, "runbook", "run", "pod-restart", "--resume", "--yes", "--yes-destructive",
                                                          "--audit-log", logPath] + sb.toolArgs,
                                                         environment: ProcessInfo.processInfo.environment.merging(env) { $1 },
                                                         timeout: .seconds(240)))
            let text = resumed.stdoutText
            let v2 = text.split(separator: "\n").last { $0.hasPrefix("stopped") || $0.hasPrefix("finished") }.map(String.init) ?? "(none)"
            print("API-FAULT-FIGURES runbook --resume after heal: exit \(resumed.exitCode.map(String.init) ?? "?"), \(String(format: "%.0f", Date().timeIntervalSince(t0))) s, verdict '\(v2)'")
            #expect(resumed.exitCode == 0, "resume exit \(resumed.termination)\n\(text.suffix(2500))\(resumed.stderrText.suffix(500))")
            #expect(v2.hasPrefix("finished"), "resume verdict \(v2)")
            #expect(text.contains("Resuming at step"), "\(text.prefix(1500))")
            // Both runs append to the same incident log.
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            #expect(log.contains("\"runStart\"") || log.contains("run-start") || !log.isEmpty)
        } catch {
            let log = sb.daemonLog()
            await sb.stop()
            throw DashFailure("\(error)\n--- daemon.log ---\n\(log)")
        }
        await sb.stop()
    }
}

/// Counts the kubectl processes a process starts, by polling its children in /proc (every
/// 10 ms; a kubectl lives at least ~40 ms, so none is missed in practice).
final class KubectlSpawnCounter: @unchecked Sendable {
    let parent: pid_t
    private let lock = NSLock()
    private var seen: [pid_t: String] = [:]
    private var running = false
    private var thread: Thread?
    init(parent: pid_t) { self.parent = parent }

    func start() {
        lock.lock(); running = true; lock.unlock()
        let t = Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                for pid in children() where seen[pid] == nil {
                    let cmd = ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").replacingOccurrences(of: "\0", with: " ")
                    guard cmd.contains("kubectl") else { continue }
                    lock.lock(); seen[pid] = cmd; lock.unlock()
                }
                usleep(10_000)
            }
        }
        thread = t
        t.start()
    }

    /// Stops counting; returns how many kubectl processes were seen.
    func stop() -> Int {
        lock.lock(); running = false; let n = seen.count; lock.unlock()
        return n
    }

    var commands: [String] {
        lock.lock(); defer { lock.unlock() }
        return seen.values.map { c in
            // The verb and what follows the global flags.
            let parts = c.split(separator: " ")
            return parts.drop { !["get", "exec", "logs", "config"].contains($0) }.prefix(4).joined(separator: " ")
        }.sorted()
    }

    private func children() -> [pid_t] {
        let dir = "/proc/\(parent)/task"
        var out: [pid_t] = []
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            let s = (try? String(contentsOfFile: "\(dir)/\(tid)/children", encoding: .utf8)) ?? ""
            out += s.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return out
    }
}

/// `redis-runbook runbook run ...` in line mode with a pipe for its answers and its output read
/// back as it comes.
final class RunbookProcess: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let outFile: URL

    init(_ binary: String, _ args: [String], env: [String: String]) throws {
        outFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("live-rb-\(UUID().uuidString.prefix(8)).out")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let h = try FileHandle(forWritingTo: outFile)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardInput = input
        process.standardOutput = h
        process.standardError = h
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: outFile)
    }

    var output: String { (try? String(contentsOf: outFile, encoding: .utf8)) ?? "" }

    func answer(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

    func waitForOutput(_ timeout: Double, _ what: String, _ condition: (String) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(output) { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if condition(output) { return }
        throw DashFailure("runbook run: timed out after \(timeout) s waiting for \(what)\n\(output.suffix(2500))")
    }

    func waitForExit(_ timeout: Double) async throws -> Int32 {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        guard !process.isRunning else {
            process.terminate()
            throw DashFailure("runbook run did not end within \(timeout) s\n\(output.suffix(2500))")
        }
        return process.terminationStatus
    }
}
