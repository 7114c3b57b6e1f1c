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
}
