import Common
import App
import Diagnosis
import Foundation
import Render
import Testing

/// Real fixtures (copied from Tests/DiagnosisTests/Fixtures, which come from ../shared/reference).
enum LiveFixture {
    static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }
    static func text(_ name: String) throws -> String { try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8) }
    static func data(_ name: String) throws -> Data { try Data(contentsOf: root.appendingPathComponent(name)) }

    /// The verbatim body of the logs.txt block whose "=== source:" header contains `marker`.
    static func logBlock(_ marker: String) throws -> String {
        var out: [String] = []
        var inBlock = false
        for line in try text("logs.txt").components(separatedBy: "\n") {
            if line.hasPrefix("=== source:") {
                if inBlock { break }
                inBlock = line.contains(marker)
            } else if inBlock { out.append(line) }
        }
        guard !out.isEmpty else { throw FixtureMissing(what: marker) }
        return out.joined(separator: "\n")
    }

    struct FixtureMissing: Error { var what: String }

    static func firstPod(_ name: String) throws -> KubePod {
        try #require(try KubeJSON.pods(from: data(name)).first)
    }
}

func iso(_ s: String) -> Date? { ISO8601DateFormatter().date(from: s) }

/// Builds snapshots with `SnapshotBuilder` from the real fixtures and renders the dashboard.
@Suite struct LiveViewsTests {
    static let sizes = [(80, 24), (200, 60)]

    /// The dashboard for a snapshot at a size (the model's clock at the snapshot's time).
    func render(_ snaps: [Snapshot], width: Int, height: Int) -> Grid {
        let now = snaps.last?.takenAt.flatMap { iso($0) } ?? Date(timeIntervalSince1970: 0)
        var m = AppModel(readOnly: false, colors: true, refreshInterval: 1, kubectlPath: "/usr/local/bin/kubectl",
                         target: Target(context: "prod", namespace: "jobs", pod: snaps.last?.pod?.name), now: now)
        m.width = width; m.height = height
        for s in snaps { _ = App.update(&m, .snapshotArrived(s)) }
        return App.render(m, width: width, height: height)
    }

