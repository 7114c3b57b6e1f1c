import Common
import Foundation
import Testing
@testable import Runbooks

let flow = parse(header + """
variables:
  - name: keys_after
    description: keys after
    capture: true
steps:
  - id: info
    kind: check
    title: Info
    command: [kubectl, exec, "{{pod}}", -c, "{{container}}", --, redis-cli, PING]
    expect: stdout contains "PONG"
  - id: ask
    kind: confirm
    title: Delete?
    question: Delete {{pod}}?
    default: false
    on-no: skipped
  - id: delete
    kind: command
    title: Delete the pod
    command: [kubectl, delete, pod, "{{pod}}"]
    mutates: true
    destructive: true
    undo: none
    undo-reason: the StatefulSet recreates the pod
  - id: wait
    kind: wait-until
    title: Ready
    condition: pod.ready == true
    interval: 1
    timeout: 3
  - id: count
    kind: check
    title: Count
    command: [kubectl, exec, "{{pod}}", --, redis-cli, DBSIZE]
    capture: keys_after
    next: end
  - id: skipped
    kind: explain
    title: Not deleted
    text: nothing changed
    stop: undo
""")

let target = RunTarget(target: Target(context: "prod", namespace: "cache", statefulset: "redis", pod: "redis-0"))

func runDelete(_ h: inout Harness) -> Bool { h.ran.contains { $0.argv.contains("delete") } }

