import Foundation

/// A runbook: guided recovery steps, loaded from one YAML file.
public struct Runbook: Sendable {
    public var id: String
    public var title: String
    public var summary: String
    /// Finding ids this runbook answers.
    public var when: [String]
    public var variables: [VariableDecl]
    public var steps: [Step]
    /// What "done" means, checked against the live system at the end of every run.
    public var endState: EndState = EndState()
    /// Where it was loaded from.
    public var file: String
    public var location: SourceLocation

    public init(id: String, title: String, summary: String, when: [String], variables: [VariableDecl], steps: [Step], file: String, location: SourceLocation) {
        self.id = id; self.title = title; self.summary = summary; self.when = when
        self.variables = variables; self.steps = steps; self.file = file; self.location = location
    }

    public func stepIndex(id: String) -> Int? { steps.firstIndex { $0.id == id } }
    public var hasMutatingSteps: Bool { steps.contains { $0.mutates } }
}

/// Variables every runbook can use without declaring them. Their values come from the command
/// line (global options) and the run itself.
public enum BuiltinVariables {
    public static let names: [String: String] = [
        "namespace": "Kubernetes namespace (-n)",
        "context": "kubeconfig context (--context; empty when not given)",
        "statefulset": "the Redis StatefulSet (--statefulset)",
        "pod": "the Redis pod (--pod, default <statefulset>-0)",
        "container": "the Redis container (--container)",
        "exporter_container": "the redis_exporter sidecar container",
        "pvc": "the data PVC of the pod (data-<pod>)",
        "timestamp": "when the run started, UTC, e.g. 20250101-120000",
        "replicas_at_start": "the StatefulSet's .spec.replicas when the run started (read at the start when the end state checks replicas)",
        "keys_at_start": "DBSIZE when the run started (\"unknown\" when Redis did not answer)",
        "backup_dir": "this run's folder for backups on this machine, in the tool's state directory (never the current directory)",
    ]
}

public struct VariableDecl: Sendable {
    public enum Source: Sendable, Equatable {
        /// A live snapshot path, e.g. `pod.node`.
        case snapshot(String)
        /// A value from the command line (`--set name=value`, or a global option of that name).
        case option(String)
        /// Asked for at the start of the run (the text is the question).
        case ask(String)
        /// Set by a step's `capture:` (stdout of its command, trimmed).
        case capture
    }
    public var name: String
    public var description: String
    public var source: Source
    /// Used when the source has no value (and offered as the default when asking).
    public var defaultValue: String?
    /// For numeric snapshot values: multiply and round down (e.g. 0.75 of the memory limit).
    /// With `size`, it applies to the rendered default of an `ask:` variable too.
    public var multiply: Double?
    /// The default is a memory size (`1Gi`, `512mb`, bytes): it is converted to bytes, then
    /// `multiply` and `reserve` apply, so a prompt offers e.g. 75 % of a new limit.
    public var size: Bool = false
    /// Bytes that must stay free under the size (e.g. the last fork's copy-on-write): the
    /// result is min(size × multiply, size − the largest of these). Templates.
    public var reserve: [Template] = []
    public var location: SourceLocation
    public init(name: String, description: String, source: Source, defaultValue: String?, multiply: Double? = nil, location: SourceLocation) {
        self.name = name; self.description = description; self.source = source; self.defaultValue = defaultValue
        self.multiply = multiply; self.location = location
    }
}

/// An argv template. `kubectl` commands get `--context`/`-n`/`--kubeconfig` from the engine.
public struct CommandTemplate: Sendable {
    public var argv: [Template]
    public var stdin: Template?
    public var timeoutSeconds: Double
    public init(argv: [Template], stdin: Template? = nil, timeoutSeconds: Double = 30) {
        self.argv = argv; self.stdin = stdin; self.timeoutSeconds = timeoutSeconds
    }
    public var variables: [String] { argv.flatMap(\.variables) + (stdin?.variables ?? []) }
    public var program: String { argv.first?.raw ?? "" }
}

public struct ChoiceOption: Sendable {
    public var key: String
    public var label: String
    /// Step id to go to (or `end`).
    public var goto: String
    public var location: SourceLocation
    public init(key: String, label: String, goto: String, location: SourceLocation) {
        self.key = key; self.label = label; self.goto = goto; self.location = location
    }
}

