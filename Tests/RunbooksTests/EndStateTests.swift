import Foundation
import Testing
@testable import Runbooks

/// A small simulated system: a StatefulSet, a repair pod, a key count, an AOF that can be
/// damaged. Commands change it the way kubectl / redis-cli would.
final class FakeSystem: @unchecked Sendable {
    var replicas = 1
    var repairPod = false
    var keys = 100
    var damaged = false
    var fail: (String) -> Bool = { _ in false }
    var log: [[String]] = []

    var serving: Bool { replicas > 0 && !damaged }

    func run(_ rc: RenderedCommand) -> CommandOutcome {
        let a = rc.argv
        log.append(a)
        let joined = a.joined(separator: " ")
        if fail(joined) { return Harness.ok("", exit: 1) }
        func ok(_ s: String = "") -> CommandOutcome { Harness.ok(s) }
        if a.contains("scale"), let r = a.first(where: { $0.hasPrefix("--replicas=") }) {
            replicas = Int(r.dropFirst("--replicas=".count)) ?? replicas
            return ok("statefulset.apps/redis scaled")
        }
        if joined.contains("jsonpath={.spec.replicas}") { return ok(String(replicas)) }
        if a.contains("run") && a.contains("redis-repair") { repairPod = true; return ok("pod/redis-repair created") }
        if a.contains("delete") && a.contains("redis-repair") { repairPod = false; return ok("pod \"redis-repair\" deleted") }
        if a.contains("--ignore-not-found") { return ok(repairPod ? "pod/redis-repair" : "") }
        if joined.contains("Ready") { return ok(serving ? "True" : "False") }
        if a.contains("--fix") { damaged = false; keys -= 12; return ok("Successfully truncated AOF") }
        if a.contains("redis-cli") {
            guard serving else { return Harness.ok("", exit: 1) }
            if a.contains("PING") { return ok("PONG") }
            if a.contains("INFO") { return ok("role:master\naof_last_write_status:ok\nloading:0") }
            if a.contains("EVAL") { return ok("WRITES-OK") }
            if a.contains("DBSIZE") { return ok(String(keys)) }
        }
        return ok()
    }
}

let repairBook = parse("""
id: repair
title: Repair
summary: S
end-state:
  wait: 9
  serving: true
  replicas: true
  no-pods: [redis-repair]
  keys:
    max-loss: any
    loss-label: AOF tail lost
steps:
  - id: scale-down
    kind: command
    title: Scale to 0
    command: [kubectl, scale, statefulset, "{{statefulset}}", --replicas=0]
    mutates: true
    destructive: true
    undo:
      - [kubectl, scale, statefulset, "{{statefulset}}", "--replicas={{replicas_at_start}}"]
  - id: repair-pod
    kind: command
    title: Repair pod
    command: [kubectl, run, redis-repair, --image=redis]
    mutates: true
    undo:
      - [kubectl, delete, pod, redis-repair, --wait=true]
  - id: fix-confirm
    kind: confirm
    title: Fix?
    question: Truncate?
    default: false
    destructive: true
    on-no: declined
  - id: fix
    kind: command
    title: Fix
    command: [kubectl, exec, redis-repair, --, redis-check-aof, --fix, /data/m]
    mutates: true
    destructive: true
    undo: none
    undo-reason: the backup keeps what was cut
  - id: remove
    kind: command
    title: Remove the repair pod
    command: [kubectl, delete, pod, redis-repair]
    mutates: true
    undoes: repair-pod
  - id: up
    kind: command
    title: Scale up
    command: [kubectl, scale, statefulset, "{{statefulset}}", --replicas=1]
    mutates: true
    undoes: scale-down
    next: end
  - id: declined
    kind: explain
    title: Not repaired
    text: Nothing was truncated.
    stop: undo
""")

private func drive(_ sys: FakeSystem, _ opts: RunOptions, answers: [RunAnswer] = []) -> (RunbookRun, Harness) {
    var run = RunbookRun(runbook: repairBook, target: target, options: opts)
    var h = Harness(answers: answers)
    h.respond = { sys.run($0) }
    h.drive(&run)
    return (run, h)
}

private func verdict(_ h: Harness) -> String { h.shown.last { $0.kind == .verdict }?.text ?? "(no verdict)" }

@Suite struct EndStateTests {
    @Test func yesDestructiveRepairsAndTheVerdictCountsTheKeysAgainstTheStart() {
        let sys = FakeSystem()
        sys.damaged = false
        let (run, h) = drive(sys, RunOptions(yes: true, yesDestructive: true))
        #expect(h.status == .finished)
        #expect(run.state.exitCode == 0)
        #expect(verdict(h) == "finished: Redis serving; 88 of 100 keys (AOF tail lost: 12)")
        #expect(sys.replicas == 1 && !sys.repairPod)
        // nothing left to undo after a finished run
        #expect(run.state.pendingUndo.isEmpty)
        #expect(h.logs.last { $0.type == .runEnd }?.exitCode == 0)
    }

