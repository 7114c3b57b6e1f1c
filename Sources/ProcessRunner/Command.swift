import Foundation

/// What to run. argv only: nothing here is ever handed to a shell.
public struct CommandSpec: Sendable {
    /// argv[0] is resolved via PATH (never the current directory) unless it contains "/".
    public var argv: [String]
    /// Added to / overriding the inherited environment.
    public var environment: [String: String]
    /// Names removed from the inherited environment.
    public var removeEnvironment: [String]
    public var workingDirectory: String?
    /// nil = /dev/null.
    public var stdin: Data?
    /// Default 10 s. On expiry the whole process group gets SIGTERM, then SIGKILL after a short grace.
    public var timeout: Duration
    /// Per stream, default 8 MiB. Excess is read and discarded (never a deadlock) and flagged.
    public var outputLimit: Int
    /// Free text for the recorder (e.g. "probe:pod").
    public var label: String?

    public init(_ argv: [String], environment: [String: String] = [:], removeEnvironment: [String] = [],
                workingDirectory: String? = nil, stdin: Data? = nil, timeout: Duration = .seconds(10),
                outputLimit: Int = 8 << 20, label: String? = nil) {
        self.argv = argv
        self.environment = environment
        self.removeEnvironment = removeEnvironment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.label = label
    }

    /// The PATH used to resolve argv[0]: the spec's override, else the inherited one (unless removed).
    var effectivePATH: String? {
        if let p = environment["PATH"] { return p }
        if removeEnvironment.contains("PATH") { return nil }
        return ProcessInfo.processInfo.environment["PATH"]
    }

    /// The child's whole environment: the inherited one without `removeEnvironment`, `environment` over it.
    var childEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        for name in removeEnvironment { env.removeValue(forKey: name) }
        env.merge(environment) { $1 }
        return env
    }

    /// A shell-free, human-readable rendering for logs (each argument quoted when needed).
    public var displayString: String {
        argv.map { arg in
            if !arg.isEmpty, arg.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0) }) { return arg }
            return "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case timedOut
    case failedToStart(String)

    public var description: String {
        switch self {
        case .exited(let c): return "exited with status \(c)"
        case .signaled(let s): return "killed by signal \(s)"
        case .timedOut: return "timed out"
        case .failedToStart(let why): return "failed to start: \(why)"
        }
    }
}

public struct CommandResult: Sendable {
    public var spec: CommandSpec
    public var termination: Termination
    public var stdout: Data
    public var stderr: Data
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var duration: Duration
    public var pid: Int32?

    public init(spec: CommandSpec, termination: Termination, stdout: Data = Data(), stderr: Data = Data(),
                stdoutTruncated: Bool = false, stderrTruncated: Bool = false, duration: Duration = .zero, pid: Int32? = nil) {
        self.spec = spec
        self.termination = termination
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.duration = duration
        self.pid = pid
    }

    /// Only for `.exited`.
    public var exitCode: Int32? {
        if case .exited(let c) = termination { return c }
        return nil
    }
    /// `.exited(0)`.
    public var succeeded: Bool { termination == .exited(0) }
    /// Lossy UTF-8.
    public var stdoutText: String { lossyText(stdout) }
    public var stderrText: String { lossyText(stderr) }
}

public protocol CommandRecorder: Sendable {
    func commandStarted(id: UInt64, spec: CommandSpec)
    func commandFinished(id: UInt64, result: CommandResult)
}

/// Fans one command out to several recorders.
public struct RecorderGroup: CommandRecorder {
    public var recorders: [any CommandRecorder]
    public init(_ recorders: [any CommandRecorder]) { self.recorders = recorders }
    public func commandStarted(id: UInt64, spec: CommandSpec) { recorders.forEach { $0.commandStarted(id: id, spec: spec) } }
    public func commandFinished(id: UInt64, result: CommandResult) { recorders.forEach { $0.commandFinished(id: id, result: result) } }
}
