import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// The sandbox's application: its BullMQ producers and workers are the real BullMQ client (PyPI
/// `bullmq`, the maintainers' Python port, running the same Lua scripts as the Node library),
/// `scripts/bullmq-app.py` in the checkout's virtualenv `.tools/venv` (scripts/install-deps.sh).
/// The seed writes its queues through it too, so every queue figure the tool shows comes from
/// what the library wrote.
public struct BullMQApp: Sendable {
    public let python: String
    public let script: String

    /// The checkout the sandbox was built in (…/.build/<config>/redis-runbook-sandbox), else the
    /// current directory: its `.tools/venv/bin/python` and `scripts/bullmq-app.py`.
    /// `RRB_BULLMQ_PYTHON` / `RRB_BULLMQ_APP` name them instead.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> BullMQApp {
        if let py = environment["RRB_BULLMQ_PYTHON"], let app = environment["RRB_BULLMQ_APP"] {
            return BullMQApp(python: py, script: app)
        }
        var roots: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<6 { roots.append(dir); dir = dir.deletingLastPathComponent() }
        }
        roots.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        guard let root = roots.first(where: { FS.exists($0.appendingPathComponent("scripts/bullmq-app.py").path) }) else {
            throw SandboxError("the sandbox's BullMQ application (scripts/bullmq-app.py) is not found next to \(roots.first?.path ?? "the sandbox"): run the sandbox from its checkout")
        }
        let venv = root.appendingPathComponent(".tools/venv")
        if let why = FS.read(venv.appendingPathComponent("INSTALL-FAILED").path) {
            throw SandboxError("the real BullMQ client could not be installed in \(venv.path) (scripts/install-deps.sh): \(why.prefix(300))")
        }
        let py = venv.appendingPathComponent("bin/python").path
        guard FileManager.default.isExecutableFile(atPath: py) else {
            throw SandboxError("the real BullMQ client is not installed (no \(py)): run scripts/install-deps.sh (make demo and make test run it)")
        }
        return BullMQApp(python: py, script: root.appendingPathComponent("scripts/bullmq-app.py").path)
    }

    /// Where the application runs and how it reaches Redis.
    public struct Placement: Equatable, Sendable {
        /// `nsenter ... --`: the network namespace that reaches Redis.
        public var prefix: [String]
        /// `--redis 127.0.0.1:6379`, or `--sentinel IP:26379` for each pod.
        public var connect: [String]
        /// REDIS_PASSWORD when Redis has one (never on a command line).
        public var environment: [String: String]
        /// Changes when the namespace or the addresses do (the processes are started again).
        public var key: String
    }

    /// Single topology: the first pod's own network namespace, its Redis on 127.0.0.1:6379, as a
    /// sidecar sees it. Sentinel topology: the pod network's namespace, the master found through
    /// the three Sentinels (`master_for`), as a client pod would. nil while no pod can be reached.
    public static func placement(state: ClusterState, root: URL) -> Placement? {
        let live = state.pods.filter { $0.deletionTimestamp == nil && $0.sandboxPid > 0 }
        // Always the StatefulSet's first pod: while it is re-created (a rolling update, between
        // the old pod's removal and the new one's start) the app waits for it rather than
        // writing into a new, empty pod that is about to become a replica.
        guard let first = live.first(where: { $0.name == "\(state.statefulSet.name)-0" }) else { return nil }
        var env = [String: String]()
        if let pw = PodExec.redisEnvironment(first, root: root)["REDISCLI_AUTH"], !pw.isEmpty { env["REDIS_PASSWORD"] = pw }
        let viaSentinel = state.runtime.appConnection.map { $0 == "sentinel" } ?? SentinelTopology.isSentinel(state)
        if viaSentinel, SentinelTopology.hasPodNetwork(state) {
            let ips = state.pods.compactMap { $0.podIP }.filter { !$0.isEmpty }.sorted()
            guard !ips.isEmpty else { return nil }
            return Placement(prefix: [PodExec.nsenterPath(), "--net=/run/netns/\(SentinelNet.namespace(root))", "--"],
                             connect: ips.flatMap { ["--sentinel", "\($0):\(SentinelTopology.sentinelPort)"] },
                             environment: env, key: "sentinel " + ips.joined(separator: ","))
        }
        var prefix = [PodExec.nsenterPath(), "-t", String(first.sandboxPid)]
        if state.runtime.rootless { prefix += ["-U", "--preserve-credentials"] }
        return Placement(prefix: prefix + ["-n", "--"], connect: ["--redis", "127.0.0.1:6379"],
                         environment: env, key: "pod \(first.sandboxPid)")
    }

    /// The argv of one command of the application (seed, producer, worker, pause, counts).
    /// `sandbox`: the sandbox directory, on the command line so that `sandbox down` finds the
    /// process whatever happened to the daemon that started it.
    public func argv(_ command: String, queues: [String], placement: Placement, sandbox: URL, extra: [String] = []) -> [String] {
        placement.prefix + [python, script, command, "--queues", queues.joined(separator: ",")] + placement.connect
            + ["--sandbox", sandbox.path] + extra
    }
}

