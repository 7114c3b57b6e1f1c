import Foundation
import Testing
@testable import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

@Suite struct RunnerTests {
    let runner = Runner()

    @Test func successfulCommandCarriesStdoutStatusAndDuration() async {
        let r = await runner.run(["echo", "hello", "world"])
        #expect(r.termination == .exited(0))
        #expect(r.succeeded)
        #expect(r.exitCode == 0)
        #expect(r.stdoutText == "hello world\n")
        #expect(r.stderr.isEmpty)
        #expect(r.pid != nil)
        #expect(r.duration > .zero)
    }

    @Test func timeoutKillsSleepAndSaysTimedOut() async throws {
        let r = await runner.run(["sleep", "300"], timeout: .milliseconds(300))
        #expect(r.termination == .timedOut)
        #expect(!r.succeeded)
        #expect(r.exitCode == nil)
        let pid = try #require(r.pid)
        #expect(!processIsAlive(pid))
        #expect(r.duration < .seconds(150))  // generous (a loaded 2-core CI): only proves it did not wait for sleep to finish
    }

    @Test func timeoutKillsTheWholeProcessGroupIncludingGrandchildren() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/grandchild.pid"
        // The shell is the child under test; it leaves a grandchild that would outlive it.
        let r = await runner.run(CommandSpec(["/bin/sh", "-c", "sleep 300 & echo $! > \(pidFile); sleep 300"], timeout: .milliseconds(500)))
        #expect(r.termination == .timedOut)
        let text = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let grandchild = try #require(Int32(text))
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(grandchild) })
        #expect(!processIsAlive(try #require(r.pid)))
    }

    @Test func grandchildIgnoringSIGTERMIsKilledToo() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/stubborn.pid"
        let r = await runner.run(CommandSpec(["/bin/sh", "-c", "trap '' TERM; sleep 300 & echo $! > \(pidFile); wait"], timeout: .milliseconds(500)))
        #expect(r.termination == .timedOut)
        let grandchild = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(grandchild) })
    }

    @Test func cancellingTheCallerKillsTheCommandAndItsGroup() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/gc.pid"
        let runner = self.runner
        let task = Task { await runner.run(CommandSpec(["/bin/sh", "-c", "sleep 300 & echo $! > \(pidFile); sleep 300"], timeout: .seconds(120))) }
        #expect(await eventually(timeout: .seconds(10)) { ((try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") ?? false) })
        task.cancel()
        let r = await task.value
        #expect(r.termination != .exited(0))
        #expect(r.termination != .timedOut)
        let gc = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(gc) })
        #expect(!processIsAlive(try #require(r.pid)))
    }

    @Test func backgroundLeftoverOfANormalExitDoesNotHangOrSurvive() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/bg.pid"
        // The leader exits at once; its background child still holds stdout open.
        let r = await runner.run(CommandSpec(["/bin/sh", "-c", "sleep 300 & echo $! > \(pidFile); echo done"], timeout: .seconds(20)))
        #expect(r.termination == .exited(0))
        #expect(r.stdoutText == "done\n")
        let bg = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(bg) })
    }

    @Test func tenMebibytesOfStdoutDoNotDeadlockAndArriveInFull() async {
        let r = await runner.run(CommandSpec(["head", "-c", "10485760", "/dev/zero"], timeout: .seconds(60), outputLimit: 16 << 20))
        #expect(r.termination == .exited(0))
        #expect(r.stdout.count == 10_485_760)
        #expect(!r.stdoutTruncated)
        #expect(r.stdout.allSatisfy { $0 == 0 })
    }

    @Test func outputOverTheLimitIsTruncatedAndFlaggedWithoutDeadlock() async {
        let r = await runner.run(CommandSpec(["head", "-c", "10485760", "/dev/zero"], timeout: .seconds(60), outputLimit: 1 << 20))
        #expect(r.termination == .exited(0))  // the child was drained to the end, not killed
        #expect(r.stdout.count == 1 << 20)
        #expect(r.stdoutTruncated)
        #expect(!r.stderrTruncated)
    }

    @Test func defaultLimitTruncatesTenMebibytesAtEight() async {
        let r = await runner.run(CommandSpec(["head", "-c", "10485760", "/dev/zero"], timeout: .seconds(60)))
        #expect(r.termination == .exited(0))
        #expect(r.stdout.count == 8 << 20)
        #expect(r.stdoutTruncated)
    }

    @Test func interleavedLargeStdoutAndStderrAreBothReadInFull() async {
        let script = "for i in 1 2 3 4 5; do head -c 2097152 /dev/zero | tr '\\0' o; head -c 2097152 /dev/zero | tr '\\0' e >&2; done"
        let r = await runner.run(CommandSpec(["/bin/sh", "-c", script], timeout: .seconds(60), outputLimit: 16 << 20))
        #expect(r.termination == .exited(0))
        #expect(r.stdout.count == 10_485_760)
        #expect(r.stderr.count == 10_485_760)
        #expect(r.stdout.allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(r.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
    }

    @Test func exitCodesAndSignalsAreReported() async {
        let three = await runner.run(["/bin/sh", "-c", "echo bad >&2; exit 3"])
        #expect(three.termination == .exited(3))
        #expect(three.exitCode == 3)
        #expect(!three.succeeded)
        #expect(three.stderrText == "bad\n")

        let falseResult = await runner.run(["false"])
        #expect(falseResult.termination == .exited(1))

        let killed = await runner.run(["/bin/sh", "-c", "kill -9 $$"])
        #expect(killed.termination == .signaled(SIGKILL))
        #expect(killed.exitCode == nil)

        let terminated = await runner.run(["/bin/sh", "-c", "kill -TERM $$"])
        #expect(terminated.termination == .signaled(SIGTERM))
    }

    @Test func stdinIsDelivered() async {
        let r = await runner.run(["cat"], stdin: Data("line one\nline two\n".utf8))
        #expect(r.termination == .exited(0))
        #expect(r.stdoutText == "line one\nline two\n")

        let big = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
        let rb = await runner.run(CommandSpec(["cat"], stdin: big, timeout: .seconds(60)))
        #expect(rb.stdout == big)
    }

    @Test func noStdinMeansDevNull() async {
        let r = await runner.run(["cat"])
        #expect(r.termination == .exited(0))
        #expect(r.stdout.isEmpty)
        let link = await runner.run(["readlink", "/proc/self/fd/0"])
        #expect(link.stdoutText == "/dev/null\n")
    }

    @Test func stdinThatTheChildNeverReadsDoesNotCrashOrHang() async {
        let big = Data(repeating: 0x41, count: 4 << 20)
        let r = await runner.run(CommandSpec(["true"], stdin: big, timeout: .seconds(20)))
        #expect(r.termination == .exited(0))
    }

    @Test func missingExecutableFailsToStartWithAClearMessage() async {
        let r = await runner.run(["rrb-definitely-not-installed-tool", "--flag"])
        guard case .failedToStart(let why) = r.termination else {
            Issue.record("expected failedToStart, got \(r.termination)")
            return
        }
        #expect(why.contains("rrb-definitely-not-installed-tool"))
        #expect(why.contains("not found"))
        #expect(r.pid == nil)
        #expect(!r.succeeded)

        let path = await runner.run(["/nonexistent/dir/tool"])
        guard case .failedToStart(let why2) = path.termination else {
            Issue.record("expected failedToStart, got \(path.termination)")
            return
        }
        #expect(why2.contains("/nonexistent/dir/tool"))
        #expect(why2.contains("No such file"))

        let empty = await runner.run([])
        #expect(empty.termination == .failedToStart("empty command line"))
    }

    @Test func missingWorkingDirectoryFailsToStart() async {
        let r = await runner.run(CommandSpec(["pwd"], workingDirectory: "/nonexistent-rrb-dir"))
        guard case .failedToStart(let why) = r.termination else {
            Issue.record("expected failedToStart, got \(r.termination)")
            return
        }
        #expect(why.contains("/nonexistent-rrb-dir"))
    }

    @Test func environmentOverridesRemovalsAndWorkingDirectory() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = await runner.run(CommandSpec(["env"], environment: ["RRB_TEST_VAR": "a b=c"], removeEnvironment: ["HOME"]))
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.contains("RRB_TEST_VAR=a b=c"))
        #expect(!lines.contains { $0.hasPrefix("HOME=") })
        #expect(lines.contains { $0.hasPrefix("PATH=") })

        let pwd = await runner.run(CommandSpec(["pwd"], workingDirectory: dir))
        let real = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
        #expect(pwd.stdoutText.trimmingCharacters(in: .newlines) == real)
    }

    @Test func argumentsAreNeverInterpretedByAShell() async {
        let r = await runner.run(["echo", "$HOME", "`id`", "a;b", "*"])
        #expect(r.stdoutText == "$HOME `id` a;b *\n")
    }

    @Test func childrenRunInTheirOwnProcessGroup() async throws {
        let r = await runner.run(["/bin/sh", "-c", "ps -o pgid= -p $$"])
        let pgid = try #require(Int32(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(pgid == r.pid)
        #expect(pgid != getpgrp())
    }

    @Test func recorderSeesEveryCommandAndSpawnCountCountsStartedOnes() async {
        let recorder = TestRecorder()
        let runner = Runner(recorder: recorder)
        _ = await runner.run(CommandSpec(["true"], label: "probe:one"))
        _ = await runner.run(["false"])
        _ = await runner.run(["rrb-missing-tool-xyz"])
        let started = recorder.started
        let finished = recorder.finished
        #expect(started.count == 3)
        #expect(finished.count == 3)
        #expect(started.map(\.0) == finished.map(\.0))
        #expect(Set(started.map(\.0)).count == 3)
        #expect(started.first?.1.label == "probe:one")
        #expect(started.map { $0.1.argv } == [["true"], ["false"], ["rrb-missing-tool-xyz"]])
        #expect(finished.map { $0.1.termination.isFailedToStart } == [false, false, true])
        #expect(runner.spawnCount == 2)
    }

    @Test func manyConcurrentCommandsLeaveNoZombies() async throws {
        let results = await withTaskGroup(of: CommandResult.self) { group in
            for i in 0..<20 { group.addTask { await runner.run(["/bin/sh", "-c", "exit \(i % 5)"]) } }
            var all: [CommandResult] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 20)
        #expect(results.allSatisfy { if case .exited = $0.termination { return true } else { return false } })
        // No child of this process is left unreaped by the runner.
        for r in results {
            let pid = try #require(r.pid)
            var info = siginfo_t()
            let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            #expect(rc == -1 && errno == ECHILD, "pid \(pid) is still our unreaped child")
        }
    }
}

