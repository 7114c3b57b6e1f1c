import Foundation

// Questions: the `confirm`, `choice` and `manual` steps. It owns asking each (an `--answer
// id=value` first, then `--yes`: a confirm's stated default, yes for a destructive one only with
// --yes-destructive, a choice's default; a manual step is never answered done by --yes) and taking
// the operator's answer to its branch. It must not ask for variables (Variables, Steps) nor the
// gating prompts of a command (Gating).

extension RunbookRun {
    /// A confirm step: `--answer id=yes|no` first, then `--yes` (its stated default; yes for a
    /// destructive one only with --yes-destructive), else the operator.
    mutating func askConfirm(_ q: String, defaultYes def: Bool) -> [RunbookEffect] {
        let s = step
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
    }

    /// A choice step: `--answer id=key` first, then `--yes` (its stated default), else the operator.
    mutating func askChoice(_ q: String, _ opts: [ChoiceOption], defaultKey def: String) -> [RunbookEffect] {
        let s = step
        if let id = s.id, let pre = options.presetAnswers[id], opts.contains(where: { $0.key == pre }) {
            return [.show(.init(.text, "\(render(q)) \(pre)  (--answer \(id)=\(pre))"))] + answerChoice(.choice(pre), by: "--answer")
        }
        if options.yes {
            return [.show(.init(.text, "\(render(q)) \(def)  (--yes: stated default)"))] + answerChoice(.choice(def), by: "--yes")
        }
        phase = .choice
        return [.ask(.init(kind: .choice(options: opts.map { .init(key: $0.key, label: render($0.label)) }, defaultKey: def),
                           text: render(q), stepIndex: state.stepIndex))]
    }

    /// A manual step: shown, then asked "Done?"; `--yes` never answers it done (the run stops there).
    mutating func askManual(_ instr: String) -> [RunbookEffect] {
        let s = step
        var fx: [RunbookEffect] = [.show(.init(.text, render(instr)))]
        if options.yes {
            fx.append(.log(answerEntry(prompt: "Done? (\(step.title))", answer: "not answered: a person has to do this", by: "--yes")))
            return fx + abort("Step \(state.stepIndex + 1) (\(render(s.title))) is manual: --yes never answers it done. Do it, then resume with --resume.", status: .aborted, undo: false)
        }
        phase = .manual
        fx.append(.ask(.init(kind: .proceed, text: "Done? (answer no to stop here; the run can be resumed later)", stepIndex: state.stepIndex)))
        return fx
    }

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
}
