import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
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

    private struct Captured: Sendable {
        var stdout = Data()
        var stderr = Data()
        var stdoutTruncated = false
        var stderrTruncated = false
    }

    private enum Part: Sendable {
        case stdout(Data, Bool)
        case stderr(Data, Bool)
        case other
    }

    private func execute(_ spec: CommandSpec) async -> CommandResult {
        let start = ContinuousClock.now
        func failed(_ why: String) -> CommandResult {
            CommandResult(spec: spec, termination: .failedToStart(why), duration: ContinuousClock.now - start)
        }
        let launch: LaunchPlan
        switch LaunchPlan.make(argv: spec.argv, environment: spec.environment, removeEnvironment: spec.removeEnvironment,
                               path: spec.effectivePATH, workingDirectory: spec.workingDirectory) {
        case .failure(let why): return failed(why.message)
        case .success(let plan): launch = plan
        }

        let handleBox = Locked<GroupHandle?>(nil)
        let timedOut = Locked(false)
        let limit = max(0, spec.outputLimit)
        let timeout = spec.timeout

        do {
            let (status, captured) = try await launch.run(for: self, stdin: spec.stdin != nil) { handle, writer, stdout, stderr in
                handleBox.withLock { $0 = handle }
                return await Self.supervise(handle: handle, stdout: stdout, stderr: stderr, writer: writer, input: spec.stdin,
                                            limit: limit, timeout: timeout, timedOut: timedOut)
            }
            let termination: Termination
            if timedOut.current {
                termination = .timedOut
            } else {
                switch status {
                case .exited(let code): termination = .exited(Int32(truncatingIfNeeded: code))
                case .signaled(let sig): termination = .signaled(Int32(truncatingIfNeeded: sig))
                }
            }
            return CommandResult(spec: spec, termination: termination, stdout: captured.stdout, stderr: captured.stderr,
                                 stdoutTruncated: captured.stdoutTruncated, stderrTruncated: captured.stderrTruncated,
                                 duration: ContinuousClock.now - start, pid: handleBox.current?.pid)
        } catch {
            let pid = handleBox.current?.pid
            if pid == nil {
                return failed("\(launch.displayName): \(describeSpawnError(error))")
            }
            // Started, but monitoring failed: report what we know.
            return CommandResult(spec: spec, termination: timedOut.current ? .timedOut : .failedToStart("monitoring failed: \(error)"),
                                 duration: ContinuousClock.now - start, pid: pid)
        }
    }

    /// Runs inside the subprocess body: the leader is not reaped until this returns, so the
    /// process group id stays valid for every signal sent from here.
    private static func supervise(handle: GroupHandle, stdout: SubprocessOutputSequence, stderr: SubprocessOutputSequence,
                                  writer: StandardInputWriter?, input: Data?, limit: Int, timeout: Duration,
                                  timedOut: Locked<Bool>) async -> Captured {
        await withTaskGroup(of: Part.self) { group in
            group.addTask {
                let (d, t) = await drain(stdout, limit: limit)
                return .stdout(d, t)
            }
            group.addTask {
                let (d, t) = await drain(stderr, limit: limit)
                return .stderr(d, t)
            }
            if let writer {
                group.addTask {
                    if let input, !input.isEmpty { _ = try? await writer.write(Array(input)) }
                    try? await writer.finish()
                    return .other
                }
            }
            // Watchdog: SIGTERM the group at the deadline, SIGKILL after the grace.
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    // Cancelled: either the command is done (handle retired: nothing to do) or the
                    // caller's task was cancelled, in which case the command is torn down like a timeout.
                    guard !handle.isRetired else { return .other }
                    handle.send(SIGTERM)
                    if !(await waitForExitWithoutReaping(handle.pid, until: .now + terminationGrace)) { handle.send(SIGKILL) }
                    return .other
                }
                timedOut.withLock { $0 = true }
                handle.send(SIGTERM)
                if !(await waitForExitWithoutReaping(handle.pid, until: .now + terminationGrace)) {
                    handle.send(SIGKILL)
                }
                return .other
            }

            var captured = Captured()
            var streamsOpen = 2
            while streamsOpen > 0, let part = await group.next() {
                switch part {
                case .stdout(let d, let t): captured.stdout = d; captured.stdoutTruncated = t; streamsOpen -= 1
                case .stderr(let d, let t): captured.stderr = d; captured.stderrTruncated = t; streamsOpen -= 1
                case .other: break
                }
            }
            // Both streams are closed; the leader may still run (it can close its output early).
            // The watchdog is still armed, so this wait is bounded by the timeout.
            _ = await waitForExitWithoutReaping(handle.pid, until: .now + .seconds(3650 * 86400))
            // A short command leaves nothing behind: stragglers in its group are killed.
            if processGroupExists(handle.pid) { handle.send(SIGKILL) }
            handle.retire()
            group.cancelAll()
            return captured
        }
    }

    /// Reads a stream to its end, keeping at most `limit` bytes; the rest is read and dropped.
    private static func drain(_ sequence: SubprocessOutputSequence, limit: Int) async -> (Data, Bool) {
        var data = Data()
        var truncated = false
        do {
            for try await buffer in sequence {
                buffer.withUnsafeBytes { raw in
                    let room = limit - data.count
                    if raw.count <= room {
                        data.append(contentsOf: raw)
                    } else {
                        if room > 0 { data.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[0..<room])) }
                        truncated = true
                    }
                }
            }
        } catch {
            // Cancelled I/O (the leader exited while a grandchild held the pipe) or a read error: keep what we have.
        }
        return (data, truncated)
    }
}

