import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

// The Sentinel topology's faults (`sandbox fault NAME` with NAME one of Fault.sentinelFaults),
// and their part of `heal`. Each creates the real cause; who is master is always asked of Redis
// (INFO replication in each pod), never remembered; failover, split brain and quorum are
// Sentinel's own.

extension Fault {
    public static let sentinelFaults: [Fault] = [.masterKill, .masterReturnsNewIP, .sentinelDown, .partition, .replicaLag, .allRestart, .staleSentinelConfig]
    public var needsSentinelTopology: Bool { Fault.sentinelFaults.contains(self) }
}

extension SandboxControl {
    /// `redis-cli ARGS` inside `pod` (port 6379 unless args say otherwise), as `kubectl exec`.
    public func podCLI(_ pod: String, _ args: [String], timeout: Duration = .seconds(5)) async -> String {
        guard let s = try? store.read(), let p = s.pods.first(where: { $0.name == pod && $0.deletionTimestamp == nil }),
              let argv = PodExec.argv(state: s, pod: p, command: ["redis-cli"] + args) else { return "" }
        let r = await Runner().run(CommandSpec(argv, environment: PodExec.redisEnvironment(p, root: layout.root), timeout: timeout))
        return r.stdoutText
    }

    /// INFO replication of each pod's redis-server that answers, by pod name.
    public func replicationInfo() async -> [String: [String: String]] {
        guard let s = try? store.read() else { return [:] }
        var out: [String: [String: String]] = [:]
        for p in s.pods where p.deletionTimestamp == nil && p.sandboxPid > 0 {
            var info: [String: String] = [:]
            for line in (await podCLI(p.name, ["INFO", "replication"])).split(whereSeparator: \.isNewline) {
                let kv = line.split(separator: ":", maxSplits: 1)
                if kv.count == 2 { info[String(kv[0])] = kv[1].trimmingCharacters(in: .whitespaces) }
            }
            if !info.isEmpty { out[p.name] = info }
        }
        return out
    }

    /// The pod whose Redis says it is the master (with the most connected replicas when more
    /// than one says so).
    func currentMaster() async throws -> PodState {
        let infos = await replicationInfo()
        let masters = infos.filter { $0.value["role"] == "master" }
        guard let best = masters.max(by: { (Int($0.value["connected_slaves"] ?? "") ?? 0, $1.key) < (Int($1.value["connected_slaves"] ?? "") ?? 0, $0.key) }),
              let pod = try store.read().pods.first(where: { $0.name == best.key }) else {
            throw SandboxError("no pod's Redis answers role:master (asked: \(infos.keys.sorted().joined(separator: ", ")))")
        }
        return pod
    }

    func sentinelPod(_ name: String) throws -> (ClusterState, PodState) {
        let s = try store.read()
        guard let p = s.pods.first(where: { $0.name == name && $0.deletionTimestamp == nil }), p.sandboxPid > 0 else {
            throw SandboxError("no running pod \(name) (pods: \(s.pods.map(\.name).joined(separator: ", ")))")
        }
        return (s, p)
    }

