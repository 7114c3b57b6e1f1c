import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct ChildSpawnError: Error, Sendable, CustomStringConvertible {
    public var argv: [String]
    public var reason: String
    public var description: String { "cannot start \(argv.first ?? "<empty>"): \(reason)" }
    /// The wording of a Runner's or LineSession's `failedToStart`: "kubectl: executable not found in PATH".
    var message: String { (argv.first ?? "").isEmpty ? reason : "\(argv[0]): \(reason)" }
}

/// The only spawn path of this project: every process it starts (a Runner's one-shot commands,
/// a LineSession's child, the sandbox's containers, `kubectl get --watch`, `kubectl proxy`, the
/// sandbox API's exec) goes through `Child.spawn(_:environment:searchPath:...)`, one posix_spawn
/// with one executable lookup (`executablePath`). posix_spawn rather than a process library,
/// because the children need what such libraries do not all give: their own process group
/// (timeouts and teardown signal the whole group, grandchildren included), an empty signal mask
/// and default dispositions (a dispatch worker blocks every signal and this process ignores
/// SIGPIPE; both would survive exec), only fds 0-2 inherited, stdout/stderr appended to files
/// nobody drains, and a life not tied to the task that started them (the sandbox's containers
/// and the watches are polled by later ticks). A `Child` itself is such a supervised process:
/// non-blocking status, group signals that stop once it is reaped. Pipes for callers that read
/// them: `spawnPiped`, and `PipedChild` for Runner and LineSession.
public final class Child: @unchecked Sendable {
    public let pid: Int32
    /// True when the child leads its own process group (signals can go to the whole group).
    public let ownsProcessGroup: Bool
    public let argv: [String]

    private let state = Locked<Termination?>(nil)
    private let recorder: (any CommandRecorder)?
    private let recordID: UInt64
    private let spec: CommandSpec
    private let started = ContinuousClock.now

    private init(pid: Int32, ownsProcessGroup: Bool, argv: [String], recorder: (any CommandRecorder)?, recordID: UInt64, spec: CommandSpec) {
        self.pid = pid
        self.ownsProcessGroup = ownsProcessGroup
        self.argv = argv
        self.recorder = recorder
        self.recordID = recordID
        self.spec = spec
    }

    public static func spawn(_ argv: [String], environment: [String: String]? = nil,
                             workingDirectory: String? = nil, stdoutPath: String? = nil, stderrPath: String? = nil,
                             newProcessGroup: Bool = true) throws -> Child {
        try spawn(argv, environment: environment, workingDirectory: workingDirectory, stdoutPath: stdoutPath,
                  stderrPath: stderrPath, newProcessGroup: newProcessGroup, recorder: nil, label: nil)
    }

    /// Same as `spawn`, reporting start and (once reaped) finish to `recorder`.
    public static func spawn(_ argv: [String], environment: [String: String]? = nil,
                             workingDirectory: String? = nil, stdoutPath: String? = nil, stderrPath: String? = nil,
                             newProcessGroup: Bool = true, recorder: (any CommandRecorder)?, label: String? = nil) throws -> Child {
        try spawn(argv, environment: environment, workingDirectory: workingDirectory,
                  stdio: Stdio(stdoutPath: stdoutPath, stderrPath: stderrPath),
                  newProcessGroup: newProcessGroup, recorder: recorder, label: label)
    }

