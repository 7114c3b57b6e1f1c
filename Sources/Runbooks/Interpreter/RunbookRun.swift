import Foundation

// RunbookRun: the interpreter's state and its dispatcher. It owns the struct's stored state (the
// persisted `RunState`, the phase the run waits in, the stop reason and end-state bookkeeping), the
// two initializers (start, resume), the public read-outs, `setDataBefore`, and `handle(_:)`, which
// only routes an event arriving in a phase to the function that handles it (in the other files of
// this folder). It must not decide anything itself, and nothing in this folder may do I/O, sleep or
// spawn: every effect is a value returned to the driver, so the machine stays pure and testable.

/// The runbook interpreter: a pure state machine shared by the TUI and the line runner.
///
///     var run = RunbookRun(runbook: rb, target: target, options: opts)
///     var effects = run.handle(.start)
///     // perform effects in order; when one needs a reply, send it:
///     effects = run.handle(.commandFinished(outcome))
public struct RunbookRun: Sendable {
    public let runbook: Runbook
    public internal(set) var state: RunState

    enum Gate: Sendable, Equatable { case precheck, command, check, postcheck, wait }

    enum Phase: Sendable {
        case idle
        case varsSnapshot
        case varsAsk(Int)
        case stepAsk(Int)
        case precheck
        case recovery(Gate)
        case proceedCommand(RenderedCommand)
        case typed(RenderedCommand, attempts: Int)
        case command(RenderedCommand)
        case checkSnapshot(CommandOutcome?)
        case postcheckSnapshot(CommandOutcome?)
        case confirm
        case choice
        case manual
        case keyspace(KeyspaceRequest)
        case waitCommand(elapsed: Double)
        case waitSnapshot(elapsed: Double, outcome: CommandOutcome?)
        case waitSleeping(elapsed: Double)
        /// Reading replicas_at_start / keys_at_start before the first step.
        case probe(Int, [(String, RenderedCommand)])
        /// Running the undo commands of the newest pending change.
        case undoCommand(RenderedCommand)
        /// Checking the end state: check index, elapsed seconds, failures so far.
        case endCheck(Int, elapsed: Double)
        case endWait(elapsed: Double)
        case done
    }
    /// Why the run is ending (nil: it reached its end).
    var stopReason: String?
    var endStatus: RunStatus = .finished
    var undoRan: [PendingUndo] = []
    var undoFailed: String?
    var endFailures: [String] = []
    var endKeys: String?
    var endPolls = 0
    var phase: Phase = .idle
    /// Result of the current step's command (for postchecks).
    var lastOutcome: CommandOutcome?
    var resumed: Bool
    let startDate: Date

    /// The "Step N/M: title" line is still to be shown (once the step's ask: variables have values).
    var headerPending = false
    /// Batches run so far by the current `batches:` step.
    var batchesRun = 0
    /// Where a passed check or an answer branches to, once the postcheck holds.
    var pendingNext: String?

    public init(runbook: Runbook, target: RunTarget, options: RunOptions, logPath: String? = nil, now: Date = Date()) {
        self.runbook = runbook
        self.startDate = now
        self.state = RunState(runbookId: runbook.id, runbookFile: runbook.file, startedAt: Timestamps.iso(now), options: options, target: target, logPath: logPath)
        self.resumed = false
    }

    /// Resume from a saved state (the options may differ, e.g. without --read-only now).
    public init(runbook: Runbook, resuming saved: RunState, options: RunOptions? = nil, now: Date = Date()) {
        self.runbook = runbook
        self.startDate = now
        var s = saved
        if let options { s.options = options }
        s.status = .running
        s.visits = nil
        self.state = s
        self.resumed = true
    }

    public var isFinished: Bool { if case .done = phase { return true }; return false }
    public var currentStepIndex: Int { state.stepIndex }
    var options: RunOptions { state.options }
    var step: Step { runbook.steps[state.stepIndex] }

    public mutating func handle(_ event: RunbookEvent) -> [RunbookEffect] {
        var fx: [RunbookEffect] = []
        switch (phase, event) {
        case (.done, _):
            return []
        case (_, .interrupted(let why)):
            fx += interrupt(why)
        case (.idle, .start):
            fx += startRun()
        case (.varsSnapshot, .snapshot(let lookup)):
            fx += resolveSnapshotVariables(lookup)
        case (.varsAsk(let i), .answer(let a)):
            fx += answerVariable(i, a)
        case (.stepAsk(let i), .answer(let a)):
            fx += answerStepVariable(i, a)
        case (.precheck, .snapshot(let lookup)):
            fx += evaluatePrecheck(lookup)
        case (.recovery(let gate), .answer(let a)):
            fx += recover(gate, a)
        case (.proceedCommand(let cmd), .answer(let a)):
            fx += answerProceed(cmd, a)
        case (.typed(let cmd, let attempts), .answer(let a)):
            fx += answerTyped(cmd, attempts, a)
        case (.command(let cmd), .commandFinished(let out)):
            fx += commandDone(cmd, out)
        case (.checkSnapshot(let out), .snapshot(let lookup)):
            fx += evaluateCheck(out, lookup)
        case (.postcheckSnapshot(let out), .snapshot(let lookup)):
            fx += evaluatePostcheck(out, lookup)
        case (.confirm, .answer(let a)):
            fx += answerConfirm(a, by: "operator")
        case (.choice, .answer(let a)):
            fx += answerChoice(a, by: "operator")
        case (.manual, .answer(let a)):
            fx += answerManual(a, by: "operator")
        case (.keyspace(let req), .keyspaceAnalyzed(let out)):
            fx += keyspaceDone(req, out)
        case (.waitCommand(let elapsed), .commandFinished(let out)):
            fx += waitCommandDone(elapsed, out)
        case (.waitSnapshot(let elapsed, let out), .snapshot(let lookup)):
            fx += evaluateWait(elapsed, out, lookup)
        case (.waitSleeping(let elapsed), .waited):
            fx += pollWait(elapsed)
        case (.probe(let i, let probes), .commandFinished(let out)):
            fx += probeDone(i, probes, out)
        case (.undoCommand(let rc), .commandFinished(let out)):
            fx += undoCommandDone(rc, out)
        case (.endCheck(let i, let elapsed), .commandFinished(let out)):
            fx += endCheckDone(i, elapsed, out)
        case (.endWait(let elapsed), .waited):
            fx += runEndCheck(0, elapsed: elapsed)
        default:
            // An event the engine is not waiting for (e.g. a late reply): ignore it.
            return []
        }
        return fx
    }

    /// The data before the run (live at its start, else the last-seen record), set by the
    /// driver before `.start`; a resumed run keeps the one of its first start.
    public mutating func setDataBefore(_ point: DataPoint?, source: String) {
        if resumed, state.dataBefore != nil { return }
        state.dataBefore = point
        state.dataBeforeSource = source
    }
}