    /// Nothing garbled: exact size, no line wider than the screen, no control or replacement
    /// characters, every panel box closed, header and status bar in place.
    func expectClean(_ g: Grid, _ w: Int, _ h: Int, panels: Int = 7, sourceLocation: SourceLocation = #_sourceLocation) {
        let l = g.lines(trimTrailing: false)
        #expect(l.count == h, sourceLocation: sourceLocation)
        for (i, line) in l.enumerated() {
            #expect(TextWidth.of(line) == w, "line \(i) is \(TextWidth.of(line)) wide: \(line)", sourceLocation: sourceLocation)
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{FFFD}" },
                    "line \(i) has a control/replacement character: \(line)", sourceLocation: sourceLocation)
        }
        let t = g.text
        // (└ also draws the chart's axis.)
        for corner in ["┌", "┐", "┘"] {
            #expect(t.filter { String($0) == corner }.count == panels, "\(w)x\(h): \(corner) count\n\(t)", sourceLocation: sourceLocation)
        }
        #expect(l[0].hasPrefix(" redis: ") || l[0].hasPrefix(" redis-runbook  redis: "), sourceLocation: sourceLocation)
        #expect(l[h - 1].hasPrefix(" ? help"), sourceLocation: sourceLocation)
        // A panel's right border sits on the same column on every row of that panel: each body
        // row ends with a border (┐ │ ┘) at the last column.
        for y in 1..<(h - 1) {
            let last = l[y].last.map(String.init) ?? ""
            #expect(["┐", "│", "┘"].contains(last), "\(w)x\(h) row \(y) does not end with a border: \(l[y])", sourceLocation: sourceLocation)
        }
    }

    /// The findings panel's rows: the ids it lists (column after the severity label).
    func findingIds(_ g: Grid) -> [String] {
        var ids: [String] = []
        for line in g.lines() {
            for sev in ["CRIT ", "WARN ", "INFO "] {
                var rest = Substring(line)
                while let r = rest.range(of: sev) {
                    let after = rest[r.upperBound...].drop { $0 == " " }
                    let id = after.prefix { $0 != " " && $0 != "│" }
                    if !id.isEmpty { ids.append(String(id)) }
                    rest = rest[r.upperBound...]
                }
            }
        }
        return ids
    }

    // MARK: - inputs from fixtures

    func atRestInfo() throws -> String { try LiveFixture.text("redis-7.0.15_info_all_at-rest.txt") }
    func config() throws -> [String: String] { RedisConfig.parseGetReply(try LiveFixture.text("config-get-batch.txt")) }

    @Test func crashLoopBackOffPod() throws {
        // A real CrashLoopBackOff pod (restartCount 4, last exit 127 ContainerCannotRun) with a
        // real Redis 7.0.15 INFO at rest (maxmemory 0, 23.59G host RAM).
        var i = SnapshotInputs(now: try #require(iso("2023-07-11T03:35:00Z")))
        i.context = "prod"; i.namespace = "jobs"
        i.pod = try LiveFixture.firstPod("pod-crashloopbackoff_podlist.json")
        i.redisContainer = "nginx"
        i.infoText = try atRestInfo()
        i.config = try config()
        let s = SnapshotBuilder.build(i)
        #expect(s.findings.prefix(2).map(\.id) == ["pod-not-ready", "crash-loop"], "\(s.findings.map(\.id))")
        for (w, h) in Self.sizes {
            let g = render([s], width: w, height: h)
            expectClean(g, w, h)
            let t = g.text
            #expect(t.contains("CrashLoopBackOff"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("last: ContainerCannotRun exit 127"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("↻4"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("restarts 4") || w < 100, "\(w)x\(h)\n\(t)")  // cut after a long pod name at 80
            #expect(findingIds(g).prefix(2) == ["pod-not-ready", "crash-loop"], "\(w)x\(h): \(findingIds(g))")
            #expect(Set(findingIds(g)) == Set(s.findings.map(\.id)) || h < 60, "\(w)x\(h): \(findingIds(g)) vs \(s.findings.map(\.id))")
            // maxmemory 0: said in words, never a share of the host's 23.59G.
            #expect(!t.contains("23.6G") && !t.contains("23.59G"))
            #expect(!t.contains("used/max"))
            #expect(t.replacingOccurrences(of: "│\n│", with: " ").contains("maxmemory unset") , "\(w)x\(h)\n\(t)")
            #expect(t.contains("40.1M"), "used_memory 42031384 = 40.1M\n\(t)")
        }
        let wide = render([s], width: 200, height: 60).text
        #expect(wide.contains("maxmemory unset: the container limit is the only limit"))
        #expect(wide.contains("✗ maxmemory set"))
        // This pod has no memory limit: the check says so rather than assuming one.
        #expect(wide.contains("maxmemory unset and no container limit known"))
    }

    @Test func oomKilledPodAndMemoryNearMaxmemory() throws {
        // A real OOMKilled container (exit 137, limit 100Mi) and a real INFO with used_memory at
        // 97 % of maxmemory (ElastiCache, Redis 5.0.3).
        var i = SnapshotInputs(now: try #require(iso("2023-07-11T04:50:00Z")))
        i.context = "prod"; i.namespace = "jobs"
        i.pod = try LiveFixture.firstPod("pod-oomkilled-terminated_podlist.json")
        i.redisContainer = "memory-eater"
        i.infoText = try LiveFixture.text("redis-5.0.3-elasticache_info-all-excerpt_used-memory-near-maxmemory.txt")
        let s = SnapshotBuilder.build(i)
        #expect(s.memory.limitBytes == 100 << 20)
        let ids = s.findings.map(\.id)
        #expect(ids.contains("oom-killed") && ids.contains("memory-pressure"), "\(ids)")
        for (w, h) in Self.sizes {
            let g = render([s], width: w, height: h)
            expectClean(g, w, h)
            let t = g.text
            #expect(t.contains("OOMKilled exit 137"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("Failed"), "\(w)x\(h)\n\(t)")
            // used 424273208 / maxmemory 436469760 (97 %), container limit 100Mi.
            #expect(t.contains("405M/416M 97%"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("405M/100M"), "\(w)x\(h)\n\(t)")
            #expect(findingIds(g).contains("oom-killed") && findingIds(g).contains("memory-pressure"), "\(w)x\(h): \(findingIds(g))")
        }
    }

    @Test func aofWriteErrorAfterDiskFull() throws {
        // The at-rest INFO as Redis reports it once its AOF write failed, plus the real
        // "No space left on device" log of the previous container.
        let info = try atRestInfo().replacingOccurrences(of: "aof_last_write_status:ok", with: "aof_last_write_status:err")
        #expect(info.contains("aof_last_write_status:err"))
        var i = SnapshotInputs(now: try #require(iso("2023-07-11T04:50:00Z")))
        i.pod = try LiveFixture.firstPod("pod-crashloopbackoff_podlist.json")
        i.redisContainer = "nginx"
        i.infoText = info
        i.config = try config()
        i.previousLogText = try LiveFixture.logBlock("disk full")
        i.redisSessionError = "MISCONF Errors writing to the AOF file: No space left on device"
        let s = SnapshotBuilder.build(i)
        #expect(s.findings.contains { $0.id == "aof-write-error" && $0.severity == .critical }, "\(s.findings.map(\.id))")
        for (w, h) in Self.sizes {
            let g = render([s], width: w, height: h)
            expectClean(g, w, h)
            let t = g.text
            #expect(t.contains("write err"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("redis: MISCONF"), "\(w)x\(h)\n\(t)")
            #expect(findingIds(g).contains("aof-write-error"), "\(w)x\(h): \(findingIds(g))")
        }
    }

    @Test func queueCountsAndBacklog() throws {
        // Two refreshes of BullMQ counts (replies as redis-cli prints them): emails piles up with
        // no active job, reports is healthy.
        func queues(_ waiting: Int) -> [QueueCounts] {
            [BullMQ.parseCounts(queue: "emails", reply: "\(waiting)\n0\n0\n0\n17\n1500\n42\n0\n"),
             BullMQ.parseCounts(queue: "reports", reply: "3\n2\n0\n1\n0\n980\n0\n0\n")]
        }
        let t0 = try #require(iso("2023-07-11T04:50:00Z"))
        var i = SnapshotInputs(now: t0)
        i.infoText = try atRestInfo(); i.config = try config(); i.queues = queues(11_500)
        let s1 = SnapshotBuilder.build(i)
        i.now = t0.addingTimeInterval(1); i.queues = queues(12_345); i.previous = s1
        let s2 = SnapshotBuilder.build(i)
        #expect(s2.findings.contains { $0.id == "queue-backlog" && $0.severity == .critical }, "\(s2.findings)")
        for (w, h) in Self.sizes {
            let g = render([s1, s2], width: w, height: h)
            expectClean(g, w, h)
            let t = g.text
            #expect(t.contains("BullMQ queues (2)"), "\(w)x\(h)\n\(t)")
            #expect(findingIds(g).first == "queue-backlog", "\(w)x\(h): \(findingIds(g))")
            // The queue rows: name, waiting with its trend, active, failed (then, when wide: delayed,
            // prioritized, paused, waiting-children, completed).
            let full = w >= 160
            let emails = full ? #"│ emails\s+12345 ↑\s+0\s+42\s+17\s+0\s+0\s+0\s+1500 │"# : #"│ emails\s+12345 ↑\s+0\s+42 │"#
            let reports = full ? #"│ reports\s+3 →\s+2\s+0\s+0\s+1\s+0\s+0\s+980 │"# : #"│ reports\s+3 →\s+2\s+0 │"#
            #expect(t.range(of: emails, options: .regularExpression) != nil, "\(w)x\(h)\n\(t)")
            #expect(t.range(of: reports, options: .regularExpression) != nil, "\(w)x\(h)\n\(t)")
            #expect(!full || t.contains("evidence: bull:emails: waiting 12345, active 0, +845 since"), "\(w)x\(h)\n\(t)")
        }
    }

    @Test func loadingShowsProgress() throws {
        var i = SnapshotInputs(now: try #require(iso("2021-04-26T00:52:12Z")))
        i.infoText = try LiveFixture.text("redis-6.2.1_info-excerpt_loading1_crash-report.txt")
        i.redisSessionError = "LOADING Redis is loading the dataset in memory"
        let s = SnapshotBuilder.build(i)
        #expect(s.findings.contains { $0.id == "loading" })
        for (w, h) in Self.sizes {
            let g = render([s], width: w, height: h)
            expectClean(g, w, h)
            let t = g.text
            #expect(t.contains("redis: LOADING"), "\(w)x\(h)\n\(t)")
            #expect(t.contains("LOADING 2%  ETA 1s"), "\(w)x\(h)\n\(t)")
            #expect(findingIds(g).contains("loading"), "\(w)x\(h): \(findingIds(g))")
            // maxmemory is 8G here: a real setting, shown as one (policy allkeys-lru is drift).
            #expect(findingIds(g).contains("eviction-policy"), "\(w)x\(h): \(findingIds(g))")
        }
    }
}
