import Foundation

// Replication: the roles of a StatefulSet with more than one replica and what its Sentinels say,
// per pod (the `replication` object of `status --json`, the dashboard's Replication panel, the
// Sentinel findings in ReplicationFindings.swift). It owns the model and its assembly from the
// texts a `redis-cli` prints without a terminal (ROLE, INFO replication, CONFIG GET, SENTINEL
// get-master-addr-by-name / CKQUORUM / replicas / master), parsed by ReplicationParse.swift. It
// is pure: it must not read a process or the clock, and it decides no severity (the findings do).
// Unknown values are nil, left out of the JSON (a runbook path reads a missing key as null); the
// whole object is absent (not null) for a single-replica StatefulSet, so that schema stays as it was.

public struct ReplicationView: Codable, Sendable, Equatable {
    /// The Sentinel master set asked about.
    public var masterSet: String
    /// The pod the tool is pointed at (the one a plain Service name reaches in the dashboard).
    public var targetPod: String?
    public var pods: [ReplicaPodView]
    /// Pods answering `role:master` (more than one: split brain).
    public var masters: [String]
    /// Distinct master addresses the answering Sentinels report ("ip:port").
    public var sentinelMasters: [String]
    /// True when every answering Sentinel names the same master; nil when none answered.
    public var sentinelsAgree: Bool?
    /// CKQUORUM: false when an answering Sentinel says NOQUORUM, true when every answering one
    /// says OK, nil when none answered (then `quorumText` says so).
    public var quorumOK: Bool?
    /// The CKQUORUM line that decided `quorumOK`.
    public var quorumText: String?
    /// A Sentinel reports a failover in progress (its master's flags or failover-state).
    public var failoverInProgress: Bool

    public init(masterSet: String = "mymaster", targetPod: String?, pods: [ReplicaPodView]) {
        self.masterSet = masterSet; self.targetPod = targetPod
        var p = pods
        // Offsets and lag against the master each replica follows, found by its address.
        for i in p.indices where p[i].role == "replica" {
            guard let host = p[i].masterHost else { continue }
            let master = pods.first { Self.names(host, $0) && $0.role == "master" }
            p[i].masterPod = master?.name ?? pods.first { Self.names(host, $0) }?.name
            if let m = master, let mo = m.replOffset, let o = p[i].replOffset { p[i].lagBytes = max(mo - o, 0) }
            if let m = master, let link = m.replicas.first(where: { Self.names($0.ip, p[i]) }) {
                p[i].lagSeconds = link.lag
            } else if p[i].masterLinkStatus == "up" {
                p[i].lagSeconds = p[i].masterLastIOSecondsAgo
            }
        }
        for i in p.indices {
            for j in p[i].replicas.indices { p[i].replicas[j].pod = pods.first { Self.names(p[i].replicas[j].ip, $0) }?.name }
            if var s = p[i].sentinel {
                let host = s.masterAddress.flatMap { $0.split(separator: ":").first.map(String.init) }
                s.masterPod = host.flatMap { h in pods.first { Self.names(h, $0) }?.name }
                for j in s.replicas.indices {
                    let h = s.replicas[j].name.split(separator: ":").first.map(String.init)
                    s.replicas[j].pod = h.flatMap { h in pods.first { Self.names(h, $0) }?.name }
                }
                p[i].sentinel = s
            }
        }
        self.pods = p
        masters = p.filter { $0.role == "master" }.map(\.name)
        let answered = p.compactMap(\.sentinel).filter { $0.error == nil }
        let addrs = answered.compactMap(\.masterAddress)
        var seen: [String] = []
        for a in addrs where !seen.contains(a) { seen.append(a) }
        sentinelMasters = seen
        sentinelsAgree = addrs.isEmpty ? nil : seen.count == 1
        let asked = p.compactMap(\.sentinel)
        let checks = answered.compactMap { s in s.quorumOK.map { (ok: $0, text: s.quorumText) } }
        if let no = checks.first(where: { !$0.ok }) {
            quorumOK = false; quorumText = no.text
        } else if let yes = checks.first {
            quorumOK = true; quorumText = yes.text
        } else if answered.isEmpty, !asked.isEmpty {
            // Unknown, not lost: a silent `kubectl exec` on a loaded machine looks the same as a
            // stopped Sentinel; two stopped out of three leave one that answers NOQUORUM.
            quorumOK = nil; quorumText = "no Sentinel answered (\(asked.count) asked)"
        } else {
            quorumOK = nil; quorumText = nil
        }
        failoverInProgress = answered.contains { $0.failoverInProgress }
    }

