import Common
import App
import Diagnosis
import Foundation
import Render
import Testing

let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func sampleSnapshot(maxmemory: Int64 = 0, used: Int64 = 700 << 20) -> Snapshot {
    var s = Snapshot()
    s.context = "prod-eu"
    s.namespace = "jobs"
    s.redisState = "ok"
    s.redisVersion = "7.0.15"
    var pod = PodSummary(name: "redis-0")
    pod.phase = "Running"; pod.ready = true; pod.node = "worker-3"; pod.nodeReady = true; pod.restarts = 4
    var c = ContainerSummary(name: "redis")
    c.state = "running"; c.ready = true; c.restarts = 4
    c.lastTermination = Termination(reason: "OOMKilled", exitCode: 137, finishedAt: "2027-01-15T07:55:00Z")
    var e = ContainerSummary(name: "redis-exporter")
    e.state = "running"; e.ready = true; e.restarts = 0
    pod.containers = [c, e]
    pod.warnings = [EventSummary(type: "Warning", reason: "BackOff", message: "Back-off restarting failed container", lastTimestamp: "2027-01-15T07:58:00Z", count: 3)]
    s.pod = pod
    s.memory.usedBytes = used; s.memory.rssBytes = 760 << 20; s.memory.peakBytes = 900 << 20
    s.memory.maxmemoryBytes = maxmemory; s.memory.limitBytes = 1 << 30; s.memory.policy = "noeviction"
    s.memory.oomRejectionsPerSec = 0; s.memory.evictedKeys = 0; s.memory.fragmentationRatio = 1.09
    s.memory.aofLastCowBytes = 300 << 20
    s.persistence.aofEnabled = true; s.persistence.appendfsync = "everysec"; s.persistence.aofLastWriteStatus = "ok"
    s.persistence.aofLastBgrewriteStatus = "ok"; s.persistence.rdbLastBgsaveStatus = "ok"; s.persistence.loading = false
    s.config.appendonly = "yes"; s.config.appendfsync = "everysec"; s.config.maxmemoryPolicy = "noeviction"; s.config.maxmemory = maxmemory
    s.clients.connected = 12; s.clients.blocked = 8; s.clients.opsPerSec = 950; s.clients.rejectedConnections = 0
    s.keyspace = ["db0": 1234]
    s.exporter.up = true; s.exporter.present = true
    var q = QueueCounts(prefix: "bull", name: "emails")
    q.waiting = 120; q.active = 4; q.failed = 2; q.waitingDelta = 20
    s.queues = [q]
    s.findings = [
        Finding(id: "maxmemory-unset", severity: .warning, summary: "maxmemory is not set", evidence: "maxmemory 0, limit 1G", runbook: "maxmemory-unset"),
        Finding(id: "oom-killed", severity: .critical, summary: "redis was OOMKilled", evidence: "exit 137 at 07:55", runbook: "oom-killed"),
        Finding(id: "queue-backlog", severity: .info, summary: "emails waiting grows", evidence: "waiting 120 (+20)", runbook: nil),
    ]
    s.adr = Findings.adrChecks(s)   // as SnapshotBuilder does
    return s
}

func model(readOnly: Bool = false, width: Int = 120, height: Int = 40) -> AppModel {
    var m = AppModel(readOnly: readOnly, colors: true, refreshInterval: 2, kubectlPath: "/usr/local/bin/kubectl",
                     target: Target(context: "prod-eu", namespace: "jobs"), now: t0)
    m.width = width; m.height = height
    return m
}

func press(_ m: inout AppModel, _ keys: Key...) -> [AppEffect] {
    var fx: [AppEffect] = []
    for k in keys { fx += App.update(&m, .key(k)) }
    return fx
}

@Suite struct UpdateTests {
    @Test func startRefreshesAndTicksRearm() {
        var m = model()
        #expect(App.update(&m, .start) == [.refresh, .scheduleTick(after: 1)])
        // Still running: the next due tick re-arms but does not start a second refresh.
        #expect(App.update(&m, .tick(t0.addingTimeInterval(3))) == [.scheduleTick(after: 1)])
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        #expect(!m.refreshInFlight)
        #expect(App.update(&m, .tick(t0.addingTimeInterval(3.5))) == [.refresh, .scheduleTick(after: 1)])
        // Not yet due.
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        #expect(App.update(&m, .tick(t0.addingTimeInterval(4))) == [.scheduleTick(after: 1)])
    }

    @Test func findingsAreSortedAndEnterOpensTheRunbook() throws {
        var m = model()
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        #expect(m.findings(filter: .dashboard).map(\.id) == ["oom-killed", "maxmemory-unset", "queue-backlog"])
        #expect(press(&m, .enter) == [.openRunbook(id: "oom-killed")])
        #expect(press(&m, .char("j"), .enter) == [.openRunbook(id: "maxmemory-unset")])
        #expect(press(&m, .down, .enter) == [])
        #expect(m.flash == "queue-backlog has no runbook")
        #expect(press(&m, .down, .down, .up, .up, .up, .enter) == [.openRunbook(id: "oom-killed")])
        _ = App.update(&m, .runbookArrived(id: "memory-pressure", .success(try RunbookScreenTests.bundled("memory-pressure"))))
        #expect(m.screen == .runbook)
        #expect(App.render(m, width: 80, height: 24).text.contains("Redis is running out of memory"))
        _ = press(&m, .escape)
        #expect(m.screen == .dashboard)
    }

