import Foundation

/// How a run is allowed to behave (from the command line or the TUI).
public struct RunOptions: Codable, Sendable, Equatable {
    /// Answer confirmations with their stated default and plain "continue?" prompts with yes.
    public var yes: Bool
    /// With `yes`: also answer the typed confirmation of destructive steps.
    public var yesDestructive: Bool
    /// Show every command; run none that mutate (read-only checks still run).
    public var dryRun: Bool
    /// Refuse mutating steps.
    public var readOnly: Bool
    /// Answers given in advance for confirm / choice steps, by step id ("yes"/"no" or an option
    /// key). They win over --yes. Never used for typed confirmations.
    public var presetAnswers: [String: String]
    public init(yes: Bool = false, yesDestructive: Bool = false, dryRun: Bool = false, readOnly: Bool = false, presetAnswers: [String: String] = [:]) {
        self.yes = yes; self.yesDestructive = yesDestructive; self.dryRun = dryRun; self.readOnly = readOnly; self.presetAnswers = presetAnswers
    }
}

/// A run's target: what it is pointed at (`Target`, read through as `runTarget.namespace`
/// etc.) and the values of `option:` variables. Saved in the run state with the target's fields
/// at the top level, as before `Target` existed (an older state file still resumes).
@dynamicMemberLookup
public struct RunTarget: Codable, Sendable, Equatable {
    public var target: Target
    /// Values for `option:` variables (`--set name=value` and global options such as node).
    public var options: [String: String]
    /// This run's folder for backups on this machine (the `backup_dir` variable), in the
    /// tool's state directory. nil: the variable has no value (commands using it are not built).
    public var backupDir: String?

    public init(target: Target, options: [String: String] = [:], backupDir: String? = nil) {
        self.target = target; self.options = options; self.backupDir = backupDir
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<Target, T>) -> T {
        get { target[keyPath: path] }
        set { target[keyPath: path] = newValue }
    }

    private enum CodingKeys: String, CodingKey { case options, backupDir }

    public init(from decoder: any Decoder) throws {
        target = try Target(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        options = try c.decodeIfPresent([String: String].self, forKey: .options) ?? [:]
        backupDir = try c.decodeIfPresent(String.self, forKey: .backupDir)
    }

    public func encode(to encoder: any Encoder) throws {
        try target.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(options, forKey: .options)
        try c.encodeIfPresent(backupDir, forKey: .backupDir)
    }
}

public enum RunStatus: String, Codable, Sendable {
    case running
    case finished
    /// Stopped by the operator, a failed check, or a safe default. Can be resumed.
    case aborted
    /// A mutating step was refused (--read-only). Can be resumed without --read-only.
    case refused
}

public struct RecordedAnswer: Codable, Sendable, Equatable {
    public var stepIndex: Int
    public var stepId: String?
    public var prompt: String
    public var answer: String
    /// "operator", "--yes", "--yes-destructive", "default (no input)".
    public var by: String
}

/// Everything needed to resume a run in a new process. Saved after every step.
public struct RunState: Codable, Sendable, Equatable {
    public var version = 1
    public var runbookId: String
    public var runbookFile: String
    public var startedAt: String
    /// The step to execute next (a resumed run starts here).
    public var stepIndex: Int
    public var variables: [String: String]
    public var answers: [RecordedAnswer]
    public var completedSteps: [Int]
    public var skippedSteps: [Int]
    public var status: RunStatus
    /// Set while a mutating command of this step is running: on resume, the operator is told
    /// that it may or may not have taken effect.
    public var inFlightStep: Int?
    public var options: RunOptions
    public var target: RunTarget
    public var logPath: String?
    public var updatedAt: String?
    /// Changes this run made that are still in place (newest last), with their undo commands.
    public var undoStack: [PendingUndo]?
    /// The last verdict line ("finished: ..." / "stopped: ...").
    public var verdict: String?
    /// Exit status of the run: 0 finished, 3 stopped with nothing of this run left in place,
    /// 4 stopped with changes of this run still in place.
    public var exitCode: Int?
    /// How often each step was entered (loop guard).
    public var visits: [String: Int]?
    /// The last confirm/choice step answered (a run stopped by its answer resumes there).
    public var lastQuestion: Int?
    /// Set when the run was interrupted (signal) during a step.
    public var interrupted: String?
    /// The data before the run (live at its start, else the target's last-seen record), kept so
    /// a resumed run is still accounted against the state before its first start.
    public var dataBefore: DataPoint?
    /// Where `dataBefore` came from ("live at the start of the run", "last seen ...").
    public var dataBeforeSource: String?

    public init(runbookId: String, runbookFile: String, startedAt: String, options: RunOptions, target: RunTarget, logPath: String?) {
        self.runbookId = runbookId; self.runbookFile = runbookFile; self.startedAt = startedAt
        self.stepIndex = 0; self.variables = [:]; self.answers = []; self.completedSteps = []; self.skippedSteps = []
        self.status = .running; self.inFlightStep = nil; self.options = options; self.target = target; self.logPath = logPath
    }

    public var resumable: Bool { status != .finished }
    public var pendingUndo: [PendingUndo] { (undoStack ?? []).filter { $0.keptReason == nil } }
}

/// Saves run states as JSON (mode 0600, atomic replace), one file per runbook id.
public struct RunStateStore: Sendable {
    public var directory: URL
    public init(directory: URL) { self.directory = directory }

    public func url(for runbookId: String) -> URL { directory.appendingPathComponent("\(runbookId).json") }

    public func save(_ state: RunState) throws {
        try SecureFiles.makePrivateDirectory(directory)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var s = state
        s.updatedAt = Timestamps.iso(Date())
        let data = try enc.encode(s)
        let tmp = directory.appendingPathComponent(".\(state.runbookId).json.tmp")
        try SecureFiles.writePrivate(data, to: tmp)
        if rename(tmp.path, url(for: state.runbookId).path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url(for: state.runbookId).path])
        }
    }

    public func load(runbookId: String) -> RunState? {
        guard let data = try? Data(contentsOf: url(for: runbookId)) else { return nil }
        return try? JSONDecoder().decode(RunState.self, from: data)
    }

    /// Unfinished runs, newest first (for "resume?" offers).
    public func unfinished() -> [RunState] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .compactMap { try? JSONDecoder().decode(RunState.self, from: Data(contentsOf: directory.appendingPathComponent($0))) }
            .filter(\.resumable)
            .sorted { ($0.updatedAt ?? "") > ($1.updatedAt ?? "") }
    }

    public func remove(runbookId: String) { try? FileManager.default.removeItem(at: url(for: runbookId)) }
}

public enum Timestamps {
    public static func iso(_ d: Date) -> String { RFC3339.format(d, fractionDigits: 3) }
    public static func parse(_ s: String) -> Date? { RFC3339.parse(s) }
    /// 20250101-120000 (UTC), for file names and the {{timestamp}} variable.
    public static func compact(_ d: Date) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
        return String(format: "%04d%02d%02d-%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}

/// Files and directories only the owner can read: directories 0700, files 0600.
public enum SecureFiles {
    public static func makePrivateDirectory(_ url: URL) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: url.path]) }
            return
        }
        try makePrivateDirectory(url.deletingLastPathComponent())
        if mkdir(url.path, 0o700) != 0 && errno != EEXIST {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        _ = chmod(url.path, 0o700)
    }

    public static func writePrivate(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        defer { close(fd) }
        _ = fchmod(fd, 0o600)
        try writeAll(fd, data)
        _ = fsync(fd)
    }

    static func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CocoaError(.fileWriteUnknown)
                }
                off += n
            }
        }
    }
}