    @Test func yesAloneNeverTakesTheDestructivePathAndChangesNothing() {
        let sys = FakeSystem()
        let (run, h) = drive(sys, RunOptions(yes: true))
        // the first step is destructive: the typed confirmation has no input -> stop before it
        #expect(h.status == .aborted)
        #expect(run.state.exitCode == 3)
        #expect(!sys.log.contains { $0.contains("--replicas=0") })
        #expect(verdict(h).hasPrefix("stopped: "))
        #expect(verdict(h).contains("The end state holds: Redis serving; 100 of 100 keys"))
    }

    @Test func noAtTheQuestionUndoesEverythingAndEndsStopped() {
        let sys = FakeSystem()
        let (run, h) = drive(sys, RunOptions(yes: true, yesDestructive: true, presetAnswers: ["fix-confirm": "no"]))
        #expect(h.status == .aborted)
        #expect(run.state.exitCode == 3)
        // undo ran newest first: the repair pod is deleted, then the replicas go back
        let del = sys.log.lastIndex { $0.contains("delete") && $0.contains("redis-repair") }
        let up = sys.log.lastIndex { $0.contains("--replicas=1") }
        #expect(del != nil && up != nil && del! < up!)
        #expect(sys.replicas == 1 && !sys.repairPod && sys.keys == 100)
        #expect(!sys.log.contains { $0.contains("--fix") })
        // every undo command was shown before it ran and is in the log as a mutating command
        let shownIdx = h.effects.firstIndex { if case .show(let m) = $0 { return m.text.contains("Undo of step 2") }; return false }
        let ranIdx = h.effects.firstIndex { if case .runCommand(let c) = $0 { return c.argv.contains("delete") }; return false }
        #expect(shownIdx != nil && ranIdx != nil && shownIdx! < ranIdx!)
        #expect(h.logs.filter { $0.type == .command && $0.message == "undo" && $0.mutates == true }.count == 2)
        #expect(verdict(h).hasPrefix("stopped: Stopped at step 7: Not repaired."))
        #expect(h.text.contains("Nothing this run changed is left in place."))
        // --resume starts again at the first undone step
        #expect(run.state.stepIndex == 0)
        #expect(run.state.resumable)
    }

    @Test func aFailedUndoStopsUndoingAndExitsFourWithTheCommandsToRunByHand() {
        let sys = FakeSystem()
        sys.fail = { $0.contains("delete pod redis-repair") }
        let (run, h) = drive(sys, RunOptions(yes: true, yesDestructive: true, presetAnswers: ["fix-confirm": "no"]))
        #expect(run.state.exitCode == 4)
        // the scale back was NOT run after the failed delete
        #expect(sys.replicas == 0)
        #expect(verdict(h).hasPrefix("stopped: the undo of step 2 failed"))
        #expect(verdict(h).contains("pod redis-0 Ready: no"))
        #expect(h.text.contains("$ kubectl --context prod -n cache scale statefulset redis --replicas=1"))
        #expect(h.text.contains("$ kubectl --context prod -n cache delete pod redis-repair --wait=true"))
        #expect(run.state.pendingUndo.map(\.stepIndex) == [0, 1])
    }

    @Test func aNormalEndIsFinishedOnlyWhenTheLiveEndStateHolds() {
        let sys = FakeSystem()
        // the fix "works" but Redis stays down (e.g. a damaged base file)
        let (run, h) = drive(sys, RunOptions(yes: true, yesDestructive: true))
        _ = run
        #expect(h.status == .finished)   // control: healthy
        let sys2 = FakeSystem()
        var run2 = RunbookRun(runbook: repairBook, target: target, options: RunOptions(yes: true, yesDestructive: true))
        var h2 = Harness()
        h2.respond = { rc in
            if rc.argv.contains("--fix") { sys2.log.append(rc.argv); sys2.damaged = true; return Harness.ok("truncated") }
            return sys2.run(rc)
        }
        h2.drive(&run2)
        #expect(h2.status == .aborted)
        #expect(run2.state.exitCode == 3)
        #expect(verdict(h2).hasPrefix("stopped: pod redis-0 Ready: no"))
        #expect(verdict(h2).contains("PING answers PONG: no"))
        #expect(verdict(h2).contains("key count: DBSIZE did not answer a number"))
    }