public struct Step: Sendable {
    public enum Kind: Sendable {
        case explain
        /// A read-only command and/or an expectation. Branches with on-pass / on-fail; without
        /// on-fail a failed required check stops the run (retry / skip / abort).
        case check(command: CommandTemplate?, expect: Condition?, onPass: String?, onFail: String?, required: Bool)
        case command(CommandTemplate, allowFailure: Bool)
        case confirm(question: String, defaultYes: Bool, onYes: String?, onNo: String?)
        case choice(question: String, options: [ChoiceOption], defaultKey: String)
        case waitUntil(condition: Condition, command: CommandTemplate?, intervalSeconds: Double, timeoutSeconds: Double)
        case manual(instructions: String)
        /// The keyspace analysis of `redis-runbook memory` (bounded SCAN batches, read-only),
        /// run by the driver; its named values (`top_pattern`, ...) become variables.
        case keyspace(top: Int, scanCount: Int)

        public var name: String {
            switch self {
            case .explain: return "explain"
            case .check: return "check"
            case .command: return "command"
            case .confirm: return "confirm"
            case .choice: return "choice"
            case .waitUntil: return "wait-until"
            case .manual: return "manual"
            case .keyspace: return "keyspace-analysis"
            }
        }
    }

    public var id: String?
    public var title: String
    /// Free text shown with the step (the body of `explain`, context for the others).
    public var text: String?
    public var kind: Kind
    public var mutates: Bool
    public var destructive: Bool
    public var precheck: Condition?
    public var postcheck: Condition?
    /// Step id (or `end`) to continue with instead of the next step.
    public var next: String?
    /// Variable that receives the trimmed stdout of the step's command.
    public var capture: String?
    /// A wait-until's `on-timeout: STEP`: where the run goes when the condition did not hold in
    /// time (without it, a timeout is a failed gate: retry, skip or abort).
    public var onTimeout: String?
    /// How the change of a mutating step is taken back.
    public var undo: UndoSpec?
    /// Reaching this step ends the run as "stopped" (after it is shown).
    public var stop: StopMode?
    /// A step on a loop: the run stops when it is entered more often than this.
    public var maxVisits: Int?
    /// A command run again batch after batch (a SCAN cursor), gated and confirmed once.
    public var batches: BatchSpec?
    /// With `capture:`, a regular expression: the variable gets its first group's match (the
    /// whole match when it has no group) in the command's stdout, instead of all of stdout; ""
    /// when it does not match (e.g. `^([0-9.]+)` for the address Sentinel names).
    public var captureMatch: String?
    /// For a destructive command: the name the operator types to run it (a template, e.g.
    /// `{{stray_pod}}` when the step acts on another pod than the run's target); default the
    /// target pod.
    public var confirmPod: Template?
    public var location: SourceLocation

    public init(id: String?, title: String, text: String?, kind: Kind, mutates: Bool = false, destructive: Bool = false,
                precheck: Condition? = nil, postcheck: Condition? = nil, next: String? = nil, capture: String? = nil,
                location: SourceLocation) {
        self.id = id; self.title = title; self.text = text; self.kind = kind; self.mutates = mutates
        self.destructive = destructive; self.precheck = precheck; self.postcheck = postcheck; self.next = next
        self.capture = capture; self.location = location
    }

    public var command: CommandTemplate? {
        switch kind {
        case .check(let c, _, _, _, _): return c
        case .command(let c, _): return c
        case .waitUntil(_, let c, _, _): return c
        default: return nil
        }
    }
}

/// A command step that walks a SCAN cursor: the command runs again while the cursor it returns
/// is not 0. Its stdout is the new cursor on the first line and the number of keys the batch
/// handled on the second (what `redis-cli EVAL` prints for a `{cursor, n}` reply). The step is
/// confirmed once; each batch is shown and logged with its progress ("N of M keys").
public struct BatchSpec: Sendable {
    /// Variable holding the cursor: set to 0 when the step starts, then to each batch's cursor.
    public var cursor: String
    /// Variable holding the running count of keys handled.
    public var count: String
    /// What the progress line counts against ("N of M keys"), e.g. `{{top_pattern_keys}}`.
    public var total: Template?
    /// At most this many batches (the run stops the loop there and says so).
    public var maxBatches: Int
    public init(cursor: String, count: String, total: Template?, maxBatches: Int) {
        self.cursor = cursor; self.count = count; self.total = total; self.maxBatches = maxBatches
    }
}

