import App
import Diagnosis
import Foundation
import Render
import Testing

/// The Replication panel: only in the Sentinel topology, one row per pod.
@Suite struct ReplicationPanelTests {
    /// Three pods as the sandbox's Sentinel topology shows them (values of a real healthy read).
    static func view(masters: [String] = ["redis-0"], quorum: Bool = true, sentinelSays: String = "10.244.0.6") -> ReplicationView {
        let ips = ["redis-0": "10.244.0.6", "redis-1": "10.244.0.19", "redis-2": "10.244.0.32"]
        let pods = ["redis-0", "redis-1", "redis-2"].map { name -> ReplicaPodView in
            var p = ReplicaPodView(name: name, ip: ips[name])
            if masters.contains(name) {
                p.role = "master"; p.replOffset = 108998; p.connectedReplicas = masters.count > 1 ? 0 : 2
                p.replicas = masters.count > 1 ? [] : [LinkedReplica(ip: "10.244.0.19", port: 6379, state: "online", offset: 108998, lag: 0),
                                                      LinkedReplica(ip: "10.244.0.32", port: 6379, state: "online", offset: 108998, lag: 1)]
            } else {
                p.role = "replica"; p.masterHost = "10.244.0.6"; p.masterPort = 6379; p.masterLinkStatus = "up"; p.replOffset = 108998
            }
            var s = SentinelView()
            s.masterAddress = "\(sentinelSays):6379"; s.quorumOK = quorum
            s.quorumText = quorum ? "OK 3 usable Sentinels. Quorum and failover authorization can be reached" : "NOQUORUM 1 usable Sentinels."
            p.sentinel = s
            return p
        }
        return ReplicationView(targetPod: "redis-0", pods: pods)
    }

    func render(_ r: ReplicationView?, width: Int = 120, height: Int = 40) -> Grid {
        var s = sampleSnapshot()
        s.replication = r
        s.findings = Findings.evaluate(s)
        var m = model(width: width, height: height)
        _ = App.update(&m, .snapshotArrived(s))
        return App.render(m, width: width, height: height)
    }

    @Test func threePodsEachWithRoleOffsetLinkAndTheMasterItsSentinelNames() {
        let g = render(Self.view())
        let t = g.text
        #expect(t.contains("Replication (3 pods)"))
        #expect(t.contains("mymaster master redis-0  quorum OK") && t.contains("Sentinels agree on 10.244.0.6:6379"))
        let rows = g.lines().filter { $0.contains("off 108998") }
        #expect(rows.count == 3)
        #expect(rows.contains { $0.contains("redis-0 master") && $0.contains("2 replicas") })
        #expect(rows.contains { $0.contains("redis-1 replica") && $0.contains("link up") && $0.contains("lag 0 B 0s") })
        #expect(rows.contains { $0.contains("redis-2 replica") && $0.contains("lag 0 B 1s") })
        let sentinelRows = g.lines().filter { $0.contains("Sentinel→redis-0 quorum OK") }
        #expect(sentinelRows.count == 3 && sentinelRows.filter { $0.contains("of redis-0") }.count == 2)
        #expect(g.lines().allSatisfy { TextWidth.of($0) <= 120 })
    }

    @Test func splitBrainAndNoQuorumAreSaidInThePanel() {
        let t = render(Self.view(masters: ["redis-0", "redis-1"], quorum: false)).text
        #expect(t.contains("master redis-0+redis-1 SPLIT BRAIN"))
        #expect(t.contains("SPLIT BRAIN  NOQUORUM"))
    }

    @Test func aSentinelNamingAnAddressNoPodHasIsShownAsIs() {
        let t = render(Self.view(sentinelSays: "10.244.0.2")).text
        #expect(t.contains("Sentinel→10.244.0.2:6379"))
        #expect(t.contains("Sentinels agree on 10.244.0.2:6379"))
    }

    @Test func singlePodDashboardHasNoReplicationPanel() {
        #expect(!render(nil).text.contains("Replication"))
        #expect(!render(nil, width: 200, height: 60).text.contains("Replication"))
    }

    @Test func wideScreenShowsItToo() {
        #expect(render(Self.view(), width: 200, height: 60).text.contains("Replication (3 pods)"))
    }
}
