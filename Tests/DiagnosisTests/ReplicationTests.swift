import Foundation
import Testing
@testable import Diagnosis

/// The Sentinel model and findings on texts captured from a real `up --topology sentinel`
/// (Fixtures/sentinel/README.md says how and in which state).
@Suite struct ReplicationTests {
    static let ips = ["redis-0": "10.244.0.6", "redis-1": "10.244.0.19", "redis-2": "10.244.0.32"]

    /// The view of one captured state, as the prober assembles it.
    static func view(_ state: String, ips: [String: String] = ips, target: String = "redis-0") throws -> ReplicationView {
        func text(_ kind: String, _ pod: String) -> String? { try? Fixture.text("sentinel/\(state)-\(kind)-\(pod).txt") }
        let pods = ["redis-0", "redis-1", "redis-2"].map { name -> ReplicaPodView in
            var p = ReplicaPodView(name: name, ip: ips[name])
            if let i = text("info-replication", name) { ReplicationParse.apply(info: i, to: &p) } else { p.error = "no answer" }
            if let r = text("role", name) { ReplicationParse.apply(role: r, to: &p) }
            if let c = text("config", name) {
                let l = c.split(separator: "\n").map(String.init)
                ReplicationParse.apply(config: Dictionary(uniqueKeysWithValues: stride(from: 0, to: l.count - 1, by: 2).map { (l[$0], l[$0 + 1]) }), to: &p)
            }
            let addr = text("sentinel-addr", name)
            p.sentinel = ReplicationParse.sentinel(addr: addr, ckquorum: text("sentinel-ckquorum", name),
                                                   replicas: text("sentinel-replicas", name), master: text("sentinel-master", name),
                                                   error: addr == nil ? "no reply from redis-cli -p 26379 in 2s" : nil)
            return p
        }
        return ReplicationView(targetPod: target, pods: pods)
    }

    static func ids(_ v: ReplicationView) -> [String] { ReplicationFindings.evaluate(v).map(\.id) }

    @Test func healthyReadsOneMasterTwoReplicasAndQuorum() throws {
        let v = try Self.view("healthy")
        #expect(v.masters == ["redis-0"])
        #expect(v.pods.map { $0.role } == ["master", "replica", "replica"])
        #expect(v.sentinelMasters == ["10.244.0.6:6379"] && v.sentinelsAgree == true && v.quorumOK == true)
        #expect(v.quorumText?.hasPrefix("OK 3 usable Sentinels") == true)
        let m = v.pods[0]
        #expect(m.connectedReplicas == 2 && m.replicas.map(\.pod) == ["redis-1", "redis-2"] && (m.replOffset ?? 0) > 0)
        #expect(m.minReplicasToWrite == 0 && m.minReplicasMaxLag == 10)
        let r1 = v.pods[1]
        #expect(r1.masterPod == "redis-0" && r1.masterLinkStatus == "up" && r1.lagSeconds != nil && r1.lagBytes != nil)
        #expect(v.pods[0].sentinel?.quorum == 2 && v.pods[0].sentinel?.otherSentinels == 2 && v.failoverInProgress == false)
        #expect(v.pods[0].sentinel?.replicas.count == 2 && v.pods[0].sentinel?.replicas.allSatisfy { !$0.down } == true)
        #expect(Self.ids(v).isEmpty)
    }

    /// In a session every reply after a marker's error starts with the blank line redis-cli prints after it.
    /// Sentinels and replicas announcing hostnames (the common chart's `useHostnames`): every
    /// address is `<pod>.redis.default.svc.cluster.local`, and the view still maps each to its pod.
    @Test func hostnamesAnnouncedMapToPods() throws {
        let v = try Self.view("hostnames")
        #expect(v.masters == ["redis-0"] && v.sentinelsAgree == true && v.quorumOK == true)
        #expect(v.sentinelMasters == ["redis-0.redis.default.svc.cluster.local:6379"])
        #expect(v.pods.compactMap { $0.sentinel?.masterPod } == ["redis-0", "redis-0", "redis-0"])
        #expect(v.pods[0].replicas.map(\.pod) == ["redis-1", "redis-2"])
        for r in v.pods.dropFirst() {
            #expect(r.masterPod == "redis-0" && r.lagBytes != nil, "\(r.name): \(String(describing: r.masterPod)) \(String(describing: r.lagBytes))")
        }
        #expect(Set(v.pods[0].sentinel?.replicas.compactMap(\.pod) ?? []) == ["redis-1", "redis-2"], "\(String(describing: v.pods[0].sentinel?.replicas))")
        #expect(Self.ids(v).isEmpty, "\(Self.ids(v))")
        // A name no pod has (a typo, a pod of another StatefulSet) stays unmapped.
        #expect(!ReplicationView.names("redis-00.redis", ReplicaPodView(name: "redis-0", ip: "10.0.0.1")))
        #expect(ReplicationView.names("REDIS-0.redis.default.svc", ReplicaPodView(name: "redis-0", ip: "10.0.0.1")))
    }

