import Foundation

// ReplicationFindings: the findings of a Sentinel topology, read from `Snapshot.replication`
// (Replication.swift) and added to `Findings.evaluate`'s list: no quorum, Sentinels that disagree
// on the master, two masters, a replica whose link is down or that lags beyond
// `min-replicas-max-lag`, the plain Service's pod (the tool's target) being a replica, and a
// Sentinel still listing a replica that is down. Each names its runbook (`Rules.replication`).
// It is pure and decides only these; it must not touch the single-pod findings, and it adds
// nothing when the snapshot has no replication view (a StatefulSet of one replica).

public enum ReplicationFindings {
    /// Lag in seconds when the master does not say `min-replicas-max-lag` (Redis's default).
    public static let defaultMaxLagSeconds: Int64 = 10

    public static func evaluate(_ r: ReplicationView?) -> [Finding] {
        guard let r else { return [] }
        var out: [Finding] = []
        func add(_ id: String, _ sev: Severity, _ summary: String, _ evidence: String) {
            out.append(Finding(id: id, severity: sev, summary: summary, evidence: evidence, runbook: Rules.rule(id)?.runbook))
        }
        func addr(_ p: ReplicaPodView) -> String { "\(p.name)\(p.ip.map { " (\($0))" } ?? "")" }

        if r.quorumOK == false {
            add("sentinel-no-quorum", .critical, "The Sentinels cannot reach quorum: no failover can happen",
                (r.quorumText ?? "CKQUORUM failed") + "; " + sentinelAnswers(r))
        }
        if r.sentinelsAgree == false {
            let who = r.pods.compactMap { p in p.sentinel?.masterAddress.map { "\(p.name)'s Sentinel: \($0)\(p.sentinel?.masterPod.map { " (\($0))" } ?? " (no pod)")" } }
            add("sentinel-disagree", .critical, "The Sentinels disagree on the master of \(r.masterSet)", who.joined(separator: "; "))
        }
        if r.masters.count > 1 {
            let ev = r.pods.filter { $0.role == "master" }.map { p in
                "\(addr(p)) role:master, offset \(p.replOffset.map(String.init) ?? "?"), \(p.connectedReplicas ?? 0) replicas"
            }
            let named = r.sentinelMasters.count == 1 ? "; the Sentinels name \(r.sentinelMasters[0])" : ""
            add("split-brain", .critical, "\(r.masters.count) pods answer role:master (split brain): writes may go to both",
                ev.joined(separator: "; ") + named)
        }
        for p in r.pods where p.role == "replica" {
            if p.masterLinkStatus == "down" {
                var ev = "\(addr(p)): master_link_status:down to \(p.masterHost ?? "?"):\(p.masterPort.map(String.init) ?? "?")"
                if let m = p.masterPod { ev += " (\(m))" }
                if p.syncInProgress == true { ev += ", full sync in progress" }
                add("replica-link-down", .warning, "Replica \(p.name) has lost its link to the master", ev)
            } else if let lag = p.lagSeconds {
                let master = r.pods.first { $0.name == p.masterPod }
                let max = Int64(master?.minReplicasMaxLag ?? p.minReplicasMaxLag ?? Int(defaultMaxLagSeconds))
                if lag > max {
                    add("replica-lag", .warning, "Replica \(p.name) lags \(lag)s behind the master (min-replicas-max-lag \(max)s)",
                        "\(addr(p)): lag \(lag)s, \(p.lagBytes.map { "\($0) bytes behind" } ?? "offset unknown") \(p.masterPod.map { "of \($0)" } ?? "")")
                }
            }
        }
        if let t = r.target, t.role == "replica" {
            add("writes-to-replica", .warning, "The pod the plain Service reaches (\(t.name)) is a replica: writes there fail with READONLY",
                "\(addr(t)) role:replica of \(t.masterPod ?? t.masterHost ?? "?"); clients must ask Sentinel for \(r.masterSet)")
        }
        var listed = Set<String>()
        for p in r.pods {
            guard let s = p.sentinel, s.error == nil else { continue }
            for rep in s.replicas where rep.down && !listed.contains(rep.name) {
                listed.insert(rep.name)
                add("sentinel-stale-replica", .warning, "Sentinel still lists replica \(rep.name)\(rep.pod.map { " (\($0))" } ?? "") that is down",
                    "\(p.name)'s Sentinel: \(rep.name) flags \(rep.flags.joined(separator: ","))")
            }
        }
        return out
    }

    /// "redis-0: OK, redis-1: no answer (…)" for the no-quorum evidence.
    static func sentinelAnswers(_ r: ReplicationView) -> String {
        r.pods.compactMap { p in
            guard let s = p.sentinel else { return nil }
            if let e = s.error { return "\(p.name): no answer (\(e))" }
            return "\(p.name): \(s.quorumOK.map { $0 ? "OK" : "NOQUORUM" } ?? "?")"
        }.joined(separator: ", ")
    }
}
