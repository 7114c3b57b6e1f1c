import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// What `sandbox up --topology` builds. `single` is ADR 0005's StatefulSet as it is (one pod);
/// `sentinel` is the ADR's migration path A: the same pod template, three replicas, a real
/// Sentinel beside each redis-server, and a pod network so the pods reach each other.
public enum Topology: String, CaseIterable, Sendable {
    case single, sentinel
}

/// The Sentinel topology's constants and its pod template. Readers (the dashboard, runbooks,
/// drills) take the names from here: master set, ports, config file paths inside the pod.
public enum SentinelTopology {
    public static let masterSet = "mymaster"
    public static let quorum = 2
    public static let replicas = 3
    public static let sentinelPort = 26379
    public static let sentinelContainer = "sentinel"
    /// Short so drills are quick (a real setup: 30000 / 180000 ms, the defaults).
    public static let downAfterMilliseconds = 3000
    public static let failoverTimeoutMilliseconds = 10000
    /// Both files live on the pod's volume (`/data`, the PVC): Sentinel rewrites its own file
    /// (known replicas and Sentinels, config epoch, the master it follows), and redis-server's
    /// file keeps the `replicaof` Sentinel gives it (Sentinel sends CONFIG REWRITE after it).
    public static let redisConfPath = "/data/redis.conf"
    public static let sentinelConfPath = "/data/sentinel.conf"
    /// The pod network: one /24, the bridge holds .1, pods get .2-.251 (`SandboxDaemon.syncPod`).
    public static let podNetworkPrefix = "10.244.0."
    public static let podNetworkBits = 24

    public static func isSentinel(_ state: ClusterState) -> Bool { state.runtime.topology == Topology.sentinel.rawValue }

    /// Every pod gets an `eth0` on the pod network (and the headless Service's names in its
    /// /etc/hosts), as on any cluster, whatever the topology: a single StatefulSet grown to
    /// three pods (migrate-to-sentinel) needs its pods to reach each other. Only a rootless
    /// sandbox goes without (veth pairs need CAP_NET_ADMIN on the host); the Sentinel topology
    /// refuses to start rootless.
    public static func hasPodNetwork(_ state: ClusterState) -> Bool { isSentinel(state) || !state.runtime.rootless }

    /// The single topology's template made into the Sentinel one: redis-server reads
    /// /data/redis.conf first, then the manifest's own arguments (AOF everysec, maxmemory,
    /// noeviction: the same as today's pod; command-line options win over the file), and a
    /// `sentinel` container runs Debian's redis-sentinel on /data/sentinel.conf.
    public static func template(from single: PodTemplate) -> PodTemplate {
        var t = single
        guard let ri = t.containers.firstIndex(where: { $0.name == "redis" }) else { return t }
        var redis = t.containers[ri]
        if redis.args?.first != redisConfPath { redis.args = [redisConfPath] + (redis.args ?? []) }
        // A password (`--requirepass $(REDIS_PASSWORD)`): a replica must give it to its master,
        // so `--masterauth` with the same value (a chart's `auth.enabled` does the same).
        if let args = redis.args, let i = args.firstIndex(of: "--requirepass"), i + 1 < args.count, !args.contains("--masterauth") {
            redis.args = args + ["--masterauth", args[i + 1]]
        }
        t.containers[ri] = redis
        guard !t.containers.contains(where: { $0.name == sentinelContainer }) else { return t }
        var sentinel = ContainerSpec(name: sentinelContainer, image: redis.image)
        sentinel.command = ["redis-sentinel", sentinelConfPath]
        sentinel.ports = [ContainerPort(name: "sentinel", containerPort: sentinelPort)]
        sentinel.volumeMounts = redis.volumeMounts
        // The init step writes `sentinel auth-pass` from it (never REDISCLI_AUTH: the Sentinel
        // itself has no password, and redis-cli would send one to it).
        sentinel.env = redis.env.filter { $0.name == "REDIS_PASSWORD" }
        sentinel.requestsCPU = "50m"
        sentinel.requestsMemory = "32Mi"
        sentinel.limitsMemory = "64Mi"
        var probe = ExecProbe(command: ["redis-cli", "-p", String(sentinelPort), "ping"])
        probe.periodSeconds = 5
        sentinel.readinessProbe = probe
        t.containers.insert(sentinel, at: ri + 1)
        return t
    }

