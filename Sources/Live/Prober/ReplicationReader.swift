import Diagnosis
import Foundation
import MemoryAnalysis
import ProcessRunner

// ReplicationReader: the roles of every pod of a Sentinel StatefulSet and what each pod's Sentinel
// says (Diagnosis/Replication.swift), read only when the target pod has a `sentinel` container, so
// a single-pod StatefulSet is read exactly as before (no extra read, no extra process). It owns
// `ReplicationState`: the pod list, one `LineSession` per pod and container, the last view and
// its schedule. It writes only that; it reads the target pod from `ClusterState` and the API
// through `Prober.read`. It must not touch the main Redis session, the cluster objects or the
// other sources, and it spawns only through `LineSession`.
//
// Cost, bounded and stated: the dashboard asks at most every `replicationInterval` (3 s), not
// every refresh: one pod LIST by label selector on the proxy's socket (no process), and on each
// pod a batch of 4 lines to its Redis (ROLE, INFO replication, two CONFIG GETs) and 4 to its
// Sentinel (get-master-addr-by-name, CKQUORUM, replicas, master) through two persistent
// `kubectl exec -i POD -c redis|sentinel -- redis-cli [-p 26379]` sessions: 2 long-lived kubectl
// processes a pod (6 for 3 pods), none per read. A session that does not answer in
// `replicationWait` (a stopped Sentinel) is dropped and started again at the next read, so a
// silent Sentinel costs one `kubectl exec` per interval. One-shot commands read once and close
// the sessions with `shutdown`.

struct ReplicationState {
    var sessions: [String: (session: LineSession, identity: String)] = [:]
    var last: ReplicationView?
    var next = Date.distantPast
    var inFlight: Task<ReplicationView?, Never>?

    /// Hands the sessions over for closing and forgets them.
    mutating func takeAll() -> [LineSession] {
        defer { sessions = [:]; inFlight = nil }
        return sessions.values.map(\.session)
    }
}

extension Prober {
    /// The Sentinel port every pod's `sentinel` container listens on.
    static let sentinelPort = "26379"
    /// Labels that name one pod of a StatefulSet: left out of the selector that finds its siblings.
    static let podOnlyLabels: Set<String> = ["statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index", "controller-revision-hash", "pod-template-hash"]

    /// True when the target pod runs a Sentinel beside Redis (the Sentinel topology).
    var sentinelMode: Bool {
        cluster.pod?.spec?.containers?.contains { $0.name == "sentinel" } ?? false
    }

    /// The view for this refresh: nil for a pod without Sentinel. The dashboard starts a read
    /// every `replicationInterval` and takes the last finished one (waiting for the first up to
    /// 2 s; the read goes on in the background); one-shot commands read now.
    func replicationForRefresh(_ t: Date) async -> ReplicationView? {
        guard sentinelMode else { return nil }
        guard useWatches else { return await readReplication() }
        if replication.inFlight == nil, t >= replication.next {
            replication.next = t.addingTimeInterval(replicationInterval)
            replication.inFlight = Task { await self.readReplication() }
        }
        if let task = replication.inFlight {
            let wait: Duration = replication.last == nil ? .seconds(2) : .milliseconds(50)
            if let v = await WaitBounded.value(of: task, within: wait) {
                replication.inFlight = nil
                if let v { replication.last = v }
            }
        }
        return replication.last
    }

    /// One read of every pod: the pod list, then each pod's Redis and Sentinel in parallel.
    func readReplication() async -> ReplicationView? {
        guard let labels = cluster.pod?.metadata?.labels?.filter({ !Self.podOnlyLabels.contains($0.key) }), !labels.isEmpty else { return nil }
        let selector = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        guard case .success(let body) = await read(.pods(labelSelector: selector)),
              let pods = try? KubeJSON.pods(from: body) else { return replication.last }
        let named = pods.compactMap { p in p.metadata?.name.map { (name: $0, pod: p) } }.sorted { $0.name < $1.name }
        var jobs: [(name: String, ip: String?, redis: LineSession?, sentinel: LineSession?)] = []
        for (name, pod) in named {
            jobs.append((name, pod.status?.podIP, replicationSession(pod, name, "redis"), replicationSession(pod, name, "sentinel")))
        }
        let live = Set(jobs.map(\.name))
        for key in replication.sessions.keys where !live.contains(String(key.split(separator: "/")[0])) {
            let s = replication.sessions.removeValue(forKey: key)
            Task { await s?.session.close() }
        }
        let masterSet = self.masterSet
        let views = await withTaskGroup(of: ReplicaPodView.self) { group in
            for job in jobs {
                group.addTask { await Self.readPod(job.name, ip: job.ip, redis: job.redis, sentinel: job.sentinel, masterSet: masterSet) }
            }
            var out: [ReplicaPodView] = []
            for await v in group { out.append(v) }
            return out.sorted { $0.name < $1.name }
        }
        return ReplicationView(masterSet: masterSet, targetPod: target.pod, pods: views)
    }

