import Foundation
import Testing
@testable import Runbooks

// Issue 19.6 "Data accounted for": the last-seen record, the accounting line, the template
// validation and the wording of a destructive step that has an undo.

private func point(_ keys: Int, jobs: Int64 = 0, at: String = "2026-12-04T18:00:00.000Z") -> DataPoint {
    DataPoint(seenAt: at, keys: ["db0": keys], usedMemoryBytes: 1_048_576, aofEnabled: true, aofCurrentBytes: 9000, aofBaseBytes: 4000,
              aofDir: "appendonlydir", aofFileName: "appendonly.aof", jobs: jobs == 0 ? [:] : ["bull:email": ["waiting": jobs - 2, "active": 2]])
}

private let dataTarget = DataTarget(context: "current-context of /tmp/k", namespace: "default", statefulset: "redis", pod: "redis-0")

private func mode(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_mode & 0o777) : -1
}

@Suite struct LastSeenStoreTests {
    @Test func writeThenReadBackWithPrivateModes() throws {
        let dir = makeTempDir().appendingPathComponent("state/last-seen")
        let store = LastSeenStore(directory: dir)
        #expect(try store.load(dataTarget) == nil, "nothing recorded yet")
        let rec = LastSeenRecord(target: dataTarget, by: "status", data: point(81_340, jobs: 622))
        try store.save(rec)
        #expect(try store.load(dataTarget) == rec)
        #expect(mode(dir.path) == 0o700, "directory mode \(String(mode(dir.path), radix: 8))")
        #expect(mode(store.url(for: dataTarget).path) == 0o600, "file mode \(String(mode(store.url(for: dataTarget).path), radix: 8))")
        // Another target is another file; a record is never read for the wrong target.
        var other = dataTarget
        other.namespace = "prod"
        #expect(try store.load(other) == nil)
        #expect(store.url(for: other) != store.url(for: dataTarget))
    }

    @Test func saveReplacesAtomicallyAndLeavesNoTemporaryFile() throws {
        let dir = makeTempDir()
        let store = LastSeenStore(directory: dir)
        try store.save(LastSeenRecord(target: dataTarget, by: "status", data: point(1)))
        try store.save(LastSeenRecord(target: dataTarget, by: "dashboard", data: point(2)))
        #expect(try store.load(dataTarget)?.data.totalKeys == 2)
        #expect(try store.load(dataTarget)?.by == "dashboard")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names == [dataTarget.fileName], "only the record: \(names)")
    }

    @Test func corruptFileGivesAClearMessageAndIsKept() throws {
        let dir = makeTempDir()
        let store = LastSeenStore(directory: dir)
        let bad = Data("{\"version\": 1, \"target\": {".utf8)
        try bad.write(to: store.url(for: dataTarget))
        var message = ""
        do { _ = try store.load(dataTarget); Issue.record("a corrupt record loaded") } catch { message = error.description }
        #expect(message.contains("the last-seen record \(store.url(for: dataTarget).path) is not valid"), "\(message)")
        #expect(message.contains("not JSON"), "\(message)")
        // Not lost: moved aside, byte for byte, and named in the message.
        let kept = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.contains(".corrupt-") })
        #expect(message.contains("it was kept as \(dir.appendingPathComponent(kept).path)"), "\(message)")
        #expect(FileManager.default.contents(atPath: dir.appendingPathComponent(kept).path) == bad)
        // The next save writes a good record and does not touch the kept one.
        try store.save(LastSeenRecord(target: dataTarget, by: "status", data: point(5)))
        #expect(try store.load(dataTarget)?.data.totalKeys == 5)
        #expect(FileManager.default.contents(atPath: dir.appendingPathComponent(kept).path) == bad)
    }

    @Test func saveOverACorruptFileKeepsItAside() throws {
        let dir = makeTempDir()
        let store = LastSeenStore(directory: dir)
        try Data("not json".utf8).write(to: store.url(for: dataTarget))
        try store.save(LastSeenRecord(target: dataTarget, by: "status", data: point(7)))
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names.contains { $0.contains(".corrupt-") }, "\(names)")
        #expect(try store.load(dataTarget)?.data.totalKeys == 7)
    }
}

