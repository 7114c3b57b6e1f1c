import Foundation

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
    public init(_ kind: Kind, _ text: String) { self.kind = kind; self.text = text }
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

/// The runbook interpreter: a pure state machine shared by the TUI and the line runner.
///
///     var run = RunbookRun(runbook: rb, target: target, options: opts)
///     var effects = run.handle(.start)
///     // perform effects in order; when one needs a reply, send it:
///     effects = run.handle(.commandFinished(outcome))
public struct RunbookRun: Sendable {
    public let runbook: Runbook
    public private(set) var state: RunState

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

    // MARK: - Event handling

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

    // MARK: - Start and variables

    mutating func startRun() -> [RunbookEffect] {
        if !resumed {
            // built-ins (first: the title and summary may use them)
            state.variables.merge(RunbookPreview.builtinValues(state.target)) { _, new in new }
            state.variables["timestamp"] = Timestamps.compact(startDate)
        }
        var fx: [RunbookEffect] = [.show(.init(.heading, "\(render(runbook.title))  (\(runbook.id))"))]
        var start = IncidentEntry(type: .runStart, runbook: runbook.id)
        start.message = resumed ? "resumed at step \(state.stepIndex + 1)" : runbook.title
        start.options = options
        start.context = state.target.context
        start.namespace = state.target.namespace
        if options.dryRun { fx.append(.show(.init(.dryRun, "Dry run: every command is shown; none that change anything will run."))) }
        if options.readOnly { fx.append(.show(.init(.warning, "Read-only: steps that change anything will be refused."))) }
        if resumed {
            start.variables = state.variables
            fx.append(.log(start))
            fx.append(.show(.init(.warning, "Resuming at step \(state.stepIndex + 1) of \(runbook.steps.count).")))
            if let f = state.inFlightStep {
                fx.append(.show(.init(.warning, "Step \(f + 1) was running a command that changes state when the previous run stopped; it may or may not have taken effect. Its checks will tell.")))
            }
            return fx + beginStep()
        }
        fx.append(.show(.init(.text, render(runbook.summary))))
        fx.append(.log(start))
        let t = state.target
        for v in runbook.variables {
            switch v.source {
            case .option(let name):
                if let val = t.options[name] ?? t.options[v.name], !val.isEmpty { state.variables[v.name] = val }
                else if let d = v.defaultValue { state.variables[v.name] = render(d) }
            case .capture:
                if let d = v.defaultValue { state.variables[v.name] = render(d) }
            case .snapshot, .ask:
                if let val = t.options[v.name] { state.variables[v.name] = val }
            }
        }
        if runbook.variables.contains(where: { if case .snapshot = $0.source { return state.variables[$0.name] == nil }; return false }) {
            phase = .varsSnapshot
            return fx + [.fetchSnapshot]
        }
        return fx + askNextVariable(from: 0)
    }

    mutating func resolveSnapshotVariables(_ lookup: @Sendable (String) -> String?) -> [RunbookEffect] {
        for v in runbook.variables {
            if case .snapshot(let path) = v.source, state.variables[v.name] == nil {
                if let val = v.snapshotValue(lookup(path), variables: state.variables) { state.variables[v.name] = val }
            }
        }
        return askNextVariable(from: 0)
    }

    /// Asks for `ask:` variables and for any variable still without a value.
    mutating func askNextVariable(from i: Int) -> [RunbookEffect] {
        var idx = i
        while idx < runbook.variables.count {
            let v = runbook.variables[idx]
            let needsAsk: Bool
            switch v.source {
            case .ask: needsAsk = false   // asked when a step first needs it
            case .capture: needsAsk = false
            case .snapshot, .option: needsAsk = state.variables[v.name] == nil && v.defaultValue == nil
            }
            if case .snapshot = v.source, state.variables[v.name] == nil, let d = v.defaultValue { state.variables[v.name] = render(d) }
            if case .ask = v.source, state.target.options[v.name] != nil { idx += 1; continue }
            if needsAsk {
                let def: String? = state.variables[v.name] ?? v.defaultValue
                let question: String
                if case .ask(let q) = v.source { question = q } else { question = "\(v.description) (\(v.name))" }
                if options.yes {
                    if let def {
                        state.variables[v.name] = def
                        var e = answerEntry(prompt: question, answer: def, by: "--yes")
                        e.name = v.name
                        idx += 1
                        return [.show(.init(.text, "\(question): \(def)  (--yes: default)")), .log(e)] + askNextVariable(from: idx)
                    }
                    return abort("The variable '\(v.name)' (\(v.description)) has no value and no default; pass --set \(v.name)=VALUE.", status: .aborted)
                }
                phase = .varsAsk(idx)
                return [.ask(.init(kind: .text(defaultValue: def), text: question, stepIndex: nil))]
            }
            idx += 1
        }
        return [.saveState(state)] + startProbes()
    }

    /// Reads what the end state compares against (replicas, DBSIZE) before anything changes.
    mutating func startProbes() -> [RunbookEffect] {
        var probes: [(String, RenderedCommand)] = []
        let es = runbook.endState
        func cmd(_ a: [String]) -> CommandTemplate { CommandTemplate(argv: a.map { try! Template.parse($0) }, timeoutSeconds: 20) }
        if es.needsReplicas, let rc = renderCommand(cmd(["kubectl", "get", "statefulset", "{{statefulset}}", "-o", "jsonpath={.spec.replicas}"]), mutates: false, destructive: false) {
            probes.append(("replicas_at_start", rc))
        }
        if let k = es.keys, let rc = renderCommand(k.command, mutates: false, destructive: false) { probes.append(("keys_at_start", rc)) }
        if probes.isEmpty { return beginStep() }
        return [.show(.init(.text, "Before anything changes: the state the end of the run is compared with."))] + runProbe(0, probes)
    }

    mutating func runProbe(_ i: Int, _ probes: [(String, RenderedCommand)]) -> [RunbookEffect] {
        guard i < probes.count else {
            let shown = probes.map { "\($0.0) = \(state.variables[$0.0] ?? "unknown")" }.joined(separator: ", ")
            var e = IncidentEntry(type: .capture, runbook: runbook.id)
            e.name = "start"; e.value = shown
            return [.show(.init(.text, shown)), .log(e), .saveState(state)] + beginStep()
        }
        phase = .probe(i, probes)
        return [.show(.init(.command, "$ " + probes[i].1.display)), .runCommand(probes[i].1)]
    }

    mutating func probeDone(_ i: Int, _ probes: [(String, RenderedCommand)], _ out: CommandOutcome) -> [RunbookEffect] {
        let v = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        state.variables[probes[i].0] = out.succeeded && Int(v) != nil ? v : "unknown"
        return runProbe(i + 1, probes)
    }

    mutating func answerVariable(_ i: Int, _ a: RunAnswer) -> [RunbookEffect] {
        let v = runbook.variables[i]
        let def = state.variables[v.name] ?? v.defaultValue
        var value: String?
        var by = "operator"
        switch a {
        case .text(let t) where !t.trimmingCharacters(in: .whitespaces).isEmpty: value = t.trimmingCharacters(in: .whitespaces)
        case .text, .useDefault, .yes: value = def; by = "default"
        default: value = nil
        }
        guard let value else {
            return abort("No value for '\(v.name)'; stopped before doing anything.", status: .aborted)
        }
        state.variables[v.name] = value
        var e = answerEntry(prompt: v.description, answer: value, by: by)
        e.name = v.name
        return [.log(e)] + askNextVariable(from: i + 1)
    }

    // MARK: - Steps

