import Foundation
import Testing

/// End-to-end drills: the real binary in line mode against a real sandbox (redis-server pods).
/// The binary must be built first (`swift build`); it sits next to the test runner.
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
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    struct Result { var status: Int32; var output: String }

    /// Runs argv with stdin from /dev/null and output to a file (no pipe deadlocks), killed after `timeout`.
    static func run(_ argv: [String], env: [String: String], timeout: TimeInterval) throws -> Result {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("drill-out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let h = try FileHandle(forWritingTo: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = h
        p.standardError = h
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); usleep(500_000); if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        p.waitUntilExit()
        try h.close()
        return Result(status: p.terminationStatus, output: (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}

@Suite(.serialized) struct DrillTests {
    @Test(.enabled(if: Drill.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")))
    func podRestartDrillInLineMode() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("rb-drill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let sbx = tmp.appendingPathComponent("sbx").path
        let env = ["XDG_STATE_HOME": tmp.appendingPathComponent("state").path]
        let b = Drill.binary
        defer {
            _ = try? Drill.run([b, "sandbox", "down", "--dir", sbx], env: env, timeout: 60)
            try? FileManager.default.removeItem(at: tmp)
        }
        let up = try Drill.run([b, "sandbox", "up", "--dir", sbx], env: env, timeout: 180)
        try #require(up.status == 0, "sandbox up failed: \(up.output)")
        let kubectl = sbx + "/bin/kubectl"
        for i in 1...25 {
            _ = try Drill.run([kubectl, "exec", "redis-0", "-c", "redis", "--", "redis-cli", "SET", "drill:\(i)", "v\(i)"], env: env, timeout: 20)
        }
        let log = tmp.appendingPathComponent("incident.jsonl").path
        let r = try Drill.run([b, "runbook", "run", "pod-restart", "--sandbox", "--sandbox-dir", sbx, "--yes", "--yes-destructive",
                               "--answer", "decide=yes", "--audit-log", log], env: env, timeout: 400)
        #expect(r.status == 0, "runbook run failed:\n\(r.output)")
        #expect(r.output.contains("$ kubectl -n default delete pod redis-0 --wait=true"))
        #expect(r.output.contains("Runbook finished."))

        let pod = try Drill.run([kubectl, "get", "pod", "redis-0", "-o", "jsonpath={.status.phase} {.status.conditions[?(@.type==\"Ready\")].status}"], env: env, timeout: 20)
        #expect(pod.output.trimmingCharacters(in: .whitespacesAndNewlines) == "Running True")
        let ping = try Drill.run([kubectl, "exec", "redis-0", "-c", "redis", "--", "redis-cli", "PING"], env: env, timeout: 20)
        #expect(ping.output.contains("PONG"))
        let size = try Drill.run([kubectl, "exec", "redis-0", "-c", "redis", "--", "redis-cli", "DBSIZE"], env: env, timeout: 20)
        #expect(size.output.trimmingCharacters(in: .whitespacesAndNewlines) == "25", "keys after the restart: \(size.output)")

        // The incident log recorded the delete, snapshots around it, and the key counts.
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("\"delete\",\"pod\",\"redis-0\""))
        #expect(text.contains("\"phase\":\"before\"") && text.contains("\"phase\":\"after\""))
        let mode = try FileManager.default.attributesOfItem(atPath: log)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let report = try Drill.run([b, "report", log], env: env, timeout: 30)
        #expect(report.status == 0)
        #expect(report.output.contains("Keys before: **25**, after: **25** (+0)"))
    }
}
