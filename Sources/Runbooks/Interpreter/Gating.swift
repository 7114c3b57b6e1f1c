import Foundation

// Gating: what stands between a mutating command and its running. It owns `prepareCommand`
// (read-only commands run at once; a mutating one is shown exactly, then refused under --read-only,
// logged and skipped under --dry-run, confirmed by typing the pod name when destructive (or by
// --yes-destructive), or confirmed with a yes (or by --yes)), the sentence saying how a destructive
// step is taken back, and the answers to those two prompts. It must not start a mutating command
// itself (`launch` in CommandSteps records the snapshot and the undo first) nor change the undo
// stack.

extension RunbookRun {
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
            let expected = typedName
            if options.yes && options.yesDestructive {
                fx.append(.show(.init(.warning, "Typed confirmation given by --yes-destructive.")))
                fx.append(.log(answerEntry(prompt: "type \(expected) to run a destructive step", answer: expected, by: "--yes-destructive")))
                return fx + launch(rc)
            }
            phase = .typed(rc, attempts: 0)
            // The prompt stays one short line; how the step is taken back (when it can be) is said before it.
            let undo = undoSentence()
            if let undo { fx.append(.show(.init(.text, undo))) }
            fx.append(.ask(.init(kind: .typed(expected: expected),
                                 text: "\(undo == nil ? "This cannot be undone. " : "")Type the pod name (\(expected)) to run it", stepIndex: state.stepIndex)))
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

    /// The name a destructive step's typed confirmation asks for: the step's `confirm-pod`
    /// (rendered; it must have a value), else the run's target pod.
    var typedName: String {
        if let t = step.confirmPod, case .success(let s) = t.render(state.variables), !s.isEmpty { return s }
        return state.target.pod
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
        let expected = typedName
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
}