    mutating func beginStep() -> [RunbookEffect] {
        guard state.stepIndex < runbook.steps.count else { return finish() }
        lastOutcome = nil
        let s = step
        let key = String(state.stepIndex)
        var visits = state.visits ?? [:]
        visits[key, default: 0] += 1
        state.visits = visits
        let limit = s.maxVisits ?? 100
        if visits[key]! > limit {
            return abort("Step \(state.stepIndex + 1) (\(render(s.title))) was reached \(limit) times; stopping instead of looping.", status: .aborted)
        }
        var e = stepEntry(.step)
        e.message = s.kind.name
        // The "Step N/M: title" line is shown once the step's ask: variables have values, so a
        // title never shows a raw {{name}}.
        headerPending = true
        return [.log(e)] + continueStep()
    }
    var headerPending = false

    mutating func stepHeader() -> [RunbookEffect] {
        guard headerPending else { return [] }
        headerPending = false
        return [.show(.init(.step, "Step \(state.stepIndex + 1)/\(runbook.steps.count): \(render(step.title))"))]
    }

    /// Variables a step uses (templates, texts, conditions).
    func variablesUsed(by s: Step) -> [String] {
        var names: [String] = []
        func add(_ text: String?) { if let t = text, let tpl = try? Template.parse(t) { names += tpl.variables } }
        add(s.text)
        add(s.title)
        if let c = s.command { names += c.variables }
        names += (s.precheck?.variables ?? []) + (s.postcheck?.variables ?? [])
        switch s.kind {
        case .check(_, let e, _, _, _): names += e?.variables ?? []
        case .waitUntil(let c, _, _, _): names += c.variables
        case .confirm(let q, _, _, _): add(q)
        case .choice(let q, let opts, _): add(q); opts.forEach { add($0.label) }
        case .manual(let i): add(i)
        default: break
        }
        return names
    }

    /// Asks for `ask:` variables this step needs and that have no value yet, then runs it.
    mutating func continueStep() -> [RunbookEffect] {
        let needed = Set(variablesUsed(by: step))
        if let idx = runbook.variables.firstIndex(where: { v in
            if case .ask = v.source { return needed.contains(v.name) && state.variables[v.name] == nil }
            return false
        }) {
            let v = runbook.variables[idx]
            guard case .ask(let question) = v.source else { return [] }
            let def = v.defaultValue.map { computedDefault(v, render($0)) }
            if options.yes {
                guard let def else {
                    return abort("Step \(state.stepIndex + 1) needs '\(v.name)' (\(v.description)), which has no default; pass --set \(v.name)=VALUE.", status: .aborted)
                }
                state.variables[v.name] = def
                var e = answerEntry(prompt: render(question), answer: def, by: "--yes")
                e.name = v.name
                return [.show(.init(.text, "\(render(question)): \(def)  (--yes: default)")), .log(e)] + continueStep()
            }
            phase = .stepAsk(idx)
            return [.ask(.init(kind: .text(defaultValue: def), text: render(question), stepIndex: state.stepIndex))]
        }
        let s = step
        var fx: [RunbookEffect] = stepHeader()
        if let text = s.text {
            if case .manual = s.kind {} else { fx.append(.show(.init(.text, render(text)))) }
        }
        if let pre = s.precheck {
            if pre.usesSnapshot {
                phase = .precheck
                return fx + [.fetchSnapshot]
            }
            return fx + evaluatePrecheck({ _ in nil })
        }
        return fx + runKind()
    }

    mutating func answerStepVariable(_ i: Int, _ a: RunAnswer) -> [RunbookEffect] {
        let v = runbook.variables[i]
        let def = v.defaultValue.map { computedDefault(v, render($0)) }
        var value: String?
        var by = "operator"
        switch a {
        case .text(let t) where !t.trimmingCharacters(in: .whitespaces).isEmpty: value = t.trimmingCharacters(in: .whitespaces)
        case .text, .useDefault, .yes: value = def; by = a == .useDefault ? "default (no input)" : "default"
        default: value = nil
        }
        guard let value else {
            return abort("No value for '\(v.name)'; stopped at step \(state.stepIndex + 1) before running it.", status: .aborted)
        }
        state.variables[v.name] = value
        var e = answerEntry(prompt: v.description, answer: value, by: by)
        e.name = v.name
        return [.log(e)] + continueStep()
    }

    mutating func evaluatePrecheck(_ lookup: @escaping @Sendable (String) -> String?) -> [RunbookEffect] {
        guard let pre = step.precheck else { return runKind() }
        let ev = pre.evaluate(EvaluationContext(snapshot: lookup, variables: state.variables))
        var fx: [RunbookEffect] = [.log(checkEntry("precheck", pre, ev))]
        if ev.truth == .yes { return fx + runKind() }
        let msg = "Precheck \(ev.truth == .unknown ? "could not be evaluated (unknown)" : "failed"): expected \(pre), seen \(ev.seenDescription)."
        if options.dryRun {
            fx.append(.show(.init(.dryRun, msg + " A real run would stop here; continuing the dry run.")))
            return fx + runKind()
        }
        fx.append(.show(.init(.error, msg)))
        return fx + askRecovery(.precheck)
    }

    mutating func runKind() -> [RunbookEffect] {
        let s = step
        switch s.kind {
        case .explain:
            return completeStep(next: nil)
        case .check(let cmd, let expect, _, _, _):
            if let cmd {
                guard let rc = renderCommand(cmd, mutates: false, destructive: false) else { return missingVariables(cmd) }
                phase = .command(rc)
                return [.show(.init(.command, "$ " + rc.display)), .runCommand(rc)]
            }
            if let expect, expect.usesSnapshot {
                phase = .checkSnapshot(nil)
                return [.fetchSnapshot]
            }
            return evaluateCheck(nil, { _ in nil })
        case .command(let cmd, _):
            if let b = s.batches {
                state.variables[b.cursor] = "0"
                state.variables[b.count] = "0"
                batchesRun = 0
            }
            guard let rc = renderCommand(cmd, mutates: s.mutates, destructive: s.destructive) else { return missingVariables(cmd) }
            return prepareCommand(rc)
        case .confirm(let q, let def, _, _):
            if let id = s.id, let pre = options.presetAnswers[id]?.lowercased(), ["y", "yes", "n", "no", "true", "false"].contains(pre) {
                let y = ["y", "yes", "true"].contains(pre)
                return [.show(.init(.text, "\(render(q)) \(y ? "yes" : "no")  (--answer \(id)=\(pre))"))] + answerConfirm(y ? .yes : .no, by: "--answer")
            }
            if options.yes {
                if s.destructive && options.yesDestructive {
                    return [.show(.init(.text, "\(render(q)) yes  (--yes-destructive: this answer destroys data)"))] + answerConfirm(.yes, by: "--yes-destructive")
                }
                return [.show(.init(.text, "\(render(q)) \(def ? "yes" : "no")  (--yes: stated default)"))] + answerConfirm(def ? .yes : .no, by: "--yes")
            }
            phase = .confirm
            return [.ask(.init(kind: .confirm(defaultYes: def), text: render(q), stepIndex: state.stepIndex))]
        case .choice(let q, let opts, let def):
            if let id = s.id, let pre = options.presetAnswers[id], opts.contains(where: { $0.key == pre }) {
                return [.show(.init(.text, "\(render(q)) \(pre)  (--answer \(id)=\(pre))"))] + answerChoice(.choice(pre), by: "--answer")
            }
            if options.yes {
                return [.show(.init(.text, "\(render(q)) \(def)  (--yes: stated default)"))] + answerChoice(.choice(def), by: "--yes")
            }
            phase = .choice
            return [.ask(.init(kind: .choice(options: opts.map { .init(key: $0.key, label: render($0.label)) }, defaultKey: def),
                               text: render(q), stepIndex: state.stepIndex))]
        case .manual(let instr):
            var fx: [RunbookEffect] = [.show(.init(.text, render(instr)))]
            if options.yes {
                fx.append(.log(answerEntry(prompt: "Done? (\(step.title))", answer: "not answered: a person has to do this", by: "--yes")))
                return fx + abort("Step \(state.stepIndex + 1) (\(render(s.title))) is manual: --yes never answers it done. Do it, then resume with --resume.", status: .aborted, undo: false)
            }
            phase = .manual
            fx.append(.ask(.init(kind: .proceed, text: "Done? (answer no to stop here; the run can be resumed later)", stepIndex: state.stepIndex)))
            return fx
        case .waitUntil(let cond, _, _, let timeout):
            return [.show(.init(.text, "Waiting up to \(Int(timeout)) s for: \(cond)"))] + pollWait(0)
        case .keyspace(let top, let scanCount):
            let prefix = state.variables["bullmq_prefix"].flatMap { $0.isEmpty ? nil : $0 } ?? "bull"
            let req = KeyspaceRequest(top: top, scanCount: scanCount, bullPrefix: prefix)
            phase = .keyspace(req)
            return [.show(.init(.command, "$ " + req.display + "   (read-only: SCAN in batches of at most \(scanCount), never KEYS)")), .analyzeKeyspace(req)]
        }
    }

