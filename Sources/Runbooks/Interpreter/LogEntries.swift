import Foundation

// LogEntries: builders of incident-log entries about the current step (`fillStep`, `stepEntry`,
// `answerEntry`, which also records the answer in the run state, and `checkEntry`). It owns only
// the shape of these entries; it must not decide what is logged or when, and never writes the log:
// entries leave as `.log` effects.

extension RunbookRun {
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
