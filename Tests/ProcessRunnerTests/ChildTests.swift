import Foundation
import Testing
@testable import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChildTests {
    @Test func pollSignalAndStatus() async throws {
        let child = try Child.spawn(["sleep", "30"])
        #expect(child.pid > 0)
        #expect(child.poll() == nil)
        #expect(processIsAlive(child.pid))
        #expect(getpgid(child.pid) == child.pid)  // own process group
        child.signal(SIGTERM)
        let t = await child.wait(timeout: .seconds(10))
        #expect(t == .signaled(SIGTERM))
        #expect(child.poll() == .signaled(15))  // cached once reaped
        child.signal(SIGKILL)  // after reaping: a no-op, never hits a reused pid
        #expect(child.wait() == .signaled(15))
    }

    @Test func outputIsAppendedToFiles() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.log", err = dir + "/err.log"
        try "zero\n".write(toFile: out, atomically: true, encoding: .utf8)
        let first = try Child.spawn(["/bin/sh", "-c", "echo one; echo oops >&2; exit 2"], stdoutPath: out, stderrPath: err)
        #expect(await first.wait(timeout: .seconds(10)) == .exited(2))
        let second = try Child.spawn(["echo", "two"], stdoutPath: out, stderrPath: err)
        #expect(second.wait() == .exited(0))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "zero\none\ntwo\n")
        #expect(try String(contentsOfFile: err, encoding: .utf8) == "oops\n")
    }

    @Test func environmentAndWorkingDirectory() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/env.log"
        let child = try Child.spawn(["/usr/bin/env"], environment: ["ONLY": "this"], workingDirectory: dir, stdoutPath: out)
        #expect(await child.wait(timeout: .seconds(10)) == .exited(0))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "ONLY=this\n")

        let pwd = try Child.spawn(["pwd"], workingDirectory: dir, stdoutPath: dir + "/pwd.log")
        #expect(await pwd.wait(timeout: .seconds(10)) == .exited(0))
        let real = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
        #expect(try String(contentsOfFile: dir + "/pwd.log", encoding: .utf8) == real + "\n")
    }

    @Test func terminateKillsTheWholeGroup() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/gc.pid"
        let child = try Child.spawn(["/bin/sh", "-c", "trap '' TERM; sleep 300 & echo $! > \(pidFile); wait"])
        #expect(await eventually(timeout: .seconds(5)) { FileManager.default.fileExists(atPath: pidFile) && ((try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") ?? false) })
        let gc = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let t = await child.terminate(grace: .milliseconds(300))
        #expect(t == .signaled(SIGKILL))  // the shell ignores TERM, so it took the KILL
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(gc) })
    }

    @Test func spawnFailuresThrow() throws {
        #expect(throws: ChildSpawnError.self) { try Child.spawn(["rrb-no-such-daemon"]) }
        #expect(throws: ChildSpawnError.self) { try Child.spawn(["/nonexistent/daemon"]) }
        #expect(throws: ChildSpawnError.self) { try Child.spawn(["true"], workingDirectory: "/nonexistent-dir") }
    }

    @Test func recorderSeesChildStartAndFinish() async throws {
        let recorder = TestRecorder()
        let child = try Child.spawn(["true"], recorder: recorder, label: "pod:redis-0")
        #expect(await child.wait(timeout: .seconds(10)) == .exited(0))
        #expect(recorder.started.first?.1.label == "pod:redis-0")
        #expect(recorder.finished.first?.1.termination == .exited(0))
        #expect(recorder.finished.first?.0 == recorder.started.first?.0)
    }
}