    mutating func keyspaceDone(_ req: KeyspaceRequest, _ out: KeyspaceOutcome) -> [RunbookEffect] {
        var fx: [RunbookEffect] = []
        var e = IncidentEntry(type: .command, runbook: runbook.id)
        fillStep(&e)
        e.argv = req.display.split(separator: " ").map(String.init)
        e.mutates = false
        e.context = state.target.context; e.namespace = state.target.namespace
        e.exitCode = out.complete ? 0 : 2
        e.termination = out.complete ? "complete" : "partial: \(out.stopReason ?? "stopped")"
        e.durationSeconds = out.durationSeconds
        e.stdout = out.report
        fx.append(.log(e))
        if !out.report.isEmpty { fx.append(.show(.init(.output, IncidentLog.excerpt(out.report, limit: 4000)))) }
        if out.complete {
            fx.append(.show(.init(.success, "(analysis complete, \(String(format: "%.1f", out.durationSeconds)) s)")))
        } else {
            fx.append(.show(.init(.warning, "Partial analysis (\(out.stopReason ?? "stopped")): the figures cover the keys scanned so far.")))
        }
        for (name, value) in out.values.sorted(by: { $0.key < $1.key }) {
            state.variables[name] = value
            var c = IncidentEntry(type: .capture, runbook: runbook.id)
            fillStep(&c); c.name = name; c.value = value
            fx.append(.log(c))
        }
        return fx + startPostcheck(nil)
    }

    /// The default of a variable after `size`, `multiply` and `reserve`: e.g. 1Gi with multiply
    /// 0.75 and a reserve of 400 MiB gives min(768 MiB, 1 GiB − 400 MiB) = 624 MiB, in bytes.
    /// A value that is not a size is returned as it is.
    func computedDefault(_ v: VariableDecl, _ value: String) -> String { v.computedValue(value, variables: state.variables) }

    // MARK: command steps

    mutating func prepareCommand(_ rc: RenderedCommand) -> [RunbookEffect] {
        if !rc.mutates {
            phase = .command(rc)
            return [.show(.init(.command, "$ " + rc.display)), .runCommand(rc)]
        }
        var fx: [RunbookEffect] = [.show(.init(.command, "This step changes state\(rc.destructive ? " and is DESTRUCTIVE" : ""). Exact command:\n  $ " + rc.display))]
        if options.readOnly {
            var e = stepEntry(.refused)
            e.argv = rc.argv
            e.message = "--read-only: mutating step refused"
            fx.append(.log(e))
            fx.append(.show(.init(.error, "Refused: --read-only is set and this step changes state. Nothing was run. Run again without --read-only (and with --resume) to perform it.")))
            return fx + abort(nil, status: .refused)
        }
        if options.dryRun {
            var e = IncidentEntry(type: .command, runbook: runbook.id)
            fillStep(&e)
            e.argv = rc.argv; e.mutates = true; e.dryRun = true
            e.context = state.target.context; e.namespace = state.target.namespace
            e.message = "not run (dry run)"
            fx.append(.log(e))
            fx.append(.show(.init(.dryRun, "[dry-run] not run.")))
            if let post = step.postcheck { fx.append(.show(.init(.dryRun, "[dry-run] would then check: \(post)"))) }
            return fx + completeStep(next: nil)
        }
        if rc.destructive {
            if options.yes && options.yesDestructive {
                fx.append(.show(.init(.warning, "Typed confirmation given by --yes-destructive.")))
                fx.append(.log(answerEntry(prompt: "type \(state.target.pod) to run a destructive step", answer: state.target.pod, by: "--yes-destructive")))
                return fx + launch(rc)
            }
            phase = .typed(rc, attempts: 0)
            // The prompt stays one short line; how the step is taken back (when it can be) is said before it.
            let undo = undoSentence()
            if let undo { fx.append(.show(.init(.text, undo))) }
            fx.append(.ask(.init(kind: .typed(expected: state.target.pod),
                                 text: "\(undo == nil ? "This cannot be undone. " : "")Type the pod name (\(state.target.pod)) to run it", stepIndex: state.stepIndex)))
            return fx
        }
        if options.yes {
            fx.append(.log(answerEntry(prompt: "Run this command?", answer: "yes", by: "--yes")))
            return fx + launch(rc)
        }
        phase = .proceedCommand(rc)
        fx.append(.ask(.init(kind: .proceed, text: "Run this command?", stepIndex: state.stepIndex)))
        return fx
    }

    /// How a destructive step with undo commands is taken back (shown before its typed
    /// confirmation); nil when it has none: then it "cannot be undone".
    func undoSentence() -> String? {
        guard case .commands(let cmds)? = step.undo, !cmds.isEmpty else { return nil }
        let shown = cmds.compactMap { renderCommand($0, mutates: true, destructive: false)?.display }
        let later = runbook.steps.contains { if case .undoes(let id)? = $0.undo { return id == step.id }; return false }
        return "If the run stops before its end, this run takes it back with: " + shown.map { "$ " + $0 }.joined(separator: "; ")
            + (later ? " (a later step of this runbook also takes it back)." : ".")
    }

    /// The data before the run (live at its start, else the last-seen record), set by the
    /// driver before `.start`; a resumed run keeps the one of its first start.
    public mutating func setDataBefore(_ point: DataPoint?, source: String) {
        if resumed, state.dataBefore != nil { return }
        state.dataBefore = point
        state.dataBeforeSource = source
    }

    mutating func answerProceed(_ rc: RenderedCommand, _ a: RunAnswer) -> [RunbookEffect] {
        switch a {
        case .yes:
            return [.log(answerEntry(prompt: "Run this command?", answer: "yes", by: "operator"))] + launch(rc)
        default:
            let by = a == .useDefault ? "default (no input)" : "operator"
            return [.log(answerEntry(prompt: "Run this command?", answer: "no", by: by))]
                + abort("Not run. Stopped at step \(state.stepIndex + 1); nothing was changed by this step. Resume with --resume.", status: .aborted)
        }
    }

