import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child with pipes on 0, 1 and 2, started through `Child`'s posix_spawn, for a Runner's
/// one-shot commands and a LineSession's child alike. Its pipes are served by one I/O thread
/// (`PipeIO`) and its exit is noticed by one waiting thread, so nothing here blocks a thread of
/// the Swift cooperative pool. It is counted as `runner`'s spawn and registered in
/// `ChildRegistry` (its `GroupHandle`) until `reap`.
final class PipedChild: Sendable {
    let child: Child
    let handle: GroupHandle
    let io: PipeIO
    /// Fires once the leader has exited. It stays unreaped (a zombie) until `reap`, so its
    /// process group id cannot be reused while anything here may signal it.
    let exited: OneShot

    var pid: pid_t { child.pid }

    private init(child: Child, handle: GroupHandle, io: PipeIO, exited: OneShot) {
        self.child = child
        self.handle = handle
        self.io = io
        self.exited = exited
    }

    /// Starts `spec` (argv, environment overrides and removals, working directory; stdin a pipe
    /// when `stdin` is true, else /dev/null). `stdout` and `stderr` get every chunk read, then
    /// nil at the end of the stream, on the I/O thread. Records nothing: the caller does.
    static func start(_ spec: CommandSpec, runner: Runner, stdin: Bool,
                      stdout: @escaping PipeIO.Sink, stderr: @escaping PipeIO.Sink) -> Result<PipedChild, ChildSpawnError> {
        let started: (child: Child, pipes: Child.Pipes)
        do {
            started = try Child.withPipes(spec.argv, stdin: stdin) { stdio in
                try Child.spawn(spec.argv, environment: spec.childEnvironment, searchPath: spec.effectivePATH,
                                workingDirectory: spec.workingDirectory, stdio: stdio, newProcessGroup: true,
                                recorder: nil, spec: spec)
            }
        } catch let error as ChildSpawnError {
            return .failure(error)
        } catch {
            return .failure(ChildSpawnError(argv: spec.argv, reason: "\(error)"))
        }
        runner.noteSpawn()
        let handle = GroupHandle(pid: started.child.pid, owner: ObjectIdentifier(runner))
        let io = PipeIO(stdin: started.pipes.stdin, outputs: [(started.pipes.stdout, stdout), (started.pipes.stderr, stderr)])
        return .success(PipedChild(child: started.child, handle: handle, io: io, exited: watchExit(of: started.child.pid)))
    }

    /// SIGTERM to the group now, SIGKILL after `grace` unless the leader has exited by then.
    /// Returns at once (a timer sends the SIGKILL), so it works from a cancelled task too.
    func terminate(grace: Duration = terminationGrace) {
        handle.send(SIGTERM)
        let (handle, exited) = (self.handle, self.exited)
        DispatchQueue.global().asyncAfter(deadline: .now() + grace.dispatchInterval) {
            if !exited.isFired { handle.send(SIGKILL) }
        }
    }

    /// After the leader exited: kills what is left of its group (a short command leaves nothing
    /// behind), lets the pipes drain to their end (bounded: a descendant that left the group may
    /// hold them), retires the group handle and reaps the leader.
    func reap() async -> Termination {
        await exited.wait()
        if processGroupExists(pid) { handle.send(SIGKILL) }
        if !(await io.ended.wait(timeout: .seconds(2))) {
            io.abandon()
            await io.ended.wait()
        }
        handle.retire()
        return child.poll() ?? child.wait()
    }
}

/// Serves a child's pipes from one dedicated thread with poll(2): reads stdout and stderr to
/// their ends (each chunk handed to its sink, never blocking the child) and writes what is
/// queued for stdin, closing it when asked. EPIPE on stdin fails the pending writes and closes
/// it; nothing else. Every descriptor given is owned (and closed) by this object.
final class PipeIO: @unchecked Sendable {
    /// Called on the I/O thread with each chunk read, then once with nil at the end of the stream.
    typealias Sink = @Sendable (UnsafeRawBufferPointer?) -> Void

    struct InputClosed: Error, CustomStringConvertible {
        var description: String { "the child's stdin is closed" }
    }

    /// Both outputs reached their end (or were abandoned).
    let outputEnded = OneShot()
    /// Every descriptor is closed and every sink has had its nil: the thread is done.
    let ended = OneShot()