/// What "done" means for a runbook: checks against the live system, run at the end of every
/// run (finished or stopped). The verdict line says `finished:` only when all of them hold.
public struct EndState: Sendable {
    public struct Check: Sendable {
        public var name: String
        public var command: CommandTemplate
        public var expect: Condition
        /// Writes (the write probe): skipped under --read-only.
        public var writes: Bool
        public var location: SourceLocation
        public init(name: String, command: CommandTemplate, expect: Condition, writes: Bool = false, location: SourceLocation) {
            self.name = name; self.command = command; self.expect = expect; self.writes = writes; self.location = location
        }
    }
    /// The key count against the one before the run.
    public struct Keys: Sendable {
        public var command: CommandTemplate
        /// Variable holding the count before the run when `keys_at_start` is unknown (e.g. Redis
        /// was down at the start: the dashboard's last known count).
        public var fallbackBefore: String?
        /// Keys that may be lost: a number, or nil for "any" (reported, not failed, unless 0 keys remain).
        public var maxLoss: Int?
        /// What the loss is called in the verdict ("AOF tail lost").
        public var lossLabel: String
        public var location: SourceLocation
        public init(command: CommandTemplate, fallbackBefore: String?, maxLoss: Int?, lossLabel: String, location: SourceLocation) {
            self.command = command; self.fallbackBefore = fallbackBefore; self.maxLoss = maxLoss; self.lossLabel = lossLabel; self.location = location
        }
    }
    /// Two capture variables holding `ls -l` listings of the AOF files before and after a
    /// repair: the bytes cut from each file go into the run's data accounting line.
    public struct AofFiles: Sendable {
        public var before: String
        public var after: String
        public init(before: String, after: String) { self.before = before; self.after = after }
    }
    public var checks: [Check]
    public var keys: Keys?
    public var aofFiles: AofFiles?
    /// How long to wait for the end state after undo steps ran (the pod has to come back).
    public var waitSeconds: Double
    /// Read `replicas_at_start` at the start of the run.
    public var needsReplicas: Bool
    public init(checks: [Check] = [], keys: Keys? = nil, waitSeconds: Double = 120, needsReplicas: Bool = false) {
        self.checks = checks; self.keys = keys; self.waitSeconds = waitSeconds; self.needsReplicas = needsReplicas
    }
    public var isEmpty: Bool { checks.isEmpty && keys == nil }
}

/// How a step's change is taken back when the run stops before its end state.
public enum UndoSpec: Sendable {
    /// Commands run in order (after the undo of every later step).
    case commands([CommandTemplate])
    /// Nothing to undo, with the reason (shown in the verdict, e.g. "a backup copy; kept").
    case none(reason: String)
    /// This step takes back the change of another step (by id): that undo is no longer needed.
    case undoes(String)
}

/// What reaching a step that ends the run means.
public enum StopMode: String, Sendable {
    /// Run the undo of everything this run changed, then check the end state.
    case undo
    /// Leave the system as it is (e.g. undoing would start Redis empty); the verdict lists the undo commands.
    case keep
}

/// A change this run made that is still in place, with the rendered commands that take it back.
public struct PendingUndo: Codable, Sendable, Equatable {
    public var stepIndex: Int
    public var stepId: String?
    public var title: String
    /// Rendered argv lists (argv[0] is the program name, e.g. kubectl, with -n etc.).
    public var commands: [[String]]
    public var stdin: [String?]
    /// For `undo: none`: why nothing is undone; such entries never make the exit code 4.
    public var keptReason: String?
}

/// A command ready to run: argv (with argv[0] the program name, e.g. `kubectl`; the driver
/// maps it to the resolved binary), stdin, timeout.
public struct RenderedCommand: Codable, Sendable, Equatable {
    public var argv: [String]
    public var stdin: String?
    public var timeoutSeconds: Double
    public var mutates: Bool
    public var destructive: Bool
    public init(argv: [String], stdin: String?, timeoutSeconds: Double, mutates: Bool, destructive: Bool) {
        self.argv = argv; self.stdin = stdin; self.timeoutSeconds = timeoutSeconds; self.mutates = mutates; self.destructive = destructive
    }
    /// Shell-free, human-readable: each argument quoted when needed. For display only.
    public var display: String {
        argv.map(RenderedCommand.quote).joined(separator: " ") + (stdin.map { "   (stdin: \(clip($0, 40)))" } ?? "")
    }
    public static func quote(_ arg: String) -> String {
        if !arg.isEmpty, arg.allSatisfy({ ($0.isLetter || $0.isNumber) && $0.isASCII || "-_./:=,@%+{}".contains($0) }) { return arg }
        return "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// What a command did, as the driver reports it back to the engine.
public struct CommandOutcome: Codable, Sendable, Equatable {
    /// nil when the process did not exit normally (signal, timeout, failed to start).
    public var exitCode: Int?
    /// Human-readable termination, e.g. "exited with status 1", "timed out".
    public var termination: String
    public var stdout: String
    public var stderr: String
    public var durationSeconds: Double
    public init(exitCode: Int?, termination: String, stdout: String, stderr: String, durationSeconds: Double) {
        self.exitCode = exitCode; self.termination = termination; self.stdout = stdout; self.stderr = stderr; self.durationSeconds = durationSeconds
    }
    public var succeeded: Bool { exitCode == 0 }
}