    mutating func answerTyped(_ rc: RenderedCommand, _ attempts: Int, _ a: RunAnswer) -> [RunbookEffect] {
        let expected = state.target.pod
        if case .text(let t) = a, t.trimmingCharacters(in: .whitespaces) == expected {
            return [.log(answerEntry(prompt: "type \(expected) to run a destructive step", answer: expected, by: "operator"))] + launch(rc)
        }
        let given: String
        switch a { case .text(let t): given = t; case .useDefault: given = "(no input)"; default: given = "(declined)" }
        var fx: [RunbookEffect] = [.log(answerEntry(prompt: "type \(expected) to run a destructive step", answer: given, by: a == .useDefault ? "default (no input)" : "operator"))]
        if case .text(let t) = a, !t.isEmpty, attempts < 2 {
            phase = .typed(rc, attempts: attempts + 1)
            fx.append(.show(.init(.error, "That is not \(expected). Nothing was run.")))
            fx.append(.ask(.init(kind: .typed(expected: expected), text: "Type the pod name (\(expected)) to run it", stepIndex: state.stepIndex)))
            return fx
        }
        return fx + abort("Destructive step not confirmed; nothing was run. Stopped at step \(state.stepIndex + 1) (resume with --resume).", status: .aborted)
    }

    /// Records the "before" snapshot, marks the step in flight, runs the command.
    mutating func launch(_ rc: RenderedCommand) -> [RunbookEffect] {
        state.inFlightStep = state.stepIndex
        pushUndo()
        phase = .command(rc)
        return [.recordSnapshot(phase: "before", stepIndex: state.stepIndex), .saveState(state), .runCommand(rc)]
    }

    mutating func commandDone(_ rc: RenderedCommand, _ out: CommandOutcome) -> [RunbookEffect] {
        lastOutcome = out
        var fx: [RunbookEffect] = []
        var e = IncidentEntry(type: .command, runbook: runbook.id)
        fillStep(&e)
        e.argv = rc.argv; e.mutates = rc.mutates
        e.context = state.target.context; e.namespace = state.target.namespace
        e.exitCode = out.exitCode; e.termination = out.termination; e.durationSeconds = out.durationSeconds
        e.stdout = out.stdout; e.stderr = out.stderr
        fx.append(.log(e))
        if rc.mutates {
            state.inFlightStep = nil
            if case .none? = step.undo { pushUndo() }
            // A batch step records its "after" snapshot once, after its last batch.
            if step.batches == nil { fx.append(.recordSnapshot(phase: "after", stepIndex: state.stepIndex)) }
            if out.succeeded, case .undoes(let other)? = step.undo, let j = runbook.stepIndex(id: other) {
                // The change of step `other` is taken back by this step: no undo needed any more.
                state.undoStack = (state.undoStack ?? []).filter { $0.stepIndex != j }
            }
        }
        if let b = step.batches, case .command(let cmd, _) = step.kind {
            return fx + batchDone(b, cmd, rc, out)
        }
        let shown = [out.stdout, out.stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
        if !shown.isEmpty { fx.append(.show(.init(.output, IncidentLog.excerpt(shown, limit: 2000)))) }
        fx.append(.show(.init(out.succeeded ? .success : .warning, "(\(out.termination), \(String(format: "%.1f", out.durationSeconds)) s)")))
        if let cap = step.capture {
            let v = String(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).prefix(4096))
            state.variables[cap] = v
            var c = IncidentEntry(type: .capture, runbook: runbook.id)
            fillStep(&c); c.name = cap; c.value = v
            fx.append(.log(c))
        }
        switch step.kind {
        case .check(_, let expect, _, _, _):
            if let expect, expect.usesSnapshot {
                phase = .checkSnapshot(out)
                return fx + [.fetchSnapshot]
            }
            return fx + evaluateCheck(out, { _ in nil })
        case .command(_, let allowFailure):
            if !out.succeeded && !allowFailure {
                fx.append(.show(.init(.error, "The command failed (\(out.termination)); expected exit status 0.")))
                return fx + askRecovery(.command)
            }
            return fx + startPostcheck(out)
        default:
            return fx + startPostcheck(out)
        }
    }

    // MARK: batches

    var batchesRun = 0