    /// As `spawn`, with the child's stdin a pipe whose write end (close-on-exec, so no other
    /// child inherits it) is returned and owned by the caller: the child reads end-of-file as soon
    /// as this process is gone, however it ended (`redis-runbook-watchdog` acts on that), or when
    /// the caller closes it.
    public static func spawnHoldingStdin(_ argv: [String], stdoutPath: String? = nil, stderrPath: String? = nil,
                                         newProcessGroup: Bool = true, recorder: (any CommandRecorder)?,
                                         label: String? = nil) throws -> (child: Child, stdin: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ChildSpawnError(argv: argv, reason: "pipe: \(errnoText(errno))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        do {
            let child = try spawn(argv, environment: nil, workingDirectory: nil,
                                  stdio: Stdio(stdoutPath: stdoutPath, stderrPath: stderrPath, stdinPipe: fds[0]),
                                  newProcessGroup: newProcessGroup, recorder: recorder, label: label)
            close(fds[0])
            return (child, fds[1])
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
    }

    /// The parent's ends of the pipes of a child started with `spawnPiped`. Each descriptor is
    /// close-on-exec and owned by the caller (hand it to an event loop, e.g. NIO's
    /// `NIOPipeBootstrap.takingOwnershipOfDescriptor`, or close it).
    public struct Pipes: Sendable {
        /// Write end of the child's stdin; nil when the child's stdin is /dev/null.
        public var stdin: Int32?
        /// Read end of the child's stdout.
        public var stdout: Int32
        /// Read end of the child's stderr.
        public var stderr: Int32
    }

    /// Starts `argv` with its stdout and stderr (and, with `stdin: true`, its stdin) connected to
    /// pipes whose other ends are returned, for a caller that streams them (the sandbox API's exec).
    /// Otherwise as `spawn`: posix_spawn, own process group, only 0/1/2 inherited.
    public static func spawnPiped(_ argv: [String], environment: [String: String]? = nil, workingDirectory: String? = nil,
                                  stdin: Bool, newProcessGroup: Bool = true, recorder: (any CommandRecorder)? = nil,
                                  label: String? = nil) throws -> (child: Child, pipes: Pipes) {
        try withPipes(argv, stdin: stdin) { stdio in
            try spawn(argv, environment: environment, workingDirectory: workingDirectory, stdio: stdio,
                      newProcessGroup: newProcessGroup, recorder: recorder, label: label)
        }
    }

    /// Makes the pipes, starts the child on their ends through `start` (a `spawn`), then closes
    /// the child's ends here and returns ours (close-on-exec). Nothing is left open on failure.
    static func withPipes(_ argv: [String], stdin: Bool, _ start: (Stdio) throws -> Child) throws -> (child: Child, pipes: Pipes) {
        var made: [Int32] = []
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            // pipe + FD_CLOEXEC (glibc's pipe2 is not imported): a posix_spawn elsewhere in this
            // process in between would still not pass them on (closefrom(3) in its file actions).
            guard pipe(&fds) == 0 else {
                let e = errno
                for fd in made { close(fd) }
                throw ChildSpawnError(argv: argv, reason: "pipe: \(errnoText(e))")
            }
            made += fds
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        let inPipe = stdin ? try pipePair() : nil
        let outPipe = try pipePair()
        let errPipe = try pipePair()
        let child: Child
        do {
            child = try start(Stdio(stdinPipe: inPipe?.read, stdoutPipe: outPipe.write, stderrPipe: errPipe.write))
        } catch {
            for fd in made { close(fd) }
            throw error
        }
        // The child has its ends; ours are the others.
        if let inPipe { close(inPipe.read) }
        close(outPipe.write)
        close(errPipe.write)
        return (child, Pipes(stdin: inPipe?.write, stdout: outPipe.read, stderr: errPipe.read))
    }

    /// Where 0, 1 and 2 of a child go: stdout/stderr appended to files (or /dev/null), stdin
    /// from /dev/null; a pipe end given replaces the file.
    struct Stdio {
        var stdoutPath: String? = nil, stderrPath: String? = nil
        var stdinPipe: Int32? = nil, stdoutPipe: Int32? = nil, stderrPipe: Int32? = nil
    }

    /// `environment` nil: this process's own; PATH for the lookup from the environment used.
    static func spawn(_ argv: [String], environment: [String: String]?, workingDirectory: String?, stdio: Stdio,
                      newProcessGroup: Bool, recorder: (any CommandRecorder)?, label: String?) throws -> Child {
        let inherited = ProcessInfo.processInfo.environment
        let env = environment ?? inherited
        var spec = CommandSpec(argv, workingDirectory: workingDirectory, timeout: .seconds(Int64.max / 2), label: label)
        if let environment { spec.environment = environment }
        return try spawn(argv, environment: env, searchPath: env["PATH"] ?? inherited["PATH"], workingDirectory: workingDirectory,
                         stdio: stdio, newProcessGroup: newProcessGroup, recorder: recorder, spec: spec)
    }

    /// THE spawn: every process this project starts comes through here. `environment` is the
    /// child's whole environment, `searchPath` the PATH argv[0] is looked up in; `spec` is what
    /// `recorder` is told (start now, finish once reaped or failed).
    static func spawn(_ argv: [String], environment env: [String: String], searchPath: String?, workingDirectory: String?,
                      stdio: Stdio, newProcessGroup: Bool, recorder: (any CommandRecorder)?, spec: CommandSpec) throws -> Child {
        _ = ignoreSIGPIPEOnce
        let id = nextCommandID()
        recorder?.commandStarted(id: id, spec: spec)
        func fail(_ reason: String) -> ChildSpawnError {
            let error = ChildSpawnError(argv: argv, reason: reason)
            recorder?.commandFinished(id: id, result: CommandResult(spec: spec, termination: .failedToStart(error.description)))
            return error
        }
        let path: String
        switch executablePath(for: argv.first ?? "", path: searchPath) {
        case .failure(let e): throw fail(e.reason)
        case .success(let p): path = p
        }
        if let why = missingWorkingDirectory(workingDirectory) { throw fail(why) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }

        if let stdinPipe = stdio.stdinPipe {
            posix_spawn_file_actions_adddup2(&actions, stdinPipe, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let stdoutPipe = stdio.stdoutPipe {
            posix_spawn_file_actions_adddup2(&actions, stdoutPipe, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdio.stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        if let stderrPipe = stdio.stderrPipe {
            posix_spawn_file_actions_adddup2(&actions, stderrPipe, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stdio.stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        // Only 0, 1 and 2 reach the child, whatever the rest of this process has open.
        if let closefrom = spawnExtensions.addClosefrom {
            _ = closefrom(&actions, 3)
        }
        if let wd = workingDirectory {
            guard let addchdir = spawnExtensions.addChdir else { throw fail("posix_spawn cannot change directory on this libc") }
            _ = addchdir(&actions, wd)
        }

        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attr, 0)
        }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setflags(&attr, Int16(flags))

        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var childPID: pid_t = 0
        let rc = withCStringArray(argv) { cArgv in
            withCStringArray(envStrings) { cEnv in
                posix_spawn(&childPID, path, &actions, &attr, cArgv, cEnv)
            }
        }
        guard rc == 0 else { throw fail("\(path): \(errnoText(rc))") }
        return Child(pid: childPID, ownsProcessGroup: newProcessGroup, argv: argv, recorder: recorder, recordID: id, spec: spec)
    }

    /// waitpid(WNOHANG); nil while running; cached once reaped.
    public func poll() -> Termination? {
        state.withLock { cached in
            if let cached { return cached }
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                cached = termination(fromWaitStatus: status)
            } else if r < 0 && errno == ECHILD {
                cached = .failedToStart("not a child of this process (already reaped elsewhere)")
            } else {
                return nil
            }
            finished(cached!)
            return cached
        }
    }

    /// Blocks until the child exits, then reaps it.
    public func wait() -> Termination {
        while true {
            if let t = poll() { return t }
            // Block without reaping, so the pid stays reserved while `signal` may still use it.
            var info = siginfo_t()
            let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
            if r != 0 && errno != EINTR && errno != ECHILD { usleep(10_000) }
        }
    }

    /// Waits up to `timeout` for the child to exit; nil if it is still running.
    public func wait(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        var delay = 1
        while true {
            if let t = poll() { return t }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(delay))
            delay = min(delay * 2, 25)
        }
    }

    /// Sends `signal` to the child's process group (or only the child). Never signals after reaping.
    public func signal(_ signal: Int32, wholeGroup: Bool = true) {
        state.withLock { cached in
            guard cached == nil else { return }
            _ = kill(wholeGroup && ownsProcessGroup ? -pid : pid, signal)
        }
    }

    /// SIGTERM (group), wait up to `grace`, then SIGKILL (group); reaps. Returns how it ended.
    @discardableResult
    public func terminate(grace: Duration = .seconds(2)) async -> Termination {
        // Already ended: what it left in its group (a proxy whose watchdog was killed alone) goes too.
        if let t = poll() {
            if ownsProcessGroup { killLeftovers() }
            return t
        }
        signal(SIGTERM)
        if let t = await wait(timeout: grace) {
            if ownsProcessGroup { killLeftovers() }
            return t
        }
        signal(SIGKILL)
        return wait()
    }

    /// Sends `signal` to the child's whole process group, also once the leader has been reaped
    /// while other members of its group live on (an exec'd shell's background children): the
    /// group id cannot be reused while any member lives.
    public func signalGroup(_ signal: Int32) {
        guard ownsProcessGroup else { self.signal(signal, wholeGroup: false); return }
        state.withLock { cached in
            if cached == nil || processGroupExists(pid) { _ = kill(-pid, signal) }
        }
    }

    private func killLeftovers() {
        // Leader reaped: the group may still hold grandchildren. The group id cannot be reused while they live.
        if processGroupExists(pid) { _ = kill(-pid, SIGKILL) }
    }

    private func finished(_ t: Termination) {
        recorder?.commandFinished(id: recordID, result: CommandResult(spec: spec, termination: t, duration: ContinuousClock.now - started, pid: pid))
    }
}

/// Replace the current process (execve): stdin/stdout/exit code pass through untouched.
/// On failure prints "error: <why>" to stderr and exits 127.
public func execReplacingCurrentProcess(_ argv: [String], environment: [String: String]? = nil) -> Never {
    execReplacingCurrentProcess(argv, environment: environment, recorder: nil)
}

/// Same, reporting the command to `recorder` first (only commandStarted: the process is gone afterwards).
public func execReplacingCurrentProcess(_ argv: [String], environment: [String: String]? = nil, recorder: (any CommandRecorder)?) -> Never {
    func die(_ why: String) -> Never {
        FileHandle.standardError.write(Data("error: \(why)\n".utf8))
        exit(127)
    }
    let env = environment ?? ProcessInfo.processInfo.environment
    var spec = CommandSpec(argv)
    if let environment { spec.environment = environment }
    recorder?.commandStarted(id: nextCommandID(), spec: spec)
    let path: String
    switch executablePath(for: argv.first ?? "", path: env["PATH"] ?? ProcessInfo.processInfo.environment["PATH"]) {
    case .failure(let e): die(e.reason == "empty command line" ? e.reason : "\(argv[0]): \(e.reason)")
    case .success(let p): path = p
    }
    fflush(nil)
    let envStrings = env.map { "\($0.key)=\($0.value)" }
    // Restore default dispositions that exec would otherwise keep (ignored SIGPIPE), and an
    // empty signal mask: this may run on a dispatch worker thread, which blocks every signal,
    // and a blocked mask survives exec (`timeout 3 kubectl exec ... redis-cli MONITOR` would
    // then never stop the redis-cli it became).
    #if canImport(Glibc)
    _ = Glibc.signal(SIGPIPE, SIG_DFL)
    var none = sigset_t()
    sigemptyset(&none)
    _ = pthread_sigmask(SIG_SETMASK, &none, nil)
    #endif
    let code = withCStringArray(argv) { cArgv in
        withCStringArray(envStrings) { cEnv in
            execve(path, cArgv, cEnv)
            return errno
        }
    }
    die("\(path): \(errnoText(code))")
}

/// The one executable lookup of every spawn (Runner, LineSession, Child, exec): a name with a
/// "/" is taken as it is (and must be executable), any other is looked up in `path`.
/// The error says which name failed and why.
func executablePath(for first: String, path: String?) -> Result<String, ChildSpawnError> {
    func fail(_ why: String) -> Result<String, ChildSpawnError> { .failure(ChildSpawnError(argv: [first], reason: why)) }
    guard !first.isEmpty else { return fail("empty command line") }
    if first.contains("/") {
        return access(first, X_OK) == 0 ? .success(first) : fail("cannot execute: \(errnoText(errno))")
    }
    guard let found = resolveExecutable(first, path: path) else { return fail("executable not found in PATH") }
    return .success(found)
}

/// A working directory that does not exist is the spawn's error, named before anything runs.
func missingWorkingDirectory(_ wd: String?) -> String? {
    guard let wd else { return nil }
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: wd, isDirectory: &isDir) && isDir.boolValue ? nil : "working directory does not exist: \(wd)"
}

/// PATH lookup that never uses the current directory (empty PATH entries and "." are skipped,
/// as are other relative entries). A name containing "/" is not looked up: nil is returned.
public func resolveExecutable(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
    guard !name.isEmpty, !name.contains("/") else { return nil }
    guard let path else { return nil }
    for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
        guard dir.hasPrefix("/") else { continue }  // ".", "", "bin", "./x": relative to the cwd, never used
        let candidate = dir.hasSuffix("/") ? "\(dir)\(name)" : "\(dir)/\(name)"
        var st = stat()
        guard stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// Calls `body` with a NULL-terminated C array of strings.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// glibc's posix_spawn extensions (2.29+/2.34+) that Swift's Glibc module does not import.
struct SpawnExtensions: @unchecked Sendable {
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    let addClosefrom: AddClosefrom?
    let addChdir: AddChdir?

    static func load() -> SpawnExtensions {
        let handle = dlopen(nil, RTLD_NOW)
        func symbol<T>(_ name: String, as: T.Type) -> T? {
            guard let p = dlsym(handle, name) else { return nil }
            return unsafeBitCast(p, to: T.self)
        }
        return SpawnExtensions(addClosefrom: symbol("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self),
                               addChdir: symbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self))
    }
}

let spawnExtensions = SpawnExtensions.load()
