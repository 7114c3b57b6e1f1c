import Foundation

// CommandSteps: running a command and taking its result. It owns `launch` (the "before" snapshot,
// the step marked in flight, the undo pushed), `commandDone` (the command's log entry, the "after"
// snapshot, the undo of an earlier step cleared, output shown, `capture:`, then the check, the
// failure recovery or the postcheck) and the `batches:` loop (cursor and count per batch, up to the
// step's limit). It must not decide whether a command may run (Gating) nor judge a check's
// condition (Checks).

extension RunbookRun {
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
        if !shown.isEmpty { fx.append(.show(.init(.output, shown, excerptLimit: 2000))) }
        fx.append(.show(.init(out.succeeded ? .success : .warning, "(\(out.termination), \(String(format: "%.1f", out.durationSeconds)) s)")))
        if let cap = step.capture {
            let v = String(Self.captured(out.stdout, match: step.captureMatch).prefix(4096))
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

    /// What `capture:` keeps of stdout: all of it trimmed, or with `capture-match` the first
    /// group of the first match ("" when nothing matches).
    static func captured(_ stdout: String, match: String?) -> String {
        let t = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let match else { return t }
        guard let re = try? NSRegularExpression(pattern: match, options: [.anchorsMatchLines]),
              let m = re.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) else { return "" }
        let r = m.numberOfRanges > 1 && m.range(at: 1).location != NSNotFound ? m.range(at: 1) : m.range
        return Range(r, in: t).map { String(t[$0]).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }

    /// One batch of a `batches:` step is done: record its cursor and count, then run the next
    /// batch (same confirmation) until the cursor is 0 or `max` batches ran.
    mutating func batchDone(_ b: BatchSpec, _ cmd: CommandTemplate, _ rc: RenderedCommand, _ out: CommandOutcome) -> [RunbookEffect] {
        batchesRun += 1
        let lines = out.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard out.succeeded, lines.count >= 2, let cursor = UInt64(lines[0]), let n = Int(lines[1]) else {
            let shown = [out.stdout, out.stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
            var fx: [RunbookEffect] = []
            if !shown.isEmpty { fx.append(.show(.init(.output, shown, excerptLimit: 2000))) }
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
}