@Suite struct ResolveExecutableTests {
    @Test func findsProgramsOnAbsolutePathEntries() throws {
        let sh = try #require(resolveExecutable("sh", path: "/nonexistent:/usr/bin:/bin"))
        #expect(sh.hasSuffix("/sh"))
        #expect(resolveExecutable("sh", path: nil) == nil)
        #expect(resolveExecutable("rrb-no-such-thing", path: "/usr/bin:/bin") == nil)
        #expect(resolveExecutable("a/b", path: "/usr/bin") == nil)
    }

    @Test func ignoresTheCurrentDirectoryAndRelativeEntries() throws {
        // An executable with this name exists ONLY in the current directory.
        let name = "rrb-cwd-probe-\(UUID().uuidString.prefix(8))"
        let cwd = FileManager.default.currentDirectoryPath
        let file = cwd + "/" + name
        try "#!/bin/sh\necho hijacked\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        chmod(file, 0o755)
        #expect(access(file, X_OK) == 0)

        #expect(resolveExecutable(name, path: "") == nil)
        #expect(resolveExecutable(name, path: ".") == nil)
        #expect(resolveExecutable(name, path: "::/usr/bin:") == nil)
        #expect(resolveExecutable(name, path: "./:.") == nil)
        #expect(resolveExecutable(name, path: cwd) == file)  // sanity: it is found when the directory is named absolutely
    }