    @Test func sessionRepliesWithALeadingBlankLineParseTheSame() throws {
        func t(_ k: String) throws -> String { "\n" + (try Fixture.text("sentinel/healthy-\(k)-redis-1.txt")) }
        let s = ReplicationParse.sentinel(addr: try t("sentinel-addr"), ckquorum: try t("sentinel-ckquorum"),
                                          replicas: try t("sentinel-replicas"), master: try t("sentinel-master"))
        #expect(s.masterAddress == "10.244.0.6:6379" && s.quorumOK == true && s.replicas.count == 2 && s.quorum == 2 && s.error == nil)
        var p = ReplicaPodView(name: "redis-1")
        ReplicationParse.apply(role: try t("role"), to: &p)
        #expect(p.role == "replica" && p.masterHost == "10.244.0.6" && p.masterLinkStatus == "up")
    }

    @Test func masterKillFailoverThenTheOldMasterResyncs() throws {
        let during = try Self.view("masterkill-during")
        #expect(during.pods[0].role == nil && during.pods[0].error?.contains("container not found") == true)
        #expect(during.masters == ["redis-1"] && during.sentinelMasters == ["10.244.0.19:6379"] && during.sentinelsAgree == true)
        #expect(during.pods.compactMap { $0.sentinel?.masterPod } == ["redis-1", "redis-1", "redis-1"])
        let f = ReplicationFindings.evaluate(during)
        let stale = try #require(f.first { $0.id == "sentinel-stale-replica" })
        #expect(stale.severity == .warning && stale.runbook == "sentinel-reset" && stale.summary.contains("10.244.0.6:6379 (redis-0)"))
        #expect(stale.evidence.contains("s_down"))

        let after = try Self.view("masterkill-after")
        #expect(after.masters == ["redis-1"] && after.pods[0].role == "replica" && after.pods[0].masterPod == "redis-1")
        let ids = Self.ids(after)
        #expect(ids.contains("replica-link-down") && ids.contains("writes-to-replica") && !ids.contains("split-brain"))
        let link = try #require(ReplicationFindings.evaluate(after).first { $0.id == "replica-link-down" })
        #expect(link.runbook == "replica-resync" && link.evidence.contains("master_link_status:down") && link.evidence.contains("redis-1"))
        let svc = try #require(ReplicationFindings.evaluate(after).first { $0.id == "writes-to-replica" })
        #expect(svc.severity == .warning && svc.runbook == "sentinel-failover" && svc.summary.contains("redis-0"))
        // Pointed at the new master, the Service finding goes.
        #expect(!Self.ids(try Self.view("masterkill-after", target: "redis-1")).contains("writes-to-replica"))
    }

    @Test func twoSentinelsDownIsNoQuorumCritical() throws {
        let v = try Self.view("noquorum")
        #expect(v.quorumOK == false && v.quorumText?.hasPrefix("NOQUORUM 1 usable Sentinels") == true)
        let f = try #require(ReplicationFindings.evaluate(v).first { $0.id == "sentinel-no-quorum" })
        #expect(f.severity == .critical && f.runbook == "sentinel-reset")
        #expect(f.evidence.contains("redis-1: no answer") && f.evidence.contains("redis-0: NOQUORUM"))
        // check's exit code follows it.
        var s = Snapshot(); s.redisState = "ok"; s.redisVersion = "7"; s.replication = v
        #expect(CheckReport.make(s).exitCode == 2)
        #expect(CheckReport.make(s).text.contains("CRITICAL sentinel-no-quorum"))
    }