    @Test func manualStepsStopAnUnattendedRunAndKeepWhatIsInPlace() {
        let rb = parse(header + """
        end-state:
          replicas: true
        steps:
          - id: down
            kind: command
            title: Down
            command: [kubectl, scale, statefulset, "{{statefulset}}", --replicas=0]
            mutates: true
            destructive: true
            undo:
              - [kubectl, scale, statefulset, "{{statefulset}}", "--replicas={{replicas_at_start}}"]
          - id: write
            kind: manual
            title: Write the manifest
            text: Write it by hand.
          - id: up
            kind: command
            title: Up
            command: [kubectl, scale, statefulset, "{{statefulset}}", --replicas=1]
            mutates: true
            undoes: down
        """)
        let sys = FakeSystem()
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions(yes: true, yesDestructive: true))
        var h = Harness()
        h.respond = { sys.run($0) }
        h.drive(&run)
        #expect(h.status == .aborted)
        #expect(run.state.exitCode == 4)
        #expect(sys.replicas == 0)   // kept: the manual step needs Redis down
        #expect(run.state.stepIndex == 1)
        #expect(!h.logs.contains { $0.type == .answer && $0.answer == "yes" && $0.by == "--yes" && $0.stepId == "write" })
        #expect(verdict(h).contains("StatefulSet redis at 1 replica(s) as at the start: no"))
        #expect(h.text.contains("is manual: --yes never answers it done"))

        // resumed by a person who did it: continues at the manual step and finishes
        var resumed = RunbookRun(runbook: rb, resuming: run.state, options: RunOptions())
        var h2 = Harness(answers: [.yes, .yes])
        h2.respond = { sys.run($0) }
        h2.drive(&resumed)
        #expect(h2.status == .finished)
        #expect(resumed.state.exitCode == 0)
        #expect(sys.replicas == 1)
    }

    @Test func stepVisitsAreBounded() {
        let rb = parse(header + """
        steps:
          - id: a
            kind: check
            title: A
            command: [kubectl, get, pod, "{{pod}}"]
            max-visits: 3
            on-fail: a
        """)
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions(yes: true))
        var h = Harness()
        h.respond = { _ in Harness.ok("", exit: 1) }
        h.drive(&run, maxEffects: 2000)
        #expect(h.status == .aborted)
        #expect(h.text.contains("was reached 3 times; stopping instead of looping"))
        #expect(h.ran.count == 3)
    }
}

@Suite struct UndoValidationTests {
    @Test func aMutatingStepWithoutUndoIsRefusedWithItsLine() {
        let (rb, d, path) = validate(header + """
        steps:
          - id: x
            kind: command
            title: Scale
            command: [kubectl, scale, statefulset, redis, --replicas=0]
            mutates: true
            destructive: true
        """)
        #expect(rb == nil)
        let e = d.first { $0.message.contains("declares no undo") }
        #expect(e?.location.line == 5 && e?.location.column == 5, "\(d)")
        #expect(e?.description.hasPrefix("\(path):5:5: error: step 1 changes state") == true)
    }

    @Test func undoNoneNeedsAReason() {
        let (_, d, _) = validate(header + """
        steps:
          - kind: command
            title: Save
            command: [kubectl, exec, redis-0, --, redis-cli, BGSAVE]
            mutates: true
            undo: none
        """)
        #expect(d.contains { $0.message == "'undo: none' without 'undo-reason'" && $0.location.line == 9 })
        #expect(d.count == 1, "\(d)")
    }

    @Test func aLoopWithoutAQuestionIsRefused() {
        let (_, d, _) = validate(header + """
        steps:
          - id: check
            kind: check
            title: Check
            command: [kubectl, get, pod, redis-0]
            on-fail: again
          - id: again
            kind: explain
            title: Again
            text: once more
            next: check
        """)
        let e = d.first { $0.message.contains("can loop without a question") }
        #expect(e != nil, "\(d)")
        #expect(e?.location.line == 5)

        // the same loop through a manual step is fine
        let (rb2, d2, _) = validate(header + """
        steps:
          - id: check
            kind: check
            title: Check
            command: [kubectl, get, pod, redis-0]
            on-fail: again
          - id: again
            kind: manual
            title: Fix it
            text: by hand
            next: check
        """)
        #expect(rb2 != nil, "\(d2)")
    }

    @Test func aDestructiveQuestionCannotDefaultToYes() {
        let (_, d, _) = validate(header + """
        steps:
          - id: q
            kind: confirm
            title: Truncate?
            default: true
            destructive: true
        """)
        #expect(d.contains { $0.message == "a destructive confirm whose default is yes" && $0.location.line == 9 })
    }

    @Test func everyBundledRunbookDeclaresAnEndStateThatChecksServing() {
        let lib = RunbookLibrary.load(folders: [bundledRunbooksDir()])
        for rb in lib.runbooks {
            #expect(rb.endState.checks.contains { $0.name == "PING answers PONG" }, "\(rb.id) does not check that Redis serves")
            #expect(rb.endState.checks.contains { $0.name == "writes accepted" }, "\(rb.id)")
            #expect(rb.endState.keys != nil, "\(rb.id) does not compare the key count")
            // every explanation that ends a run is a stop, or leads to the end through checks
            for s in rb.steps where s.stop != nil { if case .explain = s.kind {} else { Issue.record("\(rb.id): stop on a \(s.kind.name) step") } }
        }
    }
}