    /// One output pipe. A class, so its sink is stored once: a closure moved in and out of a
    /// generic container on every loop is re-wrapped in a thunk each time (unoptimized builds),
    /// and that chain grows with every read until releasing it overflows the stack.
    private final class Output {
        let fd: Int32
        let sink: Sink
        init(fd: Int32, sink: @escaping Sink) { self.fd = fd; self.sink = sink }
    }

    private struct Pending {
        var bytes: [UInt8]
        var written = 0
        var done: CheckedContinuation<Void, any Error>?
    }

    private let lock = NSLock()
    // Guarded by `lock`.
    private var pending: [Pending] = []
    private var inputOpen: Bool
    private var closeInputRequested = false
    private var abandoned = false
    private var wakeWrite: Int32 = -1
    // Only touched by the I/O thread (after `init`).
    private var stdinFD: Int32?
    private var outputs: [Output]
    private var wakeRead: Int32 = -1

    init(stdin: Int32?, outputs: [(Int32, Sink)]) {
        _ = ignoreSIGPIPEOnce
        self.stdinFD = stdin
        self.inputOpen = stdin != nil
        self.outputs = outputs.map { Output(fd: $0.0, sink: $0.1) }
        var wake: [Int32] = [-1, -1]
        if pipe(&wake) == 0 {
            (wakeRead, wakeWrite) = (wake[0], wake[1])
            for fd in wake { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        // Without a wake pipe (out of descriptors) the loop polls every 20 ms instead.
        for fd in [wakeRead, wakeWrite, stdin ?? -1] + outputs.map(\.0) where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        startThread { [self] in run() }
    }

    /// Queues `bytes` for stdin; returns once all of them are written. Throws when stdin is
    /// closed (never opened, closed by `closeInput`, or the child's end is gone: EPIPE).
    func write(_ bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            if !enqueue(bytes, done: c) { c.resume(throwing: InputClosed()) }
        }
    }

    /// Queues `bytes` for stdin without waiting for them (a Runner's input; errors are harmless).
    func send(_ bytes: [UInt8]) { _ = enqueue(bytes, done: nil) }

    /// Closes stdin once everything queued is written.
    func closeInput() {
        lock.withLock {
            closeInputRequested = true
            wakeLocked()
        }
    }

    /// Stops serving: pending writes fail, every descriptor is closed, each open output's sink
    /// gets its nil. For pipes held open by a process outside the child's group.
    func abandon() {
        lock.withLock {
            abandoned = true
            wakeLocked()
        }
    }

    private func enqueue(_ bytes: [UInt8], done: CheckedContinuation<Void, any Error>?) -> Bool {
        lock.withLock {
            guard inputOpen, !closeInputRequested, !abandoned else { return false }
            if bytes.isEmpty {
                done?.resume()
            } else {
                pending.append(Pending(bytes: bytes, done: done))
                wakeLocked()
            }
            return true
        }
    }

    private func wakeLocked() {
        guard wakeWrite >= 0 else { return }
        var byte: UInt8 = 1
        _ = writeFD(wakeWrite, &byte, 1)  // a full wake pipe (EAGAIN) already wakes the loop
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let (stop, wantWrite): (Bool, Bool) = lock.withLock {
                if closeInputRequested, pending.isEmpty, let fd = stdinFD {
                    close(fd)
                    stdinFD = nil
                    inputOpen = false
                }
                return (abandoned, stdinFD != nil && !pending.isEmpty)
            }
            if stop { break }
            if outputs.isEmpty {
                outputEnded.fire()
                if stdinFD == nil { break }
            }
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for o in outputs { fds.append(pollfd(fd: o.fd, events: Int16(POLLIN), revents: 0)) }
            if wantWrite, let fd = stdinFD { fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            let rc = poll(&fds, nfds_t(fds.count), wakeRead >= 0 ? -1 : 20)
            if rc < 0 {
                if errno != EINTR { usleep(10_000) }  // ENOMEM: try again shortly
                continue
            }
            if fds[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &sink, sink.count) > 0 {}
            }
            var open: [Output] = []
            for (i, o) in outputs.enumerated() {
                guard fds[1 + i].revents != 0 else { open.append(o); continue }
                let n = read(o.fd, &buffer, buffer.count)
                if n > 0 {
                    buffer.withUnsafeBytes { o.sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    open.append(o)
                } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                    open.append(o)
                } else {
                    close(o.fd)  // end of stream (or a read error: the same to the reader)
                    o.sink(nil)
                }
            }
            outputs = open
            if wantWrite, let last = fds.last, last.revents != 0 { writeSome() }
        }
        // Done (or abandoned): fail what was not written, close everything, end every stream.
        let failed: [Pending] = lock.withLock {
            let p = pending
            pending = []
            inputOpen = false
            if wakeWrite >= 0 { close(wakeWrite); wakeWrite = -1 }
            return p
        }
        for p in failed { p.done?.resume(throwing: InputClosed()) }
        if let fd = stdinFD { close(fd); stdinFD = nil }
        for o in outputs { close(o.fd); o.sink(nil) }
        outputs = []
        if wakeRead >= 0 { close(wakeRead); wakeRead = -1 }
        outputEnded.fire()
        ended.fire()
    }

