import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum LineSessionError: Error, Sendable, CustomStringConvertible {
    /// The child is killed (whole group) and reaped; the next send restarts it.
    case timedOut(after: Duration)
    case childExited(Termination, stderrTail: String)
    case failedToStart(String)

    public var description: String {
        switch self {
        case .timedOut(let d): return "line session timed out after \(d.seconds) s (child killed; it restarts on the next send)"
        case .childExited(let t, let tail):
            let trimmed = tail.trimmingCharacters(in: .whitespacesAndNewlines)
            return "line session child \(t)" + (trimmed.isEmpty ? "" : ": \(trimmed)")
        case .failedToStart(let why): return "line session failed to start: \(why)"
        }
    }
}

/// A long-lived child (e.g. `kubectl exec -i redis-0 -c redis -- redis-cli`) that takes lines on
/// stdin. Each line sent is followed by a marker line; the reply to that line is everything the
/// child printed on stdout before the marker's echo. Dead child => restarted on the next send.
public actor LineSession {
    public let argv: [String]
    public let environment: [String: String]
    public let timeout: Duration
    public let startTimeout: Duration
    private let runner: Runner
    private let marker: @Sendable (String) -> (line: String, echo: String)
    private let label: String?
    /// Lines sent to every new child before anything else, their replies dropped (redis-cli's
    /// `AUTH`): never in argv, never in a reply, never handed to the recorder.
    private let prelude: [String]

    private var process: SessionProcess?
    private var preludePending = false
    /// What the current child answered to the prelude (e.g. `OK`, or a WRONGPASS error).
    public private(set) var preludeReplies: [String] = []
    private var starts = 0
    private var closed = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var markerCounter: UInt64 = 0
    private let sessionTag: String
    /// The child of the pipelined exchange in progress (`beginPipeline`), and the replies it
    /// still owes, oldest first: a marker's echo, or nil for a line whose reply is one line.
    private var pipeProc: SessionProcess?
    private var pipeEchoes: [String?] = []
    private var pipeHead = 0
    private var pipeLimit: Duration = .zero

    public init(argv: [String], environment: [String: String] = [:], runner: Runner, timeout: Duration = .seconds(5),
                marker: @escaping @Sendable (String) -> (line: String, echo: String) = { m in ("ECHO \(m)", m) }) {
        self.init(argv: argv, environment: environment, runner: runner, timeout: timeout, label: nil, marker: marker)
    }

    /// Same, with a label for the recorder (e.g. "session:redis-cli").
    /// `startTimeout`: the limit of the first batch of a freshly started child, which also waits
    /// for the child to start and connect (a `kubectl exec` on a loaded machine can take longer
    /// than a reply should); nil: `timeout`.
    public init(argv: [String], environment: [String: String] = [:], runner: Runner, timeout: Duration = .seconds(5),
                startTimeout: Duration? = nil, label: String?, prelude: [String] = [],
                marker: @escaping @Sendable (String) -> (line: String, echo: String) = { m in ("ECHO \(m)", m) }) {
        self.startTimeout = max(startTimeout ?? timeout, timeout)
        self.argv = argv
        self.prelude = prelude
        self.environment = environment
        self.runner = runner
        self.timeout = timeout
        self.marker = marker
        self.label = label
        self.sessionTag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// A session dropped without `close()` still takes its child down (the child is reaped by its own task).
    deinit {
        if let process {
            process.queue.interrupt()
            process.handle.send(SIGKILL)
        }
    }

    /// How many times the child was (re)started after the first.
    public var restarts: Int { max(0, starts - 1) }

    /// True while a child is alive (a killed child that is not yet noticed counts as not running).
    public var isRunning: Bool {
        guard let process else { return false }
        return process.isAlive
    }

    /// The last 4 KiB the current child wrote on stderr (e.g. redis-cli's "AUTH failed: ..." warning).
    public var stderrTail: String { process?.stderrTail ?? "" }

    /// The current child's pid (the group leader), if one was started and has not been torn down.
    public var pid: Int32? { process?.handle.pid }

    /// One reply per line, in order; each reply is the child's stdout text for that line with the trailing newline removed.
    public func send(_ lines: [String]) async throws -> [String] {
        try await send(lines, markerAfterEach: true)
    }

    /// For commands whose replies are one line each (counts, single values): the group is sent
    /// with ONE marker after it instead of one after every line, about half the round trips of
    /// `send`. `opener` is a command that answers exactly `echo` on one line (for redis-cli:
    /// `ECHO <unique>`); it anchors the group's output, which may start with a blank line the
    /// child printed after the previous marker. Returns the replies when the output is exactly
    /// one line per command, else nil (a reply of several lines: a value holding a newline, or
    /// an error, which redis-cli follows with an empty line); the caller then uses `send`.
    public func sendOneLineEach(_ lines: [String], opener: (line: String, echo: String)) async throws -> [String]? {
        if lines.isEmpty { return [] }
        guard let out = try await send([opener.line] + lines, markerAfterEach: false).first else { return nil }
        var parts = out.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        if parts.count > 1, parts[0].isEmpty, parts[1] == opener.echo { parts.removeFirst() }
        guard parts.first == opener.echo else { return nil }
        parts.removeFirst()
        return parts.count == lines.count ? parts : nil
    }

    private func send(_ lines: [String], markerAfterEach: Bool) async throws -> [String] {
        await acquire()
        defer { release() }
        guard !closed else { throw LineSessionError.failedToStart("session is closed") }
        if lines.isEmpty { return [] }

        let batch = payload(lines, markerAfterEach: markerAfterEach)
        var attempt = 0
        while true {
            attempt += 1
            let fresh = process?.isAlive != true
            let proc = try await ensureRunning()
            let limit = fresh ? startTimeout : timeout
            var bytes = batch.bytes, echoes = batch.echoes, skip = 0
            if preludePending {
                preludePending = false
                let first = payload(prelude, markerAfterEach: true)
                bytes = first.bytes + bytes
                echoes = first.echoes + echoes
                skip = first.echoes.count
            }
            let outcome = await Self.exchangeWithTimeout(proc, bytes: bytes, echoes: echoes.map { Optional($0) }, timeout: limit)
            switch outcome {
            case .replies(let replies):
                if skip > 0 { preludeReplies = Array(replies.prefix(skip)) }
                return Array(replies.dropFirst(skip))
            case .timedOut:
                process = nil
                throw LineSessionError.timedOut(after: limit)
            case .cancelled:
                process = nil
                throw CancellationError()
            case .writeFailed where attempt == 1:
                // Nothing of this batch reached the child (its stdin is closed): restart and resend once.
                _ = await proc.finish(grace: terminationGrace)
                process = nil
                continue
            case .ended, .writeFailed:
                let termination = await proc.finish(grace: terminationGrace)
                process = nil
                throw LineSessionError.childExited(termination, stderrTail: proc.stderrTail)
            }
        }
    }

    // MARK: - Pipelined exchange

    /// Starts a pipelined exchange: lines given to `submit` are written at once, without waiting
    /// for the replies owed before them, and `receive` hands the replies out in order, each one
    /// framed by its own marker as in `send`. The child works through its stdin while the replies
    /// travel back, so the server never waits for this side between two lines. The session is
    /// held (other sends wait) until `endPipeline`, which every caller must reach. Starts (or
    /// restarts) the child and sends the prelude like `send`. Returns true (pipelining supported).
    public func beginPipeline() async throws -> Bool {
        await acquire()
        guard !closed else { release(); throw LineSessionError.failedToStart("session is closed") }
        do {
            let fresh = process?.isAlive != true
            let proc = try await ensureRunning()
            pipeLimit = fresh ? startTimeout : timeout
            pipeEchoes = []
            pipeHead = 0
            if preludePending {
                preludePending = false
                let first = payload(prelude, markerAfterEach: true)
                switch await Self.exchangeWithTimeout(proc, bytes: first.bytes, echoes: first.echoes.map { Optional($0) }, timeout: pipeLimit) {
                case .replies(let replies): preludeReplies = replies
                case .timedOut: process = nil; throw LineSessionError.timedOut(after: pipeLimit)
                case .cancelled: process = nil; throw CancellationError()
                case .ended, .writeFailed:
                    let termination = await proc.finish(grace: terminationGrace)
                    process = nil
                    throw LineSessionError.childExited(termination, stderrTail: proc.stderrTail)
                }
                pipeLimit = timeout
            }
            pipeProc = proc
            return true
        } catch {
            release()
            throw error
        }
    }

    /// Writes lines (each followed by its marker) into the pipelined exchange; their replies come
    /// from `receive`, after the replies still owed.
    ///
    /// `oneLineReplies`: the caller knows each line's reply is exactly one non-empty line (an
    /// error reply included, after which redis-cli prints a blank line, skipped): no marker is
    /// written, which halves the commands the child runs. A reply of several lines would put the
    /// exchange out of step: only for commands whose replies are one line by construction.
    public func submit(_ lines: [String], oneLineReplies: Bool = false) async throws {
        guard let proc = pipeProc else { throw LineSessionError.failedToStart("no pipelined exchange in progress") }
        if lines.isEmpty { return }
        let batch: (bytes: [UInt8], echoes: [String?])
        if oneLineReplies {
            batch = (Array(lines.map { Self.oneLine($0) + "\n" }.joined().utf8), Array(repeating: nil, count: lines.count))
        } else {
            let framed = payload(lines, markerAfterEach: true)
            batch = (framed.bytes, framed.echoes.map { Optional($0) })
        }
        pipeEchoes.append(contentsOf: batch.echoes)
        do {
            try await proc.io.write(batch.bytes)
        } catch {
            let termination = await proc.finish(grace: terminationGrace)
            pipeProc = nil
            process = nil
            throw LineSessionError.childExited(termination, stderrTail: proc.stderrTail)
        }
    }

    /// The next reply owed in the pipelined exchange (the session's timeout applies to each; on a
    /// timeout or cancellation the child is killed, as in `send`).
    public func receive() async throws -> String {
        guard let proc = pipeProc, pipeHead < pipeEchoes.count else {
            throw LineSessionError.failedToStart("no reply is owed in the pipelined exchange")
        }
        let echo = pipeEchoes[pipeHead]
        pipeHead += 1
        if pipeHead > 256, pipeHead * 2 > pipeEchoes.count { pipeEchoes.removeFirst(pipeHead); pipeHead = 0 }
        let outcome = await Self.exchangeWithTimeout(proc, bytes: [], echoes: [echo], timeout: pipeLimit)
        pipeLimit = timeout
        switch outcome {
        case .replies(let replies):
            return replies.first ?? ""
        case .timedOut:
            pipeProc = nil; process = nil
            throw LineSessionError.timedOut(after: pipeLimit)
        case .cancelled:
            pipeProc = nil; process = nil
            throw CancellationError()
        case .ended, .writeFailed:
            let termination = await proc.finish(grace: terminationGrace)
            pipeProc = nil; process = nil
            throw LineSessionError.childExited(termination, stderrTail: proc.stderrTail)
        }
    }

    /// Ends the pipelined exchange and frees the session. Replies still owed are read and
    /// dropped so the next `send` starts in step; when they do not come (timeout, cancellation,
    /// the child gone), the child is killed and the next send starts a fresh one.
    public func endPipeline() async {
        if let proc = pipeProc, pipeHead < pipeEchoes.count {
            let owed = Array(pipeEchoes[pipeHead...])
            switch await Self.exchangeWithTimeout(proc, bytes: [], echoes: owed, timeout: timeout) {
            case .replies: break
            case .timedOut, .cancelled: process = nil
            case .ended, .writeFailed:
                _ = await proc.finish(grace: terminationGrace)
                process = nil
            }
        }
        pipeProc = nil
        pipeEchoes = []
        pipeHead = 0
        release()
    }

    /// Closes stdin, waits briefly for the child to exit, then kills its group. The session stays closed.
    public func close() async {
        await acquire()
        defer { release() }
        closed = true
        if let proc = process {
            process = nil
            proc.io.closeInput()
            _ = await proc.finish(grace: terminationGrace)
        }
    }

    // MARK: - Internals

    private enum Exchange: Sendable {
        case replies([String])
        case writeFailed
        case ended
        case timedOut
        case cancelled
    }

    /// Writes the batch and collects the replies, racing the session timeout. On timeout or
    /// cancellation the child's group is killed and reaped before this returns.
    private static func exchangeWithTimeout(_ proc: SessionProcess, bytes: [UInt8], echoes: [String?], timeout: Duration) async -> Exchange {
        await withTaskGroup(of: Exchange.self) { group in
            group.addTask { await Self.exchange(proc, bytes: bytes, echoes: echoes) }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return .cancelled }
                return .timedOut
            }
            let first = await group.next() ?? .cancelled
            switch first {
            case .replies, .ended, .writeFailed:
                break
            case .timedOut, .cancelled:
                // The reply stream is now out of step: kill the child (whole group) so the exchange ends.
                proc.queue.interrupt()
                await proc.terminate()
            }
            group.cancelAll()
            await group.waitForAll()
            return first
        }
    }

    /// Each echo: the marker line that ends a reply, or nil for a reply of one non-empty line.
    private static func exchange(_ proc: SessionProcess, bytes: [UInt8], echoes: [String?]) async -> Exchange {
        if !bytes.isEmpty {
            do {
                try await proc.io.write(bytes)
            } catch {
                return .writeFailed
            }
        }
        var replies: [String] = []
        replies.reserveCapacity(echoes.count)
        for echo in echoes {
            var collected: [String] = []
            while true {
                switch await proc.queue.next() {
                case .line(let line):
                    guard let echo else {
                        let text = line.hasSuffix("\r") ? String(line.dropLast()) : line
                        if text.isEmpty { continue }
                        replies.append(text)
                        break
                    }
                    if line == echo || (line.hasSuffix("\r") && line.dropLast() == echo[...]) {
                        replies.append(collected.joined(separator: "\n"))
                        collected = []
                    } else {
                        collected.append(line)
                        continue
                    }
                case .eof:
                    return .ended
                case .interrupted:
                    return .cancelled
                }
                break
            }
        }
        return .replies(replies)
    }

    /// The lines, each made one line, with a marker after each (or only after the last).
    private func payload(_ lines: [String], markerAfterEach: Bool) -> (bytes: [UInt8], echoes: [String]) {
        var echoes: [String] = []
        var text = ""
        for (i, line) in lines.enumerated() {
            text += Self.oneLine(line) + "\n"
            guard markerAfterEach || i == lines.count - 1 else { continue }
            markerCounter += 1
            let m = marker("__rrb_\(sessionTag)_\(markerCounter)__")
            echoes.append(m.echo)
            text += Self.oneLine(m.line) + "\n"
        }
        return (Array(text.utf8), echoes)
    }

    private static func oneLine(_ s: String) -> String {
        guard s.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        return String(s.map { ($0 == "\n" || $0 == "\r" || $0 == "\r\n") ? " " : $0 })
    }

    private func ensureRunning() async throws -> SessionProcess {
        if let proc = process {
            if proc.isAlive { return proc }
            // Died between sends: reap it, then start a fresh one.
            _ = await proc.finish(grace: terminationGrace)
            process = nil
        }
        let spec = CommandSpec(argv, environment: environment, timeout: timeout, label: label ?? "line-session")
        let proc = try await SessionProcess.start(spec: spec, runner: runner)
        starts += 1
        process = proc
        preludePending = !prelude.isEmpty
        return proc
    }

    private func acquire() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// Lines read from a child's stdout, handed to one consumer at a time.
