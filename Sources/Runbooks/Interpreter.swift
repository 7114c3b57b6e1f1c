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
    /// The run is over (finished, aborted, refused). No more effects follow.
    case finished(RunStatus, String)
}

public enum RunbookEvent: Sendable {
    case start
    case snapshot(@Sendable (String) -> String?)
    case commandFinished(CommandOutcome)
    case answer(RunAnswer)
    case waited
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
        case waitCommand(elapsed: Double)
        case waitSnapshot(elapsed: Double, outcome: CommandOutcome?)
        case waitSleeping(elapsed: Double)
        case done
    }
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
        case (.waitCommand(let elapsed), .commandFinished(let out)):
            fx += waitCommandDone(elapsed, out)
        case (.waitSnapshot(let elapsed, let out), .snapshot(let lookup)):
            fx += evaluateWait(elapsed, out, lookup)
        case (.waitSleeping(let elapsed), .waited):
            fx += pollWait(elapsed)
        default:
            // An event the engine is not waiting for (e.g. a late reply): ignore it.
            return []
        }
        return fx
    }

    // MARK: - Start and variables

    mutating func startRun() -> [RunbookEffect] {
        var fx: [RunbookEffect] = [.show(.init(.heading, "\(runbook.title)  (\(runbook.id))"))]
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
        fx.append(.show(.init(.text, runbook.summary)))
        fx.append(.log(start))
        // built-ins
        let t = state.target
        state.variables["namespace"] = t.namespace
        state.variables["context"] = t.context ?? ""
        state.variables["statefulset"] = t.statefulset
        state.variables["pod"] = t.pod
        state.variables["container"] = t.container
        state.variables["exporter_container"] = t.exporterContainer
        state.variables["pvc"] = "data-\(t.pod)"
        state.variables["timestamp"] = Timestamps.compact(startDate)
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
                if let val = lookup(path), !val.isEmpty {
                    if let m = v.multiply {
                        if let x = Double(val) { state.variables[v.name] = String(Int64((x * m).rounded(.down))) }
                    } else {
                        state.variables[v.name] = val
                    }
                }
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
        return [.saveState(state)] + beginStep()
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
        var fx: [RunbookEffect] = [.show(.init(.step, "Step \(state.stepIndex + 1)/\(runbook.steps.count): \(render(s.title))"))]
        var e = stepEntry(.step)
        e.message = s.kind.name
        fx.append(.log(e))
        return fx + continueStep()
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
            let def = v.defaultValue.map { render($0) }
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
        var fx: [RunbookEffect] = []
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
        let def = v.defaultValue.map { render($0) }
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
            guard let rc = renderCommand(cmd, mutates: s.mutates, destructive: s.destructive) else { return missingVariables(cmd) }
            return prepareCommand(rc)
        case .confirm(let q, let def, _, _):
            if let id = s.id, let pre = options.presetAnswers[id]?.lowercased(), ["y", "yes", "n", "no", "true", "false"].contains(pre) {
                let y = ["y", "yes", "true"].contains(pre)
                return [.show(.init(.text, "\(render(q)) \(y ? "yes" : "no")  (--answer \(id)=\(pre))"))] + answerConfirm(y ? .yes : .no, by: "--answer")
            }
            if options.yes {
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
                fx.append(.show(.init(.text, "Done?  yes  (--yes)")))
                return fx + answerManual(.yes, by: "--yes")
            }
            phase = .manual
            fx.append(.ask(.init(kind: .proceed, text: "Done? (answer no to stop here; the run can be resumed later)", stepIndex: state.stepIndex)))
            return fx
        case .waitUntil(let cond, _, _, let timeout):
            return [.show(.init(.text, "Waiting up to \(Int(timeout)) s for: \(cond)"))] + pollWait(0)
        }
    }

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
            fx.append(.ask(.init(kind: .typed(expected: state.target.pod),
                                 text: "This cannot be undone. Type the pod name (\(state.target.pod)) to run it", stepIndex: state.stepIndex)))
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
            fx.append(.recordSnapshot(phase: "after", stepIndex: state.stepIndex))
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

    // MARK: checks

    mutating func evaluateCheck(_ out: CommandOutcome?, _ lookup: @escaping @Sendable (String) -> String?) -> [RunbookEffect] {
        guard case .check(_, let expect, let onPass, let onFail, let required) = step.kind else { return [] }
        let ev: Evaluation
        let condText: String
        if let expect {
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
        var fx: [RunbookEffect] = [.log(answerEntry(prompt: render(q), answer: yes ? "yes" : "no", by: who))]
        if yes {
            return fx + startPostcheck(nil, next: onYes)
        }
        if let onNo { return fx + startPostcheck(nil, next: onNo) }
        if onYes != nil { return fx + startPostcheck(nil, next: nil) }
        fx.append(.show(.init(.warning, "Answered no: stopping here. Resume with --resume.")))
        return fx + abort(nil, status: .aborted)
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
        return [.log(answerEntry(prompt: render(q), answer: "\(opt.key): \(render(opt.label))", by: who))] + startPostcheck(nil, next: opt.goto)
    }

    mutating func answerManual(_ a: RunAnswer, by: String) -> [RunbookEffect] {
        if a == .yes {
            return [.log(answerEntry(prompt: "Done? (\(step.title))", answer: "yes", by: by))] + startPostcheck(nil)
        }
        let who = a == .useDefault ? "default (no input)" : by
        return [.log(answerEntry(prompt: "Done? (\(step.title))", answer: "no", by: who))]
            + abort("Stopped at the manual step \(state.stepIndex + 1). Resume with --resume when it is done.", status: .aborted)
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
        state.status = .finished
        state.stepIndex = min(state.stepIndex, runbook.steps.count)
        phase = .done
        var e = IncidentEntry(type: .runEnd, runbook: runbook.id)
        e.status = RunStatus.finished.rawValue
        e.variables = state.variables
        let skipped = state.skippedSteps.isEmpty ? "" : " Skipped steps: \(state.skippedSteps.map { String($0 + 1) }.joined(separator: ", "))."
        let msg = "Runbook finished.\(skipped)\(options.dryRun ? " (dry run: nothing that changes state was run)" : "")"
        e.message = msg
        return [.log(e), .saveState(state), .show(.init(.success, msg)), .finished(.finished, msg)]
    }

    mutating func abort(_ message: String?, status: RunStatus) -> [RunbookEffect] {
        state.status = status
        phase = .done
        let msg = message ?? (status == .refused ? "Refused (read-only)." : "Stopped.")
        var e = IncidentEntry(type: .runEnd, runbook: runbook.id)
        e.status = status.rawValue
        e.message = msg
        e.stepIndex = state.stepIndex
        e.variables = state.variables
        var fx: [RunbookEffect] = []
        if message != nil { fx.append(.show(.init(.warning, msg))) }
        return fx + [.log(e), .saveState(state), .finished(status, msg)]
    }

    // MARK: - Helpers

    func render(_ text: String) -> String {
        guard let t = try? Template.parse(text) else { return text }
        var out = ""
        for p in t.parts {
            switch p {
            case .text(let s): out += s
            case .variable(let v): out += state.variables[v] ?? "{{\(v)}}"
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
            var globals: [String] = []
            if let ctx = state.target.context, !ctx.isEmpty { globals += ["--context", ctx] }
            if let k = state.target.kubeconfig, !k.isEmpty { globals += ["--kubeconfig", k] }
            if let t = state.target.requestTimeout, !t.isEmpty { globals += ["--request-timeout", t] }
            if let u = state.target.asUser, !u.isEmpty { globals += ["--as", u] }
            globals += ["-n", state.target.namespace]
            argv.insert(contentsOf: globals, at: 1)
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