@Suite struct DataAccountLineTests {
    @Test func keysLostAofCutAndJobs() {
        let listingBefore = """
        total 24
        drwxr-xr-x 2 root root  4096 Dec  4 18:00 .
        -rw-r--r-- 1 root root  1870 Dec  4 18:00 appendonly.aof.1.base.rdb
        -rw-r--r-- 1 root root  2408 Dec  4 18:00 appendonly.aof.1.incr.aof
        -rw-r--r-- 1 root root    88 Dec  4 18:00 appendonly.aof.manifest
        """
        let listingAfter = listingBefore.replacingOccurrences(of: "2408 Dec", with: "1204 Dec")
        let cuts = FileListing.cuts(before: listingBefore, after: listingAfter)
        #expect(cuts == [AofCut(file: "appendonly.aof.1.incr.aof", beforeBytes: 2408, afterBytes: 1204)])
        let a = DataAccount.make(before: point(81_340, jobs: 622), beforeSource: "live at the start of the run", beforeAge: nil,
                                 after: point(81_338, jobs: 622), aofCuts: cuts)
        #expect(a.line == "Data: keys 81,340 → 81,338 (2 lost, AOF tail cut: 1,204 bytes of appendonly.aof.1.incr.aof), jobs 622 → 622")
    }

    @Test func lastSeenBeforeWithItsAgeAndUnknownAfter() {
        let a = DataAccount.make(before: point(500), beforeSource: "last seen", beforeAge: 185, after: nil, aofCuts: [])
        #expect(a.line == "Data: keys 500 (last seen 3 min before) → unknown")
        let none = DataAccount.make(before: nil, beforeSource: "unknown", beforeAge: nil, after: point(3), aofCuts: [])
        #expect(none.line == "Data: keys unknown → 3")
    }

    @Test func busyboxListingAndFilesThatGrew() {
        let b = "-rw-r--r--    1 999      999           300 Dec  4 18:00 /data/appendonly.aof\n"
        #expect(FileListing.sizes(b) == ["appendonly.aof": 300])
        #expect(FileListing.cuts(before: b, after: b.replacingOccurrences(of: " 300 ", with: " 400 ")).isEmpty)
    }

    @Test func theReportShowsTheLine() {
        var start = IncidentEntry(type: .runStart, runbook: "aof-corruption")
        start.ts = "2026-12-04T18:00:00.000Z"
        var d = IncidentEntry(type: .data, runbook: "aof-corruption")
        d.data = DataAccount.make(before: point(10), beforeSource: "live at the start of the run", beforeAge: nil, after: point(9), aofCuts: [])
        d.message = d.data?.line
        let report = RunbookMarkdown.report([start, d], logPath: "/x.jsonl")
        #expect(report.contains("| Data | Data: keys 10 → 9 (1 lost) |"), "\(report)")
        #expect(report.contains("**Data: keys 10 → 9 (1 lost)**"))
        #expect(!report.contains("## ADR 0005 compliance"), "no rows were recorded: no section")
    }

    /// The postmortem shows ADR 0005 compliance before and after the run, as recorded with the
    /// data (the rows the dashboard and `check` show), a check that changed included.
    @Test func theReportShowsADRComplianceBeforeAndAfter() {
        var before = point(10), after = point(10)
        before.adr = [AdrRow(id: "appendonly", title: "appendonly yes", status: "pass", detail: "appendonly yes"),
                      AdrRow(id: "maxmemory-policy", title: "maxmemory-policy noeviction", status: "fail", detail: "maxmemory-policy allkeys-lru")]
        after.adr = [AdrRow(id: "appendonly", title: "appendonly yes", status: "pass", detail: "appendonly yes"),
                     AdrRow(id: "maxmemory-policy", title: "maxmemory-policy noeviction", status: "pass", detail: "maxmemory-policy noeviction")]
        var d = IncidentEntry(type: .data, runbook: "config-drift")
        d.data = DataAccount.make(before: before, beforeSource: "live at the start of the run", beforeAge: nil, after: after, aofCuts: [])
        let report = RunbookMarkdown.report([IncidentEntry(type: .runStart, runbook: "config-drift"), d], logPath: "/x.jsonl")
        #expect(report.contains("## ADR 0005 compliance\n\n| check | before the run | after the run |"), "\(report)")
        #expect(report.contains("| appendonly yes | ✓ pass: appendonly yes | ✓ pass: appendonly yes |"))
        #expect(report.contains("| maxmemory-policy noeviction | ✗ fail: maxmemory-policy allkeys-lru | ✓ pass: maxmemory-policy noeviction |"))
    }
}

