import Foundation
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end drills: the real `redis-runbook` binary in line mode against a real sandbox
/// (redis-server pods, `sandbox up --fast`). The binary must be built first
/// (`swift build --scratch-path .build-drill --build-tests`); it sits next to the test runner.
enum Drill {
    static var binary: String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let c = dir.appendingPathComponent("redis-runbook").path
            if FileManager.default.isExecutableFile(atPath: c) { return c }
            dir = dir.deletingLastPathComponent()
        }
        return exe.deletingLastPathComponent().appendingPathComponent("redis-runbook").path
    }
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: binary) && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")
    }

    struct Result: CustomStringConvertible {
        var status: Int32
        var output: String
        var seconds: Double
        var timedOut: Bool
        var trimmed: String { output.trimmingCharacters(in: .whitespacesAndNewlines) }
        var description: String { "exit \(status)\(timedOut ? " (timed out)" : "") after \(String(format: "%.1f", seconds)) s:\n\(output)" }
    }

    /// Runs argv with stdin from /dev/null and stdout+stderr to a file (no pipe deadlocks);
    /// SIGTERM then SIGKILL after `timeout`. Polls with Task.sleep so it never blocks a thread.
    static func run(_ argv: [String], env: [String: String] = [:], cwd: URL? = nil, timeout: TimeInterval) async throws -> Result {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("drill-out-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let h = try FileHandle(forWritingTo: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.standardInput = FileHandle.nullDevice
        if let cwd { p.currentDirectoryURL = cwd }
        p.standardOutput = h
        p.standardError = h
        let start = Date()
        try p.run()
        let deadline = start.addingTimeInterval(timeout)
        var timedOut = false
        while p.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if p.isRunning {
            timedOut = true
            p.terminate()
            for _ in 0..<20 where p.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        while p.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        p.waitUntilExit()
        try h.close()
        return Result(status: p.terminationStatus, output: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      seconds: Date().timeIntervalSince(start), timedOut: timedOut)
    }
}

struct DrillFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One sandbox for one drill, in its own temp dir (sandbox, XDG state, incident log).
final class DrillBox: @unchecked Sendable {
    let tmp: URL
    /// The sandbox (Tests/SandboxFixture: started, stopped and reached as every suite does).
    let sandboxProcess: SandboxProcess
    var sbx: String { sandboxProcess.dir.path }
    let env: [String: String]
    let b = Drill.binary
    // The one place that says how the drills reach the sandbox's API: the real kubectl (Debian's
    // dispatcher), pointed at the sandbox by KUBECONFIG=DIR/kubeconfig in `env`, with a discovery
    // cache of its own. The tool gets nothing sandbox-specific.
    let kubectlPath = "/usr/bin/kubectl"
    /// The sandbox's own executable, built beside redis-runbook.
    var sandboxBinary: String { sandboxProcess.binary }
    var logPath: String { tmp.appendingPathComponent("incident-\(cellNumber).jsonl").path }
    var cellNumber = 0
    var transcript: [String] = []
    /// The sandbox's redis container has only REDIS_PASSWORD (`--redis-password-env-only`):
    /// the drill's own redis-cli calls authenticate as an operator would in that pod
    /// (`sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ...'`, the value never on a command line).
    var passwordEnvOnly = false

    private init(tmp: URL, sandbox: SandboxProcess) {
        self.tmp = tmp
        sandboxProcess = sandbox
        env = ["XDG_STATE_HOME": tmp.appendingPathComponent("state").path, "NO_COLOR": "1",
               "KUBECONFIG": sandbox.kubeconfig, "KUBECACHEDIR": tmp.appendingPathComponent("kcache").path]
    }

    /// `sandbox up --fast`, runs `body`, always `sandbox down` and removes the temp dir.
    static func with(_ extra: [String] = [], _ body: (DrillBox) async throws -> Void) async throws {
        let tmp = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rb-drill-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let started = Date()
        let sandbox: SandboxProcess
        do {
            sandbox = try await SandboxProcess.up(prefix: "rb-drill", extra, timeout: .seconds(180))
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw DrillFailure("sandbox up failed: \(error)")
        }
        let box = DrillBox(tmp: tmp, sandbox: sandbox)
        box.passwordEnvOnly = extra.contains("--redis-password-env-only")
        var failure: Error?
        do {
            try await body(box)
        } catch {
            failure = error
        }
        let daemon = sandbox.daemonLog()
        await sandbox.down()
        try? FileManager.default.removeItem(at: tmp)
        print("drill finished in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        if let failure {
            throw DrillFailure("\(failure)\n--- drill transcript ---\n\(box.transcript.suffix(40).joined(separator: "\n"))\n--- daemon.log ---\n\(daemon)")
        }
    }

    // MARK: commands

    func redisRunbook(_ args: [String], timeout: TimeInterval = 120) async throws -> Drill.Result {
        // In the drill's temp dir: `kubectl cp` to a relative path lands there.
        let r = try await Drill.run([b] + args, env: env, cwd: tmp, timeout: timeout)
        transcript.append("$ redis-runbook \(args.joined(separator: " "))  -> exit \(r.status)")
        return r
    }

    func kubectl(_ args: [String], timeout: TimeInterval = 30) async throws -> Drill.Result {
        try await Drill.run([kubectlPath] + args, env: env, cwd: tmp, timeout: timeout)
    }

    /// `kubectl exec redis-0 -c redis -- redis-cli ARGS`.
    func cli(_ args: [String], timeout: TimeInterval = 30) async throws -> String {
        let r: Drill.Result
        if passwordEnvOnly {
            r = try await kubectl(["exec", "redis-0", "-c", "redis", "--", "sh", "-c",
                                   #"REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli "$@""#, "redis-cli"] + args, timeout: timeout)
        } else {
            r = try await kubectl(["exec", "redis-0", "-c", "redis", "--", "redis-cli"] + args, timeout: timeout)
        }
        return SandboxProcess.withoutKubectlNotices(r.output).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The sandbox's Redis password (its Secret on disk), to assert it never leaks.
    var redisPassword: String? {
        try? String(contentsOfFile: sbx + "/secrets/redis-auth/password", encoding: .utf8)
    }

    func dbsize() async throws -> Int? { Int(try await cli(["DBSIZE"])) }

    func sandbox(_ sub: String, _ args: [String] = [], timeout: TimeInterval = 180) async throws -> Drill.Result {
        let r = try await Drill.run([sandboxBinary, sub, "--dir", sbx] + args, env: env, cwd: tmp, timeout: timeout)
        transcript.append("$ redis-runbook-sandbox \(sub) \(args.joined(separator: " "))  -> exit \(r.status)")
        transcript.append(r.trimmed)
        return r
    }

    func fault(_ name: String, _ args: [String] = []) async throws {
        let r = try await sandbox("fault", [name] + args)
        guard r.status == 0 else { throw DrillFailure("sandbox fault \(name) failed: \(r)") }
    }

    /// Seeds `n` known string keys `drill:i` (plus whatever the preset adds).
    func seedKeys(_ n: Int, prefix: String = "drill") async throws {
        let script = "for i = 1, tonumber(ARGV[1]) do redis.call('SET', ARGV[2] .. ':' .. i, 'v' .. i) end return 1"
        let r = try await cli(["EVAL", script, "0", String(n), prefix])
        guard r == "1" else { throw DrillFailure("seeding failed: \(r)") }
    }

    // MARK: state

    struct PodView: Equatable {
        var phase: String
        var ready: String
        var uid: String
        var restarts: String
    }

    func pod() async throws -> PodView? {
        let r = try await kubectl(["get", "pod", "redis-0", "-o",
                                   "jsonpath={.status.phase}|{.status.conditions[?(@.type==\"Ready\")].status}|{.metadata.uid}|{.status.containerStatuses[?(@.name==\"redis\")].restartCount}"])
        guard r.status == 0 else { return nil }
        let f = r.trimmed.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 4 else { return nil }
        return PodView(phase: f[0], ready: f[1], uid: f[2], restarts: f[3])
    }

    /// The dashboard's findings (`status --json`): (id, runbook).
    func findings() async throws -> [(id: String, runbook: String)] {
        let r = try await Drill.run([b, "status", "--json", "--kubectl", kubectlPath], env: env, cwd: tmp, timeout: 60)
        guard let start = r.output.firstIndex(of: "{"),
              let obj = try? JSONSerialization.jsonObject(with: Data(r.output[start...].utf8)) as? [String: Any] else {
            transcript.append("status --json unparsable: \(r.output.prefix(400))")
            return []
        }
        let list = (obj["findings"] as? [[String: Any]]) ?? []
        return list.map { ((($0["id"] as? String) ?? ""), (($0["runbook"] as? String) ?? "")) }
    }

    /// Polls `status --json` until a finding names `runbook` (or, with `absent`, until none does).
    @discardableResult
    func waitFinding(runbook: String, absent: Bool = false, timeout: TimeInterval) async throws -> [(id: String, runbook: String)] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [(id: String, runbook: String)] = []
        while true {
            last = try await findings()
            let has = last.contains { $0.runbook == runbook }
            if has != absent { return last }
            if Date() > deadline { break }
            try await Task.sleep(for: .milliseconds(700))
        }
        let seen = last.map { "\($0.id)->\($0.runbook)" }.joined(separator: ", ")
        throw DrillFailure("after \(Int(timeout)) s, status --json \(absent ? "still has" : "has no") finding for runbook \(runbook); findings: [\(seen)]")
    }

    /// Polls until `check` holds or `timeout` passes.
    func eventually(_ what: String, timeout: TimeInterval, _ check: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !(try await check()) {
            if Date() > deadline { throw DrillFailure("timed out after \(Int(timeout)) s waiting for: \(what)") }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// `runbook run ID --kubectl ... --audit-log LOG --yes --yes-destructive ARGS`.
    func runRunbook(_ id: String, _ args: [String] = [], yes: Bool = true, timeout: TimeInterval = 300) async throws -> Drill.Result {
        var argv = ["runbook", "run", id, "--kubectl", kubectlPath, "--audit-log", logPath]
        if yes { argv += ["--yes", "--yes-destructive"] }
        let r = try await redisRunbook(argv + args, timeout: timeout)
        transcript.append(String(r.output.suffix(6000)))
        return r
    }

    // MARK: interrupted runs and leftover processes

    /// A kubectl that runs the sandbox's kubectl, except for calls whose arguments contain
    /// `pattern`: those hang (sleep) until they are killed.
    func hangingKubectl(on pattern: String) throws -> String {
        let path = tmp.appendingPathComponent("kubectl-hangs").path
        let script = "#!/bin/sh\ncase \"$*\" in *'\(pattern)'*) exec sleep 600;; esac\nexec \(kubectlPath) \"$@\"\n"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// Starts `redis-runbook ARGS` in the background with a marker in its environment (every
    /// process it starts inherits it); output to a file.
    func start(_ args: [String], marker: String) throws -> (Process, URL) {
        let out = tmp.appendingPathComponent("bg-\(UUID().uuidString.prefix(6)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let h = try FileHandle(forWritingTo: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: b)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }.merging(["RB_DRILL_MARKER": marker]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = h
        p.standardError = h
        p.currentDirectoryURL = tmp
        try p.run()
        return (p, out)
    }

    /// Live processes whose environment carries `marker` (the tool's descendants, reparented or not).
    static func processes(withMarker marker: String) -> [String] {
        let needle = Data("RB_DRILL_MARKER=\(marker)".utf8)
        var out: [String] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where name.allSatisfy(\.isNumber) {
            guard let env = FileManager.default.contents(atPath: "/proc/\(name)/environ"), env.range(of: needle) != nil else { continue }
            let stat = (try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8)) ?? ""
            if stat.contains(") Z ") { continue }   // a zombie is already dead
            let cmd = ((try? String(contentsOfFile: "/proc/\(name)/cmdline", encoding: .utf8)) ?? "").replacingOccurrences(of: "\0", with: " ")
            out.append("\(name): \(cmd)")
        }
        return out
    }

    // MARK: the drill matrix

    /// The live state a cell asserts after its run.
    struct Live: CustomStringConvertible {
        var replicas: String
        var ready: String
        var ping: String
        var keys: Int?
        var repairPod: Bool
        var description: String { "replicas=\(replicas) ready=\(ready) ping=\(ping) keys=\(keys.map(String.init) ?? "none") repair-pod=\(repairPod)" }
    }

    func live() async throws -> Live {
        let r = try await kubectl(["get", "statefulset", "redis", "-o", "jsonpath={.spec.replicas}"]).trimmed
        let ready = try await pod()?.ready ?? "none"
        let ping = (try? await cli(["PING"], timeout: 10)) ?? ""
        let keys = Int((try? await cli(["DBSIZE"], timeout: 10)) ?? "")
        let repair = try await kubectl(["get", "pod", "redis-repair", "--ignore-not-found", "-o", "name"]).trimmed
        return Live(replicas: r, ready: ready, ping: ping, keys: keys, repairPod: !repair.isEmpty)
    }

    /// One cell: `runbook run ID` unattended with `flags`, then the verdict line and exit code
    /// are checked and the cell is recorded for the matrix (printed as `DRILL-MATRIX|...`).
    @discardableResult
    func cell(_ runbook: String, _ name: String, _ flags: [String], exit: Int32, verdict: String,
              timeout: TimeInterval = 300) async throws -> (result: Drill.Result, verdict: String, live: Live) {
        cellNumber += 1
        let r = try await redisRunbook(["runbook", "run", runbook, "--kubectl", kubectlPath, "--audit-log", logPath] + flags, timeout: timeout)
        transcript.append(String(r.output.suffix(5000)))
        let line = r.output.split(separator: "\n").last { $0.hasPrefix("finished") || $0.hasPrefix("stopped") }.map(String.init) ?? "(no verdict line)"
        let state = try await live()
        let ok = r.status == exit && line.hasPrefix(verdict)
        print("DRILL-MATRIX|\(runbook)|\(name)|exit \(r.status)|\(String(format: "%.0f", r.seconds)) s|\(ok ? "pass" : "FAIL")|\(state)|\(line)")
        #expect(r.status == exit, "\(runbook) [\(name)]: exit \(r.status), expected \(exit)\n\(r.output.suffix(3000))")
        #expect(line.hasPrefix(verdict), "\(runbook) [\(name)]: verdict '\(line)', expected '\(verdict)...'")
        // Exactly one verdict line, and a "no" never ends as finished.
        #expect(r.output.split(separator: "\n").filter { $0.hasPrefix("finished") || $0.hasPrefix("stopped") }.count == 1)
        if flags.contains(where: { $0.hasSuffix("=no") || $0.hasSuffix("=stop") }) { #expect(!line.hasPrefix("finished")) }
        return (r, line, state)
    }

    /// Serving as the end state means: 1 replica, Ready, PONG, `keys` keys (when given), no repair pod.
    func expectServing(_ l: Live, keys: Int? = nil, _ what: String) {
        #expect(l.replicas == "1" && l.ready == "True" && l.ping == "PONG", "\(what): \(l)")
        if let keys { #expect(l.keys == keys, "\(what): keys \(l.keys.map(String.init) ?? "none"), before \(keys)") }
        #expect(!l.repairPod, "\(what): a repair pod is left")
    }

    // MARK: verification

    /// Pod Running and Ready, Redis answers PONG, no finding names `runbook` any more.
    func verifyRecovered(runbook: String, timeout: TimeInterval = 60) async throws {
        try await eventually("redis-0 Running and Ready", timeout: timeout) {
            let p = try await pod()
            return p?.phase == "Running" && p?.ready == "True"
        }
        let ping = try await cli(["PING"])
        #expect(ping == "PONG", "PING answered: \(ping)")
        try await waitFinding(runbook: runbook, absent: true, timeout: timeout)
    }

    /// The incident log: JSON lines.
    func logEntries() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Every command the run printed (`$ ...` lines) is in the log; every mutating command that
    /// ran has a "before" and an "after" snapshot for its step; `report LOG` renders.
    /// Returns the rendered report.
    @discardableResult
    func verifyLog(runOutput: String, expectMutations: Bool = true) async throws -> String {
        let entries = try logEntries()
        #expect(!entries.isEmpty, "the incident log is empty")
        let commands = entries.filter { $0["type"] as? String == "command" }
        let ran = commands.filter { ($0["dryRun"] as? Bool) != true }
        #expect(!ran.isEmpty, "no command in the incident log")
        // Every run command has an exit status or a termination.
        for c in ran {
            #expect(c["exitCode"] != nil || c["termination"] != nil, "command without a result in the log: \(c["argv"] ?? "?")")
        }
        // Every `$ kubectl ...` line shown in the run output is a logged command (same argv, joined).
        let logged = Set(ran.compactMap { ($0["argv"] as? [String])?.last })
        let shownCommands = runOutput.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("$ ") }
        #expect(shownCommands.count >= ran.count / 2, "output shows \(shownCommands.count) commands, log has \(ran.count)")
        #expect(!logged.isEmpty)
        let mutating = ran.filter { ($0["mutates"] as? Bool) == true }
        if expectMutations { #expect(!mutating.isEmpty, "no mutating command ran") }
        let snaps = entries.filter { $0["type"] as? String == "snapshot" }
        for m in mutating {
            let idx = m["stepIndex"] as? Int
            let before = snaps.contains { $0["phase"] as? String == "before" && $0["stepIndex"] as? Int == idx }
            let after = snaps.contains { $0["phase"] as? String == "after" && $0["stepIndex"] as? Int == idx }
            #expect(before && after, "mutating step \(idx.map { $0 + 1 } ?? -1) (\((m["argv"] as? [String])?.joined(separator: " ") ?? "")) lacks a before/after snapshot")
        }
        let report = try await redisRunbook(["report", logPath], timeout: 30)
        #expect(report.status == 0, "report failed: \(report)")
        #expect(report.output.contains("## Data accounting"), "report without data accounting")
        return report.output
    }

    /// (keys_before, keys_after) as the run captured them (last capture of each), from the log.
    func capturedCounts() throws -> (before: Int?, after: Int?) {
        var last: [String: String] = [:]
        for e in try logEntries() where e["type"] as? String == "capture" {
            if let n = e["name"] as? String { last[n] = e["value"] as? String ?? "" }
        }
        func firstInt(_ s: String?) -> Int? { s?.split(whereSeparator: { !$0.isNumber }).first.flatMap { Int($0) } }
        return (firstInt(last["keys_before"]), firstInt(last["keys_after"]))
    }
}
