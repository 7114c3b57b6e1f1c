import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals a child's process group only while the group leader is not yet reaped, so the
/// group id can never have been reused by an unrelated process when we signal it.
final class GroupHandle: Sendable {
    let pid: pid_t
    private let signallable = Locked(true)

    /// The Runner that started it (for Runner.terminateChildren).
    let owner: ObjectIdentifier?

    init(pid: pid_t, owner: ObjectIdentifier? = nil) {
        self.pid = pid
        self.owner = owner
        ChildRegistry.add(self)
    }

    /// Sends `sig` to the whole group (or to the leader only). No-op once retired.
    func send(_ sig: Int32, wholeGroup: Bool = true) {
        signallable.withLock { ok in
            guard ok else { return }
            _ = kill(wholeGroup ? -pid : pid, sig)
        }
    }

    /// Called right before the leader may be reaped: from now on nothing is signalled.
    func retire() {
        signallable.withLock { $0 = false }
        ChildRegistry.remove(self)
    }

    var isRetired: Bool { !signallable.current }
}

/// Every process group this process started through Runner or LineSession and has not reaped
/// yet. The tool's ends (dashboard quit, a runbook's end or interruption, the memory command's
/// end) terminate the whole set, so no child outlives the tool.
public enum ChildRegistry {
    private static let live = Locked<[ObjectIdentifier: GroupHandle]>([:])
    private static let closed = Locked(false)

    static func add(_ h: GroupHandle) {
        live.withLock { $0[ObjectIdentifier(h)] = h }
        // After the tool's end began, a late spawn (a detached task still refreshing) is ended at once.
        if closed.current { h.send(SIGKILL) }
    }

    /// The tool is ending: terminate every child, and kill any started from now on.
    public static func close(grace: Duration = .milliseconds(500)) async {
        closed.withLock { $0 = true }
        await terminateAll(grace: grace)
    }
    static func remove(_ h: GroupHandle) { _ = live.withLock { $0.removeValue(forKey: ObjectIdentifier(h)) } }

    /// Process ids of the group leaders still running.
    public static var pids: [Int32] { live.current.values.map(\.pid) }

    /// SIGTERM to every group, SIGKILL to those still there after `grace`; waits (bounded) until
    /// they are gone. Their owners reap them as usual.
    public static func terminateAll(grace: Duration = .milliseconds(500)) async {
        await terminate(Array(live.current.values), grace: grace)
    }

    static func terminate(owner: ObjectIdentifier, grace: Duration) async {
        await terminate(live.current.values.filter { $0.owner == owner }, grace: grace)
    }

    static func pids(owner: ObjectIdentifier) -> [Int32] { live.current.values.filter { $0.owner == owner }.map(\.pid) }

    private static func terminate(_ handles: [GroupHandle], grace: Duration) async {
        guard !handles.isEmpty else { return }
        for h in handles { h.send(SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, handles.contains(where: { !$0.isRetired && processGroupExists($0.pid) }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for h in handles where !h.isRetired { h.send(SIGKILL) }
        let hard = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < hard, handles.contains(where: { !$0.isRetired }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Grace between SIGTERM and SIGKILL when a command times out or a session is torn down.
let terminationGrace: Duration = .milliseconds(500)

/// The one place that spawns short commands. Every call goes to the recorder(s).
public final class Runner: Sendable {
    let recorder: (any CommandRecorder)?
    private let spawns = Locked(0)

    public init(recorder: (any CommandRecorder)? = nil) {
        self.recorder = recorder
        _ = ignoreSIGPIPEOnce
    }

    /// Ends every process group this runner started that is still running (SIGTERM, SIGKILL
    /// after `grace`). Their `run` calls return as usual (signaled).
    public func terminateChildren(grace: Duration = .milliseconds(500)) async {
        await ChildRegistry.terminate(owner: ObjectIdentifier(self), grace: grace)
    }

    /// Process ids of this runner's running children.
    public var childPIDs: [Int32] { ChildRegistry.pids(owner: ObjectIdentifier(self)) }

    /// How many processes this runner started (line-session children included).
    public var spawnCount: Int { spawns.current }

    func noteSpawn() { spawns.withLock { $0 += 1 } }

    public func run(_ argv: [String], timeout: Duration = .seconds(10), stdin: Data? = nil) async -> CommandResult {
        await run(CommandSpec(argv, stdin: stdin, timeout: timeout))
    }

    public func run(_ spec: CommandSpec) async -> CommandResult {
        let id = nextCommandID()
        recorder?.commandStarted(id: id, spec: spec)
        let result = await execute(spec)
        recorder?.commandFinished(id: id, result: result)
        return result
    }

    // MARK: - Implementation

    private func execute(_ spec: CommandSpec) async -> CommandResult {
        let start = ContinuousClock.now
        let limit = max(0, spec.outputLimit)
        let stdout = Capture(limit: limit), stderr = Capture(limit: limit)
        let child: PipedChild
        switch PipedChild.start(spec, runner: self, stdin: spec.stdin != nil, stdout: stdout.take, stderr: stderr.take) {
        case .failure(let error):
            return CommandResult(spec: spec, termination: .failedToStart(error.message), duration: ContinuousClock.now - start)
        case .success(let c): child = c
        }
        // Written, then closed (EPIPE from a child that does not read it is harmless).
        if let input = spec.stdin { child.io.send(Array(input)) }
        child.io.closeInput()

        // At the deadline: SIGTERM the group, SIGKILL after the grace.
        let timedOut = Locked(false)
        let watchdog = Task { [timeout = spec.timeout] in
            do { try await Task.sleep(for: timeout) } catch { return }
            guard !child.exited.isFired else { return }
            timedOut.withLock { $0 = true }
            child.terminate()
        }
        // The caller's task cancelled: the command is torn down like a timeout.
        await withTaskCancellationHandler {
            await child.exited.wait()
        } onCancel: {
            child.terminate()
        }
        watchdog.cancel()
        let ended = await child.reap()
        let (out, err) = (stdout.result, stderr.result)
        return CommandResult(spec: spec, termination: timedOut.current ? .timedOut : ended, stdout: out.data, stderr: err.data,
                             stdoutTruncated: out.truncated, stderrTruncated: err.truncated,
                             duration: ContinuousClock.now - start, pid: child.pid)
    }

    /// One output stream of a command: at most `limit` bytes kept, the rest read and dropped.
    private final class Capture: Sendable {
        private let limit: Int
        private let state = Locked((data: Data(), truncated: false))

        init(limit: Int) { self.limit = limit }

        var result: (data: Data, truncated: Bool) { state.current }

        var take: PipeIO.Sink {
            { [state, limit] chunk in
                guard let chunk else { return }
                state.withLock { s in
                    let room = limit - s.data.count
                    if chunk.count <= room {
                        s.data.append(contentsOf: chunk)
                    } else {
                        if room > 0 { s.data.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<room])) }
                        s.truncated = true
                    }
                }
            }
        }
    }
}