extension SandboxDaemon {
    /// One long-lived process of the application (the producer or the worker).
    struct AppProcess {
        var child: Child
        var key: String
        /// SIGSTOPped by queue-stalled (a hung worker: connected, its locks running out).
        var frozen = false
    }

    /// Keeps the application's producer and worker running while queues exist: the worker stops
    /// for queue-backlog (killed: its connections close), freezes for queue-stalled (SIGSTOP: its
    /// connections stay, its locks run out) and starts afresh when healed; both start again when
    /// they exit or when their pod (its network namespace) is replaced.
    func runApplication(now: Date) {
        guard let state = try? store.read() else { return }
        let wanted = !state.runtime.queues.isEmpty && !state.runtime.faults.trickleDisabled
        let place = wanted ? BullMQApp.placement(state: state, root: layout.root) : nil
        let faults = state.runtime.faults
        reconcile(&appProducer, role: "producer", place: place, queues: state.runtime.queues, interval: state.runtime.timings.trickleSeconds, now: now)
        if var w = appWorker, w.child.poll() == nil {
            let hung = faults.workerHung == true
            if hung && !w.frozen { w.child.signal(SIGSTOP); w.frozen = true; appWorker = w; log("BullMQ worker (pid \(w.child.pid)) frozen: queue-stalled") }
            if !hung && w.frozen { stopApp(&appWorker); log("frozen BullMQ worker ended: healed, a new one starts") }
        }
        if faults.workerStopped, let w = appWorker, w.child.poll() == nil, !w.frozen {
            // queue-backlog: the workers scaled down. SIGTERM: Worker.close() lets the active
            // jobs finish and closes the connections (SIGKILL after 20 s).
            w.child.signal(SIGTERM)
            appStopping.append((w.child, now.addingTimeInterval(20)))
            appWorker = nil
            log("BullMQ worker (pid \(w.child.pid)) asked to stop: queue-backlog")
        }
        appStopping.removeAll { s in
            if s.child.poll() != nil { return true }
            if now > s.killAt { s.child.signal(SIGKILL); graveyard.append(s.child); return true }
            return false
        }
        reconcile(&appWorker, role: "worker", place: faults.workerStopped ? nil : place, queues: state.runtime.queues,
                  interval: state.runtime.timings.trickleSeconds, now: now)
    }

    private func reconcile(_ slot: inout AppProcess?, role: String, place: BullMQApp.Placement?, queues: [String], interval: Int, now: Date) {
        if let p = slot, let t = p.child.poll() {
            log("BullMQ \(role) (pid \(p.child.pid)) ended: \(t); starting again in 2 s")
            slot = nil
            appRetry[role] = now.addingTimeInterval(2)
        }
        if let p = slot, place == nil || p.key != place?.key { stopApp(&slot) }
        guard slot == nil, let place, now >= appRetry[role, default: .distantPast] else { return }
        do {
            let app = try appClient ?? BullMQApp.locate()
            appClient = app
            let argv = app.argv(role, queues: queues, placement: place, sandbox: layout.root, extra: role == "producer" ? ["--interval", String(interval)] : [])
            let env = ProcessInfo.processInfo.environment.merging(place.environment) { $1 }
            let logPath = layout.root.appendingPathComponent("bullmq-\(role).log").path
            slot = AppProcess(child: try Child.spawn(argv, environment: env, stdoutPath: logPath, stderrPath: logPath, newProcessGroup: true), key: place.key)
        } catch {
            log("BullMQ \(role) cannot start: \(error)")
            appRetry[role] = now.addingTimeInterval(30)
        }
    }

    func stopApp(_ slot: inout AppProcess?) {
        guard let p = slot else { return }
        p.child.signal(SIGCONT)
        p.child.signal(SIGKILL)
        graveyard.append(p.child)
        slot = nil
    }
}

extension SandboxControl {
    /// `sandbox app --connect sentinel|redis`: how the sandbox's BullMQ application (its
    /// producer and worker) reaches Redis from now on; the daemon starts them again with the new
    /// connection within a tick. What migrate-to-sentinel asks the operator to do to the app
    /// ("switch BullMQ to Sentinel and redeploy"). Sentinel needs the pod network.
    public func appConnect(_ mode: String) throws {
        guard ["sentinel", "redis"].contains(mode) else { throw SandboxError("unknown connection \(mode): sentinel or redis") }
        let s = try store.read()
        if mode == "sentinel", !SentinelTopology.hasPodNetwork(s) {
            throw SandboxError("the BullMQ app cannot connect through Sentinel: this sandbox has no pod network (rootless)")
        }
        try store.update { $0.runtime.appConnection = mode }
        let how = mode == "sentinel"
            ? "through the Sentinels of every pod (master set \(SentinelTopology.masterSet), port \(SentinelTopology.sentinelPort))"
            : "to the first pod's Redis (127.0.0.1:6379 in its network namespace)"
        print("BullMQ app connects \(how); its producer and worker start again with it (logs: \(layout.root.appendingPathComponent("bullmq-worker.log").path))")
    }
}