    func injectSentinel(_ fault: Fault, target: String?, duration: Int?) async throws {
        let s = try store.read()
        guard SentinelTopology.isSentinel(s) else {
            throw SandboxError("fault \(fault.rawValue) needs the Sentinel topology (redis-runbook-sandbox up --topology sentinel); this sandbox runs the single topology")
        }
        let hold = max(1, duration ?? 10)
        switch fault {
        case .masterKill:
            let m = try await currentMaster()
            guard let pid = m.containerStatuses.first(where: { $0.name == "redis" })?.pid, pid > 0, ProcFS.isAlive(pid) else {
                throw SandboxError("the redis container of \(m.name) runs no process")
            }
            try store.update { $0.runtime.faults.heldContainers = ($0.runtime.faults.heldContainers ?? [:]).merging(["\(m.name)/redis": RFC3339.format(Date().addingTimeInterval(Double(hold)))]) { $1 } }
            kill(pid, SIGKILL)
            print("killed redis-server of \(m.name) (\(m.podIP ?? "?"), role:master by its own INFO replication), pid \(pid); its restart is held \(hold) s (back-off), so Sentinel sees it down (down-after-milliseconds \(SentinelTopology.downAfterMilliseconds))")
        case .masterReturnsNewIP:
            let m = try await currentMaster()
            let oldIP = m.podIP ?? "?"
            try store.update { s in
                s.runtime.faults.heldContainers = (s.runtime.faults.heldContainers ?? [:]).merging(["\(m.name)/redis": RFC3339.format(Date().addingTimeInterval(Double(hold)))]) { $1 }
                if let i = s.pods.firstIndex(where: { $0.uid == m.uid }) {
                    s.pods[i].deletionTimestamp = RFC3339.format()
                    s.pods[i].deletionGracePeriodSeconds = 0
                }
            }
            print("deleted pod \(m.name) (the master, \(oldIP)); the StatefulSet controller re-creates it with a new IP, its redis held \(hold) s as while a rescheduled pod waits for its volume")
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if let p = try? store.read().pods.first(where: { $0.name == m.name }), p.uid != m.uid, let ip = p.podIP {
                    print("pod \(m.name) is back with IP \(ip) (was \(oldIP)); its redis starts as its config file says (master)")
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        case .sentinelDown:
            let stopped = s.runtime.faults.stoppedSentinels ?? []
            let candidates = s.pods.filter { $0.deletionTimestamp == nil && !stopped.contains($0.name) }.sorted { $0.name > $1.name }
            guard let p = candidates.first(where: { ($0.containerStatuses.first { $0.name == SentinelTopology.sentinelContainer }?.pid ?? 0) > 0 }),
                  let pid = p.containerStatuses.first(where: { $0.name == SentinelTopology.sentinelContainer })?.pid else {
                throw SandboxError("no running Sentinel left to stop (stopped: \(stopped.joined(separator: ", ")))")
            }
            kill(pid, SIGSTOP)
            try store.update { $0.runtime.faults.stoppedSentinels = stopped + [p.name] }
            let up = s.pods.count - stopped.count - 1
            print("stopped the Sentinel of \(p.name) (pid \(pid), SIGSTOP: it answers nothing); \(up) of \(s.pods.count) Sentinels run (quorum \(SentinelTopology.quorum), majority \(s.pods.count / 2 + 1))")
        case .partition:
            guard let name = target else { throw SandboxError("partition needs a pod: redis-runbook-sandbox fault partition POD") }
            let (s, p) = try sentinelPod(name)
            let others = s.pods.filter { $0.name != name }.compactMap(\.podIP)
            if let e = SentinelNet.partition(sandboxPid: p.sandboxPid, from: others) { throw SandboxError("partition failed: \(e)") }
            try store.update { $0.runtime.faults.partitioned = Array(Set(($0.runtime.faults.partitioned ?? []) + [name])).sorted() }
            print("partitioned \(name) (\(p.podIP ?? "?")) from \(others.joined(separator: ", ")): blackhole routes in its network namespace")
        case .replicaLag:
            let infos = await replicationInfo()
            let name: String
            if let t = target { name = t } else {
                guard let r = infos.filter({ $0.value["role"] == "slave" }).keys.sorted().first else { throw SandboxError("no pod's Redis answers role:slave") }
                name = r
            }
            let (_, p) = try sentinelPod(name)
            if let e = SentinelNet.throttle(root: layout.root, podUID: p.uid, rate: "64kbit") { throw SandboxError("throttling failed: \(e)") }
            try store.update { $0.runtime.faults.throttled = Array(Set(($0.runtime.faults.throttled ?? []) + [name])).sorted() }
            print("throttled the link towards \(name) (\(p.podIP ?? "?"), role:\(infos[name]?["role"] ?? "?")) to 64 kbit/s (tbf on its bridge port): under writes its replication offset falls behind")
        case .allRestart:
            var n = 0
            for p in s.pods where p.sandboxPid > 0 {
                for c in p.containerStatuses where c.pid > 0 { kill(c.pid, SIGKILL) }
                kill(p.sandboxPid, SIGKILL)
                n += 1
            }
            print("killed every process of \(n) pods at once (their sandboxes too): the kubelet re-creates them together, each redis and Sentinel starting from the files on its volume")
        case .staleSentinelConfig:
            let name = target ?? s.pods.filter { $0.deletionTimestamp == nil }.map(\.name).sorted().last ?? ""
            let (s, p) = try sentinelPod(name)
            guard let pid = p.containerStatuses.first(where: { $0.name == SentinelTopology.sentinelContainer })?.pid, pid > 0,
                  let claim = p.pvcName, let pvc = s.pvcs.first(where: { $0.name == claim }) else {
                throw SandboxError("the Sentinel of \(name) runs no process")
            }
            let held = Set(s.pods.compactMap(\.podIP))
            let stale = (2...251).map { SentinelTopology.podNetworkPrefix + String($0) }.first { !held.contains($0) } ?? "10.244.0.251"
            let conf = pvc.hostPath + "/sentinel.conf"
            kill(pid, SIGSTOP)    // no rewrite of its file between our edit and its restart
            guard let text = FS.read(conf), text.contains("sentinel monitor \(SentinelTopology.masterSet) ") else {
                kill(pid, SIGCONT)
                throw SandboxError("\(conf) has no `sentinel monitor \(SentinelTopology.masterSet)` line")
            }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                let w = line.split(separator: " ")
                guard w.count >= 5, w[0] == "sentinel", w[1] == "monitor", w[2] == Substring(SentinelTopology.masterSet) else { return String(line) }
                return "sentinel monitor \(SentinelTopology.masterSet) \(stale) \(w[4])" + (w.count > 5 ? " " + w[5...].joined(separator: " ") : "")
            }
            FS.write(lines.joined(separator: "\n"), to: conf)
            kill(pid, SIGKILL)
            try store.update { $0.runtime.faults.staleSentinels = Array(Set(($0.runtime.faults.staleSentinels ?? []) + [name])).sorted() }
            print("the Sentinel of \(name) restarts on \(SentinelTopology.sentinelConfPath) naming \(stale) (no pod's address) as the master of \(SentinelTopology.masterSet)")
        default:
            throw SandboxError("\(fault.rawValue) is not a Sentinel fault")
        }
    }