final class LineQueue: @unchecked Sendable {
    enum Item: Sendable { case line(String), eof, interrupted }

    private let lock = NSLock()
    private var lines: [String] = []
    private var head = 0
    private var ended = false
    private var interruptPending = false
    private var waiter: CheckedContinuation<Item, Never>?
    private var partial = Data()

    /// Feeds raw bytes; complete lines (split on "\n", the "\n" dropped) become items.
    func feed(_ raw: UnsafeRawBufferPointer) {
        var complete: [String] = []
        lock.lock()
        var start = raw.startIndex
        for i in raw.indices where raw[i] == 0x0A {
            partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<i]))
            complete.append(String(decoding: partial, as: UTF8.self))
            partial.removeAll(keepingCapacity: true)
            start = i + 1
        }
        if start < raw.endIndex { partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<raw.endIndex])) }
        lines.append(contentsOf: complete)
        let w = deliverLocked()
        lock.unlock()
        w?.0.resume(returning: w!.1)
    }

    func finish() {
        lock.lock()
        if !partial.isEmpty {
            lines.append(String(decoding: partial, as: UTF8.self))
            partial.removeAll()
        }
        ended = true
        let w = deliverLocked()
        lock.unlock()
        w?.0.resume(returning: w!.1)
    }

    /// Wakes the current consumer with `.interrupted` (or the next one, if none waits).
    func interrupt() {
        lock.lock()
        let w = waiter
        waiter = nil
        if w == nil { interruptPending = true }
        lock.unlock()
        w?.resume(returning: .interrupted)
    }

    func next() async -> Item {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Item, Never>) in
                lock.lock()
                if Task.isCancelled || interruptPending {
                    interruptPending = false
                    lock.unlock()
                    c.resume(returning: .interrupted)
                    return
                }
                waiter = c
                let w = deliverLocked()
                lock.unlock()
                w?.0.resume(returning: w!.1)
            }
        } onCancel: {
            interrupt()
        }
    }

    var isEnded: Bool { lock.lock(); defer { lock.unlock() }; return ended }

    /// Must hold the lock. Returns the waiter to resume (outside the lock) and its item.
    private func deliverLocked() -> (CheckedContinuation<Item, Never>, Item)? {
        guard let w = waiter else { return nil }
        if head < lines.count {
            let line = lines[head]
            head += 1
            if head > 1024 && head * 2 > lines.count { lines.removeFirst(head); head = 0 }
            waiter = nil
            return (w, .line(line))
        }
        if ended {
            waiter = nil
            return (w, .eof)
        }
        return nil
    }
}

