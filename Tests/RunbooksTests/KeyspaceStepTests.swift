import Foundation
import Testing
@testable import Runbooks

// Issue 19.5: the memory-pressure runbook's engine parts, driven with no processes.

private let freeBook = parse(header + """
variables:
  - name: top_pattern
    description: top pattern
    capture: true
    default: ""
  - name: top_pattern_glob
    description: glob
    capture: true
    default: ""
  - name: top_pattern_keys
    description: keys
    capture: true
    default: "0"
  - name: delete_glob
    description: glob to delete
    ask: Glob to delete
    default: "{{top_pattern_glob}}"
  - name: cur
    description: cursor
    capture: true
    default: "0"
  - name: done
    description: keys handled
    capture: true
    default: "0"
steps:
  - id: analysis
    kind: keyspace-analysis
    title: Where the memory is
    top: 7
    scan-count: 200
  - id: cause
    kind: explain
    title: "Top: {{top_pattern}}"
    text: "{{top_pattern_keys}} keys"
  - id: free
    kind: command
    title: Delete {{delete_glob}}
    command: [kubectl, exec, "{{pod}}", --, redis-cli, EVAL, "script", "0", "{{cur}}", "{{delete_glob}}", "500"]
    mutates: true
    destructive: true
    batches:
      cursor: cur
      count: done
      total: "{{top_pattern_keys}}"
      max: 10
    undo: none
    undo-reason: deleted on purpose
""")

private let analysed = KeyspaceOutcome(complete: true, stopReason: nil, report: "Top patterns by bytes\n  cache:blob:{id} ...",
                                       values: ["top_pattern": "cache:blob:{id}", "top_pattern_glob": "cache:blob:*", "top_pattern_keys": "1200"],
                                       durationSeconds: 0.5)

@Suite struct KeyspaceStepTests {
    /// The analysis runs through the driver (an effect, the code of `memory`), and its values
    /// become variables: the next titles show them, never a raw {{name}}.
    @Test func analysisValuesBecomeVariables() {
        var run = RunbookRun(runbook: freeBook, target: target, options: RunOptions(yes: true))
        var h = Harness()
        h.keyspace = analysed
        h.drive(&run)
        #expect(h.analyses == [KeyspaceRequest(top: 7, scanCount: 200, bullPrefix: "bull")])
        #expect(h.shown.contains { $0.kind == .step && $0.text.hasSuffix("Top: cache:blob:{id}") })
        #expect(h.text.contains("1200 keys"))
        #expect(h.text.contains("redis-runbook memory --top 7 --scan-count 200"))
        #expect(h.logs.contains { $0.type == .capture && $0.name == "top_pattern_glob" && $0.value == "cache:blob:*" })
        // --yes without --yes-destructive: nothing deleted.
        #expect(h.ran.isEmpty)
        #expect(h.status == .aborted)
        #expect(!h.shown.filter { $0.kind == .step }.contains { $0.text.contains("{{") })
    }

    /// A batch step is confirmed once (typed), then runs again with each returned cursor until
    /// it is 0, showing "N of M keys"; one "after" snapshot at the end.
    @Test func batchesRunUntilTheCursorIsZero() {
        var run = RunbookRun(runbook: freeBook, target: target, options: RunOptions())
        var h = Harness(answers: [.useDefault, .text("redis-0")],
                        results: [Harness.ok("17\n500"), Harness.ok("33\n480"), Harness.ok("0\n220")])
        h.keyspace = analysed
        h.drive(&run)
        #expect(h.status == .finished)
        #expect(h.prompts.filter { if case .typed = $0.kind { return true }; return false }.count == 1)
        #expect(h.ran.count == 3)
        #expect(h.ran.map { $0.argv[$0.argv.count - 3] } == ["0", "17", "33"])
        #expect(h.ran.allSatisfy { $0.argv.contains("cache:blob:*") })
        let progress = h.shown.filter { $0.kind == .progress }.map(\.text)
        #expect(progress == ["batch 1: 500 of 1200 keys (cursor 17)", "batch 2: 980 of 1200 keys (cursor 33)", "batch 3: 1200 of 1200 keys (cursor 0)"])
        #expect(h.text.contains("Scan finished: 1200 keys in 3 batches."))
        let afters = h.effects.filter { if case .recordSnapshot(let p, _) = $0 { return p == "after" }; return false }
        #expect(afters.count == 1)
        #expect(h.logs.filter { $0.type == .command }.count == 3 + 1)   // 3 batches + the analysis
    }