@Suite struct InterpreterTests {
    /// A "no" never ends as finished: it reaches the `stop: undo` explanation and the run is
    /// "stopped" (exit 3: nothing of this run left in place).
    @Test func confirmNoBranchesToOnNoAndEndsStopped() {
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions())
        var h = Harness(answers: [.no], results: [Harness.ok("PONG")])
        h.drive(&run)
        #expect(h.status == .aborted)
        #expect(run.state.exitCode == 3)
        #expect(h.shown.last { $0.kind == .verdict }?.text.hasPrefix("stopped: ") == true)
        #expect(!h.shown.contains { $0.text.contains("finished") })
        #expect(!runDelete(&h))
        #expect(h.shown.contains { $0.kind == .step && $0.text.contains("Not deleted") })
        #expect(h.prompts.first?.text == "Delete redis-0?")
        #expect(h.prompts.first?.hint == "[y/N]")
    }

    @Test func confirmYesTypedPodNameDeletesAndShowsExactCommandFirst() {
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions())
        var h = Harness(answers: [.yes, .text("redis-0")], results: [Harness.ok("PONG"), Harness.ok("pod deleted"), Harness.ok("42")],
                        snapshot: ["pod.ready": "true"])
        h.drive(&run)
        #expect(h.status == .finished)
        let del = h.ran.first { $0.argv.contains("delete") }
        #expect(del?.argv == ["kubectl", "--context", "prod", "-n", "cache", "delete", "pod", "redis-0"])
        // the exact command was shown before the run effect
        let showIdx = h.effects.firstIndex { if case .show(let m) = $0 { return m.kind == .command && m.text.contains("delete pod redis-0") }; return false }
        let runIdx = h.effects.firstIndex { if case .runCommand(let c) = $0 { return c.argv.contains("delete") }; return false }
        #expect(showIdx != nil && runIdx != nil && showIdx! < runIdx!)
        #expect(h.prompts.contains { if case .typed(let e) = $0.kind { return e == "redis-0" }; return false })
        #expect(run.state.variables["keys_after"] == "42")
        #expect(h.logs.contains { $0.type == .capture && $0.value == "42" })
    }

    @Test func wrongTypedNameNeverRuns() {
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions())
        var h = Harness(answers: [.yes, .text("redis-1"), .text("nope"), .text("x")], results: [Harness.ok("PONG")])
        h.drive(&run)
        #expect(h.status == .aborted)
        #expect(!runDelete(&h))
    }

    @Test func yesNeverAnswersTypedConfirmation() {
        let opts = RunOptions(yes: true, presetAnswers: ["ask": "yes"])
        var run = RunbookRun(runbook: flow, target: target, options: opts)
        var h = Harness(answers: [], results: [Harness.ok("PONG")])  // the typed prompt gets no input
        h.drive(&run)
        #expect(h.prompts.count == 1)
        #expect({ if case .typed = h.prompts[0].kind { return true }; return false }())
        #expect(!runDelete(&h))
        #expect(h.status == .aborted)
        #expect(run.state.stepIndex == 2)
    }

    @Test func yesTakesStatedDefaultsAndYesDestructiveTypesThePodName() {
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions(yes: true))
        var h = Harness(results: [Harness.ok("PONG")])
        h.drive(&run)
        #expect(h.prompts.isEmpty)
        #expect(!runDelete(&h))   // default of the confirm is no
        #expect(h.logs.contains { $0.type == .answer && $0.answer == "no" && $0.by == "--yes" })

        var run2 = RunbookRun(runbook: flow, target: target, options: RunOptions(yes: true, yesDestructive: true, presetAnswers: ["ask": "yes"]))
        var h2 = Harness(results: [Harness.ok("PONG"), Harness.ok(), Harness.ok("5")], snapshot: ["pod.ready": "true"])
        h2.drive(&run2)
        #expect(h2.prompts.isEmpty)
        #expect(runDelete(&h2))
        #expect(h2.status == .finished)
        #expect(h2.logs.contains { $0.by == "--yes-destructive" })
    }

    @Test func dryRunNeverRunsAMutatingCommand() {
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions(yes: true, yesDestructive: true, dryRun: true, presetAnswers: ["ask": "yes"]))
        var h = Harness(results: [Harness.ok("PONG"), Harness.ok("7")], snapshot: ["pod.ready": "false"])
        h.drive(&run)
        #expect(h.status == .finished)
        #expect(!h.ran.contains { $0.mutates })
        #expect(!runDelete(&h))
        #expect(h.ran.count == 2)  // the read-only checks still ran
        #expect(h.shown.contains { $0.kind == .command && $0.text.contains("kubectl --context prod -n cache delete pod redis-0") })
        #expect(h.shown.contains { $0.kind == .dryRun && $0.text.contains("not run") })
        #expect(h.logs.contains { $0.type == .command && $0.dryRun == true })
    }

    @Test func readOnlyRefusesMutatingSteps() {
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions(yes: true, yesDestructive: true, readOnly: true, presetAnswers: ["ask": "yes"]))
        var h = Harness(results: [Harness.ok("PONG")])
        h.drive(&run)
        #expect(h.status == .refused)
        #expect(!h.ran.contains { $0.mutates })
        #expect(h.shown.contains { $0.kind == .error && $0.text.contains("--read-only") && $0.text.contains("Nothing was run") })
        #expect(h.logs.contains { $0.type == .refused })
    }

    static let post = parse(header + """
    steps:
      - id: set
        kind: command
        title: Set
        command: [kubectl, exec, "{{pod}}", --, redis-cli, CONFIG, SET, maxmemory, 100mb]
        mutates: true
        undo: none
        undo-reason: test
        postcheck: memory.maxmemoryBytes == 104857600
      - id: after
        kind: explain
        title: After
        text: done
    """)

    @Test func postcheckFailureShowsExpectedVsSeenAndAbortsByDefault() {
        var run = RunbookRun(runbook: Self.post, target: target, options: RunOptions())
        var h = Harness(answers: [.yes], results: [Harness.ok("OK")], snapshot: ["memory.maxmemoryBytes": "0"])
        h.drive(&run)
        #expect(h.status == .aborted)
        #expect(h.shown.contains { $0.text.contains("Postcheck failed: expected memory.maxmemoryBytes == 104857600, seen memory.maxmemoryBytes = \"0\"") })
        #expect(h.prompts.last?.kind == .recovery)
        #expect(h.prompts.last?.hint == "[r]etry / [s]kip / [A]bort")
        #expect(!h.shown.contains { $0.kind == .step && $0.text.contains("After") })
    }

    @Test func postcheckUnknownIsAFailure() {
        var run = RunbookRun(runbook: Self.post, target: target, options: RunOptions())
        var h = Harness(answers: [.yes, .abort], results: [Harness.ok("OK")], snapshot: [:])
        h.drive(&run)
        #expect(h.status == .aborted)
        #expect(h.shown.contains { $0.text.contains("unknown: never counted as true") })
    }

    @Test func postcheckSkipIsRecordedAndContinues() {
        var run = RunbookRun(runbook: Self.post, target: target, options: RunOptions())
        var h = Harness(answers: [.yes, .skip], results: [Harness.ok("OK")], snapshot: ["memory.maxmemoryBytes": "0"])
        h.drive(&run)
        #expect(h.status == .finished)
        #expect(run.state.skippedSteps == [0])
        #expect(h.logs.contains { $0.type == .stepSkipped && $0.stepIndex == 0 })
        #expect(h.shown.contains { $0.kind == .step && $0.text.contains("After") })
    }

    @Test func postcheckRetryReevaluatesWithoutRerunningTheCommand() {
        struct Box: @unchecked Sendable { var n = 0 }
        var run = RunbookRun(runbook: Self.post, target: target, options: RunOptions())
        var effects = run.handle(.start)
        var runs = 0, snaps = 0, finished: RunStatus? = nil
        var guardCount = 0
        while !effects.isEmpty, guardCount < 100 {
            guardCount += 1
            let e = effects.removeFirst()
            switch e {
            case .ask(let p):
                effects = run.handle(.answer(p.kind == .recovery ? .retry : .yes)) + effects
            case .runCommand:
                runs += 1
                effects = run.handle(.commandFinished(Harness.ok("OK"))) + effects
            case .fetchSnapshot:
                snaps += 1
                let v = snaps >= 2 ? "104857600" : "0"   // converges on the second look
                effects = run.handle(.snapshot({ $0 == "memory.maxmemoryBytes" ? v : nil })) + effects
            case .finished(let s, _): finished = s
            default: break
            }
        }
        #expect(finished == .finished)
        #expect(runs == 1)
        #expect(snaps == 2)
    }

    @Test func choiceTakesStatedDefaultWithoutInput() {
        let rb = parse(header + """
        steps:
          - kind: choice
            title: Pick
            options:
              - {key: a, label: Alpha, goto: alpha}
              - {key: b, label: Beta, goto: beta}
            default: b
          - id: alpha
            kind: explain
            title: ALPHA
            text: a
            next: end
          - id: beta
            kind: explain
            title: BETA
            text: b
        """)
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h = Harness(answers: [.useDefault])
        h.drive(&run)
        #expect(h.status == .finished)
        #expect(h.shown.contains { $0.text.contains("BETA") })
        #expect(!h.shown.contains { $0.text.contains("ALPHA") })
        #expect(h.logs.contains { $0.type == .answer && $0.answer == "b: Beta" && $0.by == "default (no input)" })

        var run2 = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h2 = Harness(answers: [.choice("a")])
        h2.drive(&run2)
        #expect(h2.shown.contains { $0.text.contains("ALPHA") } && !h2.shown.contains { $0.text.contains("BETA") })
    }

    @Test func waitUntilPollsWithProgressAndTimesOut() {
        let rb = parse(header + "steps:\n  - kind: wait-until\n    title: W\n    condition: pod.ready == true\n    interval: 2\n    timeout: 6\n")
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h = Harness(snapshot: ["pod.ready": "false"])
        h.drive(&run)
        let waits = h.effects.filter { if case .wait = $0 { return true }; return false }.count
        #expect(waits == 3)
        #expect(h.effects.contains { if case .progress(let p) = $0 { return p.elapsedSeconds == 4 && p.timeoutSeconds == 6 }; return false })
        #expect(h.shown.contains { $0.kind == .error && $0.text.contains("Timed out") })
        #expect(h.status == .aborted)
    }

    @Test func resumeStartsAtTheSavedStep() throws {
        // First process: answers yes, then stops at the typed confirmation (no input).
        var run = RunbookRun(runbook: flow, target: target, options: RunOptions())
        var h = Harness(answers: [.yes], results: [Harness.ok("PONG")])
        h.drive(&run)
        #expect(h.status == .aborted)
        let saved = try #require(h.saved.last)
        #expect(saved.stepIndex == 2)

        // Through JSON on disk, as a new process would.
        let store = RunStateStore(directory: makeTempDir().appendingPathComponent("runs"))
        try store.save(saved)
        let loaded = try #require(store.load(runbookId: "t"))
        #expect(loaded.resumable && loaded.variables["pod"] == "redis-0")

        var resumed = RunbookRun(runbook: flow, resuming: loaded)
        var h2 = Harness(answers: [.text("redis-0")], results: [Harness.ok(), Harness.ok("9")], snapshot: ["pod.ready": "true"])
        h2.drive(&resumed)
        #expect(h2.status == .finished)
        let firstStep = h2.shown.first { $0.kind == .step }
        #expect(firstStep?.text == "Step 3/6: Delete the pod")
        #expect(h2.ran.first?.argv.contains("delete") == true)
        #expect(!h2.ran.contains { $0.argv.contains("PING") })
        #expect(resumed.state.answers.contains { $0.answer == "yes" })  // earlier answers kept
    }

    @Test func askVariablesAreAskedWhenFirstNeeded() {
        let rb = parse(header + """
        variables:
          - name: size
            description: new size
            ask: New size?
            default: 20Gi
        steps:
          - {kind: explain, title: First, text: hello}
          - kind: command
            title: Grow
            command: [kubectl, patch, pvc, "{{pvc}}", "-p={\\"spec\\":{\\"resources\\":{\\"requests\\":{\\"storage\\":\\"{{size}}\\"}}}}"]
            mutates: true
            undo: none
            undo-reason: test
        """)
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h = Harness(answers: [.text("50Gi; rm -rf /"), .yes])
        h.drive(&run)
        #expect(h.status == .finished)
        #expect(h.prompts.first?.text == "New size?")
        #expect(h.prompts.first?.kind == .text(defaultValue: "20Gi"))
        // substituted inside one argument, never split or interpreted
        #expect(h.ran.first?.argv.last == "-p={\"spec\":{\"resources\":{\"requests\":{\"storage\":\"50Gi; rm -rf /\"}}}}")
        #expect(h.ran.first?.argv[6...7] == ["pvc", "data-redis-0"])
    }

    /// Issue 20.5: a check whose command failed never passes on that command's output (an empty
    /// stdout matches `not stdout contains ...`), unless its condition is about the exit status.
    @Test func checkNeverPassesOnTheOutputOfAFailedCommand() {
        let rb = parse(header + """
        steps:
          - id: no-errors
            kind: check
            title: No errors in the log
            command: [kubectl, logs, "{{pod}}", -c, redis, --previous]
            expect: not stdout contains "Bad file format"
          - id: done
            kind: explain
            title: Done
            text: ok
        """)
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var failed = Harness.ok("", exit: 1)
        failed.stderr = "Error from server (BadRequest): previous terminated container \"redis\" in pod \"redis-0\" not found"
        var h = Harness(answers: [.abort], results: [failed])
        h.drive(&run)
        #expect(h.status != .finished, "\(h.text)")
        #expect(!h.shown.contains { $0.kind == .success }, "\(h.text)")
        #expect(h.text.contains("the command failed (exited with status 1)"), "\(h.text)")
        #expect(h.logs.contains { $0.type == .check && $0.result == "false" }, "\(h.logs)")

        // The same command succeeding with that empty output passes.
        var run2 = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h2 = Harness(results: [Harness.ok("")])
        h2.drive(&run2)
        #expect(h2.status == .finished, "\(h2.text)")
    }

    /// A 403 from the API server says nothing about Redis: a branching check neither passes nor
    /// takes its on-fail branch on it (a read-only user's `loading` run would otherwise report
    /// "Redis is not loading"); the run asks retry/skip/abort, and --yes stops it.
    @Test func aForbiddenCommandTakesNoBranch() {
        let rb = parse(header + """
        steps:
          - id: progress
            kind: check
            title: Loading progress
            command: [kubectl, exec, "{{pod}}", -c, redis, --, redis-cli, INFO, persistence]
            expect: stdout contains "loading:1"
            on-fail: not-loading
          - id: loading
            kind: explain
            title: Redis is loading
            text: wait
          - id: not-loading
            kind: explain
            title: Redis is not loading
            text: fine
        """)
        var forbidden = Harness.ok("", exit: 1)
        forbidden.stderr = #"Error from server (Forbidden): pods "redis-0" is forbidden: User "oncall-viewer" cannot create resource "pods/exec" in API group "" in the namespace "default""#
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions(yes: true))
        var h = Harness(results: [forbidden])
        h.drive(&run)
        #expect(h.status != .finished, "\(h.text)")
        #expect(!h.text.contains("Redis is not loading") && !h.text.contains("continuing at"), "\(h.text)")
        #expect(h.text.contains("Cannot check: the API server refused the command"), "\(h.text)")
        // Any other failure of that command still takes the branch (the check is not met).
        var other = Harness.ok("", exit: 1)
        other.stderr = "error: unable to upgrade connection: container not found (\"redis\")"
        var run2 = RunbookRun(runbook: rb, target: target, options: RunOptions(yes: true))
        var h2 = Harness(results: [other])
        h2.drive(&run2)
        #expect(h2.text.contains("continuing at 'not-loading'"), "\(h2.text)")
    }

    /// A condition on exitCode says which status the step expects: a failure may pass it.
    @Test func checkOnExitCodeMayExpectAFailure() {
        let rb = parse(header + """
        steps:
          - id: gone
            kind: check
            title: The old pod is gone
            command: [kubectl, get, pod, old-pod]
            expect: exitCode == 1 and stdout == ""
        """)
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h = Harness(results: [Harness.ok("", exit: 1)])
        h.drive(&run)
        #expect(h.status == .finished, "\(h.text)")
        #expect(h.shown.contains { $0.kind == .success }, "\(h.text)")
    }
}
