import Foundation
import Testing
@testable import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// The one spawn path (`Child.spawn`, posix_spawn) as Runner and LineSession use it: what the
/// child inherits, and pipes served without blocking the Swift cooperative pool.
@Suite struct SpawnPathTests {
    /// This process ignores SIGPIPE and runs Runner on pool threads (which may block signals);
    /// the child still starts with an empty mask, default dispositions and only fds 0-2.
    @Test func childStartsWithEmptySignalMaskDefaultDispositionsAndOnlyStdio() async throws {
        // A descriptor without close-on-exec, at a number nothing else in this process uses.
        let leaked: Int32 = 947
        try #require(fcntl(leaked, F_GETFD) == -1)
        let devNull = open("/dev/null", O_RDONLY)
        try #require(dup2(devNull, leaked) == leaked)
        close(devNull)
        defer { close(leaked) }
        // Signals 1-31 (glibc keeps its internal 32 and 33 out of posix_spawn's reach).
        func standardSignals(_ name: String, in text: String) -> UInt64? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":\t") }) else { return nil }
            return UInt64(line.dropFirst(name.count + 2), radix: 16).map { $0 & 0x7fff_ffff }
        }
        let status = await Runner().run(["cat", "/proc/self/status"])
        #expect(standardSignals("SigBlk", in: status.stdoutText) == 0, "\(status.stdoutText)")
        #expect(standardSignals("SigIgn", in: status.stdoutText) == 0, "\(status.stdoutText)")
        let fd = await Runner().run(["readlink", "/proc/self/fd/\(leaked)"])
        #expect(fd.termination != .exited(0))
        #expect(fd.stdout.isEmpty)
        // The same for a LineSession's child.
        let session = LineSession(argv: ["/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | tr '\\n' ' '; echo; exec cat"],
                                  runner: Runner(), timeout: .seconds(10), marker: { m in (m, m) })
        let reply = try await session.send(["x"])
        #expect(standardSignals("SigBlk", in: reply.first ?? "") == 0, "\(reply)")
        #expect(standardSignals("SigIgn", in: reply.first ?? "") == 0, "\(reply)")
        #expect(reply.first?.contains(" \(leaked) ") == false, "\(reply)")
        await session.close()
    }

    /// More commands than the pool has threads, each streaming output for a while: a task that
    /// only needs the pool keeps being scheduled (no pool thread is held by a blocking read).
    @Test func streamingCommandsLeaveTheCooperativePoolFree() async throws {
        let runner = Runner()
        let script = "for i in 1 2 3 4 5 6 7 8 9 10; do head -c 200000 /dev/zero; sleep 0.5; done"
        async let results = withTaskGroup(of: CommandResult.self) { group in
            for _ in 0..<8 { group.addTask { await runner.run(CommandSpec(["/bin/sh", "-c", script], timeout: .seconds(60))) } }
            var all: [CommandResult] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(await eventually(timeout: .seconds(10)) { runner.childPIDs.count >= 4 })
        // 20 ticks of 10 ms on the pool while the commands stream (each runs 5 s): a pool whose
        // threads were held by the commands' reads could not run them until the commands ended.
        // Asserted by order, not by a clock: the ticks are done while commands still run.
        for _ in 0..<20 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!runner.childPIDs.isEmpty, "the pool only ran again once every command had ended")
        let all = await results
        #expect(all.count == 8)
        #expect(all.allSatisfy { $0.termination == .exited(0) && $0.stdout.count == 2_000_000 })
    }

    /// A LineSession child that floods stderr while it answers: stderr is drained (the tail
    /// kept), so the child never blocks and the reply still comes.
    @Test func lineSessionDrainsTenMebibytesOfStderr() async throws {
        let session = LineSession(argv: ["/bin/sh", "-c", "head -c 10485760 /dev/zero | tr '\\0' e >&2; exec cat"],
                                  runner: Runner(), timeout: .seconds(60), marker: { m in (m, m) })
        #expect(try await session.send(["after the flood"]) == ["after the flood"])
        let tail = await session.stderrTail
        #expect(tail.utf8.count == SessionProcess.stderrTailLimit)
        #expect(tail.allSatisfy { $0 == "e" })
        await session.close()
    }

    /// A child that never reads its stdin: a batch bigger than the pipe cannot be written, the
    /// session times out (the write does not hold a thread forever) and the child is gone.
    @Test func lineSessionWriteToAChildThatNeverReadsTimesOut() async throws {
        let session = LineSession(argv: ["sleep", "300"], runner: Runner(), timeout: .milliseconds(700), marker: { m in (m, m) })
        let big = String(repeating: "x", count: 1 << 20)
        let t0 = ContinuousClock.now
        do {
            _ = try await session.send([big])
            Issue.record("expected a timeout")
        } catch let error as LineSessionError {
            guard case .timedOut = error else { Issue.record("expected timedOut, got \(error)"); return }
        }
        // Not a speed goal: the send must end (a write blocked on a full pipe must not hang the
        // session). 700 ms timeout plus the kill's grace; 30 s leaves room for a loaded machine
        // (10.7 s seen once with every test group running), a hang would never end.
        #expect(ContinuousClock.now - t0 < .seconds(30))
        #expect(await !session.isRunning)
        await session.close()
    }

    /// Ten mebibytes through a LineSession's stdout in one reply (cat echoes a long line back).
    @Test func lineSessionCarriesALongReply() async throws {
        let session = LineSession(argv: ["cat"], runner: Runner(), timeout: .seconds(60), marker: { m in (m, m) })
        let line = String(repeating: "r", count: 10 << 20)
        let reply = try await session.send([line])
        #expect(reply.count == 1)
        #expect(reply.first?.utf8.count == 10 << 20)
        await session.close()
    }

    /// Fifty thousand reads on one pipe, one byte each: the I/O thread's bookkeeping per read
    /// must not grow (a sink re-wrapped in a thunk on every read made a chain that grew with
    /// each read and overflowed the stack when released).
    @Test func pipeIOServesFiftyThousandReadsOnOnePipe() async throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        let seen = DispatchSemaphore(value: 0)
        let bytes = Locked(0)
        let sink: PipeIO.Sink = { chunk in
            guard let chunk else { return }
            bytes.withLock { $0 += chunk.count }
            seen.signal()
        }
        let io = PipeIO(stdin: nil, outputs: [(fds[0], sink)])
        var one: UInt8 = 1
        let t0 = ContinuousClock.now
        for _ in 0..<50_000 {
            #expect(write(fds[1], &one, 1) == 1)
            seen.wait()  // the next byte only once this one was read on its own
        }
        close(fds[1])
        let ended = await io.ended.wait(timeout: Duration.seconds(10))
        #expect(ended)
        #expect(bytes.current == 50_000)
        print("50000 single-byte reads in \(ContinuousClock.now - t0)")
    }
}
