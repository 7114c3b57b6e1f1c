import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

public struct SandboxError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// `sandbox up|down|status|seed`: the lifecycle of one sandbox directory.
public struct SandboxControl: Sendable {
    public let layout: SandboxLayout
    public var store: StateStore { StateStore(layout: layout) }
    let print: @Sendable (String) -> Void

    public init(dir: URL, print: @escaping @Sendable (String) -> Void = { Swift.print($0) }) {
        self.layout = SandboxLayout(root: dir.standardizedFileURL)
        self.print = print
    }

    public static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// argv prefix that runs a sandbox subcommand (daemon, pause, apiserver) of `exe`, the
    /// sandbox's own executable (`redis-runbook-sandbox`).
    public static func subcommandArgv(_ exe: String, _ sub: String) -> [String] {
        [exe, sub]
    }

    // MARK: - API server liveness

    /// The API server's pid when it is alive (started by `up` from redis-runbook-sandbox).
    public func apiServerPid() -> Int32? {
        guard let text = FS.read(layout.apiServerPidFile.path), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              ProcFS.isAlive(pid) else { return nil }
        let cmd = ProcFS.cmdline(pid)
        guard cmd.contains("apiserver"), cmd.contains(layout.root.path) else { return nil }
        return pid
    }

    /// Starts the API server beside the daemon (when not running) and waits until it answers
    /// TCP connections on its port (or api-down holds it closed) and DIR/kubeconfig exists.
    func startAPIServer(selfExe: String) async throws {
        if apiServerPid() != nil { return }
        let log = layout.apiServerLog.path
        try? FileManager.default.removeItem(atPath: layout.apiServerPidFile.path)
        let child = try Child.spawn(Self.subcommandArgv(selfExe, "apiserver") + ["--dir", layout.root.path],
                                    stdoutPath: log, stderrPath: log, newProcessGroup: false)
        let deadline = Date().addingTimeInterval(20)
        while true {
            if let t = child.poll() { throw SandboxError("sandbox API server exited at start (\(t)); see \(log)") }
            if apiServerPid() != nil, FS.exists(layout.kubeconfig.path),
               let portText = FS.read(layout.apiServerPortFile.path), let port = Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)),
               Self.tcpConnects(port: port) || (try? store.read())?.runtime.faults.apiDown == true {
                break
            }
            if Date() > deadline { throw SandboxError("sandbox API server did not start within 20 s; see \(log)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        print("API server up at https://127.0.0.1:\(FS.read(layout.apiServerPortFile.path)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?") (pid \(apiServerPid() ?? child.pid)); kubeconfig \(layout.kubeconfig.path)")
    }

    /// True when something accepts a TCP connection on 127.0.0.1:port.
    public static func tcpConnects(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    // MARK: - Daemon liveness

    /// The daemon's pid when it is alive.
    public func daemonPid() -> Int32? {
        guard let text = FS.read(layout.daemonPidFile.path), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              ProcFS.isAlive(pid) else { return nil }
        let cmd = ProcFS.cmdline(pid)
        guard cmd.contains("daemon"), cmd.contains(layout.root.path) else { return nil }
        return pid
    }

    // MARK: - up

    public struct UpOptions: Sendable {
        public var redisServer: String?
        public var redisCli: String?
        public var exporter: String?
        public var memoryLimit: String?
        /// Password-protected Redis from Secret redis-auth (see SandboxSecrets).
        public var redisPasswordSecret = false
        /// With redisPasswordSecret: the redis container gets only REDIS_PASSWORD, no REDISCLI_AUTH.
        public var redisPasswordEnvOnly = false
        public var timings: SandboxTimings = SandboxTimings()
        public var wait: Bool = true
        /// The StatefulSet built on the first `up` (see Topology); kept by later ones.
        public var topology: Topology = .single
        public var waitTimeout: TimeInterval = 90
        public init() {}
    }

    public func up(_ o: UpOptions) async throws {
        if let pid = daemonPid() {
            if apiServerPid() == nil {
                print("sandbox running in \(layout.root.path) (daemon pid \(pid)); restarting its API server")
                try await startAPIServer(selfExe: Self.selfExecutable())
                return
            }
            print("sandbox already running in \(layout.root.path) (daemon pid \(pid)); nothing to do")
            return
        }
        FS.mkdirs(layout.root.path)
        let selfExe = Self.selfExecutable()
        if store.exists {
            print("repairing stale sandbox in \(layout.root.path) (daemon not running)")
            let state = try? store.read()
            killLeftovers(state)
            try store.update { s in
                let paths = try commandPaths(o, current: s.runtime.commandPaths)
                s.runtime.commandPaths = paths
                if o.memoryLimit != nil || o.redisServer != nil { print("note: the StatefulSet template is kept; use kubectl patch to change it") }
                if (o.topology == .sentinel) != SentinelTopology.isSentinel(s) { print("note: this sandbox keeps the topology it was created with (\(s.runtime.topology ?? "single")); --topology applies to a new DIR") }
                s.runtime.cgroupRoot = MemoryCgroup.createSandboxRoot(for: layout.root.path)
                s.runtime.memoryEnforcement = s.runtime.cgroupRoot == nil ? "rss-poll" : "cgroup-v1"
                s.node.kubeletStopped = false
                s.runtime.faults.nodeDownUntil = nil
                s.runtime.faults.nodeDownSince = nil
            }
        } else {
            try store.create(try newState(o, selfExe: selfExe))
        }
        if getuid() == 0 && !FS.exists("/data") { mkdir("/data", 0o755) }

        let log = layout.daemonLog.path
        try? FileManager.default.removeItem(atPath: layout.daemonPidFile.path)
        let child = try Child.spawn(Self.subcommandArgv(selfExe, "daemon") + ["--dir", layout.root.path],
                                    stdoutPath: log, stderrPath: log, newProcessGroup: false)
        // The daemon detaches (setsid) and writes its pid file; wait for that before going on.
        let deadline = Date().addingTimeInterval(10)
        while daemonPid() == nil {
            if let t = child.poll() { throw SandboxError("sandbox daemon exited at start (\(t)); see \(log)") }
            if Date() > deadline { throw SandboxError("sandbox daemon did not start within 10 s; see \(log)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        print("sandbox up in \(layout.root.path) (daemon pid \(daemonPid() ?? child.pid))")
        try await startAPIServer(selfExe: selfExe)
        if o.wait {
            if let s = try? store.read(), SentinelTopology.isSentinel(s) {
                try await waitAllReady(timeout: o.waitTimeout)
            } else {
                try await waitReady(timeout: o.waitTimeout)
            }
        }
        print("export KUBECONFIG=\(layout.kubeconfig.path)")
    }

    /// Waits until pod <sts>-0 has every container ready.
    public func waitReady(timeout: TimeInterval) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let s = try? store.read(), let pod = s.pods.first(where: { $0.name == "\(s.statefulSet.name)-0" }),
               !pod.containerStatuses.isEmpty, pod.containerStatuses.allSatisfy(\.ready) {
                print("pod \(pod.name) is Running and Ready")
                return
            }
            if Date() > deadline {
                throw SandboxError("pod redis-0 not ready after \(Int(timeout)) s; see `sandbox status --dir \(layout.root.path)` and \(layout.daemonLog.path)")
            }
            if daemonPid() == nil { throw SandboxError("the sandbox daemon died; see \(layout.daemonLog.path)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func commandPaths(_ o: UpOptions, current: [String: String]) throws -> [String: String] {
        var paths = current
        func exe(_ p: String, _ what: String) throws -> String {
            let resolved = p.contains("/") ? URL(fileURLWithPath: p).standardizedFileURL.path : (resolveExecutable(p) ?? p)
            guard FileManager.default.isExecutableFile(atPath: resolved) else { throw SandboxError("\(what) \(p) is not an executable file") }
            return resolved
        }
        if let s = o.redisServer { paths["redis-server"] = try exe(s, "--redis-server") }
        if paths["redis-server"] == nil {
            guard let found = resolveExecutable("redis-server") else { throw SandboxError("redis-server not found on PATH (give --redis-server PATH)") }
            paths["redis-server"] = found
        }
        let serverDir = (paths["redis-server"]! as NSString).deletingLastPathComponent
        func sibling(_ name: String) -> String? {
            let p = serverDir + "/" + name
            return FileManager.default.isExecutableFile(atPath: p) ? p : nil
        }
        if let c = o.redisCli { paths["redis-cli"] = try exe(c, "--redis-cli") }
        else if o.redisServer != nil || paths["redis-cli"] == nil {
            guard let found = sibling("redis-cli") ?? resolveExecutable("redis-cli") else { throw SandboxError("redis-cli not found (give --redis-cli PATH)") }
            paths["redis-cli"] = found
        }
        for tool in ["redis-check-aof", "redis-check-rdb", "redis-benchmark"] {
            if o.redisServer != nil || paths[tool] == nil {
                if let p = sibling(tool) ?? resolveExecutable(tool) { paths[tool] = p }
            }
        }
        if o.topology == .sentinel, paths["redis-sentinel"] == nil {
            guard let found = sibling("redis-sentinel") ?? resolveExecutable("redis-sentinel") else {
                throw SandboxError("redis-sentinel not found on PATH (Debian: apt-get install redis-sentinel; scripts/install-deps.sh installs it)")
            }
            paths["redis-sentinel"] = found
        }
        if let e = o.exporter { paths["redis_exporter"] = try exe(e, "--exporter") }
        if paths["redis_exporter"] == nil {
            paths["redis_exporter"] = resolveExecutable("redis_exporter") ?? resolveExecutable("prometheus-redis-exporter") ?? "redis_exporter"
        }
        return paths
    }

    func newState(_ o: UpOptions, selfExe: String) throws -> ClusterState {
        var (manifest, source) = try StatefulSetManifest.load(executable: URL(fileURLWithPath: selfExe))
        if let limit = o.memoryLimit { try manifest.setRedisMemoryLimit(limit) }
        if o.redisPasswordSecret || o.redisPasswordEnvOnly {
            try manifest.useRedisPasswordSecret(cliAuth: !o.redisPasswordEnvOnly)
            try SandboxSecrets.write(layout.root, name: SandboxSecrets.redisSecretName, key: SandboxSecrets.redisSecretKey,
                                     value: SandboxSecrets.newPassword())
        }
        let now = RFC3339.format()
        var node = NodeState(uid: ClusterState.newUID(), createdAt: now, capacityMemoryBytes: Self.memTotal())
        node.capacityCPU = String(ProcessInfo.processInfo.activeProcessorCount)
        var sts = StatefulSetState(uid: ClusterState.newUID(), createdAt: now, template: manifest.template)
        sts.name = manifest.name
        sts.replicas = manifest.replicas
        sts.serviceName = manifest.serviceName
        if !manifest.selector.isEmpty { sts.selector = manifest.selector }
        sts.claimTemplateName = manifest.claimTemplateName
        sts.storageClassName = manifest.storageClassName
        sts.storageRequest = manifest.storageRequest
        if o.topology == .sentinel { try SentinelTopology.apply(to: &sts, runtimeRootless: getuid() != 0) }
        var state = ClusterState(createdAt: now, node: node, statefulSet: sts)
        state.runtime.commandPaths = try commandPaths(o, current: [:])
        state.runtime.imageEntrypoints = ["redis": "redis-server", "valkey/valkey": "valkey-server", "bitnami/redis": "redis-server",
                                          "oliver006/redis_exporter": "redis_exporter"]
        state.runtime.timings = o.timings
        state.runtime.manifestSource = source
        if o.topology == .sentinel { state.runtime.topology = Topology.sentinel.rawValue }
        state.runtime.rootless = getuid() != 0
        state.runtime.cgroupRoot = MemoryCgroup.createSandboxRoot(for: layout.root.path)
        state.runtime.memoryEnforcement = state.runtime.cgroupRoot == nil ? "rss-poll" : "cgroup-v1"
        if getuid() == 0 {
            // tmpfs volumes make `disk-full` real; capped so a sandbox never holds much RAM by accident.
            let req = Quantity.parse(manifest.storageRequest) ?? (1 << 30)
            state.runtime.volumeTmpfsBytes = min(req, 2 << 30)
        }
        return state
    }

    static func memTotal() -> Int64 {
        for line in (FS.read("/proc/meminfo") ?? "").split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return (line.split(separator: " ").dropFirst().first.flatMap { Int64($0) } ?? 0) * 1024
        }
        return 8 << 30
    }

    // MARK: - down

    /// Stops the daemon and every process of the sandbox; verifies nothing is left.
    public func down() async throws {
        var stoppedSomething = false
        if let pid = apiServerPid() {
            stoppedSomething = true
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while ProcFS.isAlive(pid) && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if ProcFS.isAlive(pid) { kill(pid, SIGKILL) }
        }
        if let pid = daemonPid() {
            stoppedSomething = true
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(20)
            while ProcFS.isAlive(pid) && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if ProcFS.isAlive(pid) { kill(pid, SIGKILL) }
        }
        // The load-test objects of `bulk` are never kept past a `down`.
        BulkObjects.remove(layout)
        try? FileManager.default.removeItem(at: layout.apiServerBulkFile)
        let state = try? store.read()
        let killed = killLeftovers(state)
        if !killed.isEmpty { stoppedSomething = true }
        SentinelNet.removeNamespace(layout.root)
        let left = leftovers(state)
        if !left.isEmpty {
            throw SandboxError("processes still running after down: \(left.map(String.init).joined(separator: " "))")
        }
        print(stoppedSomething ? "sandbox in \(layout.root.path) stopped; nothing left running"
                               : "no sandbox running in \(layout.root.path)")
    }

    /// Every process this sandbox may have left: its cgroup's, the pids in the state, and any
    /// process whose command line names the sandbox directory.
    public func leftovers(_ state: ClusterState?) -> [Int32] {
        var pids = Set<Int32>()
        let me = getpid()
        if let root = state?.runtime.cgroupRoot, FS.exists(root) { pids.formUnion(MemoryCgroup.allProcs(root)) }
        let known = Set((state?.runtime.commandPaths.values.map { ($0 as NSString).lastPathComponent } ?? []) + ["nsenter", "unshare"])
        for pod in state?.pods ?? [] {
            for pid in [pod.sandboxPid] + pod.containerStatuses.map(\.pid) where pid > 0 && ProcFS.isAlive(pid) {
                let base = (ProcFS.cmdline(pid).first.map { ($0 as NSString).lastPathComponent }) ?? ""
                if known.contains(base) || ProcFS.cmdline(pid).joined(separator: " ").contains(layout.root.path) { pids.insert(pid) }
            }
        }
        let dir = layout.root.path
        for pid in ProcFS.allPids() where pid != me {
            let cmd = ProcFS.cmdline(pid)
            if cmd.contains(where: { $0 == dir || $0.hasPrefix(dir + "/") }) && ProcFS.isAlive(pid) { pids.insert(pid) }
        }
        pids.remove(me)
        return pids.filter { ProcFS.isAlive($0) }.sorted()
    }

    @discardableResult
    func killLeftovers(_ state: ClusterState?) -> [Int32] {
        var all: [Int32] = []
        for _ in 0..<50 {
            let pids = leftovers(state)
            if pids.isEmpty { break }
            all += pids
            for p in pids { kill(p, SIGCONT); kill(p, SIGKILL) }
            usleep(50_000)
        }
        if let root = state?.runtime.cgroupRoot { MemoryCgroup.destroy(root) }
        // tmpfs volumes: keep their data for the next `up`, then unmount.
        for pvc in state?.pvcs ?? [] where Mounts.isMountPoint(pvc.hostPath) {
            if state?.runtime.faults.diskFull == true, let size = state?.runtime.volumeTmpfsBytes {
                _ = Mounts.resizeTmpfs(pvc.hostPath, sizeBytes: size)
            }
            Mounts.persist(volume: pvc.hostPath, to: layout.root.appendingPathComponent("volumes/.persist").path)
            Mounts.unmount(pvc.hostPath)
        }
        if state?.runtime.faults.diskFull == true { try? store.update { $0.runtime.faults.diskFull = false } }
        return Array(Set(all))
    }

    // MARK: - status

    public func status() -> String {
        var out: [String] = []
        let pid = daemonPid()
        guard let s = try? store.read() else { return "no sandbox in \(layout.root.path)" }
        out.append("sandbox \(layout.root.path): " + (pid.map { "running (daemon pid \($0))" } ?? "not running (run: sandbox up --dir \(layout.root.path))"))
        if let port = FS.read(layout.apiServerPortFile.path)?.trimmingCharacters(in: .whitespacesAndNewlines) {
            out.append("API server https://127.0.0.1:\(port): " + (apiServerPid().map { "running (pid \($0))" } ?? "not running")
                       + "; KUBECONFIG=\(layout.kubeconfig.path)")
        }
        out.append("node \(s.node.name): Ready=\(s.node.readyStatus) (\(s.node.readyReason))" + (s.node.kubeletStopped ? ", kubelet stopped" : "")
                   + (s.node.taints.isEmpty ? "" : ", taints: " + s.node.taints.map { "\($0.key):\($0.effect)" }.joined(separator: ",")))
        out.append("statefulset \(s.statefulSet.name): replicas \(s.statefulSet.replicas), template generation \(s.statefulSet.templateGeneration) (from \(s.runtime.manifestSource))"
                   + (SentinelTopology.isSentinel(s) ? "; topology sentinel" : "")
                   + (SentinelTopology.hasPodNetwork(s) ? "; pod network in netns \(SentinelNet.namespace(layout.root))" : "")
                   + (s.runtime.appConnection.map { "; BullMQ app connects through \($0)" } ?? ""))
        for pod in s.pods {
            let ready = pod.containerStatuses.filter(\.ready).count
            let restarts = pod.containerStatuses.map(\.restartCount).reduce(0, +)
            out.append("pod \(pod.name): \(pod.deletionTimestamp != nil ? "Terminating" : pod.phase) \(ready)/\(pod.containerStatuses.count) ready, restarts \(restarts), sandbox pid \(pod.sandboxPid)" + (pod.podIP.map { ", IP \($0)" } ?? ""))
            for c in pod.containerStatuses {
                let st: String
                switch c.state {
                case .running(let at): st = "running since \(at), pid \(c.pid)"
                case .waiting(let r, let m): st = "waiting: \(r)" + (m.map { " (\($0))" } ?? "")
                case .terminated(let r, let code, _, _, _, _): st = "terminated: \(r) exit \(code)"
                }
                var last = ""
                if case .terminated(let r, let code, _, _, _, _)? = c.lastState { last = ", last: \(r) exit \(code)" }
                out.append("  \(c.name): \(st), ready \(c.ready), restarts \(c.restartCount)\(last)")
            }
        }
        for pvc in s.pvcs {
            var usage = ""
            if let u = Mounts.usage(pvc.hostPath), Mounts.isMountPoint(pvc.hostPath) { usage = ", \(u.used / 1024) KiB used of \(u.total / 1024) KiB" }
            out.append("pvc \(pvc.name): \(pvc.phase), \(pvc.hostPath)\(usage)")
        }
        let f = s.runtime.faults
        out.append("faults: " + (f.injected.isEmpty ? "none" : f.injected.joined(separator: ", "))
                   + (f.workerStopped ? "; BullMQ worker stopped" : "") + (f.nodeDownUntil.map { "; node down until \($0)" } ?? "")
                   + (f.exporterExtraArgs.map { "; exporter args +\($0.joined(separator: " "))" } ?? "") + (f.diskFull ? "; volume full" : "")
                   + (f.redisKeyLoadDelayMicros.map { "; slow volume (redis key-load-delay \($0))" } ?? ""))
        out.append("memory limits: \(s.runtime.memoryEnforcement)" + (s.runtime.cgroupRoot.map { " (\($0))" } ?? ""))
        out.append("redis-server: \(s.runtime.commandPaths["redis-server"] ?? "?")")
        out.append("kubeconfig: \(layout.kubeconfig.path) (the real kubectl: export KUBECONFIG=\(layout.kubeconfig.path))")
        return out.joined(separator: "\n")
    }

    // MARK: - Running things in the pod

    /// The running redis pod (<sts>-0) and the state, or an error saying why not.
    public func redisPod() throws -> (ClusterState, PodState) {
        let s = try store.read()
        guard let pod = s.pods.first(where: { $0.name == "\(s.statefulSet.name)-0" }), pod.sandboxPid > 0 else {
            throw SandboxError("pod \(s.statefulSet.name)-0 has no running sandbox (see `sandbox status`)")
        }
        return (s, pod)
    }

    /// Runs a command inside the redis pod (as `kubectl exec` would).
    public func execInPod(_ command: [String], stdin: Data? = nil, timeout: Duration = .seconds(30)) async throws -> CommandResult {
        let (s, pod) = try redisPod()
        guard let argv = PodExec.argv(state: s, pod: pod, command: command) else { throw SandboxError("pod \(pod.name) is not running") }
        let env = PodExec.redisEnvironment(pod, root: layout.root)
        return await Runner().run(CommandSpec(argv, environment: env, stdin: stdin, timeout: timeout))
    }

    /// `redis-cli ARGS...` in the pod; stdout text.
    public func redisCLI(_ args: [String], timeout: Duration = .seconds(30)) async throws -> String {
        let r = try await execInPod(["redis-cli"] + args, timeout: timeout)
        return r.stdoutText + r.stderrText
    }

    /// `redis-cli --pipe` with RESP on stdin; returns (errors, replies).
    @discardableResult
    public func pipe(_ data: Data, timeout: Duration = .seconds(300)) async throws -> (errors: Int, replies: Int, output: String) {
        let r = try await execInPod(["redis-cli", "--pipe"], stdin: data, timeout: timeout)
        let text = r.stdoutText + r.stderrText
        var errors = -1, replies = 0
        if let line = text.split(separator: "\n").last(where: { $0.hasPrefix("errors: ") }) {
            let nums = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            if nums.count >= 2 { errors = nums[0]; replies = nums[1] }
        }
        return (errors, replies, text)
    }

    // MARK: - seed

    /// One command of the sandbox's BullMQ application (the real client), where it reaches
    /// Redis; its output, or an error with its words.
    func runApp(_ command: String, app: BullMQApp? = nil, queues: [String], extra: [String] = [],
                timeout: Duration = .seconds(60), what: String) async throws -> CommandResult {
        let app = try app ?? BullMQApp.locate()
        guard let place = BullMQApp.placement(state: try store.read(), root: layout.root) else {
            throw SandboxError("no pod reaches Redis (see `sandbox status`)")
        }
        let env = ProcessInfo.processInfo.environment.merging(place.environment) { $1 }
        let r = await Runner().run(CommandSpec(app.argv(command, queues: queues, placement: place, sandbox: layout.root, extra: extra), environment: env, timeout: timeout))
        guard r.succeeded else { throw SandboxError("the BullMQ client could not \(what) (\(r.termination)): \(r.stderrText.suffix(600))") }
        return r
    }

    public func seed(preset: Workload.Preset, keys: Int?) async throws {
        _ = try redisPod()
        let app = try BullMQApp.locate()   // before anything is written
        let start = Date()
        var total = 0, errors = 0
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        try await Workload.seedBatches(preset: preset, keys: keys, nowMs: nowMs) { buf in
            let r = try await self.pipe(buf.data)
            if r.errors < 0 { throw SandboxError("redis-cli --pipe failed: \(r.output.prefix(300))") }
            total += buf.commands
            errors += r.errors
        }
        if errors > 0 { throw SandboxError("\(errors) commands failed while seeding (is Redis out of memory?)") }
        // The queues: written by the real BullMQ client, jobs run to completed and failed by its
        // Worker, as an application that has been running for a while leaves them.
        let plan = Workload.queuePlan(preset: preset, keys: keys)
        let r = try await runApp("seed", app: app, queues: plan.queues, extra: ["--jobs", String(plan.jobsPerQueue)] + (plan.large ? ["--large"] : []),
                                 timeout: .seconds(900), what: "seed the queues")
        try store.update { s in
            for q in plan.queues where !s.runtime.queues.contains(q) { s.runtime.queues.append(q) }
        }
        let dbsize = (try? await redisCLI(["DBSIZE"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        print("seeded preset \(preset.rawValue): \(total) commands, \(errors) errors (cache and session keys); queues \(plan.queues.joined(separator: ", ")) by the BullMQ client (\(plan.jobsPerQueue) jobs each), in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; dbsize \(dbsize)")
        if let counts = r.stdoutText.split(separator: "\n").last { print("BullMQ getJobCounts: \(counts)") }
    }
}