    // MARK: - The init step (what a chart's init container does before redis and sentinel start)

    /// Writes the pod's config files before its `redis` or `sentinel` container starts. First
    /// start of the pod (no file on its volume yet): redis-0 starts as a master, the others as
    /// `replicaof` redis-0 (its pod IP, as an init container resolves `redis-0.redis`), and every
    /// Sentinel monitors redis-0. Every later start keeps what Redis and Sentinel wrote (roles,
    /// epochs, known peers: nothing here decides who is master) and only sets the addresses this
    /// pod announces to its current pod IP, as an init script does from the downward API's
    /// `status.podIP`.
    ///
    /// Why IP addresses and not the headless Service's names (`resolve-hostnames` /
    /// `announce-hostnames`): Sentinel identifies instances by the address it is told, and a
    /// StatefulSet pod keeps its name but not its IP. Announcing pod IPs is what hand-written
    /// setups and the common chart's default (`useHostnames: false` in older releases) do, and it
    /// is the setup whose public failure modes the drills need: the old master returning with
    /// a new IP that no Sentinel knows (two masters), a Sentinel config still naming a dead IP.
    /// Hostnames trade those for DNS failures (a name that does not resolve while its pod is
    /// down makes Sentinel skip the instance), which this sandbox does not serve.
    public static func prepareConfig(state: ClusterState, pod: PodState, volume: String, password: String? = nil) -> String? {
        guard let ip = pod.podIP else { return "pod \(pod.name) has no IP yet" }
        let stsName = state.statefulSet.name
        let firstIP = state.pods.first(where: { $0.name == "\(stsName)-0" })?.podIP
        let ordinal = Int(pod.name.dropFirst(stsName.count + 1)) ?? 0
        let redisConf = volume + "/redis.conf"
        let sentinelConf = volume + "/sentinel.conf"
        if !FS.exists(redisConf) {
            var lines = ["# written once by the sandbox's init step; Sentinel's CONFIG REWRITE keeps roles here",
                         "port 6379", "protected-mode no", "dir /data", "replica-announce-ip \(ip)"]
            if ordinal > 0, let m = firstIP { lines.append("replicaof \(m) 6379") }
            FS.write(lines.joined(separator: "\n") + "\n", to: redisConf)
        } else {
            setLine(redisConf, key: "replica-announce-ip", value: "replica-announce-ip \(ip)")
        }
        if !FS.exists(sentinelConf) {
            guard let m = firstIP else { return "redis-0 has no IP yet" }
            let lines = ["# written once by the sandbox's init step; Sentinel rewrites this file",
                         "port \(sentinelPort)", "protected-mode no", "dir /data",
                         "sentinel announce-ip \(ip)",
                         "sentinel monitor \(masterSet) \(m) 6379 \(quorum)",
                         "sentinel down-after-milliseconds \(masterSet) \(downAfterMilliseconds)",
                         "sentinel failover-timeout \(masterSet) \(failoverTimeoutMilliseconds)",
                         "sentinel parallel-syncs \(masterSet) 1"]
                + (password.map { ["sentinel auth-pass \(masterSet) \(quotedConfigValue($0))"] } ?? [])
            FS.write(lines.joined(separator: "\n") + "\n", to: sentinelConf)
        } else {
            setLine(sentinelConf, key: "sentinel announce-ip", value: "sentinel announce-ip \(ip)")
        }
        return nil
    }

