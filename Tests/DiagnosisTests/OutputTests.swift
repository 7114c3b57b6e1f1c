import Foundation
import Testing
@testable import Diagnosis

@Suite struct OutputTests {
    func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func emptySnapshotJSONHasEverySchemaKeyWithNulls() throws {
        var s = Snapshot()
        s.pod = PodSummary(name: "redis-0")
        s.pod?.containers = [ContainerSummary(name: "redis")]
        s.pod?.containers[0].lastTermination = Termination(reason: nil, exitCode: nil, finishedAt: nil)
        s.pod?.warnings = [EventSummary(type: "Warning", reason: "BackOff", message: "m", lastTimestamp: nil, count: nil)]
        s.queues = [QueueCounts(prefix: "bull", name: "q")]
        s.findings = [Finding(id: "x", severity: .info, summary: "s", evidence: "e", runbook: nil)]
        s.errors = [SourceError(source: "redis", message: "m")]
        s.logEvidence = [LogEvidence(kind: "disk-full", line: "l")]
        s.adr = [AdrCheck(id: "appendonly", title: "t", status: .unknown, detail: "d")]
        let json = SnapshotJSON.encode(s)
        let o = try object(json)
        #expect(o["schemaVersion"] as? Int == 1)
        let top = ["schemaVersion", "takenAt", "context", "namespace", "pod", "memory", "persistence", "clients", "exporter", "queues",
                   "findings", "errors", "redisState", "redisVersion", "keyspace", "config", "redisError", "redisServer", "logEvidence", "adr",
                   "keyspaceLastKnown", "keyspaceLastKnownAt", "cluster", "queuesSearching", "manifest"]
        #expect(Set(o.keys) == Set(top))
        #expect(o["takenAt"] is NSNull && o["redisState"] is NSNull && o["context"] is NSNull)
        func keys(_ v: Any?) -> Set<String> { Set((v as? [String: Any])?.keys.map { $0 } ?? []) }
        func first(_ v: Any?) -> Any? { (v as? [Any])?.first }
        let pod = o["pod"] as? [String: Any]
        #expect(keys(pod).isSuperset(of: ["name", "phase", "ready", "node", "nodeReady", "restarts", "containers"]))
        #expect(pod?["phase"] is NSNull && pod?["nodeReady"] is NSNull)
        let c = first(pod?["containers"])
        #expect(keys(c).isSuperset(of: ["name", "ready", "state", "reason", "restarts", "lastTermination"]))
        #expect(keys((c as? [String: Any])?["lastTermination"]) == ["reason", "exitCode", "finishedAt"])
        #expect(keys(first(pod?["warnings"])) == ["type", "reason", "message", "lastTimestamp", "count"])
        #expect(keys(o["memory"]).isSuperset(of: ["usedBytes", "rssBytes", "peakBytes", "maxmemoryBytes", "limitBytes", "policy", "oomRejections", "evictedKeys", "fragmentationRatio"]))
        #expect((o["memory"] as? [String: Any])?.values.allSatisfy { $0 is NSNull } == true)
        #expect(keys(o["persistence"]).isSuperset(of: ["aofEnabled", "appendfsync", "aofLastWriteStatus", "aofLastBgrewriteStatus", "aofRewriteInProgress", "rdbLastBgsaveStatus", "loading", "loadingPercent"]))
        #expect((o["persistence"] as? [String: Any])?.values.allSatisfy { $0 is NSNull } == true)
        #expect(keys(o["clients"]) == ["connected", "blocked", "opsPerSec", "rejectedConnections"])
        #expect((o["clients"] as? [String: Any])?.values.allSatisfy { $0 is NSNull } == true)
        #expect(keys(o["config"]) == ["appendonly", "appendfsync", "maxmemoryPolicy", "maxmemory", "appenddirname", "appendfilename", "dir"])
        #expect((o["config"] as? [String: Any])?.values.allSatisfy { $0 is NSNull } == true)
        #expect(keys(o["exporter"]) == ["up", "present"])
        #expect(keys(first(o["queues"])).isSuperset(of: ["prefix", "name", "waiting", "active", "delayed", "prioritized", "completed", "failed", "paused", "waitingChildren", "waitingDelta"]))
        #expect((first(o["queues"]) as? [String: Any])?["waitingDelta"] is NSNull)
        #expect(keys(first(o["findings"])) == ["id", "severity", "summary", "evidence", "runbook", "because"])
        #expect((first(o["findings"]) as? [String: Any])?["runbook"] is NSNull)
        #expect(keys(first(o["errors"])) == ["source", "message", "staleSeconds", "kind"])
        #expect(keys(first(o["adr"])) == ["id", "title", "status", "detail"])
        // Sorted keys, pretty.
        #expect(json.contains("\n  \"adr\""))
        let idx = ["\"adr\"", "\"clients\"", "\"config\"", "\"context\""].map { json.range(of: $0)!.lowerBound }
        #expect(idx == idx.sorted())
    }

