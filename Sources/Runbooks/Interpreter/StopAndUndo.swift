import Foundation

// StopAndUndo: how a run stops and what it takes back. It owns `finish` (reached the end), `abort`
// (stopped, with the undo unless told not to; never after a refusal), `interrupt` (Ctrl-C and
// signals: no undo, no checks, says what is left in place), the undo stack (`pushUndo`) and running
// the pending undo commands newest first, stopping at the first that fails. It must not judge the
// end state or write the verdict (EndState, Verdict).

extension RunbookRun {
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
        if !shown.isEmpty { fx.append(.show(.init(.output, shown, excerptLimit: 2000))) }
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
}