    @Test func screensAndBack() {
        var m = model()
        #expect(press(&m, .char("m")) == [])
        #expect(m.screen == .memory)
        #expect(press(&m, .char("l")) == [.fetchLogs(container: "redis", previous: false)])
        #expect(press(&m, .char("p")) == [.fetchLogs(container: "redis", previous: true)])
        #expect(press(&m, .char("c")) == [.fetchLogs(container: "redis-exporter", previous: true)])
        #expect(press(&m, .char("e")) == [.fetchEvents])
        _ = press(&m, .char("?"))
        #expect(m.screen == .help)
        _ = press(&m, .escape, .escape, .escape)
        #expect(m.screen == .memory)
        _ = press(&m, .tab)
        #expect(m.screen == .logs)
        _ = press(&m, .backTab, .backTab)
        #expect(m.screen == .dashboard)
        #expect(press(&m, .char("q")) == [.quit])
        var n = model()
        #expect(press(&n, .ctrl("c")) == [.quit])
        #expect(App.update(&n, .terminate) == [.quit])
    }

    @Test func paletteCommands() {
        var m = model()
        _ = press(&m, .char(":"), .char("m"), .char("e"), .char("m"))
        #expect(m.mode == .palette("mem"))
        #expect(App.render(m, width: 80, height: 24).lines()[23].hasPrefix(":mem█"))
        _ = press(&m, .enter)
        #expect(m.screen == .memory && m.mode == .normal)
        #expect(press(&m, .char(":"), .char("r"), .char("b"), .char(" "), .char("x"), .enter) == [.openRunbook(id: "x")])
        _ = press(&m, .char(":"), .char("z"), .enter)
        #expect(m.flash == "unknown command: z (try :help)")
        #expect(press(&m, .char(":"), .char("q"), .enter) == [.quit])
    }

    @Test func filterNarrowsTheFindings() {
        var m = model()
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        _ = press(&m, .char("f"), .char("/"), .char("m"), .char("a"), .char("x"))
        #expect(m.findings(filter: .findings).map(\.id) == ["maxmemory-unset"])
        _ = press(&m, .enter)
        #expect(m.mode == .normal && m.filters[.findings] == "max")
        #expect(press(&m, .enter) == [.openRunbook(id: "maxmemory-unset")])
        _ = press(&m, .escape)   // clears the filter first
        #expect(m.filters[.findings] == nil && m.screen == .findings)
    }

    @Test func readOnlyRemovesMutatingKeys() {
        var rw = model()
        _ = App.update(&rw, .snapshotArrived(sampleSnapshot()))
        _ = press(&rw, .char("X"))
        #expect(rw.mode == .confirm(action: "start runbook", expected: "oom-killed", input: ""))
        #expect(App.render(rw, width: 80, height: 24).text.contains("Type the runbook id"))
        _ = press(&rw, .char("o"), .char("o"), .char("m"))
        #expect(press(&rw, .enter) == [])
        #expect(rw.flash == "confirmation did not match: nothing was started")
        _ = press(&rw, .char("X"))
        for c in "oom-killed" { _ = press(&rw, .char(c)) }
        #expect(press(&rw, .enter) == [.startRunbook(id: "oom-killed")])

        var ro = model(readOnly: true)
        _ = App.update(&ro, .snapshotArrived(sampleSnapshot()))
        #expect(press(&ro, .char("X")) == [])
        #expect(ro.mode == .normal)
        #expect(!Keymap.bindings(readOnly: true).contains { $0.mutates })
        #expect(Keymap.bindings(readOnly: false).contains { $0.mutates })
        #expect(!Keymap.hints(for: .dashboard, readOnly: true).contains { $0.key == "X" })
        #expect(Keymap.hints(for: .dashboard, readOnly: false).contains { $0.key == "X" })
        _ = press(&ro, .char("?"))
        let help = App.render(ro, width: 120, height: 40).text
        #expect(!help.contains("start the selected finding's runbook"))
        #expect(help.contains("read-only: mutating keys removed"))
        _ = press(&rw, .char("?"))
        #expect(App.render(rw, width: 120, height: 40).text.contains("start the selected finding's runbook"))
    }

