import Foundation
import Testing
@testable import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

@Suite struct LineSessionTests {
    @Test func redisCliSessionAnswersBatchesInOrderAndRecoversAfterItsChildIsKilled() async throws {
        let recorder = TestRecorder()
        let runner = Runner(recorder: recorder)
        let redis = try await RedisServer.start(runner: runner)
        let session = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], runner: runner, timeout: .seconds(10))
        do {
            let first = try await session.send(["PING", "SET rrb:key \"hello world\"", "GET rrb:key", "INFO server"])
            #expect(first.count == 4)
            #expect(first[0] == "PONG")
            #expect(first[1] == "OK")
            #expect(first[2] == "hello world")
            #expect(first[3].hasPrefix("# Server"))
            #expect(first[3].contains("redis_version:7."))
            #expect(first[3].contains("tcp_port:\(redis.port)"))
            #expect(first[3].split(whereSeparator: \.isNewline).count > 10)  // multi-line reply kept together

            let second = try await session.send(["INCR rrb:n", "INCR rrb:n", "GET rrb:missing", "DBSIZE"])
            #expect(second == ["1", "2", "", "2"])
            #expect(await session.restarts == 0)
            #expect(await session.isRunning)

            // Kill the redis-cli child; the next send restarts it transparently.
            let pid = try #require(await session.pid)
            #expect(kill(pid, SIGKILL) == 0)
            #expect(await eventually(timeout: .seconds(5)) { await !session.isRunning })
            let third = try await session.send(["PING", "GET rrb:key"])
            #expect(third == ["PONG", "hello world"])
            #expect(await session.restarts == 1)
            #expect(await session.pid != pid)
            #expect(!processIsAlive(pid))

            // Every session child went through the runner's recorder.
            #expect(runner.spawnCount >= 3)  // PING probes + 2 session children
            let sessionStarts = recorder.started.filter { $0.1.argv.first == "redis-cli" && $0.1.argv.count == 3 }
            #expect(sessionStarts.count == 2)
        } catch {
            Issue.record("session failed: \(error)")
        }
        let lastPid = await session.pid
        await session.close()
        #expect(await !session.isRunning)
        if let lastPid { #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(lastPid) }) }
        await redis.stop()
        #expect(!processIsAlive(redis.child.pid))
    }

    /// A password-protected redis-server: the prelude (AUTH) goes first to every new child, its
    /// reply is never mixed into a batch's replies, and it is on no command line.
    @Test func preludeAuthenticatesEveryNewChild() async throws {
        let recorder = TestRecorder()
        let runner = Runner(recorder: recorder)
        let redis = try await RedisServer.start(runner: runner)
        defer { Task { await redis.stop() } }
        let password = "p a\"ss\\w0rd"
        let set = await runner.run(["redis-cli", "-p", "\(redis.port)"], timeout: .seconds(5), stdin: Data("CONFIG SET requirepass \"p a\\\"ss\\\\w0rd\"\n".utf8))
        #expect(set.stdoutText.contains("OK"), "\(set.stdoutText) \(set.stderrText)")
        // The marker is an unknown command: its error comes back under NOAUTH too.
        // (redis-cli prints a blank line after an error: each next reply starts with it.)
        func trimmed(_ r: [String]) -> [String] { r.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } }
        let unknown: @Sendable (String) -> (line: String, echo: String) = { u in (u, "ERR unknown command '\(u)', with args beginning with: ") }
        let plain = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], runner: runner, timeout: .seconds(10), marker: unknown)
        #expect(try await plain.send(["PING"]).first?.contains("NOAUTH") == true)
        await plain.close()

        let session = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], runner: runner, timeout: .seconds(10), label: nil,
                                  prelude: ["AUTH \"p a\\\"ss\\\\w0rd\""], marker: unknown)
        let r = trimmed(try await session.send(["PING", "SET rrb:k v"]))
        #expect(r == ["PONG", "OK"], "\(r)")
        #expect(trimmed(await session.preludeReplies) == ["OK"])
        #expect(trimmed(try await session.send(["GET rrb:k"])) == ["v"])
        // The child dies: the new one authenticates again before the batch.
        let pid = try #require(await session.pid)
        kill(pid, SIGKILL)
        #expect(await eventually(timeout: .seconds(5)) { await !session.isRunning })
        #expect(trimmed(try await session.send(["GET rrb:k"])) == ["v"])
        #expect(await session.restarts == 1)
        await session.close()
        // A wrong password: the prelude's error is kept, the commands answer NOAUTH.
        let wrong = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], runner: runner, timeout: .seconds(10), label: nil,
                                prelude: ["AUTH not-it"], marker: unknown)
        #expect(try await wrong.send(["PING"]).first?.contains("NOAUTH") == true)
        #expect(await wrong.preludeReplies.first?.contains("WRONGPASS") == true)
        await wrong.close()
        // A wrong REDISCLI_AUTH: redis-cli only warns on stderr; the session keeps that warning.
        let wrongEnv = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], environment: ["REDISCLI_AUTH": "not-it"], runner: runner,
                                   timeout: .seconds(10), label: nil, marker: unknown)
        #expect(try await wrongEnv.send(["PING"]).first?.contains("NOAUTH") == true)
        let warned = await eventually(timeout: .seconds(5)) { await wrongEnv.stderrTail.contains("AUTH failed: WRONGPASS") }
        let tail = await wrongEnv.stderrTail
        #expect(warned, "\(tail)")
        await wrongEnv.close()
        #expect(!recorder.started.contains { $0.1.argv.joined(separator: " ").contains(password) || $0.1.argv.joined().contains("w0rd") })
    }

    /// Pipelined: lines are written while replies are still owed, the replies come in order
    /// (each framed by its own marker, a refusal included), `endPipeline` drops the replies still
    /// owed so the next send is in step (a send made meanwhile waits for it), and a child killed
    /// mid-pipeline makes `receive` throw and the next send start a fresh child.
    @Test func pipelinedLinesAnswerInOrderAndEndInStep() async throws {
        let redis = try await RedisServer.start(runner: Runner())
        let unknown: @Sendable (String) -> (line: String, echo: String) = { u in (u, "ERR unknown command '\(u)', with args beginning with: ") }
        let session = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], runner: Runner(), timeout: .seconds(10), marker: unknown)
        func trim(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
        func next() async throws -> String { trim(try await session.receive()) }
        do {
            #expect(try await session.beginPipeline())
            try await session.submit(["INCR n", "INCR n", "INCR n"])
            #expect(try await next() == "1")
            try await session.submit(["INCR n", "GET n"])  // written while two replies are owed
            #expect(try await next() == "2")
            #expect(try await next() == "3")
            #expect(try await next() == "4")
            #expect(try await next() == "4")
            try await session.submit(["NOSUCHCOMMAND x", "INCR n"])
            #expect(try await next().hasPrefix("ERR unknown command 'NOSUCHCOMMAND'"))
            #expect(try await next() == "5")
            // One-line replies without markers: a refusal's blank line is skipped, the next lines up.
            try await session.submit(["INCR n", "NOSUCHCOMMAND y", "INCR n"], oneLineReplies: true)
            try await session.submit(["INCR n"])
            #expect(try await session.receive() == "6")
            #expect(try await session.receive().hasPrefix("ERR unknown command 'NOSUCHCOMMAND'"))
            #expect(try await session.receive() == "7")
            #expect(try await next() == "8")
            try await session.submit(["INCR n", "INCR n"], oneLineReplies: true)
            let other = Task { try await session.send(["GET n"]).map(trim) }
            #expect(try await next() == "9")
            await session.endPipeline()  // the second INCR's reply is owed: read and dropped
            #expect(try await other.value == ["10"])
            #expect(await session.restarts == 0)

            #expect(try await session.beginPipeline())
            try await session.submit(["BLPOP rrb:empty 5", "INCR n"])
            let pid = try #require(await session.pid)
            try await Task.sleep(for: .milliseconds(300))
            kill(pid, SIGKILL)
            await #expect(throws: (any Error).self) { _ = try await session.receive() }
            await session.endPipeline()
            #expect(try await session.send(["GET n"]).map(trim) == ["10"])
            #expect(await session.restarts == 1)
        } catch {
            Issue.record("session failed: \(error)")
        }
        await session.close()
        await redis.stop()
    }

    /// One-line replies grouped behind one marker: right replies with and without the blank line
    /// redis-cli prints after an error marker, nil (and a session still in step) when a reply
    /// spans lines, and one marker error per group instead of one per command.
    @Test func oneLineGroupsShareOneMarker() async throws {
        let redis = try await RedisServer.start(runner: Runner())
        let unknown: @Sendable (String) -> (line: String, echo: String) = { u in (u, "ERR unknown command '\(u)', with args beginning with: ") }
        let session = LineSession(argv: ["redis-cli", "-p", "\(redis.port)"], runner: Runner(), timeout: .seconds(10), marker: unknown)
        let opener = (line: "ECHO __grp__", echo: "__grp__")
        func errCount() async throws -> Int {
            let info = try await session.send(["INFO errorstats"]).first ?? ""
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("errorstat_ERR:") } ?? ""
            return Int(line.split(separator: "=").dropFirst().first?.split(separator: ",").first ?? "0") ?? 0
        }
        do {
            // First exchange of the session: no blank line before the group's output.
            let first = try await session.sendOneLineEach(["LLEN q", "HGET h f", "INCR n", "INCR n"], opener: opener)
            #expect(first == ["0", "", "1", "2"])
            // After a marker error (a blank line follows it) the group still lines up.
            _ = try await session.send(["SET s \"two\\nlines\""])
            let before = try await errCount()
            let second = try await session.sendOneLineEach(["INCR n", "GET missing", "LLEN q", "INCR n", "DBSIZE"], opener: opener)
            #expect(second == ["3", "", "0", "4", "2"])
            let after = try await errCount()
            #expect(after - before == 2, "one marker for the group (plus the INFO's own), not five: \(before) -> \(after)")
            // A reply of two lines (a value holding a newline; an error) gives nil, and the
            // session stays in step for the next exchange.
            #expect(try await session.sendOneLineEach(["INCR n", "GET s"], opener: opener) == nil)
            #expect(try await session.sendOneLineEach(["LLEN s", "INCR n"], opener: opener) == nil)
            let plain = try await session.send(["GET n", "PING"]).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect(plain == ["6", "PONG"])
            #expect(try await session.sendOneLineEach(["GET n"], opener: opener) == ["6"])
        } catch {
            Issue.record("session failed: \(error)")
        }
        await session.close()
        await redis.stop()
    }

    @Test func sessionWithIdentityMarkerOverCat() async throws {
        let session = LineSession(argv: ["cat"], runner: Runner(), timeout: .seconds(10), marker: { m in (m, m) })
        let replies = try await session.send(["alpha", "beta gamma", "", "multi\nline"])
        #expect(replies == ["alpha", "beta gamma", "", "multi line"])
        let again = try await session.send(["delta"])
        #expect(again == ["delta"])
        #expect(try await session.send([]) == [])
        await session.close()
        await #expect(throws: LineSessionError.self) { try await session.send(["x"]) }
    }

    @Test func childThatNeverAnswersTimesOutAndItsGroupIsGone() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/gc.pid"
        let runner = Runner()
        let session = LineSession(argv: ["/bin/sh", "-c", "sleep 300 & echo $! > \(pidFile); exec cat > /dev/null"],
                                  runner: runner, timeout: .milliseconds(700))
        do {
            _ = try await session.send(["PING"])
            Issue.record("expected a timeout")
        } catch let error as LineSessionError {
            guard case .timedOut(let after) = error else {
                Issue.record("expected timedOut, got \(error)")
                return
            }
            #expect(after == .milliseconds(700))
            #expect(error.description.contains("timed out"))
        }
        let grandchild = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(grandchild) })
        #expect(await !session.isRunning)
        #expect(await session.pid == nil)

        // The next send restarts the child (and, as it never answers, times out again).
        await #expect(throws: LineSessionError.self) { try await session.send(["PING"]) }
        #expect(await session.restarts == 1)
        await session.close()
    }

    @Test func childThatExitsReportsItsStatusAndStderrTail() async throws {
        let session = LineSession(argv: ["/bin/sh", "-c", "echo 'connection refused' >&2; exit 4"], runner: Runner(), timeout: .seconds(10))
        do {
            _ = try await session.send(["PING"])
            Issue.record("expected childExited")
        } catch let error as LineSessionError {
            guard case .childExited(let termination, let tail) = error else {
                Issue.record("expected childExited, got \(error)")
                return
            }
            #expect(termination == .exited(4))
            #expect(tail.contains("connection refused"))
            #expect(error.description.contains("connection refused"))
        }
        #expect(await !session.isRunning)
        await session.close()
    }

    @Test func missingExecutableFailsToStart() async {
        let recorder = TestRecorder()
        let session = LineSession(argv: ["rrb-no-such-cli"], runner: Runner(recorder: recorder))
        do {
            _ = try await session.send(["PING"])
            Issue.record("expected failedToStart")
        } catch let error as LineSessionError {
            guard case .failedToStart(let why) = error else {
                Issue.record("expected failedToStart, got \(error)")
                return
            }
            #expect(why.contains("rrb-no-such-cli"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(recorder.finished.count == 1)
    }

    @Test func droppingASessionWithoutCloseStillEndsItsChild() async throws {
        var session: LineSession? = LineSession(argv: ["cat"], runner: Runner(), timeout: .seconds(10), marker: { m in (m, m) })
        #expect(try await session?.send(["x"]) == ["x"])
        let pid = try #require(await session?.pid)
        #expect(processIsAlive(pid))
        session = nil
        #expect(await eventually(timeout: .seconds(5)) { !processIsAlive(pid) })
    }

    @Test func concurrentSendsAreSerializedAndEachGetsItsOwnReplies() async throws {
        let session = LineSession(argv: ["cat"], runner: Runner(), timeout: .seconds(10), marker: { m in (m, m) })
        let results = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for i in 0..<8 {
                group.addTask { (i, try await session.send(["a\(i)", "b\(i)", "c\(i)"])) }
            }
            var all: [Int: [String]] = [:]
            for try await (i, r) in group { all[i] = r }
            return all
        }
        for i in 0..<8 { #expect(results[i] == ["a\(i)", "b\(i)", "c\(i)"]) }
        await session.close()
    }
}