    /// One batch of a `batches:` step is done: record its cursor and count, then run the next
    /// batch (same confirmation) until the cursor is 0 or `max` batches ran.
    mutating func batchDone(_ b: BatchSpec, _ cmd: CommandTemplate, _ rc: RenderedCommand, _ out: CommandOutcome) -> [RunbookEffect] {
        batchesRun += 1
        let lines = out.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard out.succeeded, lines.count >= 2, let cursor = UInt64(lines[0]), let n = Int(lines[1]) else {
            let shown = [out.stdout, out.stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
            var fx: [RunbookEffect] = []
            if !shown.isEmpty { fx.append(.show(.init(.output, IncidentLog.excerpt(shown, limit: 2000)))) }
            fx.append(.show(.init(.error, "Batch \(batchesRun) did not return a cursor and a count (\(out.termination)); \(state.variables[b.count] ?? "0") keys were handled before it.")))
            return fx + askRecovery(.command)
        }
        let done = (Int(state.variables[b.count] ?? "0") ?? 0) + n
        state.variables[b.cursor] = String(cursor)
        state.variables[b.count] = String(done)
        let total: String = b.total.flatMap { t -> String? in
            if case .success(let s) = t.render(state.variables) { return s }
            return nil
        } ?? "?"
        var fx: [RunbookEffect] = [.show(.init(.progress, "batch \(batchesRun): \(done) of \(total) keys (cursor \(cursor))"))]
        if cursor != 0 && batchesRun < b.maxBatches {
            guard let next = renderCommand(cmd, mutates: rc.mutates, destructive: rc.destructive) else { return fx + missingVariables(cmd) }
            phase = .command(next)
            return fx + [.runCommand(next)]
        }
        var c = IncidentEntry(type: .capture, runbook: runbook.id)
        fillStep(&c); c.name = b.count; c.value = String(done)
        fx.append(.log(c))
        if rc.mutates { fx.append(.recordSnapshot(phase: "after", stepIndex: state.stepIndex)) }
        if cursor != 0 {
            fx.append(.show(.init(.warning, "Stopped after \(batchesRun) batches (the step's limit) with the scan not finished: \(done) keys handled. Run the step again to go on.")))
        } else {
            fx.append(.show(.init(.success, "Scan finished: \(done) keys in \(batchesRun) batches.")))
        }
        return fx + startPostcheck(out)
    }

    // MARK: checks

    mutating func evaluateCheck(_ out: CommandOutcome?, _ lookup: @escaping @Sendable (String) -> String?) -> [RunbookEffect] {
        guard case .check(_, let expect, let onPass, let onFail, let required) = step.kind else { return [] }
        let ev: Evaluation
        let condText: String
        if let out, !out.succeeded, Self.refusedByTheAPI(out) {
            // A 403 says what this user may do, nothing about Redis: no branch is taken on it
            // (a viewer's `loading` run must not read "not loading" from a refused exec).
            var fx: [RunbookEffect] = [.show(.init(.error, "Cannot check: the API server refused the command (\(Self.firstLine(out.stderr))); this user lacks the right it needs."))]
            fx.append(.log(checkEntry("check", nil, Evaluation(truth: .unknown, seen: ["refused: \(Self.firstLine(out.stderr))"]), text: expect?.description ?? "exitCode == 0")))
            return fx + askRecovery(.check)
        }
        if let expect, let out, !out.succeeded, !expect.usesExitCode {
            // A check never passes on the output of a command that failed (an empty stdout, an
            // error text that happens to match): only a condition on exitCode may expect a failure.
            let e = expect.evaluate(EvaluationContext(snapshot: lookup, result: out, variables: state.variables))
            ev = Evaluation(truth: .no, seen: ["the command failed (\(out.termination))"] + e.seen)
            condText = expect.description
        } else if let expect {
            ev = expect.evaluate(EvaluationContext(snapshot: lookup, result: out, variables: state.variables))
            condText = expect.description
        } else {
            ev = Evaluation(truth: out?.succeeded == true ? .yes : .no, seen: ["exitCode = \(out?.exitCode.map(String.init) ?? "none")"])
            condText = "exitCode == 0"
        }
        var fx: [RunbookEffect] = [.log(checkEntry("check", nil, ev, text: condText))]
        switch ev.truth {
        case .yes:
            fx.append(.show(.init(.success, "✓ \(condText)  (seen: \(ev.seenDescription))")))
            return fx + startPostcheck(out, next: onPass)
        case .no, .unknown:
            let what = ev.truth == .unknown ? "unknown" : "not met"
            if let onFail {
                fx.append(.show(.init(.warning, "✗ \(condText): \(what) (seen: \(ev.seenDescription)); continuing at '\(onFail)'.")))
                return fx + completeStep(next: onFail)
            }
            if !required {
                fx.append(.show(.init(.warning, "✗ \(condText): \(what) (seen: \(ev.seenDescription)). Informational; continuing.")))
                return fx + startPostcheck(out, next: nil)
            }
            fx.append(.show(.init(.error, "Check failed: expected \(condText), seen \(ev.seenDescription)\(ev.truth == .unknown ? " (unknown)" : "").")))
            return fx + askRecovery(.check)
        }
    }

    /// kubectl's words for an authorization refusal: `Error from server (Forbidden): ... is forbidden: User "..." cannot ...`.
    static func refusedByTheAPI(_ out: CommandOutcome) -> Bool {
        out.stderr.contains("(Forbidden)") || (out.stderr.contains(" is forbidden: User ") && out.stderr.contains(" cannot "))
    }

    static func firstLine(_ s: String) -> String {
        String(s.split(whereSeparator: \.isNewline).first ?? "").trimmingCharacters(in: .whitespaces)
    }

    mutating func startPostcheck(_ out: CommandOutcome?, next: String? = nil) -> [RunbookEffect] {
        pendingNext = next
        guard let post = step.postcheck else { return completeStep(next: next) }
        if post.usesSnapshot {
            phase = .postcheckSnapshot(out)
            return [.fetchSnapshot]
        }
        return evaluatePostcheck(out, { _ in nil })
    }
    var pendingNext: String?

    mutating func evaluatePostcheck(_ out: CommandOutcome?, _ lookup: @escaping @Sendable (String) -> String?) -> [RunbookEffect] {
        guard let post = step.postcheck else { return completeStep(next: pendingNext) }
        let ev = post.evaluate(EvaluationContext(snapshot: lookup, result: out ?? lastOutcome, variables: state.variables))
        var fx: [RunbookEffect] = [.log(checkEntry("postcheck", post, ev))]
        if ev.truth == .yes {
            fx.append(.show(.init(.success, "✓ \(post)  (seen: \(ev.seenDescription))")))
            return fx + completeStep(next: pendingNext)
        }
        fx.append(.show(.init(.error, "Postcheck failed: expected \(post), seen \(ev.seenDescription)\(ev.truth == .unknown ? " (unknown: never counted as true)" : "").")))
        return fx + askRecovery(.postcheck)
    }

    // MARK: recovery (retry / skip / abort)

    mutating func askRecovery(_ gate: Gate) -> [RunbookEffect] {
        if options.yes {
            return [.show(.init(.text, "Retry, skip or abort?  abort  (--yes takes the safe default)")),
                    .log(answerEntry(prompt: "retry / skip / abort", answer: "abort", by: "--yes"))]
                + abort("Stopped at step \(state.stepIndex + 1) after a failed check (safe default). Resume with --resume.", status: .aborted)
        }
        phase = .recovery(gate)
        return [.ask(.init(kind: .recovery, text: "Retry, skip (recorded) or abort?", stepIndex: state.stepIndex))]
    }

    mutating func recover(_ gate: Gate, _ a: RunAnswer) -> [RunbookEffect] {
        switch a {
        case .retry:
            var fx: [RunbookEffect] = [.log(answerEntry(prompt: "retry / skip / abort", answer: "retry", by: "operator"))]
            switch gate {
            case .precheck:
                if step.precheck?.usesSnapshot == true { phase = .precheck; fx.append(.fetchSnapshot) }
                else { fx += evaluatePrecheck({ _ in nil }) }
            case .command, .check:
                fx += runKind()
            case .postcheck:
                if step.postcheck?.usesSnapshot == true { phase = .postcheckSnapshot(lastOutcome); fx.append(.fetchSnapshot) }
                else { fx += evaluatePostcheck(lastOutcome, { _ in nil }) }
            case .wait:
                fx += runKind()
            }
            return fx
        case .skip:
            var fx: [RunbookEffect] = [.log(answerEntry(prompt: "retry / skip / abort", answer: "skip", by: "operator"))]
            var e = stepEntry(.stepSkipped)
            e.message = "skipped by the operator after a failed \(gate)"
            fx.append(.log(e))
            fx.append(.show(.init(.warning, "Skipped step \(state.stepIndex + 1) (recorded in the incident log).")))
            state.skippedSteps.append(state.stepIndex)
            return fx + advance(next: nil)
        default:
            let by = a == .useDefault ? "default (no input)" : "operator"
            return [.log(answerEntry(prompt: "retry / skip / abort", answer: "abort", by: by))]
                + abort("Aborted at step \(state.stepIndex + 1). Resume with --resume.", status: .aborted)
        }
    }

    // MARK: confirm / choice / manual

    mutating func answerConfirm(_ a: RunAnswer, by: String) -> [RunbookEffect] {
        guard case .confirm(let q, let def, let onYes, let onNo) = step.kind else { return [] }
        let yes: Bool
        var who = by
        switch a {
        case .yes: yes = true
        case .no: yes = false
        case .useDefault: yes = def; who = "default (no input)"
        default: yes = false
        }
        state.lastQuestion = state.stepIndex
        var fx: [RunbookEffect] = [.log(answerEntry(prompt: render(q), answer: yes ? "yes" : "no", by: who))]
        if yes {
            return fx + startPostcheck(nil, next: onYes)
        }
        if let onNo { return fx + startPostcheck(nil, next: onNo) }
        if onYes != nil { return fx + startPostcheck(nil, next: nil) }
        return fx + abort("Answered no at step \(state.stepIndex + 1) (\(render(step.title))).", status: .aborted)
    }

    mutating func answerChoice(_ a: RunAnswer, by: String) -> [RunbookEffect] {
        guard case .choice(let q, let opts, let def) = step.kind else { return [] }
        var key = def
        var who = by
        switch a {
        case .choice(let k), .text(let k):
            if let o = opts.first(where: { $0.key == k || $0.key.lowercased() == k.lowercased() }) { key = o.key }
            else {
                phase = .choice
                return [.show(.init(.error, "'\(clip(k, 30))' is not one of \(opts.map(\.key).joined(separator: ", ")).")),
                        .ask(.init(kind: .choice(options: opts.map { .init(key: $0.key, label: render($0.label)) }, defaultKey: def), text: render(q), stepIndex: state.stepIndex))]
            }
        case .useDefault: who = "default (no input)"
        default: break
        }
        let opt = opts.first { $0.key == key }!
        state.lastQuestion = state.stepIndex
        return [.log(answerEntry(prompt: render(q), answer: "\(opt.key): \(render(opt.label))", by: who))] + startPostcheck(nil, next: opt.goto)
    }

    mutating func answerManual(_ a: RunAnswer, by: String) -> [RunbookEffect] {
        if a == .yes {
            return [.log(answerEntry(prompt: "Done? (\(step.title))", answer: "yes", by: by))] + startPostcheck(nil)
        }
        let who = a == .useDefault ? "default (no input)" : by
        return [.log(answerEntry(prompt: "Done? (\(step.title))", answer: "no", by: who))]
            + abort("Stopped at the manual step \(state.stepIndex + 1). Resume with --resume when it is done.", status: .aborted, undo: false)
    }

    // MARK: wait-until

    mutating func pollWait(_ elapsed: Double) -> [RunbookEffect] {
        guard case .waitUntil(let cond, let cmd, _, _) = step.kind else { return [] }
        if let cmd {
            guard let rc = renderCommand(cmd, mutates: false, destructive: false) else { return missingVariables(cmd) }
            phase = .waitCommand(elapsed: elapsed)
            return [.runCommand(rc)]
        }
        if cond.usesSnapshot {
            phase = .waitSnapshot(elapsed: elapsed, outcome: nil)
            return [.fetchSnapshot]
        }
        return evaluateWait(elapsed, nil, { _ in nil })
    }

    mutating func waitCommandDone(_ elapsed: Double, _ out: CommandOutcome) -> [RunbookEffect] {
        lastOutcome = out
        guard case .waitUntil(let cond, _, _, _) = step.kind else { return [] }
        let spent = elapsed + out.durationSeconds
        if cond.usesSnapshot {
            phase = .waitSnapshot(elapsed: spent, outcome: out)
            return [.fetchSnapshot]
        }
        return evaluateWait(spent, out, { _ in nil })
    }

    mutating func evaluateWait(_ elapsed: Double, _ out: CommandOutcome?, _ lookup: @escaping @Sendable (String) -> String?) -> [RunbookEffect] {
        guard case .waitUntil(let cond, _, let interval, let timeout) = step.kind else { return [] }
        let ev = cond.evaluate(EvaluationContext(snapshot: lookup, result: out, variables: state.variables))
        let prog = WaitProgress(elapsedSeconds: elapsed, timeoutSeconds: timeout, condition: cond.description, seen: ev.seenDescription, truth: ev.truth)
        if ev.truth == .yes {
            return [.progress(prog), .log(checkEntry("wait-until", cond, ev)),
                    .show(.init(.success, "✓ \(cond) after \(Int(elapsed)) s  (seen: \(ev.seenDescription))"))] + startPostcheck(out)
        }
        if options.dryRun {
            return [.progress(prog), .show(.init(.dryRun, "[dry-run] not true yet (seen: \(ev.seenDescription)); a real run would wait up to \(Int(timeout)) s."))] + completeStep(next: nil)
        }
        if elapsed + interval > timeout {
            return [.progress(prog), .log(checkEntry("wait-until (timed out)", cond, ev)),
                    .show(.init(.error, "Timed out after \(Int(elapsed)) s: expected \(cond), seen \(ev.seenDescription)\(ev.truth == .unknown ? " (unknown)" : "")."))] + askRecovery(.wait)
        }
        phase = .waitSleeping(elapsed: elapsed + interval)
        return [.progress(prog), .show(.init(.progress, "… \(Int(elapsed)) / \(Int(timeout)) s  \(ev.seenDescription)")), .wait(seconds: interval)]
    }

    // MARK: - Completion

    mutating func completeStep(next: String?) -> [RunbookEffect] {
        var fx: [RunbookEffect] = []
        state.completedSteps.append(state.stepIndex)
        fx.append(.log(stepEntry(.stepDone)))
        if let mode = step.stop, !options.dryRun {
            return fx + abort("Stopped at step \(state.stepIndex + 1): \(render(step.title)).", status: .aborted, undo: mode == .undo)
        }
        return fx + advance(next: next)
    }

    mutating func advance(next: String?) -> [RunbookEffect] {
        let target = next ?? step.next
        if let target {
            if target == "end" { state.stepIndex = runbook.steps.count }
            else if let i = runbook.stepIndex(id: target) { state.stepIndex = i }
            else { return abort("Branch to unknown step '\(target)'.", status: .aborted) }
        } else {
            state.stepIndex += 1
        }
        pendingNext = nil
        if state.stepIndex >= runbook.steps.count { return finish() }
        return [.saveState(state)] + beginStep()
    }

    mutating func finish() -> [RunbookEffect] {
        state.stepIndex = min(state.stepIndex, runbook.steps.count)
        stopReason = nil
        endStatus = .finished
        return endRun(runUndo: false)
    }

    /// Stops the run: the undo of what it changed (unless `undo` is false), then the end state
    /// and the verdict. `message` says why it stopped.
    mutating func abort(_ message: String?, status: RunStatus, undo: Bool = true) -> [RunbookEffect] {
        let msg = message ?? (status == .refused ? "Refused (read-only)." : "Stopped.")
        stopReason = msg
        endStatus = status
        var fx: [RunbookEffect] = []
        if message != nil { fx.append(.show(.init(.warning, msg))) }
        return fx + endRun(runUndo: undo && status != .refused)
    }

    // MARK: - Undo, end state, verdict

    mutating func interrupt(_ why: String) -> [RunbookEffect] {
        let idx = min(state.stepIndex, runbook.steps.count - 1)
        let title = idx >= 0 ? render(runbook.steps[idx].title) : ""
        var note = "Interrupted (\(why)) during step \(idx + 1) (\(title))."
        if case .command(let rc) = phase, rc.mutates {
            note += " Its command changes state and was ended mid-way: it may or may not have taken effect."
        }
        if case .undoCommand = phase { note += " An undo command was ended mid-way." }
        state.interrupted = note
        stopReason = note
        endStatus = .aborted
        var e = stepEntry(.stepSkipped)
        e.message = "interrupted: \(why)"
        var fx: [RunbookEffect] = [.show(.init(.warning, note)), .log(e)]
        // No undo and no end-state checks: the operator asked to stop now. The verdict says
        // what this run left in place.
        endFailures = ["interrupted (\(why)) during step \(idx + 1) (\(title)); the live state was not checked"]
        if let f = state.inFlightStep {
            endFailures.append("step \(f + 1)'s command that changes state may or may not have taken effect")
        }
        fx += verdict()
        return fx
    }

    mutating func pushUndo() {
        guard let spec = step.undo else { return }
        var stack = state.undoStack ?? []
        if stack.contains(where: { $0.stepIndex == state.stepIndex }) { return }
        switch spec {
        case .commands(let cmds):
            let rendered = cmds.compactMap { renderCommand($0, mutates: true, destructive: false) }
            stack.append(PendingUndo(stepIndex: state.stepIndex, stepId: step.id, title: render(step.title),
                                     commands: rendered.map(\.argv), stdin: rendered.map(\.stdin), keptReason: nil))
        case .none(let reason):
            // Recorded only when the command succeeded (a failed copy made no backup).
            guard lastOutcome?.succeeded == true else { return }
            stack.append(PendingUndo(stepIndex: state.stepIndex, stepId: step.id, title: render(step.title), commands: [], stdin: [], keptReason: render(reason)))
        case .undoes:
            return
        }
        state.undoStack = stack
    }

    mutating func endRun(runUndo: Bool) -> [RunbookEffect] {
        phase = .done
        var fx: [RunbookEffect] = []
        if runUndo && !options.dryRun && !state.pendingUndo.isEmpty {
            fx.append(.show(.init(.step, "Undo: taking back what this run changed (newest first)")))
            return fx + nextUndo()
        }
        return fx + startEndState()
    }

    mutating func nextUndo() -> [RunbookEffect] {
        guard undoFailed == nil, let entry = state.pendingUndo.last else { return startEndState() }
        // The next command of this entry: the ones already run are dropped from it.
        guard let argv = entry.commands.first else {
            state.undoStack = (state.undoStack ?? []).filter { $0 != entry }
            undoRan.append(entry)
            return [.saveState(state)] + nextUndo()
        }
        let rc = RenderedCommand(argv: argv, stdin: entry.stdin.first ?? nil, timeoutSeconds: 180, mutates: true, destructive: false)
        phase = .undoCommand(rc)
        var a = IncidentEntry(type: .answer, runbook: runbook.id)
        a.stepIndex = entry.stepIndex; a.stepId = entry.stepId; a.stepTitle = entry.title
        a.prompt = "undo of step \(entry.stepIndex + 1)"; a.answer = "run"; a.by = "stopped run"
        return [.show(.init(.command, "Undo of step \(entry.stepIndex + 1) (\(entry.title)). This changes state. Exact command:\n  $ " + rc.display)),
                .log(a), .recordSnapshot(phase: "before", stepIndex: entry.stepIndex), .runCommand(rc)]
    }

    mutating func undoCommandDone(_ rc: RenderedCommand, _ out: CommandOutcome) -> [RunbookEffect] {
        guard var entry = state.pendingUndo.last else { return startEndState() }
        var e = IncidentEntry(type: .command, runbook: runbook.id)
        e.stepIndex = entry.stepIndex; e.stepId = entry.stepId; e.stepTitle = entry.title
        e.argv = rc.argv; e.mutates = true; e.message = "undo"
        e.context = state.target.context; e.namespace = state.target.namespace
        e.exitCode = out.exitCode; e.termination = out.termination; e.durationSeconds = out.durationSeconds
        e.stdout = out.stdout; e.stderr = out.stderr
        var fx: [RunbookEffect] = [.log(e), .recordSnapshot(phase: "after", stepIndex: entry.stepIndex)]
        if let b = step.batches, case .command(let cmd, _) = step.kind {
            return fx + batchDone(b, cmd, rc, out)
        }
        let shown = [out.stdout, out.stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
        if !shown.isEmpty { fx.append(.show(.init(.output, IncidentLog.excerpt(shown, limit: 2000)))) }
        if !out.succeeded {
            undoFailed = "the undo of step \(entry.stepIndex + 1) failed (\(out.termination)); later undo commands were not run"
            fx.append(.show(.init(.error, "Undo failed (\(out.termination)). The remaining undo commands are not run; they are listed below.")))
            return fx + [.saveState(state)] + startEndState()
        }
        fx.append(.show(.init(.success, "(\(out.termination), \(String(format: "%.1f", out.durationSeconds)) s)")))
        // Drop the command that ran from the entry.
        var stack = state.undoStack ?? []
        if let k = stack.lastIndex(of: entry) {
            entry.commands.removeFirst()
            if !entry.stdin.isEmpty { entry.stdin.removeFirst() }
            stack[k] = entry
            if entry.commands.isEmpty {
                stack.remove(at: k)
                undoRan.append(entry)
            }
        }
        state.undoStack = stack
        return fx + [.saveState(state)] + nextUndo()
    }

    mutating func startEndState() -> [RunbookEffect] {
        if options.dryRun || runbook.endState.isEmpty { return verdict() }
        endFailures = []
        endKeys = nil
        return [.show(.init(.step, "End state: checking the live system"))] + runEndCheck(0, elapsed: 0)
    }

    /// Index i over checks, then the key count as the last one.
    mutating func runEndCheck(_ i: Int, elapsed: Double) -> [RunbookEffect] {
        if i == 0 { endFailures = []; endKeys = nil; endPolls += 1 }
        let checks = runbook.endState.checks
        if i < checks.count {
            let c = checks[i]
            if c.writes && options.readOnly {
                endFailures.append("\(render(c.name)): not checked (--read-only)")
                return runEndCheck(i + 1, elapsed: elapsed)
            }
            guard let rc = renderCommand(c.command, mutates: false, destructive: false) else {
                endFailures.append("\(render(c.name)): cannot be checked (a variable has no value)")
                return runEndCheck(i + 1, elapsed: elapsed)
            }
            phase = .endCheck(i, elapsed: elapsed)
            return (endPolls == 1 ? [.show(.init(.command, "$ " + rc.display))] : []) + [.runCommand(rc)]
        }
        if i == checks.count, let k = runbook.endState.keys, let rc = renderCommand(k.command, mutates: false, destructive: false) {
            phase = .endCheck(i, elapsed: elapsed)
            return (endPolls == 1 ? [.show(.init(.command, "$ " + rc.display))] : []) + [.runCommand(rc)]
        }
        // A round is over.
        if endFailures.isEmpty { return verdict() }
        let limit = undoRan.isEmpty ? (stopReason == nil ? 10 : 0) : runbook.endState.waitSeconds
        if elapsed + 3 <= limit {
            phase = .endWait(elapsed: elapsed + 3)
            let names = endFailures.map { $0.components(separatedBy: ": ").first ?? $0 }
            let fx: [RunbookEffect] = endPolls % 5 == 1 ? [.show(.init(.progress, "… \(Int(elapsed)) / \(Int(limit)) s  not yet: \(names.joined(separator: "; "))"))] : []
            return fx + [.wait(seconds: 3)]
        }
        return verdict()
    }

    mutating func endCheckDone(_ i: Int, _ elapsed: Double, _ out: CommandOutcome) -> [RunbookEffect] {
        let checks = runbook.endState.checks
        let spent = elapsed + out.durationSeconds
        var e = IncidentEntry(type: .check, runbook: runbook.id)
        e.message = "end state"
        if i < checks.count {
            let c = checks[i]
            let ev = c.expect.evaluate(EvaluationContext(snapshot: { _ in nil }, result: out, variables: state.variables))
            e.condition = "\(render(c.name)): \(c.expect)"; e.result = ev.truth.rawValue; e.seen = ev.seenDescription
            if ev.truth != .yes { endFailures.append("\(render(c.name)): no (seen \(clip(ev.seenDescription, 60)))") }
            return [.log(e)] + runEndCheck(i + 1, elapsed: spent)
        }
        // keys
        guard let k = runbook.endState.keys else { return runEndCheck(i + 1, elapsed: spent) }
        let now = out.succeeded ? Int(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        let before = Int(state.variables["keys_at_start"] ?? "") ?? k.fallbackBefore.flatMap { Int(state.variables[$0] ?? "") }
        state.variables["keys_at_end"] = now.map(String.init) ?? "unknown"
        e.condition = "key count against the start (\(before.map(String.init) ?? "unknown")), at most \(k.maxLoss.map(String.init) ?? "any") lost"
        if let now {
            if let before {
                let lost = before - now
                endKeys = lost >= 0 ? "\(Self.grouped(now)) of \(Self.grouped(before)) keys" + (lost > 0 ? " (\(render(k.lossLabel)): \(Self.grouped(lost)))" : "")
                                    : "\(Self.grouped(now)) keys (\(Self.grouped(before)) before the run)"
                if let max = k.maxLoss, lost > max {
                    endFailures.append("\(Self.grouped(now)) of \(Self.grouped(before)) keys: \(Self.grouped(lost)) lost, at most \(max) allowed")
                } else if k.maxLoss == nil, now == 0, before > 0 {
                    endFailures.append("0 of \(Self.grouped(before)) keys: Redis is empty")
                }
            } else {
                endKeys = "\(Self.grouped(now)) keys (no count from before the run)"
            }
            e.result = endFailures.contains(where: { $0.contains("keys") }) ? "false" : "true"
            e.seen = "DBSIZE = \(now)"
        } else {
            endFailures.append("key count: DBSIZE did not answer a number")
            e.result = "unknown"; e.seen = clip(out.stdout + out.stderr, 120)
        }
        return [.log(e)] + runEndCheck(i + 1, elapsed: spent)
    }

    static func grouped(_ n: Int) -> String {
        let s = String(abs(n))
        var out = ""
        for (i, ch) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(",") }; out.append(ch) }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }

    /// The verdict line, the undo commands still pending, the exit code; then `.finished`.
    mutating func verdict() -> [RunbookEffect] {
        phase = .done
        let holds = endFailures.isEmpty
        let serving = runbook.endState.checks.contains { $0.name == "PING answers PONG" }
        let good = (serving ? "Redis serving" : "end state holds") + (endKeys.map { "; \($0)" } ?? "")
        var line: String
        var status: RunStatus
        if options.dryRun {
            status = endStatus == .finished ? .finished : endStatus
            line = status == .finished ? "finished (dry run): nothing that changes state was run; the end state was not checked"
                                       : "stopped (dry run): \(stopReason ?? "stopped"); nothing that changes state was run"
        } else if stopReason == nil && holds {
            status = .finished
            line = "finished: \(good)"
            state.undoStack = (state.undoStack ?? []).filter { $0.keptReason != nil }
        } else {
            status = endStatus == .finished ? .aborted : endStatus
            var parts = endFailures
            if let u = undoFailed { parts.insert(u, at: 0) }
            if parts.isEmpty { parts = [(stopReason ?? "stopped") + " The end state holds: " + good] }
            line = "stopped: " + parts.joined(separator: "; ")
        }
        let pending = state.pendingUndo
        let code: Int = status == .finished ? 0 : (pending.isEmpty && state.inFlightStep == nil ? 3 : 4)
        state.status = status
        state.exitCode = code
        state.verdict = line
        // Where --resume continues: the first change that was undone (done again from there),
        // else the question whose answer stopped the run, else where it stopped.
        if status != .finished {
            if let first = undoRan.map(\.stepIndex).min() { state.stepIndex = first }
            else if stopReason?.hasPrefix("Stopped at step") == true, let q = state.lastQuestion { state.stepIndex = q }
        }
        var fx: [RunbookEffect] = []
        if let r = stopReason, status != .finished { fx.append(.show(.init(.text, "Why the run stopped: \(r)"))) }
        if !undoRan.isEmpty { fx.append(.show(.init(.text, "Undone: " + undoRan.map { "step \($0.stepIndex + 1) (\($0.title))" }.joined(separator: ", ") + "."))) }
        if status != .finished {
            if pending.isEmpty {
                fx.append(.show(.init(.text, "Nothing this run changed is left in place.")))
            } else {
                var t = "Still in place from this run. To take it back by hand (newest first):"
                for p in pending.reversed() {
                    t += "\n  step \(p.stepIndex + 1) (\(p.title)):"
                    for (j, a) in p.commands.enumerated() {
                        let st = j < p.stdin.count ? p.stdin[j] : nil
                        t += "\n    $ " + RenderedCommand(argv: a, stdin: st, timeoutSeconds: 0, mutates: true, destructive: false).display
                    }
                }
                fx.append(.show(.init(.text, t)))
            }
        }
        let kept = (state.undoStack ?? []).filter { $0.keptReason != nil }
        if !kept.isEmpty {
            fx.append(.show(.init(.text, "Kept on purpose: " + kept.map { "step \($0.stepIndex + 1) (\($0.title)): \($0.keptReason!)" }.joined(separator: "; "))))
        }
        var e = IncidentEntry(type: .runEnd, runbook: runbook.id)
        e.status = status.rawValue
        e.message = line
        e.exitCode = code
        e.stepIndex = state.stepIndex
        e.variables = state.variables
        let skipped = state.skippedSteps.isEmpty ? "" : " (skipped steps: \(state.skippedSteps.map { String($0 + 1) }.joined(separator: ", ")))"
        fx.append(.show(.init(.verdict, line + skipped)))
        return fx + [.log(e), .saveState(state), .finished(status, line)]
    }

    // MARK: - Helpers

    func render(_ text: String) -> String {
        guard let t = try? Template.parse(text) else { return text }
        var out = ""
        for p in t.parts {
            switch p {
            case .text(let s): out += s
            case .variable(let v):
                // Never a raw {{name}} on screen: the value, else the variable's stated default.
                if let val = state.variables[v] { out += val }
                else if let d = runbook.variables.first(where: { $0.name == v })?.defaultValue, !d.contains("{{") { out += d }
                else { out += "(no value for \(v))" }
            }
        }
        return out
    }

    /// argv from the template; kubectl gets --context / --kubeconfig / --request-timeout / --as / -n right after argv[0].
    public func renderCommand(_ c: CommandTemplate, mutates: Bool, destructive: Bool) -> RenderedCommand? {
        var argv: [String] = []
        for t in c.argv {
            guard case .success(let s) = t.render(state.variables) else { return nil }
            argv.append(s)
        }
        if argv.first == "kubectl" {
            argv.insert(contentsOf: state.target.target.kubectlGlobalFlags(), at: 1)
        }
        var stdin: String? = nil
        if let st = c.stdin {
            guard case .success(let s) = st.render(state.variables) else { return nil }
            stdin = s
        }
        return RenderedCommand(argv: argv, stdin: stdin, timeoutSeconds: c.timeoutSeconds, mutates: mutates, destructive: destructive)
    }

    mutating func missingVariables(_ c: CommandTemplate) -> [RunbookEffect] {
        let missing = Set(c.variables.filter { state.variables[$0] == nil }).sorted()
        return abort("Cannot build the command of step \(state.stepIndex + 1): no value for \(missing.map { "{{\($0)}}" }.joined(separator: ", ")). Nothing was run.", status: .aborted)
    }

    func fillStep(_ e: inout IncidentEntry) {
        guard state.stepIndex < runbook.steps.count else { return }
        e.stepIndex = state.stepIndex
        e.stepId = step.id
        e.stepTitle = step.title
    }

    func stepEntry(_ kind: IncidentEntry.Kind) -> IncidentEntry {
        var e = IncidentEntry(type: kind, runbook: runbook.id)
        fillStep(&e)
        return e
    }

    mutating func answerEntry(prompt: String, answer: String, by: String) -> IncidentEntry {
        state.answers.append(RecordedAnswer(stepIndex: state.stepIndex, stepId: state.stepIndex < runbook.steps.count ? step.id : nil, prompt: prompt, answer: answer, by: by))
        var e = IncidentEntry(type: .answer, runbook: runbook.id)
        fillStep(&e)
        e.prompt = prompt; e.answer = answer; e.by = by
        return e
    }

    func checkEntry(_ what: String, _ c: Condition?, _ ev: Evaluation, text: String? = nil) -> IncidentEntry {
        var e = IncidentEntry(type: .check, runbook: runbook.id)
        fillStep(&e)
        e.message = what
        e.condition = text ?? c?.description
        e.result = ev.truth.rawValue
        e.seen = ev.seenDescription
        return e
    }
}