    @Test func failedSourceKeepsLastGoodValuesAndSaysStale() {
        var m = model()
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        var bad = Snapshot()
        bad.pod = sampleSnapshot().pod
        bad.memory.limitBytes = 1 << 30
        bad.errors = [SourceError(source: "redis", message: "i/o timeout", staleSeconds: 12)]
        _ = App.update(&m, .tick(t0.addingTimeInterval(2)))
        _ = App.update(&m, .snapshotArrived(bad))
        #expect(m.snapshot?.memory.usedBytes == 700 << 20)
        #expect(m.snapshot?.queues.count == 1)
        _ = App.update(&m, .tick(t0.addingTimeInterval(4)))
        let text = App.render(m, width: 120, height: 40).text
        #expect(text.contains("stale 14s: i/o timeout"))
        #expect(text.contains("700M"))
        #expect(m.memoryUsed.count == 1)   // no fake sample from the failed refresh
    }

    @Test func logsScrollFollowAndSearch() {
        var m = model(width: 80, height: 24)
        _ = press(&m, .char("l"))
        let text = (1...100).map { "line \($0)\($0 == 42 ? " Bad file format reading the append only file" : "")" }.joined(separator: "\n")
        _ = App.update(&m, .logsArrived(container: "redis", previous: false, .success(text)))
        var lines = App.render(m, width: 80, height: 24).lines()
        #expect(lines[21].contains("line 100"))   // follows the tail
        _ = press(&m, .char("g"))
        lines = App.render(m, width: 80, height: 24).lines()
        #expect(lines[2].contains("line 1") && !lines[2].contains("line 10"))
        _ = press(&m, .char("/"))
        for c in "append only" { _ = press(&m, .char(c)) }
        lines = App.render(m, width: 80, height: 24).lines()
        #expect(lines[2].contains("line 42 Bad file format"))
        #expect(!lines[3].contains("line"))
        // A late answer for another container is ignored.
        _ = App.update(&m, .logsArrived(container: "redis-exporter", previous: false, .success("other")))
        #expect(m.logs.text == text)
    }

    /// A log line longer than the screen: cut with "…" by default, whole after `w` (wrapped onto
    /// the next rows, the tail still followed), cut again after a second `w`.
    @Test func longLogLinesAreCutThenWrappedWithW() {
        var m = model(width: 80, height: 24)
        _ = press(&m, .char("l"))
        let long = "1:M 04 Dec 2026 10:00:00.000 # Bad file format reading the append only file appendonly.aof.3.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest> END"
        let text = ((1...30).map { "line \($0)" } + [long]).joined(separator: "\n")
        _ = App.update(&m, .logsArrived(container: "redis", previous: false, .success(text)))
        var screen = App.render(m, width: 80, height: 24).text
        #expect(screen.contains("# Bad file format") && screen.contains("…") && !screen.contains("END"), "\(screen)")
        _ = press(&m, .char("w"))
        screen = App.render(m, width: 80, height: 24).text
        #expect(screen.contains("(wrapped)"))
        #expect(screen.contains("END") && screen.contains("redis-check-aof"), "\(screen)")
        #expect(screen.contains("line 30"), "the lines before the long one still show: \(screen)")
        // From the top, wrapped: the first lines in order.
        _ = press(&m, .char("g"))
        let lines = App.render(m, width: 80, height: 24).lines()
        #expect(lines[2].contains("line 1") && lines[3].contains("line 2"), "\(lines)")
        _ = press(&m, .char("w"))
        _ = press(&m, .char("G"))
        screen = App.render(m, width: 80, height: 24).text
        #expect(!screen.contains("(wrapped)") && !screen.contains("END"))
        #expect(Keymap.hints(for: .logs, readOnly: true).contains { $0.label == "wrap" })
    }

    @Test func noPreviousContainerIsShownOnceAndAskedAgainOnlyAfterARestart() {
        var m = model(width: 100, height: 30)
        var s = sampleSnapshot()
        let redis = s.pod!.containers.firstIndex { $0.name == "redis" }!
        s.pod!.containers[redis].restarts = 0
        _ = App.update(&m, .snapshotArrived(s))
        _ = press(&m, .char("l"))
        #expect(press(&m, .char("p")) == [.fetchLogs(container: "redis", previous: true)])
        let notFound = SourceFailure(#"Not found: previous terminated container "redis" in pod "redis-0" not found"#)
        _ = App.update(&m, .logsArrived(container: "redis", previous: true, .failure(notFound)))
        let text = App.render(m, width: 100, height: 30).text
        #expect(text.contains("no previous container (no restart yet)"))
        #expect(!text.contains("stale") && !text.contains("Not found"))
        // Refreshes do not ask again while the restart count is the same.
        let fx = App.update(&m, .tick(t0.addingTimeInterval(10)))
        #expect(!fx.contains(.fetchLogs(container: "redis", previous: true)), "\(fx)")
        #expect(press(&m, .char("r")).contains(.fetchLogs(container: "redis", previous: true)) == false)
        // After a restart it is asked again.
        s.pod!.containers[redis].restarts = 1
        _ = App.update(&m, .snapshotArrived(s))
        #expect(press(&m, .char("r")).contains(.fetchLogs(container: "redis", previous: true)))
    }
}
