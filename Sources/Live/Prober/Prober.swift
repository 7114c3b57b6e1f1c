import Diagnosis
import Foundation
import MemoryAnalysis
import ProcessRunner

// Prober (the coordinator): one `Snapshot` per refresh. It owns the schedule (which source is asked
// when: the first frame asks only for the pod and Redis, the rest joins the next one), the public
// settings, and the assembly of `SnapshotInputs` from what each source holds; the sources keep
// their own state (`ClusterState`, `APILivenessState`, `RedisSessionState`, `QueueDiscovery`,
// `ExporterState`, `LogReaderState`) and fill it in their own files (ClusterReader, APILiveness,
// RedisSession, BullMQQueues, ExporterScrape, LogReader; one-shot reads and their error wording in
// KubectlReads). It must not read a source's raw output or change a source's back-off itself: it
// calls the source. All of it is isolated to this actor; nothing here spawns but through
// `Runner`, `LineSession` and `KubeProxy`, and `SnapshotBuilder.build` stays pure.

/// Gathers one `Snapshot` per refresh from the cluster and from Redis.
///
/// Budget (what keeps the app cheap to leave open during an incident), dashboard mode:
/// - two long-lived kubectl processes and no other: ONE persistent `kubectl exec -i POD -c redis
///   -- redis-cli` session for Redis data (PING, INFO, CONFIG GET, BullMQ counts), and ONE
///   `kubectl proxy --unix-socket` (`KubeProxy`) through which every API read is a request on a
///   socket (`Prober.read`, `APIWatch`);
/// - the pod, its node and its events: one LIST each at start, then watch events (no LIST after
///   start-up); the exporter's metrics at most every `metricsInterval`; `/version` only when
///   nothing has answered for `livenessInterval`; the previous log once per container restart.
/// One-shot commands (`status`, `check`) read with a kubectl process each (`useWatches: false`).
/// Probes of one refresh run in parallel; a failing source backs off and keeps its last good value.
public actor Prober {
    public let target: LiveTarget
    public let runner: Runner
    public var useWatches: Bool
    public var metricsInterval: TimeInterval = 15
    public var queueDiscoveryInterval: TimeInterval = 30
    /// Our own limit on one kubectl process. Debian's kubectl dispatcher asks the server's
    /// /version (with the same --request-timeout) before it runs the real kubectl, so a silent
    /// API server costs twice the request time-out: 2 × 5 s, plus start-up, stays under this
    /// and kubectl reports the time-out itself (a cluster state) instead of being killed.
    public var probeTimeout: Duration = .seconds(12)
    public var now: @Sendable () -> Date = { Date() }
    /// How long one refresh waits for the Redis probe (the dashboard sets it). A probe that takes
    /// longer (redis-cli waiting out its timeout while Redis restarts) keeps running and the
    /// refresh returns without fresh Redis data ("redis" error; the dashboard keeps the last good
    /// values), so the pod and node panels are not held back; the next refresh takes the probe's
    /// result instead of starting another. nil: wait for it (one-shot `status`, `check`).
    public var redisWait: Duration?
    public func setRedisWait(_ d: Duration?) { redisWait = d }
    var snapshotsTaken = 0
    /// What each source said last (one per source file; see there).
    var cluster = ClusterState()
    var liveness = APILivenessState()
    var redisState = RedisSessionState()
    var discovery = QueueDiscovery()
    var exporter = ExporterState()
    var logReader = LogReaderState()
    var replication = ReplicationState()
    /// Sentinel topology (ReplicationReader.swift): how often the dashboard reads every pod's
    /// role and Sentinel, how long one pod's session may take, and the master set asked about.
    public var replicationInterval: TimeInterval = 3
    /// A session's first send includes the `kubectl exec` start: the main session's 5 s (a 2 s
    /// limit left every Sentinel silent at a load average of 27 on 2 cores).
    public var replicationWait: Duration = .seconds(5)
    public var masterSet = "mymaster"

    // API liveness (dashboard mode): see APILiveness.swift.
    /// Probe the API server when it has answered nothing for this long. A probe is one request
    /// on the proxy's socket (no process), so the limit is the API server's load, not ours: with
    /// the exporter's scrape every 15 s answering too, 5 s makes about 8 probes a minute, 12-13
    /// requests a minute in all against some 300 for a `kubectl get` + `kubectl exec` loop every
    /// second (BENCHMARKS.md, figure 2), and a hung API server shows within 5 s of silence plus
    /// the probe's 2 s deadline (an outage that refuses or errors shows at once).
    public var livenessInterval: TimeInterval = 5
    /// The probe's own deadline in seconds: /version is answered at once by a live server.
    public var livenessRequestSeconds: Double = 2
    /// How long a read in flight that counts as an answer (the exporter's scrape) stands for a
    /// due probe before the probe goes out anyway (APILiveness.swift). A live server answers the
    /// scrape in 10-50 ms; this is what a hung server's banner may be delayed by, at most.
    public var livenessStandInSeconds: Double = 0.5
    /// Longest wait between two probes while the API server is unreachable.
    public var livenessMaxBackoff: TimeInterval = 2
    /// Liveness probes run so far (tests and the spawn budget).
    public var livenessProbes: Int { liveness.probes }

    /// When each source last read well ("pod", "node", "events", "redis", "exporter"): each
    /// source writes its own entry; the coordinator turns them into `staleSeconds`.
    var lastGood: [String: Date] = [:]
    private var lastKnownKeyspace: (keys: [String: Int], at: String?) = ([:], nil)
    var previousSnapshot: Snapshot?
    /// The dashboard's one `kubectl proxy` (see APIReads.swift); nil in one-shot mode.
    var proxy: KubeProxy?
    /// `redis-runbook-exec-relay`, through which the dashboard's Redis session runs on that proxy
    /// (RedisSession.swift); nil: a `kubectl exec -i` session.
    public var execRelay: String? = KubeProxy.installedExecRelay

    /// Another relay binary (nil: `kubectl exec -i` sessions), for sessions started from now on.
    public func setExecRelay(_ path: String?) { execRelay = path }
    /// `shutdown` was called: a probe that was waiting (for the proxy) starts no session after it.
    var stopped = false

    public init(target: LiveTarget, runner: Runner, useWatches: Bool = true) {
        self.target = target
        self.runner = runner
        self.useWatches = useWatches
    }

    /// Processes spawned so far by this prober (one-shot commands, session starts, proxy starts).
    public var spawnCount: Int {
        runner.spawnCount + (proxy?.spawns ?? 0)
    }

    public func shutdown() async {
        stopped = true
        cluster.stopWatches()
        await proxy?.stop()
        proxy = nil
        await redisState.session?.close()
        redisState.session = nil
        for s in replication.takeAll() { await s.close() }
    }

    /// The dashboard opens: start what its first frame waits for (the proxy and the pod's and
    /// events' LISTs on it, the Redis session and its first batch) now, while the terminal is set
    /// up, instead of at the first refresh. No-op in one-shot mode and after the first refresh.
    public func warmUp() async {
        guard useWatches, redisWait != nil, snapshotsTaken == 0 else { return }
        let t = now()
        if redisState.inFlight == nil {
            redisState.inFlight = (Task { await self.probeRedis(t) }, t)
        }
        startWatches()
        await metricsForRefresh(t)   // with `redisWait` set: starts the read and returns
    }

    // MARK: - One refresh

    public func snapshot() async -> Snapshot {
        let t = now()
        // The dashboard's first refresh holds its frame for every panel: the pod and its node
        // (their watches' first LIST through the proxy), the events (listed beside them), Redis,
        // and the exporter (waited for at most a second more): through the one proxy these are
        // requests on a socket, not processes competing for the cores.
        let first = useWatches && snapshotsTaken == 0
        let r: RedisResult
        if first {
            // The frame waits for the pod anyway: Redis gets that long to answer too (a cold
            // `kubectl exec` on a busy machine can take longer than `redisWait`, and a frame
            // that waited on a hung API server should not then call Redis silent after 1 s).
            if redisWait != nil, redisState.inFlight == nil {
                redisState.inFlight = (Task { await self.probeRedis(t) }, t)
            }
            await metricsForRefresh(t)
            await refreshKubernetes(t)
            // The pod is known now: the previous run's log (read once per restart) goes out
            // beside the Redis batch, not after it (it was the last read before the first frame).
            async let previousLogs: Void = refreshPreviousLogs()
            await refreshEvents(t)
            r = await redisResult(t)
            if let task = exporter.task { _ = await WaitBounded.value(of: task, within: .seconds(1)) }
            await previousLogs
        } else {
            // The exporter's read (when due) starts first: it stands for this refresh's liveness
            // probe (checked in refreshKubernetes), instead of going out beside it.
            if redisWait != nil { await metricsForRefresh(t) }
            async let k8s: Void = refreshKubernetes(t)
            async let ev: Void = refreshEvents(t)
            async let redis = redisResult(t)
            async let metrics: Void = redisWait == nil ? metricsForRefresh(t) : ()
            _ = await k8s
            _ = await ev
            r = await redis
            _ = await metrics
        }
        if useWatches, target.context == nil, currentContext == nil, !contextInFlight, contextTries < 5, snapshotsTaken > 0 {
            contextInFlight = true
            Task { await self.resolveCurrentContext() }
        }
        await refreshPreviousLogs()
        let replicationView = await replicationForRefresh(t)
        let redisUp = r.info.map { !$0.contains("loading:1") } ?? false
        if useWatches {
            // The dashboard does not hold a frame for this once-per-container log read; its
            // evidence joins the next refresh.
            Task { await self.refreshCurrentLogScan(redisUp: redisUp) }
        } else {
            await refreshCurrentLogScan(redisUp: redisUp)
        }

        var input = SnapshotInputs(now: t)
        input.context = target.context ?? currentContext
        input.namespace = target.namespace
        input.podName = target.pod
        input.redisContainer = target.container
        input.pod = cluster.pod
        input.node = cluster.node
        input.events = Array(cluster.events.values)
        input.infoText = r.info
        input.config = r.config
        input.queues = r.queues
        input.queuesSearching = r.queuesSearching
        input.metricsText = exporter.text
        input.previousLogText = logReader.snapshotText
        input.previous = previousSnapshot
        input.redisSessionError = r.error
        input.replication = replicationView
        var errors: [SourceError] = []
        func stale(_ source: String) -> Int? { lastGood[source].map { Int(t.timeIntervalSince($0)) } }
        if let e = cluster.podError { errors.append(SourceError(source: "pod", message: e.message, staleSeconds: stale("pod"), kind: e.kind)) }
        if let e = cluster.nodeError { errors.append(SourceError(source: "node", message: e.message, staleSeconds: stale("node"), kind: e.kind)) }
        if let e = cluster.eventsError { errors.append(SourceError(source: "events", message: e.message, staleSeconds: stale("events"), kind: e.kind)) }
        if let e = r.error, r.info == nil { errors.append(SourceError(source: "redis", message: e, staleSeconds: stale("redis"), kind: r.errorKind)) }
        if let e = exporter.error { errors.append(SourceError(source: "exporter", message: e.message, staleSeconds: stale("exporter"), kind: e.kind)) }
        if let e = logReader.error { errors.append(SourceError(source: "logs", message: e.message, staleSeconds: nil, kind: e.kind)) }
        input.errors = errors
        input.apiSilent = liveness.down != nil
        // Redis silent: a finding at once if the API server has answered since (the silence is
        // Redis's or its node's); otherwise ask the API server now, so the next refresh knows
        // which of the two is silent (a hung control plane also stalls `kubectl exec`).
        if r.pending, let since = r.pendingSince, liveness.down == nil {
            let silent = Int(t.timeIntervalSince(min(since, lastGood["redis"] ?? since)).rounded(.down))
            if let a = liveness.answeredAt, a > since {
                input.redisSilentSeconds = silent
            } else if silent >= FindingRules.redisSilentSeconds - 1, useWatches {
                checkLiveness(t, now: true)
            }
        } else if !r.pending, r.info == nil, r.errorKind == SourceError.redisTimedOut, cluster.podError == nil, liveness.down == nil {
            // A batch that waited out its time-out (one-shot status, check and runbooks wait
            // for it) while the pod was read in the same refresh: the same evidence as the
            // dashboard's silent session, so the same finding on every face.
            // Silent since Redis last answered (the dashboard's next session starts afresh; the
            // silence does not), else since this refresh began (one-shot).
            input.redisSilentSeconds = Int(now().timeIntervalSince(lastGood["redis"] ?? t).rounded(.down))
        }
        var snap = SnapshotBuilder.build(input)
        if r.info != nil {
            lastKnownKeyspace = (snap.keyspace, snap.takenAt)
        }
        snap.keyspaceLastKnown = lastKnownKeyspace.keys
        snap.keyspaceLastKnownAt = lastKnownKeyspace.at
        // A refresh that did not wait for Redis is no base for rates and queue trends.
        if !r.pending { previousSnapshot = snap }
        snapshotsTaken += 1
        if useWatches, snapshotsTaken == 1 {
            // The first screen is drawn from this: the watches' streams go out just after it.
            Task { try? await Task.sleep(for: .milliseconds(30)); self.releaseFirstScreenWatches() }
        }
        return snap
    }

    /// The kubeconfig's current context, for the header (read once, locally: no API request).
    private var currentContext: String?

    private var contextInFlight = false
    private var contextTries = 0

    /// Tried from the second refresh on (not in the first frame's way), again on a failure (a
    /// loaded machine), at most 5 times.
    private func resolveCurrentContext() async {
        defer { contextInFlight = false }
        contextTries += 1
        let r = await runner.run(CommandSpec(target.kubectlArgv(["config", "current-context"]), timeout: .seconds(10), label: "context"))
        let name = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if r.succeeded, !name.isEmpty, !name.contains("\n") { currentContext = name }
    }

    // MARK: - On demand

    public func logs(container: String, previous: Bool, tail: Int = 500) async -> Result<String, ProbeFailure> {
        switch await read(.logs(container: container, previous: previous, tail: tail)) {
        case .success(let body): return .success(String(decoding: body, as: UTF8.self))
        case .failure(let f): return .failure(ProbeFailure(f.message))
        }
    }

    /// Warning and normal events of the pod, newest first.
    public func podEvents() -> [KubeEvent] {
        cluster.events.values.sorted(by: KubeEvent.newestFirst)
    }

    /// Sends read-only lines through the persistent session (memory analysis, runbook checks).
    public func redisSend(_ lines: [String]) async throws -> [String] {
        try await redisSession().send(lines)
    }
}