    /// One write of the first queued chunk (stdin is non-blocking and polled writable).
    private func writeSome() {
        guard let fd = stdinFD else { return }
        let (bytes, offset) = lock.withLock { (pending[0].bytes, pending[0].written) }
        let n = bytes.withUnsafeBytes { raw in
            writeFD(fd, raw.baseAddress! + offset, min(raw.count - offset, 64 << 10))
        }
        if n >= 0 {
            let done: Pending? = lock.withLock {
                pending[0].written += n
                return pending[0].written == pending[0].bytes.count ? pending.removeFirst() : nil
            }
            done?.done?.resume()
        } else if errno != EAGAIN && errno != EINTR {
            // EPIPE: the child's end is gone; what is queued can never be read.
            let failed: [Pending] = lock.withLock {
                let p = pending
                pending = []
                inputOpen = false
                return p
            }
            close(fd)
            stdinFD = nil
            for p in failed { p.done?.resume(throwing: InputClosed()) }
        }
    }
}

/// Fires once; any number of tasks wait for it, with or without a time limit. Waiting never
/// depends on task cancellation (a command torn down from a cancelled task still waits).
final class OneShot: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
    private var observers: [@Sendable () -> Void] = []
    private var nextID = 0

    func fire() {
        let (w, o): ([CheckedContinuation<Bool, Never>], [@Sendable () -> Void]) = lock.withLock {
            guard !fired else { return ([], []) }
            fired = true
            defer { waiters = [:]; observers = [] }
            return (Array(waiters.values), observers)
        }
        for c in w { c.resume(returning: true) }
        for f in o { f() }
    }

    var isFired: Bool { lock.withLock { fired } }

    func wait() async { _ = await wait(limit: nil) }

    /// True when it fired within `timeout`.
    func wait(timeout: Duration) async -> Bool { await wait(limit: timeout) }

    /// Waits until the first of `shots` fires.
    static func first(of shots: [OneShot]) async {
        let any = OneShot()
        for s in shots { s.observe { any.fire() } }
        await any.wait()
    }

    private func observe(_ body: @escaping @Sendable () -> Void) {
        let now: Bool = lock.withLock {
            if fired { return true }
            observers.append(body)
            return false
        }
        if now { body() }
    }

    private func wait(limit: Duration?) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let id: Int? = lock.withLock {
                if fired { return nil }
                nextID += 1
                waiters[nextID] = c
                return nextID
            }
            guard let id else { c.resume(returning: true); return }
            guard let limit else { return }
            DispatchQueue.global().asyncAfter(deadline: .now() + limit.dispatchInterval) { [self] in
                lock.withLock { waiters.removeValue(forKey: id) }?.resume(returning: false)
            }
        }
    }
}

/// A thread that blocks in waitid(WNOWAIT) until `pid` (our child) exits, without reaping it.
func watchExit(of pid: pid_t) -> OneShot {
    let exited = OneShot()
    startThread {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        exited.fire()  // exited, or ECHILD: already reaped, not running either way
    }
    return exited
}

/// write(2), for the methods here that are themselves named `write`.
private func writeFD(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }

/// A plain thread for blocking system calls, off the Swift cooperative pool.
func startThread(_ body: @escaping @Sendable () -> Void) {
    Thread(block: body).start()
}

extension Duration {
    /// For dispatch timers; clamped to about a century.
    var dispatchInterval: DispatchTimeInterval {
        let (s, atto) = components
        let ns = s >= 3_000_000_000 ? Int64(3_000_000_000) * 1_000_000_000 : max(0, s) * 1_000_000_000 + atto / 1_000_000_000
        return .nanoseconds(Int(ns))
    }
}
