import Foundation
import Testing
@testable import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// `Child.spawnPiped`: the pipes the sandbox API's exec streams through.
@Suite(.serialized) struct ChildPipesTests {
    private func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        close(fd)
        return out
    }

    @Test func stdinStdoutAndStderrAreSeparatePipes() throws {
        let (child, pipes) = try Child.spawnPiped(["/bin/sh", "-c", "cat; echo err >&2; exit 4"], stdin: true)
        let stdin = try #require(pipes.stdin)
        let text = Array("hello\nworld\n".utf8)
        #expect(write(stdin, text, text.count) == text.count)
        close(stdin)
        #expect(String(decoding: readAll(pipes.stdout), as: UTF8.self) == "hello\nworld\n")
        #expect(String(decoding: readAll(pipes.stderr), as: UTF8.self) == "err\n")
        #expect(child.wait() == .exited(4))
    }

    @Test func withoutStdinTheChildReadsDevNull() throws {
        let (child, pipes) = try Child.spawnPiped(["/bin/cat"], stdin: false)
        #expect(pipes.stdin == nil)
        #expect(readAll(pipes.stdout).isEmpty)
        _ = readAll(pipes.stderr)
        #expect(child.wait() == .exited(0))
    }

    @Test func ourEndsAreCloseOnExecAndTheChildsAreClosedHere() throws {
        let (child, pipes) = try Child.spawnPiped(["/bin/sh", "-c", "exec 1>&-; sleep 0.2"], stdin: true)
        for fd in [pipes.stdin!, pipes.stdout, pipes.stderr] {
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        }
        // The child closed its stdout: EOF arrives although it still runs (we hold no write end).
        #expect(readAll(pipes.stdout).isEmpty)
        close(pipes.stdin!)
        _ = readAll(pipes.stderr)
        #expect(child.wait() == .exited(0))
    }

    @Test func signalGroupReachesMembersLeftAfterTheLeaderExited() throws {
        // The shell exits at once; its background sleep keeps the group (and stdout) alive.
        let (child, pipes) = try Child.spawnPiped(["/bin/sh", "-c", "sleep 30 & exit 0"], stdin: false)
        #expect(child.wait() == .exited(0))
        child.signalGroup(SIGKILL)
        // The sleep held the write end of stdout: EOF now means it is gone.
        #expect(readAll(pipes.stdout).isEmpty)
        _ = readAll(pipes.stderr)
    }

    @Test func aMissingProgramIsASpawnErrorAndLeavesNoDescriptor() throws {
        let before = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        #expect(throws: ChildSpawnError.self) { try Child.spawnPiped(["/no/such/program"], stdin: true) }
        let after = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        #expect(after <= before)
    }
}