    /// heal's Sentinel part: releases held containers, resumes stopped Sentinels, removes
    /// partitions and throttles, points a stale Sentinel at the master the others agree on.
    /// Returns (done, left for a runbook).
    func healSentinel() async throws -> (done: [String], left: [String]) {
        let s = try store.read()
        guard SentinelTopology.isSentinel(s) else { return ([], []) }
        var done: [String] = []
        let f = s.runtime.faults
        if let held = f.heldContainers, !held.isEmpty { done.append("held restarts released (\(held.keys.sorted().joined(separator: ", ")))") }
        for name in f.stoppedSentinels ?? [] {
            if let pid = s.pods.first(where: { $0.name == name })?.containerStatuses.first(where: { $0.name == SentinelTopology.sentinelContainer })?.pid, pid > 0 {
                kill(pid, SIGCONT)
            }
        }
        if let st = f.stoppedSentinels, !st.isEmpty { done.append("Sentinels resumed (\(st.joined(separator: ", ")))") }
        for name in f.partitioned ?? [] {
            if let p = s.pods.first(where: { $0.name == name }), p.sandboxPid > 0 { SentinelNet.unpartition(sandboxPid: p.sandboxPid) }
        }
        if let pt = f.partitioned, !pt.isEmpty { done.append("partition removed (\(pt.joined(separator: ", ")))") }
        for name in f.throttled ?? [] {
            if let p = s.pods.first(where: { $0.name == name }) { SentinelNet.unthrottle(root: layout.root, podUID: p.uid) }
        }
        if let th = f.throttled, !th.isEmpty { done.append("link throttle removed (\(th.joined(separator: ", ")))") }
        for name in f.staleSentinels ?? [] {
            if let fixed = try await repointSentinel(name) { done.append(fixed) }
        }
        try store.update { s in
            s.runtime.faults.heldContainers = nil
            s.runtime.faults.stoppedSentinels = nil
            s.runtime.faults.partitioned = nil
            s.runtime.faults.throttled = nil
            s.runtime.faults.staleSentinels = nil
        }
        // Two masters (the old one back with a new IP, a partition healed late) are a runbook's
        // job: which one holds the data that counts is not for heal to decide.
        var left: [String] = []
        let masters = await replicationInfo().filter { $0.value["role"] == "master" }.keys.sorted()
        if masters.count > 1 { left.append("more than one role:master (\(masters.joined(separator: ", "))): split brain") }
        return (done, left)
    }

    /// The master address most Sentinels other than `name`'s report.
    public func sentinelMajorityMaster(excluding name: String? = nil) async -> String? {
        guard let s = try? store.read() else { return nil }
        var votes: [String: Int] = [:]
        for p in s.pods where p.name != name {
            let out = await podCLI(p.name, ["-p", String(SentinelTopology.sentinelPort), "SENTINEL", "get-master-addr-by-name", SentinelTopology.masterSet])
            let w = out.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            if w.count >= 2, !w[0].isEmpty { votes[w[0], default: 0] += 1 }
        }
        return votes.max { $0.value < $1.value }?.key
    }

    /// Points the Sentinel of `name` at the master the others agree on (edit, restart).
    func repointSentinel(_ name: String) async throws -> String? {
        guard let addr = await sentinelMajorityMaster(excluding: name) else { return nil }
        let mine = await podCLI(name, ["-p", String(SentinelTopology.sentinelPort), "SENTINEL", "get-master-addr-by-name", SentinelTopology.masterSet])
        if mine.split(whereSeparator: \.isNewline).first.map({ $0.trimmingCharacters(in: .whitespaces) }) == addr { return "Sentinel of \(name) already follows \(addr)" }
        let (s, p) = try sentinelPod(name)
        guard let pid = p.containerStatuses.first(where: { $0.name == SentinelTopology.sentinelContainer })?.pid, pid > 0,
              let claim = p.pvcName, let pvc = s.pvcs.first(where: { $0.name == claim }) else { return nil }
        let conf = pvc.hostPath + "/sentinel.conf"
        kill(pid, SIGSTOP)
        let lines = (FS.read(conf) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let w = line.split(separator: " ")
            guard w.count >= 5, w[0] == "sentinel", w[1] == "monitor", w[2] == Substring(SentinelTopology.masterSet) else { return String(line) }
            return "sentinel monitor \(SentinelTopology.masterSet) \(addr) " + w[4...].joined(separator: " ")
        }
        FS.write(lines.joined(separator: "\n"), to: conf)
        kill(pid, SIGKILL)
        return "Sentinel of \(name) restarted on the master the others report (\(addr))"
    }
}
