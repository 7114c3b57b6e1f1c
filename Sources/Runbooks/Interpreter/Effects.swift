import Foundation

// Effects: the values the interpreter and its driver exchange. `RunbookEffect` (what the engine
// asks the driver, TUI or line mode, to do: show, run a command, fetch a snapshot, ask, wait, log,
// save the state, analyse the keyspace, finish), `RunbookEvent` (what the driver feeds back), and
// what they carry: `RunMessage`, `RunPrompt`, `RunAnswer`, `WaitProgress`, `KeyspaceRequest`,
// `KeyspaceOutcome`. It owns these types only; it must not hold any logic of the run (no state, no
// decisions) nor perform anything: the driver does.

/// Something for the operator to read.
public struct RunMessage: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The runbook title at the start.
        case heading
        /// "Step 3/12: title".
        case step
        /// Explanations and instructions.
        case text
        /// The exact command, shown before it runs (always before a mutating one).
        case command
        /// Output of a command (excerpt).
        case output
        case success, warning, error
        /// Something not done because of --dry-run.
        case dryRun
        /// wait-until progress.
        case progress
        /// The one verdict line at the end of a run ("finished: ..." / "stopped: ..."), printed as is.
        case verdict
    }
    public var kind: Kind
    public var text: String
    /// Output is shown cut to this many characters (head and tail), by the runner, after it has
    /// redacted the whole text: a cut made first could part a secret from the name that marks it.
    public var excerptLimit: Int?
    public init(_ kind: Kind, _ text: String, excerptLimit: Int? = nil) { self.kind = kind; self.text = text; self.excerptLimit = excerptLimit }
    /// The text as shown: redacted whole, then cut.
    public func shown(_ redact: (String) -> String) -> String {
        let r = redact(text)
        return excerptLimit.map { IncidentLog.excerpt(r, limit: $0) } ?? r
    }
}

/// A question for the operator. Reply with `.answer(...)`; `.answer(.useDefault)` (no input,
/// EOF) takes `safeDefault`.
public struct RunPrompt: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// yes/no with the runbook's stated default.
        case confirm(defaultYes: Bool)
        /// "Continue?" before a mutating command or after a manual step: --yes answers yes,
        /// no input answers no.
        case proceed
        /// Pick one option; `defaultKey` is the runbook's stated safe default.
        case choice(options: [PromptOption], defaultKey: String)
        /// Type this exact text (the pod name) to run a destructive step. No default.
        case typed(expected: String)
        /// A value for a variable (`ask:`), with the default offered.
        case text(defaultValue: String?)
        /// A check failed: retry, skip (recorded) or abort. Default abort.
        case recovery
    }
    public struct PromptOption: Sendable, Equatable {
        public var key: String
        public var label: String
    }
    public var kind: Kind
    public var text: String
    public var stepIndex: Int?

    /// "[y/N]", "[Y/n]", "[r/s/A]" etc.
    public var hint: String {
        switch kind {
        case .confirm(let y): return y ? "[Y/n]" : "[y/N]"
        case .proceed: return "[y/N]"
        case .choice(let opts, let d): return "[" + opts.map { $0.key == d ? "\($0.key) (default)" : $0.key }.joined(separator: "/") + "]"
        case .typed(let e): return "(type \(e) to continue, anything else stops)"
        case .text(let d): return d.map { "[\($0)]" } ?? ""
        case .recovery: return "[r]etry / [s]kip / [A]bort"
        }
    }
}

public enum RunAnswer: Sendable, Equatable {
    case yes, no
    case choice(String)
    /// Typed confirmation or a variable's value.
    case text(String)
    case retry, skip, abort
    /// No input (EOF, empty line): the prompt's safe default.
    case useDefault
}

public struct WaitProgress: Sendable, Equatable {
    public var elapsedSeconds: Double
    public var timeoutSeconds: Double
    public var condition: String
    public var seen: String
    public var truth: Truth
}

/// What the engine asks its driver (TUI or line mode) to do. Effects are values; the driver
/// performs them in order and feeds results back with `RunbookRun.handle(_:)`.
public enum RunbookEffect: Sendable {
    case show(RunMessage)
    /// Run this command and reply `.commandFinished`. argv[0] is the program name (`kubectl`);
    /// the driver maps it to the binary it resolved. Never through a shell.
    case runCommand(RenderedCommand)
    /// Reply `.snapshot(lookup)` with a fresh snapshot lookup.
    case fetchSnapshot
    /// Reply `.answer`.
    case ask(RunPrompt)
    /// Sleep, then reply `.waited`.
    case wait(seconds: Double)
    case progress(WaitProgress)
    /// Append to the incident log.
    case log(IncidentEntry)
    /// Append an INFO/snapshot text to the incident log, phase "before"/"after" a mutating step.
    /// No reply.
    case recordSnapshot(phase: String, stepIndex: Int)
    /// Persist the run state (JSON) so a new process can resume.
    case saveState(RunState)
    /// Run the keyspace analysis of `redis-runbook memory` (read-only, bounded SCAN batches)
    /// and reply `.keyspaceAnalyzed`.
    case analyzeKeyspace(KeyspaceRequest)
    /// The run is over (finished, aborted, refused). No more effects follow.
    case finished(RunStatus, String)
}

/// What a `keyspace-analysis` step asks the driver for.
public struct KeyspaceRequest: Sendable, Equatable {
    public var top: Int
    public var scanCount: Int
    public var bullPrefix: String
    public init(top: Int, scanCount: Int, bullPrefix: String) { self.top = top; self.scanCount = scanCount; self.bullPrefix = bullPrefix }
    /// The equivalent command line, shown and logged.
    public var display: String { "redis-runbook memory --top \(top) --scan-count \(scanCount) --bullmq-prefix \(bullPrefix)" }
}

/// The driver's answer to `.analyzeKeyspace`.
public struct KeyspaceOutcome: Sendable, Equatable {
    /// The scan reached the end of the keyspace.
    public var complete: Bool
    public var stopReason: String?
    /// The report as `redis-runbook memory` prints it.
    public var report: String
    /// Named values (`top_pattern`, `top_pattern_bytes`, ...) that become variables.
    public var values: [String: String]
    public var durationSeconds: Double
    public init(complete: Bool, stopReason: String?, report: String, values: [String: String], durationSeconds: Double) {
        self.complete = complete; self.stopReason = stopReason; self.report = report; self.values = values; self.durationSeconds = durationSeconds
    }
}

public enum RunbookEvent: Sendable {
    case start
    case snapshot(@Sendable (String) -> String?)
    case commandFinished(CommandOutcome)
    case answer(RunAnswer)
    case waited
    case keyspaceAnalyzed(KeyspaceOutcome)
    /// The run was interrupted (Ctrl-C, SIGTERM, SIGHUP): the driver has ended the step's
    /// process group. The run stops at once, leaving the system as it is (no undo, no checks
    /// that could hang), and says what is in place.
    case interrupted(String)
}
