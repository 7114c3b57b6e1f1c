import Foundation

// Checks: conditions and what follows when one fails. It owns `check` steps (a refusal by the API
// server is never read as an answer; a failed command never passes a check unless it tests
// exitCode; `on-pass`/`on-fail` branches; informational checks), postchecks, `wait-until` polling
// (timeout, dry run), and recovery after a failed gate: retry, skip (recorded) or abort, `--yes`
// taking abort, the safe default. It must not run a mutating command nor touch the undo stack;
// conditions are evaluated only through `Condition.evaluate`.

extension RunbookRun {
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
        if elapsed + interval > timeout, let t = step.onTimeout {
            return [.progress(prog), .log(checkEntry("wait-until (timed out)", cond, ev)),
                    .show(.init(.warning, "Not true after \(Int(elapsed)) s (expected \(cond), seen \(ev.seenDescription)): going on with '\(t)'."))] + completeStep(next: t)
        }
        if elapsed + interval > timeout {
            return [.progress(prog), .log(checkEntry("wait-until (timed out)", cond, ev)),
                    .show(.init(.error, "Timed out after \(Int(elapsed)) s: expected \(cond), seen \(ev.seenDescription)\(ev.truth == .unknown ? " (unknown)" : "")."))] + askRecovery(.wait)
        }
        phase = .waitSleeping(elapsed: elapsed + interval)
        return [.progress(prog), .show(.init(.progress, "… \(Int(elapsed)) / \(Int(timeout)) s  \(ev.seenDescription)")), .wait(seconds: interval)]
    }

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
}
