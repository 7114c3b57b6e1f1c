import Foundation

// EndState: the live system at the end compared with its start. It owns the probes read before the
// first step (`replicas_at_start`, `keys_at_start`), the end-state checks and the key count against
// the start, polled for a while after an undo or a finished run, and the digit grouping of counts.
// It must not change anything: every command here is rendered read-only, and a check that writes is
// skipped under --read-only.

extension RunbookRun {
    /// Reads what the end state compares against (replicas, DBSIZE) before anything changes.
    mutating func startProbes() -> [RunbookEffect] {
        var probes: [(String, RenderedCommand)] = []
        let es = runbook.endState
        func cmd(_ a: [String]) -> CommandTemplate { CommandTemplate(argv: a.map { try! Template.parse($0) }, timeoutSeconds: 20) }
        if es.needsReplicas, let rc = renderCommand(cmd(["kubectl", "get", "statefulset", "{{statefulset}}", "-o", "jsonpath={.spec.replicas}"]), mutates: false, destructive: false) {
            probes.append(("replicas_at_start", rc))
        }
        // Not when the count reads a pod a step finds later (`end-state: pod: "{{true_pod}}"`, still empty).
        if let k = es.keys, let rc = renderCommand(k.command, mutates: false, destructive: false), !rc.argv.contains("") { probes.append(("keys_at_start", rc)) }
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
}