    @Test func roundTripOfABuiltSnapshot() throws {
        let s = SnapshotBuilder.build(try Healthy.inputs())
        let back = try SnapshotJSON.decode(SnapshotJSON.encode(s))
        #expect(back == s)
        // A snapshot without the new fields (as another helper may write) still decodes.
        let old = try SnapshotJSON.decode(#"{"schemaVersion":1,"memory":{},"persistence":{},"clients":{},"exporter":{},"config":{}}"#)
        #expect(old.adr.isEmpty && old.pod == nil)
    }

    @Test func snapshotPaths() throws {
        var i = try Healthy.inputs()
        i.infoText = InfoText.make(aofWrite: "err")
        let s = SnapshotBuilder.build(i)
        #expect(SnapshotPaths.value(at: "persistence.aofLastWriteStatus", in: s) == "err")
        #expect(SnapshotPaths.value(at: "pod.containers.redis.state", in: s) == "running")
        #expect(SnapshotPaths.value(at: "pod.containers.1.name", in: s) == "redis-exporter")
        #expect(SnapshotPaths.value(at: "pod.ready", in: s) == "true")
        #expect(SnapshotPaths.value(at: "persistence.aofRewriteInProgress", in: s) == "false")
        #expect(SnapshotPaths.value(at: "memory.usedBytes", in: s) == "50000000")
        #expect(SnapshotPaths.value(at: "memory.fragmentationRatio", in: s) == "1.2")
        #expect(SnapshotPaths.value(at: "memory.limitBytes", in: s) == "536870912")
        #expect(SnapshotPaths.value(at: "keyspace.db0", in: s) == "1234")
        #expect(SnapshotPaths.value(at: "queues.emails.waiting", in: s) == "3")
        #expect(SnapshotPaths.value(at: "findings.aof-write-error.runbook", in: s) == "disk-full")
        #expect(SnapshotPaths.value(at: "adr.appendonly.status", in: s) == "pass")
        #expect(SnapshotPaths.value(at: "persistence.loadingPercent", in: s) == nil)
        #expect(SnapshotPaths.value(at: "pod.containers.nope.state", in: s) == nil)
        #expect(SnapshotPaths.value(at: "pod.containers", in: s) == nil)
        #expect(SnapshotPaths.value(at: "no.such.path", in: s) == nil)
        let flat = SnapshotPaths.flatten(s)
        #expect(flat["pod.containers.redis.restarts"] == "0")
        #expect(flat["persistence.aofLastWriteStatus"] == "err")
    }

    @Test func checkReportLinesAndExitCodes() throws {
        let ok = CheckReport.make(SnapshotBuilder.build(try Healthy.inputs()))
        #expect(ok.status == .ok && ok.exitCode == 0)
        #expect(ok.text.hasPrefix("REDIS OK - redis ok, used 47.7 MiB, maxmemory 384.0 MiB, limit 512.0 MiB\n"))

        var w = try Healthy.inputs()
        w.config?["appendfsync"] = "no"
        let warn = CheckReport.make(SnapshotBuilder.build(w))
        #expect(warn.exitCode == 1)
        let lines = warn.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "REDIS WARNING - appendfsync is no, the ADR says everysec (1 warning)")
        #expect(lines.contains { $0.hasPrefix("WARNING fsync-policy: appendfsync is no") && $0.hasSuffix("runbook=config-drift") })
        #expect(lines.contains("ADR fail appendfsync: appendfsync everysec (appendfsync no)"))

        var c = try Healthy.inputs()
        c.infoText = InfoText.make(aofWrite: "err")
        c.node = try KubeJSON.node(from: PodJSON.node(ready: "False"))
        let crit = CheckReport.make(SnapshotBuilder.build(c))
        #expect(crit.exitCode == 2)
        #expect(crit.text.hasPrefix("REDIS CRITICAL - "))
        #expect(crit.text.split(separator: "\n")[0].hasSuffix("(2 critical)"))

        // Pod read but Redis not, with only a warning: still UNKNOWN (health not established).
        var u = try Healthy.inputs()
        u.infoText = nil; u.config = nil
        u.errors = [SourceError(source: "redis", message: "kubectl exec timed out after 10s")]
        let unk = CheckReport.make(SnapshotBuilder.build(u))
        #expect(unk.exitCode == 3)
        #expect(unk.text.hasPrefix("REDIS UNKNOWN - could not read Redis: redis: kubectl exec timed out after 10s"))
    }

    @Test func statusTextSummary() throws {
        var i = try Healthy.inputs()
        i.infoText = InfoText.make(oom: 2)
        let text = StatusText.render(SnapshotBuilder.build(i))
        #expect(text.hasPrefix("Redis WARNING at 2025-10-05T12:00:00Z"))
        #expect(text.contains("Pod     redis-0: Running, ready yes, restarts 0, node node-1 (Ready)"))
        #expect(text.contains("Memory  used 47.7 MiB, rss 57.2 MiB"))
        #expect(text.contains("maxmemory 384.0 MiB, limit 512.0 MiB, policy noeviction, OOM rejections 2"))
        #expect(text.contains("Queue   bull:emails waiting 3 active 2"))
        #expect(text.contains("WARNING oom-rejections"))
        #expect(text.contains("ADR 0005: 6/6 pass"))
        let empty = StatusText.render(SnapshotBuilder.build(SnapshotInputs(now: Healthy.now)))
        #expect(empty.contains("Pod     unknown") && empty.contains("Redis   unknown"))
    }
}