    /// No Sentinel answering is unknown, not a lost quorum (a loaded machine's `kubectl exec` is
    /// silent the same way): no critical finding from it.
    @Test func noSentinelAnsweringIsUnknownNotNoQuorum() throws {
        let healthy = try Self.view("healthy")
        let pods = healthy.pods.map { p -> ReplicaPodView in
            var q = p
            q.sentinel = ReplicationParse.sentinel(addr: nil, ckquorum: nil, replicas: nil, master: nil, error: "line session timed out after 5 seconds")
            return q
        }
        let v = ReplicationView(targetPod: "redis-0", pods: pods)
        #expect(v.quorumOK == nil && v.quorumText == "no Sentinel answered (3 asked)" && v.sentinelsAgree == nil)
        #expect(Self.ids(v).isEmpty)
    }

    @Test func masterBackWithNewIPIsSplitBrain() throws {
        var ips = Self.ips; ips["redis-1"] = "10.244.0.48"
        let v = try Self.view("twomasters", ips: ips)
        #expect(v.masters == ["redis-0", "redis-1"])
        let f = try #require(ReplicationFindings.evaluate(v).first { $0.id == "split-brain" })
        #expect(f.severity == .critical && f.runbook == "split-brain")
        #expect(f.evidence.contains("redis-1 (10.244.0.48) role:master") && f.evidence.contains("the Sentinels name 10.244.0.6:6379"))
    }

    @Test func staleSentinelDisagrees() throws {
        let v = try Self.view("stale")
        #expect(v.sentinelsAgree == false && Set(v.sentinelMasters) == ["10.244.0.6:6379", "10.244.0.2:6379"])
        let f = try #require(ReplicationFindings.evaluate(v).first { $0.id == "sentinel-disagree" })
        #expect(f.severity == .critical && f.runbook == "split-brain")
        #expect(f.evidence.contains("redis-2's Sentinel: 10.244.0.2:6379 (no pod)"))
    }

    @Test func lagBeyondMinReplicasMaxLagWarns() throws {
        var v = try Self.view("healthy")
        // The master's own slaveN line, as INFO prints it for a replica 12 s behind.
        var info = try Fixture.text("sentinel/healthy-info-replication-redis-0.txt")
        info = info.replacingOccurrences(of: #"slave0:ip=10\.244\.0\.19,port=6379,state=online,offset=\d+,lag=\d+"#,
                                         with: "slave0:ip=10.244.0.19,port=6379,state=online,offset=1000,lag=12", options: .regularExpression)
        #expect(info.contains("lag=12"))
        var m = v.pods[0]
        ReplicationParse.apply(info: info, to: &m)
        v = ReplicationView(targetPod: "redis-0", pods: [m, v.pods[1], v.pods[2]])
        let f = try #require(ReplicationFindings.evaluate(v).first { $0.id == "replica-lag" })
        #expect(f.severity == .warning && f.runbook == "replica-resync" && f.summary.contains("12s") && f.summary.contains("10s"))
    }

    @Test func jsonCarriesReplicationOnlyWhenThereIsOne() throws {
        var s = Snapshot()
        #expect(!SnapshotJSON.encode(s).contains("\"replication\""))
        s.replication = try Self.view("healthy")
        let back = try SnapshotJSON.decode(SnapshotJSON.encode(s))
        #expect(back.replication == s.replication)
        #expect(SnapshotPaths.value(at: "replication.quorumOK", in: s) == "true")
        #expect(SnapshotPaths.value(at: "replication.pods.redis-1.role", in: s) == "replica")
        #expect(SnapshotPaths.value(at: "replication.pods.redis-0.sentinel.masterPod", in: s) == "redis-0")
    }

    @Test func everyReplicationFindingIsInTheRulesTable() {
        for id in ["sentinel-no-quorum", "sentinel-disagree", "split-brain", "replica-link-down", "replica-lag", "writes-to-replica", "sentinel-stale-replica"] {
            #expect(Rules.rule(id)?.kind == .finding, "\(id)")
        }
        #expect(Rules.rule("split-brain")?.runbook == "split-brain" && Rules.rule("sentinel-no-quorum")?.runbook == "sentinel-reset")
    }
}