    /// A value as a Redis config file reads it: double-quoted, with `\` and `"` escaped.
    static func quotedConfigValue(_ v: String) -> String {
        "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Replaces the line starting with `key` (or appends it).
    static func setLine(_ path: String, key: String, value: String) {
        var lines = (FS.read(path) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let i = lines.firstIndex(where: { $0.hasPrefix(key + " ") }) { lines[i] = value } else { lines.append(value) }
        FS.write(lines.joined(separator: "\n") + "\n", to: path)
    }
}

/// The pod network of the Sentinel topology: a network namespace of its own per sandbox
/// (`rrb-<hash of the sandbox dir>`, so two sandboxes never share addresses and the host's
/// network is not touched) holding a bridge; each pod's network namespace gets one end of a
/// veth pair as `eth0` with its pod IP, the other end on the bridge. Faults act on these:
/// routes in a pod's own namespace (partition), a qdisc on the bridge's end of its link
/// (replica-lag: the traffic towards the pod).
public enum SentinelNet {
    public static func namespace(_ root: URL) -> String {
        var h: UInt32 = 2166136261
        for b in root.standardizedFileURL.path.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        return "rrb-" + String(format: "%08x", h)
    }

    /// The bridge's end of a pod's link (in the cluster namespace), from the pod uid.
    public static func hostLink(_ podUID: String) -> String { "rv" + podUID.replacingOccurrences(of: "-", with: "").prefix(10) }

    /// Runs a short command (ip, tc) and waits for it: (exit 0, output).
    @discardableResult
    public static func run(_ argv: [String], timeout: Double = 5) -> (ok: Bool, out: String) {
        let out = NSTemporaryDirectory() + "rrb-net-\(getpid())-\(UUID().uuidString.prefix(8)).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        guard let c = try? Child.spawn(argv, stdoutPath: out, stderrPath: out, newProcessGroup: false) else { return (false, "cannot run \(argv[0])") }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let t = c.poll() { return (t == .exited(0), (FS.read(out) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) }
            if Date() > deadline { c.signal(SIGKILL); _ = c.poll(); return (false, "\(argv.joined(separator: " ")): timed out") }
            usleep(2_000)
        }
    }

    static func inPod(_ pid: Int32, _ argv: [String]) -> [String] { [PodExec.nsenterPath(), "-t", String(pid), "-n", "--"] + argv }

    /// Creates the cluster namespace and its bridge once.
    public static func ensureNamespace(_ root: URL) -> String? {
        let ns = namespace(root)
        if FS.exists("/run/netns/\(ns)") { return nil }
        for argv in [["ip", "netns", "add", ns], ["ip", "-n", ns, "link", "set", "lo", "up"],
                     ["ip", "-n", ns, "link", "add", "br0", "type", "bridge"],
                     ["ip", "-n", ns, "addr", "add", "\(SentinelTopology.podNetworkPrefix)1/\(SentinelTopology.podNetworkBits)", "dev", "br0"],
                     ["ip", "-n", ns, "link", "set", "br0", "up"]] {
            let r = run(argv)
            if !r.ok { return "\(argv.joined(separator: " ")): \(r.out)" }
        }
        return nil
    }

    /// Gives the pod (its pause process `sandboxPid`) an eth0 with `ip` on the bridge.
    public static func attach(root: URL, podUID: String, sandboxPid: Int32, ip: String) -> String? {
        if let e = ensureNamespace(root) { return e }
        let ns = namespace(root), link = hostLink(podUID)
        run(["ip", "-n", ns, "link", "del", link])     // a link left by this pod's previous sandbox
        for argv in [["ip", "-n", ns, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", String(sandboxPid)],
                     ["ip", "-n", ns, "link", "set", link, "master", "br0", "up"],
                     inPod(sandboxPid, ["ip", "addr", "add", "\(ip)/\(SentinelTopology.podNetworkBits)", "dev", "eth0"]),
                     inPod(sandboxPid, ["ip", "link", "set", "eth0", "up"])] {
            let r = run(argv)
            if !r.ok { return "\(argv.joined(separator: " ")): \(r.out)" }
        }
        return nil
    }

    public static func removeNamespace(_ root: URL) {
        let ns = namespace(root)
        if FS.exists("/run/netns/\(ns)") { run(["ip", "netns", "del", ns]) }
    }

    /// partition: blackhole routes in the pod's own namespace to every other pod's IP. Its
    /// packets to them are dropped at the route lookup; theirs reach it, its answers do not.
    public static func partition(sandboxPid: Int32, from others: [String]) -> String? {
        for ip in others {
            let r = run(inPod(sandboxPid, ["ip", "route", "replace", "blackhole", "\(ip)/32"]))
            if !r.ok { return r.out }
        }
        return nil
    }

    /// Removes every blackhole route of the pod's namespace.
    public static func unpartition(sandboxPid: Int32) {
        let r = run(inPod(sandboxPid, ["ip", "route", "show", "type", "blackhole"]))
        for line in r.out.split(separator: "\n") {
            let dest = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            if !dest.isEmpty { run(inPod(sandboxPid, ["ip", "route", "del", "blackhole", dest])) }
        }
    }

    /// replica-lag: a token bucket on the bridge's end of the pod's link, i.e. on everything
    /// sent towards the pod (its replication stream included).
    public static func throttle(root: URL, podUID: String, rate: String) -> String? {
        let r = run(["tc", "-n", namespace(root), "qdisc", "replace", "dev", hostLink(podUID), "root", "tbf",
                     "rate", rate, "burst", "4kb", "latency", "500ms"])
        return r.ok ? nil : r.out
    }

    public static func unthrottle(root: URL, podUID: String) {
        run(["tc", "-n", namespace(root), "qdisc", "del", "dev", hostLink(podUID), "root"])
    }
}

extension SandboxDaemon {
    /// The Sentinel topology's part of the kubelet: the pod's network once its sandbox is
    /// ready (as the CNI plugin does), before any container starts.
    func sentinelAttachNetwork(_ s: ClusterState, pod: PodState, sandboxPid: Int32) {
        guard SentinelTopology.hasPodNetwork(s), let ip = pod.podIP else { return }
        if let e = SentinelNet.attach(root: layout.root, podUID: pod.uid, sandboxPid: sandboxPid, ip: ip) {
            log("pod \(pod.name): network not set up: \(e)")
        } else {
            log("pod \(pod.name): eth0 \(ip)/\(SentinelTopology.podNetworkBits) on bridge of netns \(SentinelNet.namespace(layout.root))")
        }
        sentinelMountHosts(s, pod: pod, sandboxPid: sandboxPid)
    }

    /// Before the redis or sentinel container starts: the init step (config files). Returns false
    /// (container not started on this pass) when the files cannot be written yet.
    func sentinelInit(_ s: inout ClusterState, pod: PodState, spec: ContainerSpec, nowS: String) -> Bool {
        guard SentinelTopology.isSentinel(s), spec.name == "redis" || spec.name == SentinelTopology.sentinelContainer,
              let claim = pod.pvcName, let pvc = s.pvcs.first(where: { $0.name == claim }) else { return true }
        let password = pod.containers.first { $0.name == SentinelTopology.sentinelContainer }
            .flatMap { SandboxSecrets.environment($0.env, root: layout.root)["REDIS_PASSWORD"] }
        if let why = SentinelTopology.prepareConfig(state: s, pod: pod, volume: pvc.hostPath, password: password) {
            log("pod \(pod.name): \(spec.name) waits: \(why)")
            return false
        }
        return true
    }

    /// A container a fault holds down (master-kill, master-returns-new-ip): its restart waits,
    /// shown as the kubelet's back-off, so Sentinel sees the instance down as it would while a
    /// crashed container backs off or a rescheduled pod waits for its volume.
    func heldDown(_ s: ClusterState, pod: PodState, container: String, now: Date) -> Int? {
        guard let until = s.runtime.faults.heldContainers?["\(pod.name)/\(container)"].flatMap(RFC3339.parse), now < until else { return nil }
        return Int(until.timeIntervalSince(now).rounded(.up))
    }
}

extension SentinelTopology {
    /// The StatefulSet of the Sentinel topology, from the manifest's single one.
    static func apply(to sts: inout StatefulSetState, runtimeRootless: Bool) throws {
        guard !runtimeRootless else {
            throw SandboxError("--topology sentinel needs root: its pod network (veth pairs, a bridge) needs CAP_NET_ADMIN on the host")
        }
        sts.template = template(from: sts.template)
        sts.replicas = replicas
    }
}

extension SandboxControl {
    /// Waits until every pod of the StatefulSet has every container ready.
    public func waitAllReady(timeout: TimeInterval) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let s = try? store.read() {
                let want = (0..<s.statefulSet.replicas).map { "\(s.statefulSet.name)-\($0)" }
                let ready = want.filter { name in
                    s.pods.first(where: { $0.name == name }).map { !$0.containerStatuses.isEmpty && $0.containerStatuses.allSatisfy(\.ready) } ?? false
                }
                if ready.count == want.count {
                    print("pods \(want.joined(separator: ", ")) are Running and Ready")
                    return
                }
                if Date() > deadline {
                    throw SandboxError("pods not ready after \(Int(timeout)) s (ready: \(ready.joined(separator: ", ")) of \(want.count)); see `sandbox status --dir \(layout.root.path)` and \(layout.daemonLog.path)")
                }
            }
            if daemonPid() == nil { throw SandboxError("the sandbox daemon died; see \(layout.daemonLog.path)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

// MARK: - Names: the headless Service's DNS records, as each pod's /etc/hosts

extension SentinelTopology {
    /// What cluster DNS answers for the headless Service `serviceName`: `<pod>.<svc>.<ns>.svc.cluster.local`
    /// and `<svc>.<ns>.svc.cluster.local` (every address) for the pods that are Ready (a headless
    /// Service publishes no address of a pod that is not ready), plus the pod's own name, which
    /// the kubelet writes into every pod's /etc/hosts.
    public static func hostsFile(state s: ClusterState, pod: PodState) -> String {
        let svc = s.statefulSet.serviceName, ns = s.namespace
        var lines = ["# written by the sandbox: its pods' /etc/hosts stands in for cluster DNS (headless Service \(svc))",
                     "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        if let ip = pod.podIP { lines.append("\(ip)\t\(pod.name).\(svc).\(ns).svc.cluster.local\t\(pod.name)") }
        for p in s.pods.sorted(by: { $0.name < $1.name }) where p.name != pod.name && p.deletionTimestamp == nil {
            guard let ip = p.podIP, p.conditions.contains(where: { $0.type == "Ready" && $0.status == "True" }) else { continue }
            lines.append("\(ip)\t\(p.name).\(svc).\(ns).svc.cluster.local\t\(p.name).\(svc).\(ns).svc\t\(p.name).\(svc).\(ns)\t\(p.name).\(svc)")
        }
        for p in s.pods.sorted(by: { $0.name < $1.name }) where p.deletionTimestamp == nil {
            guard let ip = p.podIP, p.conditions.contains(where: { $0.type == "Ready" && $0.status == "True" }) else { continue }
            lines.append("\(ip)\t\(svc).\(ns).svc.cluster.local\t\(svc).\(ns).svc\t\(svc).\(ns)\t\(svc)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Rewrites the file in place (same inode: it is bind-mounted on the pod's /etc/hosts).
    static func writeInPlace(_ text: String, to path: String) {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { return }
        defer { try? h.close() }
        try? h.truncate(atOffset: 0)
        h.write(Data(text.utf8))
    }
}

extension SandboxDaemon {
    func hostsPath(_ pod: PodState) -> String { layout.root.appendingPathComponent("pods/\(pod.name)/hosts").path }

    /// Bind-mounts the pod's hosts file on /etc/hosts in its mount namespace (once per sandbox).
    func sentinelMountHosts(_ s: ClusterState, pod: PodState, sandboxPid: Int32) {
        let path = hostsPath(pod)
        FS.mkdirs((path as NSString).deletingLastPathComponent)
        SentinelTopology.writeInPlace(SentinelTopology.hostsFile(state: s, pod: pod), to: path)
        let r = SentinelNet.run([PodExec.nsenterPath(), "-t", String(sandboxPid), "-m", "--", "mount", "--bind", path, "/etc/hosts"])
        if !r.ok { log("pod \(pod.name): cannot mount its hosts file: \(r.out)") }
    }

    /// Keeps every pod's hosts file in step with the pods' IPs and readiness (each tick; a
    /// write only when something changed).
    func sentinelSyncHosts(_ s: ClusterState) {
        guard SentinelTopology.hasPodNetwork(s) else { return }
        for p in s.pods where p.sandboxPid > 0 {
            let path = hostsPath(p), text = SentinelTopology.hostsFile(state: s, pod: p)
            if FS.read(path) != text, FS.exists(path) { SentinelTopology.writeInPlace(text, to: path) }
        }
    }
}
