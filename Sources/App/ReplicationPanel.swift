import Diagnosis
import Foundation
import Render

// ReplicationPanel: the dashboard's "Replication" panel, drawn only when the snapshot carries a
// replication view (the target pod runs a Sentinel: Diagnosis/Replication.swift). One summary
// line (the master set, the master each Sentinel names and whether they agree, CKQUORUM, a
// failover in progress), then per pod its role, offset, lag in bytes and seconds, master link and
// the master its Sentinel reports (two rows a pod: a half-screen column is ~58 wide). It owns only this drawing; it must not change the single-pod
// layout (drawDashboard adds it only when there is a view) and stays pure.

extension App {
    static func replicationPanel(_ m: AppModel) -> DashPanel? {
        guard let r = m.snapshot?.replication else { return nil }
        var ls: [Line] = []
        var head: Line = [Span(r.masterSet, .bold), Span(" master ")]
        switch r.masters.count {
        case 0: head.append(Span("none", badStyle))
        case 1: head.append(Span(r.masters[0], okStyle))
        default: head.append(Span(r.masters.joined(separator: "+") + " SPLIT BRAIN", badStyle))
        }
        head.append(r.quorumOK.map { Span($0 ? "  quorum OK" : "  NOQUORUM", $0 ? okStyle : badStyle) } ?? Span("  quorum ?", .dim))
        if r.failoverInProgress { head.append(Span("  failover in progress", warnStyle)) }
        ls.append(head)
        switch r.sentinelsAgree {
        case true?: ls.append([Span("Sentinels agree on "), Span(r.sentinelMasters.first ?? "?", okStyle)])
        case false?: ls.append([Span("Sentinels disagree: ", badStyle), Span(r.sentinelMasters.joined(separator: " / "), badStyle)])
        case nil: ls.append([Span("Sentinels: no answer", badStyle)])
        }
        let nameW = min(16, (r.pods.map { TextWidth.of($0.name) }.max() ?? 7) + 1)
        for p in r.pods {
            var l: Line = [Span(TextLayout.fit(p.name, to: nameW), p.name == r.targetPod ? Style(bold: true, underline: true) : .bold)]
            if let e = p.error, p.role == nil {
                l.append(Span(TextLayout.fit("down", to: 8), badStyle)); l.append(Span(e, .dim))
            } else {
                let roleStyle: Style = p.role == "master" ? (r.masters.count > 1 ? badStyle : okStyle) : .plain
                l.append(Span(TextLayout.fit(p.role ?? "?", to: 8), roleStyle))
                l.append(Span("off \(p.replOffset.map(String.init) ?? "?")"))
                if p.role == "replica" {
                    l.append(Span("  link "))
                    l.append(Span(p.masterLinkStatus ?? "?", p.masterLinkStatus == "up" ? okStyle : badStyle))
                    let lagged = (p.lagSeconds ?? 0) > Int64(p.minReplicasMaxLag ?? Int(ReplicationFindings.defaultMaxLagSeconds))
                    l.append(Span("  lag \(p.lagBytes.map { Fmt.size($0) } ?? "?") \(p.lagSeconds.map { "\($0)s" } ?? "?")", lagged ? warnStyle : .plain))
                } else if p.role == "master" {
                    l.append(Span("  \(p.connectedReplicas.map(String.init) ?? "?") replicas", .dim))
                    if let min = p.minReplicasToWrite, min > 0 {
                        l.append(Span("  min-replicas \(p.goodReplicas.map(String.init) ?? "?")/\(min)", (p.goodReplicas ?? 0) < min ? badStyle : okStyle))
                    }
                }
            }
            ls.append(l)
            l = [Span(String(repeating: " ", count: nameW))]
            if p.role == "replica" { l.append(Span("of \(p.masterPod ?? p.masterHost ?? "?")  ", .dim)) }
            if let s = p.sentinel {
                l.append(Span("Sentinel→", .dim))
                if let e = s.error {
                    l.append(Span("no answer ", badStyle)); l.append(Span(e, .dim))
                } else {
                    let named = s.masterPod ?? s.masterAddress ?? "?"
                    let agrees = r.masters.count == 1 && s.masterPod == r.masters.first
                    l.append(Span(named, agrees ? okStyle : badStyle))
                    l.append(s.quorumOK.map { Span($0 ? " quorum OK" : " NOQUORUM", $0 ? .dim : badStyle) } ?? Span(""))
                    if s.failoverInProgress { l.append(Span(" \(s.failoverState ?? "failover")", warnStyle)) }
                    let down = s.replicas.filter(\.down).count
                    if down > 0 { l.append(Span(" \(down) down", warnStyle)) }
                }
            }
            ls.append(l)
        }
        return DashPanel(title: "Replication (\(r.pods.count) pods)", sources: [], preferred: ls.count + 2, minimum: min(ls.count, 4) + 2, draw: lines(ls))
    }
}