/// One running child of a LineSession.
final class SessionProcess: Sendable {
    let child: PipedChild
    let queue: LineQueue
    let task: Task<Termination, Never>
    private let tail: Locked<Data>

    private init(child: PipedChild, queue: LineQueue, task: Task<Termination, Never>, tail: Locked<Data>) {
        self.child = child
        self.queue = queue
        self.task = task
        self.tail = tail
    }

    var handle: GroupHandle { child.handle }
    var io: PipeIO { child.io }
    var stderrTail: String { lossyText(tail.current) }

    var isAlive: Bool {
        if handle.isRetired || queue.isEnded { return false }
        return !childHasExited(handle.pid)
    }

    static let stderrTailLimit = 4096

    static func start(spec: CommandSpec, runner: Runner) async throws -> SessionProcess {
        let id = nextCommandID()
        runner.recorder?.commandStarted(id: id, spec: spec)
        let startTime = ContinuousClock.now
        let queue = LineQueue()
        let tail = Locked(Data())
        let child: PipedChild
        let started = PipedChild.start(spec, runner: runner, stdin: true, stdout: { chunk in
            if let chunk { queue.feed(chunk) } else { queue.finish() }
        }, stderr: { chunk in
            guard let chunk else { return }
            tail.withLock { t in
                t.append(contentsOf: chunk)
                if t.count > stderrTailLimit { t.removeFirst(t.count - stderrTailLimit) }
            }
        })
        switch started {
        case .failure(let error):
            runner.recorder?.commandFinished(id: id, result: CommandResult(spec: spec, termination: .failedToStart(error.message),
                                                                           duration: ContinuousClock.now - startTime))
            throw LineSessionError.failedToStart(error.message)
        case .success(let c): child = c
        }
        let task = Task.detached { () -> Termination in
            await OneShot.first(of: [child.io.outputEnded, child.exited])
            child.io.closeInput()
            // Output is closed. Give the leader a moment to exit on its own, then make sure.
            if !(await child.exited.wait(timeout: terminationGrace)) {
                child.terminate()
                await child.exited.wait()
            }
            let termination = await child.reap()
            queue.finish()
            runner.recorder?.commandFinished(id: id, result: CommandResult(
                spec: spec, termination: termination, stderr: tail.current,
                duration: ContinuousClock.now - startTime, pid: child.pid))
            return termination
        }
        return SessionProcess(child: child, queue: queue, task: task, tail: tail)
    }

    /// SIGTERM the group, SIGKILL after the grace; returns once the child is reaped.
    func terminate() async {
        child.terminate()
        _ = await task.value
    }

    /// Waits up to `grace` for the child to end by itself (stdin closed or already dead), then terminates it.
    func finish(grace: Duration) async -> Termination {
        if !(await child.exited.wait(timeout: grace)) {
            await terminate()
        }
        return await task.value
    }
}
