import Foundation

// Steps: one step from beginning to end. It owns entering a step (visit limit, the "Step N/M"
// header once its `ask:` variables have values), asking those variables, the precheck, `runKind`
// (which sends each step kind to its handler: command steps to Gating, questions to Questions,
// checks and waits to Checks), the keyspace-analysis step's result, and completing a step and
// moving to the next (branches, `stop:`). It must not gate a mutating command (Gating), run one
// (CommandSteps), nor judge a check step, a postcheck or a wait (Checks).

extension RunbookRun {
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

    mutating func stepHeader() -> [RunbookEffect] {
        guard headerPending else { return [] }
        headerPending = false
        return [.show(.init(.step, "Step \(state.stepIndex + 1)/\(runbook.steps.count): \(render(step.title))"))]
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
        let (fx, taken) = takeAnswer(v, a, default: v.defaultValue.map { computedDefault(v, render($0)) },
                                     defaultBy: a == .useDefault ? "default (no input)" : "default",
                                     missing: "stopped at step \(state.stepIndex + 1) before running it")
        return taken ? fx + continueStep() : fx
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
            return askConfirm(q, defaultYes: def)
        case .choice(let q, let opts, let def):
            return askChoice(q, opts, defaultKey: def)
        case .manual(let instr):
            return askManual(instr)
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
        if !out.report.isEmpty { fx.append(.show(.init(.output, out.report, excerptLimit: 4000))) }
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
}
