import Diagnosis
import Foundation
import Runbooks
import Testing
@testable import CLI

/// The data a run is accounted against carries ADR 0005 compliance exactly as the rules table
/// judged the snapshot: the postmortem's rows are the dashboard's and `check`'s rows.
@Suite struct LastSeenADRTests {
    @Test func theRecordCarriesTheSnapshotsADRRows() throws {
        var s = Snapshot()
        s.takenAt = "2026-12-04T18:00:00Z"
        s.redisState = "ok"
        s.keyspace = ["db0": 42]
        s.config.appendonly = "yes"; s.config.appendfsync = "always"; s.config.maxmemoryPolicy = "noeviction"
        s.memory.maxmemoryBytes = 900 << 20; s.memory.limitBytes = 1 << 30
        s.exporter.present = true; s.exporter.up = true
        s.adr = Findings.adrChecks(s)
        let p = try #require(LastSeen.point(s))
        let rows = try #require(p.adr)
        #expect(rows.map(\.id) == Rules.adr.map(\.id))
        #expect(rows.map(\.title) == Rules.adr.map(\.title))
        #expect(rows.map(\.status) == s.adr.map(\.status.rawValue))
        #expect(rows.first { $0.id == "appendfsync" }?.status == "fail")
        #expect(rows.first { $0.id == "maxmemory-headroom" }?.status == "fail", "900 MiB of 1 GiB is above 75 %")
        // A record written before the rows were kept still reads.
        let old = #"{"seenAt":"2026-12-04T18:00:00Z","keys":{"db0":1},"jobs":{}}"#
        #expect(try JSONDecoder().decode(DataPoint.self, from: Data(old.utf8)).adr == nil)
    }

    /// The dashboard records a full answer at most every 10 s; a partial answer neither writes
    /// nor uses up the slot, and the record written is the snapshot's (a real file on disk).
    @Test func theDashboardsRecordIsThrottledToEveryTenSeconds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rrb-lastseen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = LastSeenStore(directory: dir)
        let target = DataTarget(context: "sandbox", namespace: "default", statefulset: "redis", pod: "redis-0")
        let throttle = LastSeenThrottle(target: target, store: store)
        var partial = Snapshot()
        partial.redisState = "unreachable"
        var full = Snapshot()
        full.takenAt = "2026-12-05T14:00:00Z"
        full.redisState = "ok"
        full.keyspace = ["db0": 7]
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(!throttle.take(partial, now: t0), "no record of a partial answer")
        #expect(throttle.take(full, now: t0), "the partial answer did not use up the slot")
        throttle.write(full)
        let rec = try #require(LastSeen.load(target, store: store))
        #expect(rec.by == "dashboard")
        #expect(rec.data.keys == ["db0": 7])
        #expect(!throttle.take(full, now: t0.addingTimeInterval(9.9)))
        #expect(throttle.take(full, now: t0.addingTimeInterval(10)))
    }
}