    /// Declining the typed confirmation runs no batch at all.
    @Test func declinedConfirmationDeletesNothing() {
        var run = RunbookRun(runbook: freeBook, target: target, options: RunOptions())
        var h = Harness(answers: [.useDefault, .text("no")])
        h.keyspace = analysed
        h.drive(&run)
        #expect(h.ran.isEmpty)
        #expect(h.status == .aborted)
    }

    /// A batch whose output is not "cursor\\ncount" (an error reply) stops at recovery, and
    /// the loop is bounded by `max`.
    @Test func badBatchReplyAndMaxBatches() {
        var run = RunbookRun(runbook: freeBook, target: target, options: RunOptions(yes: true, yesDestructive: true))
        var h = Harness(results: [Harness.ok("ERR refusing glob", exit: 0)])
        h.keyspace = analysed
        h.drive(&run)
        #expect(h.ran.count == 1)
        #expect(h.status == .aborted)
        #expect(h.text.contains("did not return a cursor and a count"))

        var run2 = RunbookRun(runbook: freeBook, target: target, options: RunOptions(yes: true, yesDestructive: true))
        var h2 = Harness()
        h2.keyspace = analysed
        h2.respond = { _ in Harness.ok("5\n1") }
        h2.drive(&run2)
        #expect(h2.ran.count == 10)
        #expect(h2.text.contains("Stopped after 10 batches"))
    }

    /// Computed defaults: a size (quantity or bytes) times `multiply`, less the largest `reserve`
    /// when that needs more room.
    @Test func computedSizeDefaults() {
        let rb = parse(header + """
        variables:
          - name: cow
            description: cow
            option: cow
            default: "0"
          - name: new_limit
            description: limit
            ask: New limit?
            default: "1Gi"
          - name: limit_maxmemory
            description: maxmemory for the limit
            ask: maxmemory for {{new_limit}}?
            default: "{{new_limit}}"
            size: true
            multiply: 0.75
            reserve: ["{{cow}}"]
        steps:
          - id: show
            kind: explain
            title: "Set maxmemory to {{limit_maxmemory}} for {{new_limit}}"
            text: ok
        """)
        func title(_ options: [String: String]) -> String? {
            var t = target
            t.options = options
            var run = RunbookRun(runbook: rb, target: t, options: RunOptions(yes: true))
            var h = Harness()
            h.drive(&run)
            return h.shown.first { $0.kind == .step }?.text
        }
        #expect(title([:]) == "Step 1/1: Set maxmemory to 805306368 for 1Gi")
        #expect(title(["new_limit": "512mb"]) == "Step 1/1: Set maxmemory to 402653184 for 512mb")
        // A fork that copied 400 MiB needs more than the 25 %: 1 GiB − 400 MiB.
        #expect(title(["cow": String(400 << 20)]) == "Step 1/1: Set maxmemory to \((1 << 30) - (400 << 20)) for 1Gi")
        #expect(SizeText.bytes("384mb") == 402653184 && SizeText.bytes("1.5Gi") == 1610612736 && SizeText.bytes("1G") == 1_000_000_000)
        #expect(SizeText.bytes("lots") == nil && SizeText.bytes("") == nil)
    }

    @Test func validation() {
        let bad = header + """
        variables:
          - name: x
            description: x
            ask: X?
            default: "1"
            reserve: ["1"]
          - name: c
            description: c
            option: c
        steps:
          - id: a
            kind: keyspace-analysis
            title: A
            top: 0
            scan-count: 5000
          - id: b
            kind: command
            title: B
            command: [kubectl, exec, p, --, redis-cli, EVAL, s, "0"]
            mutates: true
            undo: none
            undo-reason: r
            batches:
              count: c
        """
        let (rb, d, _) = validate(bad)
        #expect(rb == nil)
        let text = d.map(\.description).joined(separator: "\n")
        #expect(text.contains("'reserve' without 'size: true'"))
        #expect(text.contains("'top'"))
        #expect(text.contains("'scan-count'"))
        #expect(text.contains("'cursor'"))
        #expect(text.contains("'capture: c' names a variable whose source is not capture"))
    }
}