    /// The pod's session to `container` (nil while that container is not running), replaced when
    /// the pod or the container's run changed.
    private func replicationSession(_ pod: KubePod, _ name: String, _ container: String) -> LineSession? {
        let st = pod.status?.containerStatuses?.first { $0.name == container }
        let key = "\(name)/\(container)"
        guard st?.state?.running != nil else {
            if let old = replication.sessions.removeValue(forKey: key) { Task { await old.session.close() } }
            return nil
        }
        // A password-protected Redis whose container gives redis-cli no REDISCLI_AUTH: the main
        // session read the password in the target pod (RedisAuth); every pod of the StatefulSet
        // has the same Secret, so its Redis sessions send the same AUTH line first. The
        // Sentinels have no password of their own.
        let prelude = container == "redis" ? redisState.prelude : []
        let identity = "\(pod.metadata?.uid ?? "?")/\(st?.restartCount ?? 0)/auth \(prelude.isEmpty ? 0 : prelude.hashValue)"
        if let s = replication.sessions[key], s.identity == identity { return s.session }
        if let old = replication.sessions[key] { Task { await old.session.close() } }
        let cli = ["redis-cli"] + (container == "sentinel" ? ["-p", Self.sentinelPort] : [])
        let s = LineSession(argv: target.kubectlArgv(["exec", "-i", name, "-c", container, "--"] + cli), runner: runner,
                            timeout: replicationWait, label: "session:replication", prelude: prelude, marker: SessionMarker.unknownCommand)
        replication.sessions[key] = (s, identity)
        return s
    }

    private static func readPod(_ name: String, ip: String?, redis: LineSession?, sentinel: LineSession?, masterSet: String) async -> ReplicaPodView {
        var p = ReplicaPodView(name: name, ip: ip)
        async let r = send(redis, ["ROLE", "INFO replication", "CONFIG GET min-replicas-to-write", "CONFIG GET min-replicas-max-lag"])
        async let q = send(sentinel, ["SENTINEL get-master-addr-by-name \(masterSet)", "SENTINEL CKQUORUM \(masterSet)",
                                      "SENTINEL replicas \(masterSet)", "SENTINEL master \(masterSet)"])
        switch await r {
        case .none: p.error = "redis container is not running"
        case .failure(let e): p.error = sessionFailure(e).message
        case .success(let l):
            ReplicationParse.apply(info: l[1], to: &p)
            ReplicationParse.apply(role: l[0], to: &p)
            var config: [String: String] = [:]
            for reply in l[2...] { config.merge(RedisConfig.parseGetReply(reply)) { a, _ in a } }
            ReplicationParse.apply(config: config, to: &p)
        }
        switch await q {
        case .none: p.sentinel = ReplicationParse.sentinel(addr: nil, ckquorum: nil, replicas: nil, master: nil, error: "sentinel container is not running")
        case .failure(let e): p.sentinel = ReplicationParse.sentinel(addr: nil, ckquorum: nil, replicas: nil, master: nil, error: sessionFailure(e).message)
        case .success(let l): p.sentinel = ReplicationParse.sentinel(addr: l[0], ckquorum: l[1], replicas: l[2], master: l[3])
        }
        return p
    }

    /// nil when there is no session (the container is not running).
    private static func send(_ s: LineSession?, _ lines: [String]) async -> Result<[String], any Error>? {
        guard let s else { return nil }
        do { return .success(try await s.send(lines)) } catch { return .failure(error) }
    }
}
