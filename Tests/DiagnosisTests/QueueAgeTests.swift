import Testing
@testable import Diagnosis

/// queue-backlog from one sample: the oldest waiting job's age (no worker takes jobs).
@Suite struct QueueAgeTests {
    func snapshot(age: Int64?, paused: Bool?, waiting: Int64 = 40, active: Int64 = 2) -> Snapshot {
        var q = QueueCounts(prefix: "bull", name: "email")
        q.lastJobStartedSeconds = 120
        q.waiting = waiting; q.active = active; q.oldestWaitingSeconds = age; q.pausedFlag = paused
        var s = Snapshot()
        s.queues = [q]
        return s
    }

    @Test func oldWaitingJobsAreABacklogEvenWithActiveJobs() throws {
        let f = try #require(Findings.evaluate(snapshot(age: 45, paused: false)).first { $0.id == "queue-backlog" })
        #expect(f.severity == .warning)
        #expect(f.evidence.contains("45s") && f.evidence.contains("bull:email"))
        #expect(f.runbook == "queue-backlog")
        let crit = try #require(Findings.evaluate(snapshot(age: 400, paused: false)).first { $0.id == "queue-backlog" })
        #expect(crit.severity == .critical)
    }

    @Test func youngOrPausedQueuesAreNotABacklog() {
        #expect(!Findings.evaluate(snapshot(age: 5, paused: false)).contains { $0.id == "queue-backlog" })
        #expect(!Findings.evaluate(snapshot(age: 900, paused: true)).contains { $0.id == "queue-backlog" }, "a paused queue is expected to wait")
        #expect(!Findings.evaluate(snapshot(age: nil, paused: nil)).contains { $0.id == "queue-backlog" })
        var draining = snapshot(age: 90, paused: false)
        draining.queues[0].lastJobStartedSeconds = 2
        #expect(!Findings.evaluate(draining).contains { $0.id == "queue-backlog" }, "workers are taking jobs again: the backlog drains")
    }

    @Test func theAgeIsInTheJSON() {
        let json = SnapshotJSON.encode(snapshot(age: 12, paused: false))
        #expect(json.contains("\"oldestWaitingSeconds\" : 12"))
        #expect(json.contains("\"pausedFlag\" : false"))
    }
}