    @Test func directoriesAndNonExecutablesAreSkipped() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/a/tool", withIntermediateDirectories: true)
        try "x".write(toFile: dir + "/b/tool".replacingOccurrences(of: "/b/", with: "/"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/c", withIntermediateDirectories: true)
        try "#!/bin/sh\n".write(toFile: dir + "/c/tool", atomically: true, encoding: .utf8)
        chmod(dir + "/c/tool", 0o755)
        #expect(resolveExecutable("tool", path: "\(dir)/a:\(dir):\(dir)/c") == "\(dir)/c/tool")
    }
}

extension Termination {
    var isFailedToStart: Bool { if case .failedToStart = self { return true } else { return false } }
}

@Suite struct ChildRegistryTests {
    /// Every group the runner started is in the registry while it runs; terminateAll ends it
    /// (SIGTERM, then SIGKILL for one that ignores SIGTERM) and the owner still reaps it.
    @Test func terminateAllEndsRunningCommandsIncludingOnesThatIgnoreSIGTERM() async throws {
        let runner = Runner()
        async let a = runner.run(["/bin/sh", "-c", "trap '' TERM; sleep 30"], timeout: .seconds(60))
        async let b = runner.run(["sleep", "30"], timeout: .seconds(60))
        var seen = 0
        // Both started (a loaded machine can take seconds to spawn).
        for _ in 0..<1000 where seen < 2 { seen = runner.childPIDs.count; try await Task.sleep(for: .milliseconds(20)) }
        let t0 = ContinuousClock.now
        #expect(seen == 2)
        #expect(Set(runner.childPIDs).isSubset(of: Set(ChildRegistry.pids)))
        // (this runner's children only: other tests run in parallel in this process)
        await runner.terminateChildren(grace: .milliseconds(300))
        let (ra, rb) = await (a, b)
        #expect(ContinuousClock.now - t0 < .seconds(5))
        #expect(ra.termination == .signaled(SIGKILL), "\(ra.termination)")
        #expect(rb.termination == .signaled(SIGTERM), "\(rb.termination)")
        #expect(runner.childPIDs.isEmpty)
    }
}