@Suite struct TemplateValidationTests {
    func diagnostics(_ yaml: String) -> (d: [RunbookDiagnostic], path: String) {
        let (_, d, path) = validate(yaml)
        return (d, path)
    }

    @Test func undeclaredVariableInAStepTitleIsAnErrorAtItsLine() throws {
        let (d, path) = diagnostics(header + """
        steps:
          - kind: explain
            title: "Keys before: {{keys_befor}}"
            text: ok
        """)
        let e = try #require(d.first)
        #expect(e.location.file == path && e.location.line == 6, "\(e)")
        #expect(e.description.hasPrefix("\(path):6:26:"), "\(e)")
        #expect(e.message == "undeclared variable '{{keys_befor}}'")
    }

    @Test func malformedPlaceholderInATextIsAnError() throws {
        let (d, path) = diagnostics(header + """
        steps:
          - kind: explain
            title: T
            text: "Keys: {{keys before}}"
        """)
        let e = try #require(d.first)
        #expect(e.location.file == path && e.location.line == 7, "\(e)")
        #expect(e.message.hasPrefix("bad template in 'text'"), "\(e)")
    }

    @Test func undeclaredVariableInAnOptionLabelAndAnAskQuestion() throws {
        let (d, _) = diagnostics(header + """
        variables:
          - name: who
            description: Who
            ask: "Which pod, {{nobody}}?"
        steps:
          - kind: choice
            title: T
            question: "{{who}}"
            default: a
            options:
              - key: a
                label: "Go to {{nowhere}}"
                goto: end
        """)
        let lines = d.filter { $0.message.hasPrefix("undeclared variable") }.map(\.location.line).sorted()
        #expect(lines == [7, 15], "\(d.map(\.description))")
    }

    @Test func aofFilesMustNameDeclaredVariables() throws {
        let (d, _) = diagnostics(header + """
        end-state:
          aof-files:
            before: nope
            after: files_after
        variables:
          - name: files_after
            description: after
            capture: true
        steps:
          - kind: explain
            title: T
            text: x
        """)
        let e = try #require(d.first)
        #expect(e.location.line == 6 && e.message == "'before: nope' is not a declared variable", "\(e)")
    }

    @Test func everyBundledRunbookIsValidUnderTheStricterRules() {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../runbooks").standardized
        let lib = RunbookLibrary.load(folders: [dir.path], files: [])
        #expect(lib.diagnostics.isEmpty, "\(lib.diagnostics.map(\.description))")
        #expect(lib.runbook(id: "aof-corruption")?.endState.aofFiles?.before == "aof_files_before")
    }
}

@Suite struct RunTimeTemplateTests {
    /// A runbook run never shows a raw {{name}}: the value, else the stated default.
    @Test func titlesAndTextsRenderTheDefaultNeverARawPlaceholder() {
        let rb = parse(header + """
        variables:
          - name: keys_after
            description: after
            capture: true
            default: unknown
          - name: where
            description: where
            ask: Where?
            default: here
        steps:
          - kind: explain
            title: "Keys now {{keys_after}}"
            text: "Backups in {{backup_dir}}"
        """)
        var run = RunbookRun(runbook: rb, target: RunTarget(target: Target()), options: RunOptions(yes: true))
        var h = Harness()
        h.drive(&run)
        let texts = h.shown.map(\.text)
        #expect(texts.contains { $0.contains("Keys now unknown") }, "\(texts)")
        #expect(!texts.contains { $0.contains("{{") }, "\(texts)")
    }