    /// The pod the tool is pointed at, when it is in the view.
    public var target: ReplicaPodView? { targetPod.flatMap { t in pods.first { $0.name == t } } }
}

/// One pod: its Redis's replication state and its Sentinel's report.
extension ReplicationView {
    /// Whether the address Redis or Sentinel reports (`master_host`, a replica's `ip=`, what a
    /// Sentinel names) is this pod: its IP, or its name when the setup announces hostnames
    /// (`replica-announce-ip` / Sentinel's `announce-hostnames`: `redis-0.redis.default.svc.cluster.local`,
    /// `redis-0.redis`, `redis-0`), case-insensitively as DNS does.
    static func names(_ host: String, _ pod: ReplicaPodView) -> Bool {
        if let ip = pod.ip, host == ip { return true }
        let h = host.lowercased(), n = pod.name.lowercased()
        return h == n || h.hasPrefix(n + ".")
    }
}

public struct ReplicaPodView: Codable, Sendable, Equatable {
    public var name: String
    public var ip: String?
    /// "master", "replica" (Redis's "slave") or nil when Redis did not answer.
    public var role: String?
    /// A replica's master as it is configured (`master_host`, `master_port`) and the pod at that address.
    public var masterHost: String?
    public var masterPort: Int?
    public var masterPod: String?
    /// A replica's `master_link_status` ("up"/"down") and `master_last_io_seconds_ago` (-1 while down).
    public var masterLinkStatus: String?
    public var masterLastIOSecondsAgo: Int64?
    public var syncInProgress: Bool?
    /// `master_repl_offset` of a master, `slave_repl_offset` of a replica.
    public var replOffset: Int64?
    /// A replica's distance behind the master it follows: bytes (offsets) and seconds (the
    /// master's `lag=` for it, else `master_last_io_seconds_ago`).
    public var lagBytes: Int64?
    public var lagSeconds: Int64?
    /// A master's `connected_slaves` and its `slaveN:` lines.
    public var connectedReplicas: Int?
    public var replicas: [LinkedReplica]
    /// `master_failover_state` (a `FAILOVER` command in progress when not "no-failover").
    public var failoverState: String?
    /// CONFIG `min-replicas-to-write`, `min-replicas-max-lag`, INFO `min_slaves_good_slaves`.
    public var minReplicasToWrite: Int?
    public var minReplicasMaxLag: Int?
    public var goodReplicas: Int?
    /// Why Redis could not be read (exec refused, a reply error, no answer).
    public var error: String?
    public var sentinel: SentinelView?

    public init(name: String, ip: String? = nil) {
        self.name = name; self.ip = ip; replicas = []
    }
}

/// A replica as its master lists it (`slaveN:ip=…,port=…,state=…,offset=…,lag=…`).
public struct LinkedReplica: Codable, Sendable, Equatable {
    public var ip: String
    public var port: Int?
    public var state: String?
    public var offset: Int64?
    public var lag: Int64?
    public var pod: String?
    public init(ip: String, port: Int?, state: String?, offset: Int64?, lag: Int64?) {
        self.ip = ip; self.port = port; self.state = state; self.offset = offset; self.lag = lag
    }
}

/// What one pod's Sentinel reports about the master set.
public struct SentinelView: Codable, Sendable, Equatable {
    /// `get-master-addr-by-name` as "ip:port", and the pod at that address.
    public var masterAddress: String?
    public var masterPod: String?
    /// `CKQUORUM`: OK or NOQUORUM, and its line.
    public var quorumOK: Bool?
    public var quorumText: String?
    /// From `SENTINEL master`: quorum, other Sentinels seen, the master's flags and failover state.
    public var quorum: Int?
    public var otherSentinels: Int?
    public var masterFlags: String?
    public var failoverState: String?
    public var failoverInProgress: Bool
    /// `SENTINEL replicas`: each replica it lists ("ip:port") and its flags.
    public var replicas: [SentinelReplica]
    /// The Sentinel did not answer (stopped, not running, exec refused).
    public var error: String?
    public init() { replicas = []; failoverInProgress = false }
}

public struct SentinelReplica: Codable, Sendable, Equatable {
    public var name: String
    public var flags: [String]
    public var pod: String?
    /// Flagged subjectively or objectively down by this Sentinel.
    public var down: Bool { flags.contains("s_down") || flags.contains("o_down") }
    public init(name: String, flags: [String]) { self.name = name; self.flags = flags }
}
