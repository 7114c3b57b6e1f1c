import Foundation

// Verdict: the one line that ends a run. It owns `verdict`: the status and exit code (0 finished, 3
// stopped with nothing left in place, 4 with something left), where --resume continues, what was
// undone, what is still in place with the exact commands to take it back by hand, what is kept on
// purpose, and the run-end log entry. It must not run or undo anything; it reads what the other
// files recorded.

extension RunbookRun {
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
}