/// What swift-subprocess needs to launch one argv, worked out (and validated) up front.
struct LaunchPlan {
    struct Failure: Error { let message: String }

    var executable: Executable
    var arguments: Arguments
    var environment: Subprocess.Environment
    var workingDirectory: FilePath?
    var platformOptions: PlatformOptions
    var displayName: String
    var resolvedPath: String

    static func make(argv: [String], environment: [String: String], removeEnvironment: [String], path: String?,
                     workingDirectory: String?) -> Result<LaunchPlan, Failure> {
        let first = argv.first ?? ""
        let resolved: String
        switch executablePath(for: first, path: path) {
        case .failure(let e): return .failure(Failure(message: first.isEmpty ? e.reason : "\(first): \(e.reason)"))
        case .success(let p): resolved = p
        }
        if let why = missingWorkingDirectory(workingDirectory) { return .failure(Failure(message: "\(first): \(why)")) }
        var overrides: [Subprocess.Environment.Key: String?] = [:]
        for name in removeEnvironment {
            if let key = Subprocess.Environment.Key(rawValue: name) { overrides.updateValue(nil, forKey: key) }
        }
        for (name, value) in environment {
            if let key = Subprocess.Environment.Key(rawValue: name) { overrides.updateValue(value, forKey: key) }
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: terminationGrace)]
        return .success(LaunchPlan(
            executable: .path(FilePath(resolved)),
            arguments: Arguments(executablePathOverride: first, remainingValues: Array(argv.dropFirst())),
            environment: overrides.isEmpty ? .inherit : .inherit.updating(overrides),
            workingDirectory: workingDirectory.map { FilePath($0) },
            platformOptions: options,
            displayName: first,
            resolvedPath: resolved))
    }
}

extension LaunchPlan {
    /// The one swift-subprocess launch of this module, for a Runner's one-shot commands and a
    /// LineSession's child alike: the plan's own process group, stdout and stderr as sequences,
    /// stdin a writer when `stdin` is true and /dev/null otherwise. `body` gets the child's group
    /// handle (already counted as `runner`'s spawn) and runs while the child is not yet reaped,
    /// so its process group id stays valid for every signal sent from it.
    func run<R: Sendable>(for runner: Runner, stdin: Bool,
                          _ body: @escaping @Sendable (GroupHandle, StandardInputWriter?, SubprocessOutputSequence, SubprocessOutputSequence) async -> R)
        async throws -> (TerminationStatus, R) {
        func handle(_ pid: pid_t) -> GroupHandle {
            runner.noteSpawn()
            return GroupHandle(pid: pid, owner: ObjectIdentifier(runner))
        }
        if stdin {
            let r = try await Subprocess.run(executable, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
                                             platformOptions: platformOptions, input: .inputWriter, output: .sequence, error: .sequence) { e in
                await body(handle(e.processIdentifier.value), e.standardInputWriter, e.standardOutput, e.standardError)
            }
            return (r.terminationStatus, r.closureResult)
        }
        let r = try await Subprocess.run(executable, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
                                         platformOptions: platformOptions, input: .none, output: .sequence, error: .sequence) { e in
            await body(handle(e.processIdentifier.value), nil, e.standardOutput, e.standardError)
        }
        return (r.terminationStatus, r.closureResult)
    }
}

func describeSpawnError(_ error: any Error) -> String {
    if let e = error as? SubprocessError { return e.description }
    return String(describing: error)
}