    @Test func backupDirIsTheRunsFolder() {
        let rb = parse(header + """
        steps:
          - kind: command
            title: Copy
            command: [kubectl, cp, "p:/data/x", "{{backup_dir}}/x-{{timestamp}}"]
            mutates: true
            undo: none
            undo-reason: a copy, kept
        """)
        #expect(rb.mentions(variable: "backup_dir"))
        var run = RunbookRun(runbook: rb, target: RunTarget(target: Target(), backupDir: "/state/backups/t-1"), options: RunOptions(yes: true))
        var h = Harness()
        h.drive(&run)
        let cp = h.ran.first { $0.argv.contains("cp") }
        #expect(cp?.argv.last?.hasPrefix("/state/backups/t-1/x-") == true, "\(String(describing: cp?.argv))")
    }

    /// A destructive step with undo commands does not say "This cannot be undone."
    @Test func destructiveStepWithUndoSaysHowItIsTakenBack() throws {
        let rb = parse(header + """
        steps:
          - id: down
            kind: command
            title: Scale to 0
            command: [kubectl, scale, statefulset, "{{statefulset}}", --replicas=0]
            mutates: true
            destructive: true
            undo:
              - [kubectl, scale, statefulset, "{{statefulset}}", --replicas=1]
          - id: up
            kind: command
            title: Scale to 1
            command: [kubectl, scale, statefulset, "{{statefulset}}", --replicas=1]
            mutates: true
            undoes: down
          - id: wipe
            kind: command
            title: Flush
            command: [kubectl, exec, "{{pod}}", --, redis-cli, FLUSHALL]
            mutates: true
            destructive: true
            undo: none
            undo-reason: nothing to take back
        """)
        var run = RunbookRun(runbook: rb, target: RunTarget(target: Target()), options: RunOptions())
        var h = Harness()
        h.answers = [.text("redis-0"), .yes, .useDefault]
        h.drive(&run)
        let typed = h.prompts.filter { if case .typed = $0.kind { return true }; return false }.map(\.text)
        #expect(typed.count == 2, "\(typed)")
        #expect(typed.first == "Type the pod name (redis-0) to run it", "\(typed)")
        #expect(h.shown.contains { $0.text == "If the run stops before its end, this run takes it back with: $ kubectl -n default scale statefulset redis --replicas=1 (a later step of this runbook also takes it back)." },
                "\(h.shown.map(\.text))")
        #expect(typed.last == "This cannot be undone. Type the pod name (redis-0) to run it", "\(typed)")
    }
}

@Suite struct TitleTemplateTests {
    @Test func runbookTitleMayUseOnlyTheTargetsBuiltIns() throws {
        let (_, d, path) = validate("id: t\ntitle: \"Restart {{pod}} ({{keys_at_start}} keys)\"\nsummary: S\nsteps:\n  - kind: explain\n    title: T\n    text: x\n")
        let e = try #require(d.first)
        #expect(e.location.file == path && e.location.line == 2, "\(e)")
        #expect(e.message == "'{{keys_at_start}}' in the runbook's title or summary", "\(e)")
        #expect(d.count == 1, "{{pod}} is fine: \(d.map(\.description))")
    }

    @Test func runbookTitleIsRendered() {
        let rb = parse("id: t\ntitle: \"Restart {{pod}}\"\nsummary: \"Restarts {{pod}} in {{namespace}}\"\nsteps:\n  - kind: explain\n    title: T\n    text: x\n")
        var run = RunbookRun(runbook: rb, target: RunTarget(target: Target(namespace: "prod", pod: "redis-1")), options: RunOptions(yes: true))
        var h = Harness()
        h.drive(&run)
        #expect(h.shown.first?.text == "Restart redis-1  (t)")
        #expect(h.shown.contains { $0.text == "Restarts redis-1 in prod" })
    }
}
