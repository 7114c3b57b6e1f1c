import Diagnosis
import Foundation
import MemoryAnalysis
import ProcessRunner

/// Gathers one `Snapshot` per refresh from the cluster and from Redis.
///
/// Spawn budget (what keeps the app cheap to leave open during an incident):
/// - Redis data (PING, INFO, CONFIG GET, BullMQ counts) goes through ONE persistent
///   `kubectl exec -i POD -c redis -- redis-cli` session: no process per refresh.
/// - The pod, its node and its events come from long-lived `kubectl get ... -o json --watch`
///   processes; a one-shot `get` is used only until a watch is healthy, or while it is down.
/// - The exporter's metrics (`get --raw .../proxy/metrics`) are read at most every
///   `metricsInterval`; `logs --previous` once per container restart.
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
    private var redisInFlight: (task: Task<RedisResult, Never>, since: Date)?
    /// Dashboard mode: the exporter read runs beside the refreshes (it can take up to the probe
    /// timeout while Redis is down); refreshes use the last text it got.
    private var metricsTask: Task<Void, Never>?
    /// The pod and redis container (uid, restarts) the session was started against.
    private var sessionIdentity: String?
    private var snapshotsTaken = 0
    private var logScanInFlight = false

    private var session: LineSession?
    /// AUTH for the session, when Redis wanted the pod's password (`RedisAuth`).
    private var sessionPrelude: [String] = []
    /// The pod and container run for which the password was last read.
    private var passwordReadFor: String?
    private var podWatch: KubeWatch?
    private var nodeWatch: KubeWatch?
    private var eventWatch: KubeWatch?
    private var watchedNode: String?

    private var pod: KubePod?
    private var podStamp: Date?
    private var podError: Failure?
    private var podPollNext = Date.distantPast
    private var podBackoff: TimeInterval = 0

    private var node: KubeNode?
    private var nodeError: Failure?
    private var nodePollNext = Date.distantPast

    private var events: [String: KubeEvent] = [:]
    private var eventsError: Failure?
    private var eventsPollNext = Date.distantPast

    private var metricsText: String?
    private var metricsError: Failure?
    private var metricsNext = Date.distantPast
    private var metricsBackoff: TimeInterval = 0

    private var previousLogs: (restarts: Int, text: String)?
    /// Lines of the current container's log saying Redis truncated a damaged AOF at load.
    private var currentLogScan: (identity: String, lines: [String])?
    private var logsError: Failure?

    private var queueNames: [String] = []
    private var discoveryCursor = "0"
    private var discoveryFound: Set<String> = []
    private var discoveryNext = Date.distantPast
    /// A whole discovery walk has finished at least once: an empty list then means no queues.
    private var queueListKnown = false

    // API liveness (dashboard mode): a watch process that runs proves nothing (a hung API server
    // keeps it alive and silent), so the API server's answers are tracked, and when it has said
    // nothing for `livenessInterval` a cheap `kubectl get --raw /version` asks it. While that
    // fails, the watches' objects are stale, nothing else is requested (no watch restarts, no
    // one-shot gets, so an outage costs one probe every few seconds), and when it answers again
    // every source resumes at once.
    /// Probe the API server when it has answered nothing for this long. 15 s, the exporter's scrape
    /// interval: on a quiet cluster that scrape (through the API's pods/proxy) is the answer, so a
    /// healthy cluster costs next to no probes (each is a real kubectl: ~0.1 s of CPU, and 3 s
    /// made it 17 kubectl processes a minute instead of 4). The price: a hung API server shows
    /// within about 20 s, not 5 (an outage that refuses or errors shows at once).
    public var livenessInterval: TimeInterval = 15
    /// The probe's own --request-timeout: /version is answered at once by a live server.
    public var livenessRequestTimeout = "2s"
    /// Longest wait between two probes while the API server is unreachable.
    public var livenessMaxBackoff: TimeInterval = 2
    /// Last time the API server answered a request (a one-shot read, the probe). A watch that
    /// delivers proves its own stream, not that the server answers new requests (a server that
    /// hangs on new requests may keep old streams going).
    private var apiAnsweredAt: Date?
    /// The probe's failure while the API server is unreachable (nil: reachable, or not known otherwise).
    private var apiDown: Failure?
    private var apiDownSince: Date?
    private var livenessInFlight = 0
    private var livenessNext = Date.distantPast
    private var livenessBackoff: TimeInterval = 0
    /// Liveness probes run so far (tests and the spawn budget).
    public private(set) var livenessProbes = 0

    private var lastGood: [String: Date] = [:]
    private var lastKnownKeyspace: (keys: [String: Int], at: String?) = ([:], nil)
    private var previousSnapshot: Snapshot?
    private var redisBackoffUntil = Date.distantPast
    private var redisBackoff: TimeInterval = 0
    /// The last `kubectl exec` was refused with 403 (this user may not exec): kubectl's refusal.
    private var redisDenied: Failure?
    /// How long a 403 on `kubectl exec` (or on the exporter's proxy) is remembered before asking again.
    static let forbiddenRetry: TimeInterval = 300

    public init(target: LiveTarget, runner: Runner, useWatches: Bool = true) {
        self.target = target
        self.runner = runner
        self.useWatches = useWatches
    }

    /// Processes spawned so far by this prober (one-shot commands, watch starts, session starts).
    public var spawnCount: Int {
        runner.spawnCount + [podWatch, nodeWatch, eventWatch].compactMap { $0?.spawns }.reduce(0, +)
    }

    public func shutdown() async {
        podWatch?.stop(); nodeWatch?.stop(); eventWatch?.stop()
        podWatch = nil; nodeWatch = nil; eventWatch = nil
        await session?.close()
        session = nil
    }

    // MARK: - One refresh

    public func snapshot() async -> Snapshot {
        let t = now()
        // The dashboard's first refresh asks only for what its first full screen needs, the pod
        // and Redis (two processes, not five competing for the cores); the node, the events and
        // the exporter start as soon as that snapshot is built and fill in with the next one.
        let first = useWatches && snapshotsTaken == 0
        let r: RedisResult
        if first {
            // The frame waits for the pod anyway: Redis gets that long to answer too (a cold
            // `kubectl exec` on a busy machine can take longer than `redisWait`, and a frame
            // that waited 8 s on a hung `get` should not then call Redis silent after 1 s).
            if redisWait != nil, redisInFlight == nil {
                redisInFlight = (Task { await self.probeRedis(t) }, t)
            }
            await refreshKubernetes(t)
            r = await redisResult(t)
        } else {
            async let k8s: Void = refreshKubernetes(t)
            async let ev: Void = refreshEvents(t)
            async let redis = redisResult(t)
            async let metrics: Void = metricsForRefresh(t)
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
        input.pod = pod
        input.node = node
        input.events = Array(events.values)
        input.infoText = r.info
        input.config = r.config
        input.queues = r.queues
        input.queuesSearching = r.queuesSearching
        input.metricsText = metricsText
        let logText = [previousLogs?.text, currentLogScan?.lines.joined(separator: "\n")].compactMap { $0 }.filter { !$0.isEmpty }
        input.previousLogText = logText.isEmpty ? previousLogs?.text : logText.joined(separator: "\n")
        input.previous = previousSnapshot
        input.redisSessionError = r.error
        var errors: [SourceError] = []
        func stale(_ source: String) -> Int? { lastGood[source].map { Int(t.timeIntervalSince($0)) } }
        if let e = podError { errors.append(SourceError(source: "pod", message: e.message, staleSeconds: stale("pod"), kind: e.kind)) }
        if let e = nodeError { errors.append(SourceError(source: "node", message: e.message, staleSeconds: stale("node"), kind: e.kind)) }
        if let e = eventsError { errors.append(SourceError(source: "events", message: e.message, staleSeconds: stale("events"), kind: e.kind)) }
        if let e = r.error, r.info == nil { errors.append(SourceError(source: "redis", message: e, staleSeconds: stale("redis"), kind: r.errorKind)) }
        if let e = metricsError { errors.append(SourceError(source: "exporter", message: e.message, staleSeconds: stale("exporter"), kind: e.kind)) }
        if let e = logsError { errors.append(SourceError(source: "logs", message: e.message, staleSeconds: nil, kind: e.kind)) }
        input.errors = errors
        input.apiSilent = apiDown != nil
        // Redis silent: a finding at once if the API server has answered since (the silence is
        // Redis's or its node's); otherwise ask the API server now, so the next refresh knows
        // which of the two is silent (a hung control plane also stalls `kubectl exec`).
        if r.pending, let since = r.pendingSince, apiDown == nil {
            let silent = Int(t.timeIntervalSince(since).rounded(.down))
            if let a = apiAnsweredAt, a > since {
                input.redisSilentSeconds = silent
            } else if silent >= FindingRules.redisSilentSeconds - 1, useWatches {
                checkLiveness(t, now: true)
            }
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
        if first {
            let nodeName = pod?.spec?.nodeName
            Task {
                async let ev: Void = self.refreshEvents(t)
                async let metrics: Void = self.metricsForRefresh(t)
                if let nodeName { await self.fetchNode(nodeName, t) }
                _ = await ev
                _ = await metrics
            }
        }
        return snap
    }

    /// The Redis probe of this refresh, bounded by `redisWait` when set (see there).
    private func redisResult(_ t: Date) async -> RedisResult {
        // Pod replaced or redis container restarted: the session's redis-cli would only wait out
        // its timeout. Start a new one now and drop a probe still waiting on the old one.
        // A session opened before the pod was known is adopted, not restarted.
        if session != nil, sessionIdentity == nil { sessionIdentity = redisIdentity }
        if let old = session, sessionIdentity != nil, sessionIdentity != redisIdentity {
            session = nil
            Task { await old.close() }
            redisInFlight = nil
            redisBackoff = 0
            redisBackoffUntil = .distantPast
        }
        guard let wait = redisWait else { return await probeRedis(t) }
        let pending: (task: Task<RedisResult, Never>, since: Date)
        if let p = redisInFlight {
            pending = p
        } else {
            pending = (Task { await self.probeRedis(t) }, t)
            redisInFlight = pending
        }
        if let r = await WaitBounded.value(of: pending.task, within: wait) {
            redisInFlight = nil
            return r
        }
        let secs = Int(now().timeIntervalSince(pending.since).rounded())
        return RedisResult(error: "no reply from redis-cli for \(secs)s (still waiting)", pending: true, pendingSince: pending.since)
    }

    // MARK: - Kubernetes objects

    private func refreshKubernetes(_ t: Date) async {
        if useWatches { checkLiveness(t) }
        let apiUp = apiDown == nil
        // The first frame comes from one-shot gets; the watches start with the second refresh
        // (starting them at once would only double the first refresh's process starts).
        if useWatches, snapshotsTaken > 0 { startWatchesIfNeeded() }
        // Pod: newest watch document, else a one-shot get (rate-limited, backed off on failure).
        var podFromWatch = false
        if let w = podWatch {
            for doc in w.poll(now: t, mayStart: apiUp) {
                if let p = try? KubeJSON.pod(from: doc) { pod = p; podStamp = t; podError = nil; lastGood["pod"] = t; podFromWatch = true }
            }
            // A live watch keeps the object current as long as the API server is known to answer:
            // its age is the API server's last answer, not the process's existence.
            if apiUp, w.isHealthy, podStamp != nil { podFromWatch = true; lastGood["pod"] = max(lastGood["pod"] ?? t, apiAnsweredAt ?? t) }
        }
        if let down = apiDown {
            // Unreachable: the probe asks; the pod panel keeps its last object, stale.
            podError = down
        } else if !podFromWatch, t >= podPollNext {
            let r = await kubectl(["get", "pod", target.pod, "-o", "json"], label: "probe:pod")
            if r.succeeded, let p = try? KubeJSON.pod(from: r.stdout) {
                pod = p; podStamp = t; podError = nil; lastGood["pod"] = t; podBackoff = 0
                podPollNext = t
                apiAnswered(t)
            } else {
                let failure = failureMessage(r)
                podError = failure
                apiUnreachable(failure, t)
                if failure.kind == KubectlError.Kind.notFound.rawValue || failure.message.contains("not found") { pod = nil }
                podBackoff = min(max(podBackoff * 2, 1), 30)
                podPollNext = t.addingTimeInterval(podBackoff)
            }
        }
        // Node.
        let nodeName = pod?.spec?.nodeName
        if useWatches, snapshotsTaken > 0, let nodeName, nodeName != watchedNode {
            nodeWatch?.stop()
            nodeWatch = KubeWatch(argv: target.kubectlArgv(["get", "node", nodeName, "-o", "json", "--watch"]))
            watchedNode = nodeName
            node = nil
        }
        var nodeFromWatch = false
        if let w = nodeWatch {
            for doc in w.poll(now: t, mayStart: apiUp) {
                if let n = try? KubeJSON.node(from: doc) { node = n; nodeError = nil; lastGood["node"] = t; nodeFromWatch = true }
            }
            if apiUp, w.isHealthy, node != nil { nodeFromWatch = true; lastGood["node"] = max(lastGood["node"] ?? t, apiAnsweredAt ?? t) }
        }
        if let down = apiDown {
            if node != nil || nodeError != nil { nodeError = down }
        } else if useWatches, snapshotsTaken == 0 {
            // First frame of the dashboard: not held for the node (it needs the pod first); it is
            // fetched right after the first snapshot (see `snapshot()`).
            nodePollNext = t.addingTimeInterval(5)
        } else if !nodeFromWatch, let nodeName, t >= nodePollNext {
            let r = await kubectl(["get", "node", nodeName, "-o", "json"], label: "probe:node")
            if r.succeeded, let n = try? KubeJSON.node(from: r.stdout) {
                node = n; nodeError = nil; lastGood["node"] = t; nodePollNext = t.addingTimeInterval(useWatches ? 5 : 0)
                apiAnswered(t)
            } else {
                nodeError = failureMessage(r); nodePollNext = t.addingTimeInterval(15)
                apiUnreachable(nodeError!, t)
            }
        }
    }

    /// Events of the pod (independent of the pod object: runs beside it).
    private func refreshEvents(_ t: Date) async {
        var eventsFromWatch = false
        let apiUp = apiDown == nil
        if let w = eventWatch {
            for doc in w.poll(now: t, mayStart: apiUp) {
                if let e = try? JSONDecoder().decode(KubeEvent.self, from: doc) { addEvent(e) }
                else if let list = try? KubeJSON.events(from: doc) { list.forEach(addEvent) }
                eventsError = nil; lastGood["events"] = t
            }
            if apiUp, w.isHealthy { eventsFromWatch = true; lastGood["events"] = max(lastGood["events"] ?? t, apiAnsweredAt ?? t); eventsError = nil }
        }
        if let down = apiDown {
            eventsError = down
        } else if !eventsFromWatch, t >= eventsPollNext {
            let r = await kubectl(["get", "events", "--field-selector", "involvedObject.name=\(target.pod)", "-o", "json"], label: "probe:events")
            if r.succeeded, let list = try? KubeJSON.events(from: r.stdout) {
                events = [:]; list.forEach(addEvent); eventsError = nil; lastGood["events"] = t
                eventsPollNext = t.addingTimeInterval(useWatches ? 5 : 10)
                apiAnswered(t)
            } else {
                eventsError = failureMessage(r); eventsPollNext = t.addingTimeInterval(30)
                apiUnreachable(eventsError!, t)
            }
        }
    }

    private func fetchNode(_ name: String, _ t: Date) async {
        let r = await kubectl(["get", "node", name, "-o", "json"], label: "probe:node")
        if r.succeeded, let n = try? KubeJSON.node(from: r.stdout) {
            if node == nil { node = n }
            nodeError = nil; lastGood["node"] = t
        } else {
            nodeError = failureMessage(r)
        }
    }

    private func addEvent(_ e: KubeEvent) {
        let key = e.metadata?.uid ?? e.metadata?.name ?? "\(e.reason ?? "")|\(e.message ?? "")"
        events[key] = e
        if events.count > 500 {
            // Keep the newest 300.
            let keep = events.sorted { KubeEvent.newestFirst($0.value, $1.value) }.prefix(300)
            events = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
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

    // MARK: - API liveness

    /// A read of the API's own objects failed for not reaching the API server (refused,
    /// unauthorized, TLS, no answer in time): it is known down now, without waiting for the
    /// probe; from here only the probe asks, until it answers.
    private func apiUnreachable(_ f: Failure, _ t: Date) {
        guard useWatches, apiDown == nil, !f.killed, let k = f.kind.flatMap(KubectlError.Kind.init(rawValue:)), ClusterAccess.state(for: k) != nil else { return }
        apiDown = f
        apiDownSince = t
        livenessBackoff = 1
        livenessNext = t.addingTimeInterval(livenessBackoff)
        let wait = livenessBackoff
        Task {
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            await self.checkLiveness(self.now())
        }
    }

    private func apiAnswered(_ t: Date) {
        if apiAnsweredAt.map({ $0 < t }) ?? true { apiAnsweredAt = t }
    }

    /// Starts the liveness probe when the API server has been silent for `livenessInterval` (or is
    /// known down and its back-off has passed). Runs beside the refreshes: a hung server holds it
    /// for its --request-timeout, not the frame. While the server is known down a second probe
    /// may start before the first has timed out, so a hung server that comes back is seen within
    /// the back-off, not the back-off plus a time-out.
    private func checkLiveness(_ t: Date, now asap: Bool = false) {
        guard t >= livenessNext || asap, livenessInFlight < (apiDown == nil ? 1 : 2) else { return }
        if !asap, apiDown == nil, let a = apiAnsweredAt, t.timeIntervalSince(a) < livenessInterval { return }
        if apiDown == nil, apiAnsweredAt == nil, snapshotsTaken == 0 { return }  // the first refresh's reads answer that
        livenessInFlight += 1
        livenessProbes += 1
        livenessNext = t.addingTimeInterval(apiDown == nil ? livenessInterval : max(livenessBackoff, 1))
        Task { await self.runLiveness(started: t) }
    }

    private func runLiveness(started: Date) async {
        let argv = target.kubectlArgv(["get", "--raw", "/version", "--request-timeout=\(livenessRequestTimeout)"])
        let r = await runner.run(CommandSpec(argv, timeout: probeTimeout, outputLimit: 1 << 16, label: "probe:liveness"))
        let t = now()
        livenessInFlight -= 1
        if r.succeeded {
            apiAnswered(t)
            livenessBackoff = 0
            livenessNext = t
            if apiDown != nil { resumeAll(t) }
            return
        }
        let f = failureMessage(r)
        // Killed at our limit, far past its own --request-timeout: kubectl is stuck, which says
        // nothing either way; ask again later.
        if f.killed { livenessNext = t.addingTimeInterval(livenessInterval); return }
        // An answer that is an error (a 500, a 429, a 404) still says the server answers.
        if let k = f.kind.flatMap(KubectlError.Kind.init(rawValue:)), ClusterAccess.state(for: k) == nil {
            apiAnswered(t); livenessNext = t; return
        }
        // The server answered something since this probe started (a later probe, a watch): this
        // failure is older news.
        if let a = apiAnsweredAt, a > started { return }
        if apiDown == nil { apiDownSince = t }
        apiDown = f.kind == nil ? Failure(message: "API server not answering: \(f.message)", kind: KubectlError.Kind.timeout.rawValue) : f
        livenessBackoff = min(max(livenessBackoff * 2, 1), livenessMaxBackoff)
        livenessNext = max(livenessNext, t.addingTimeInterval(livenessBackoff))
        // The next probe does not wait for a refresh to notice its time has come.
        let wait = max(livenessNext.timeIntervalSince(t), 0.05)
        Task {
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            await self.checkLiveness(self.now())
        }
    }

    /// The API server answers again: every source at once (back-offs reset, watches restarted,
    /// since one attached to a hung connection may never deliver again).
    private func resumeAll(_ t: Date) {
        apiDown = nil
        apiDownSince = nil
        podPollNext = .distantPast; podBackoff = 0
        nodePollNext = .distantPast
        eventsPollNext = .distantPast
        metricsNext = .distantPast; metricsBackoff = 0
        redisBackoff = 0; redisBackoffUntil = .distantPast
        // A Redis probe still waiting on a session the outage broke would only report that.
        redisInFlight = nil
        // Reads that failed only for the outage are asked again now; their errors are history.
        func outageOnly(_ f: Failure?) -> Bool {
            guard let k = f?.kind.flatMap(KubectlError.Kind.init(rawValue:)) else { return false }
            return ClusterAccess.state(for: k) != nil
        }
        if outageOnly(metricsError) { metricsError = nil }
        if outageOnly(logsError) { logsError = nil }
        for w in [podWatch, nodeWatch, eventWatch] { w?.restartNow() }
    }

    private func startWatchesIfNeeded() {
        if podWatch == nil {
            podWatch = KubeWatch(argv: target.kubectlArgv(["get", "pod", target.pod, "-o", "json", "--watch"]))
        }
        if eventWatch == nil {
            eventWatch = KubeWatch(argv: target.kubectlArgv(["get", "events", "--field-selector", "involvedObject.name=\(target.pod)", "-o", "json", "--watch"]))
        }
    }

    // MARK: - Exporter

    private func metricsForRefresh(_ t: Date) async {
        guard redisWait != nil else { await refreshMetrics(t); return }
        guard metricsTask == nil, t >= metricsNext else { return }
        metricsTask = Task {
            await self.refreshMetrics(t)
            self.metricsTask = nil
        }
    }

    private func refreshMetrics(_ t: Date) async {
        guard t >= metricsNext, apiDown == nil else { return }
        let path = "/api/v1/namespaces/\(target.namespace)/pods/\(target.pod):9121/proxy/metrics"
        let r = await kubectl(["get", "--raw", path], label: "probe:exporter")
        if r.succeeded {
            metricsText = SnapshotBuilder.exporterUpLines(r.stdoutText); metricsError = nil; lastGood["exporter"] = t; metricsBackoff = 0
            metricsNext = t.addingTimeInterval(metricsInterval)
            apiAnswered(t)
        } else {
            let f = failureMessage(r)
            // The API server's own error (a 500, a 429) says nothing about the exporter: keep its last text.
            if f.kind != KubectlError.Kind.serverError.rawValue { metricsText = nil }
            metricsError = f
            metricsBackoff = f.kind == KubectlError.Kind.forbidden.rawValue
                ? Self.forbiddenRetry : min(max(metricsBackoff * 2, metricsInterval), 120)
            metricsNext = t.addingTimeInterval(metricsBackoff)
        }
    }

    // MARK: - Previous container logs (once per restart)

    private func refreshPreviousLogs() async {
        guard let statuses = pod?.status?.containerStatuses,
              let redis = statuses.first(where: { $0.name == target.container }),
              let restarts = redis.restartCount, restarts > 0 else { previousLogs = nil; logsError = nil; return }
        if previousLogs?.restarts == restarts { return }
        let r = await kubectl(["logs", target.pod, "-c", target.container, "--previous", "--tail", "200"], label: "probe:logs")
        if r.succeeded {
            previousLogs = (restarts, r.stdoutText); logsError = nil
        } else {
            logsError = failureMessage(r)
            previousLogs = (restarts, "")
        }
    }

    /// Once per container run, when Redis answers: a Redis that truncated a damaged AOF at load
    /// starts fine, so only its *current* log says so (`--previous` is the run before).
    private func refreshCurrentLogScan(redisUp: Bool) async {
        guard redisUp, !logScanInFlight, let id = redisIdentity, currentLogScan?.identity != id else { return }
        logScanInFlight = true
        defer { logScanInFlight = false }
        let r = await kubectl(["logs", target.pod, "-c", target.container, "--tail", "500"], label: "probe:logs-current")
        guard r.succeeded else { return }  // tried again on the next refresh
        currentLogScan = (id, LogScan.scan(r.stdoutText).filter { $0.kind == .aofTruncated }.map(\.line))
    }

    // MARK: - Redis through the persistent session

    private struct RedisResult: Sendable {
        var info: String?
        var config: [String: String]?
        var queues: [QueueCounts]?
        var error: String?
        /// `KubectlError.Kind` raw value when the error came from kubectl (exec could not run).
        var errorKind: String?
        /// The first queue discovery walk has not finished (a large keyspace): no list yet.
        var queuesSearching = false
        /// The probe is still running (the refresh did not wait for it).
        var pending = false
        /// When the still-running probe started (Redis has not answered since).
        var pendingSince: Date?
    }

    private static let configNames = ["appendonly", "appendfsync", "maxmemory", "maxmemory-policy", "appenddirname", "appendfilename", "dir"]

    private func redisSession() -> LineSession {
        if let s = session { return s }
        // The marker is an unknown command: its error comes back even while Redis answers
        // LOADING, BUSY or NOAUTH to everything else (ECHO would not), so a batch never hangs.
        let s = LineSession(argv: target.redisCLIArgv, runner: runner, timeout: .seconds(5), label: "session:redis-cli",
                            prelude: sessionPrelude, marker: SessionMarker.unknownCommand)
        session = s
        sessionIdentity = redisIdentity
        return s
    }

    /// Redis answered NOAUTH: reads the password variable in the pod (once per pod and container
    /// run, and only when the container has it, as far as the pod says) and starts a session that
    /// sends it first. True when there is a new session to try.
    private func authenticateSession() async -> Bool {
        let id = redisIdentity ?? "?"
        guard passwordReadFor != id, pod == nil || podHasEnv(target.passwordEnv) else { return false }
        passwordReadFor = id
        guard let password = await RedisAuth.podPassword(target, runner: runner, timeout: probeTimeout) else { return false }
        let prelude = RedisAuth.prelude(password: password)
        if prelude == sessionPrelude { return false }
        sessionPrelude = prelude
        if let old = session { Task { await old.close() } }
        session = nil
        return true
    }

    private func podHasEnv(_ name: String) -> Bool {
        guard let c = pod?.spec?.containers?.first(where: { $0.name == target.container }) else { return false }
        return c.env?.contains { $0.name == name } ?? false
    }

    /// Which pod and which run of its redis container the data comes from.
    private var redisIdentity: String? {
        guard let pod else { return nil }
        let restarts = pod.status?.containerStatuses?.first(where: { $0.name == target.container })?.restartCount
        return "\(pod.metadata?.uid ?? "?")/\(restarts.map(String.init) ?? "?")"
    }

    /// Whether the redis container is running, as far as the pod says (nil when unknown).
    private var redisContainerRunning: Bool? {
        guard let st = pod?.status?.containerStatuses?.first(where: { $0.name == target.container }) else {
            return pod == nil ? nil : false
        }
        return st.state?.running != nil
    }

    private func probeRedis(_ t: Date) async -> RedisResult {
        if redisContainerRunning == false {
            return RedisResult(error: "redis container is not running")
        }
        if t < redisBackoffUntil {
            // A 403 stays a 403: report kubectl's refusal, not a reconnect.
            if let d = redisDenied { return RedisResult(error: d.message, errorKind: d.kind) }
            return RedisResult(error: "reconnecting (backing off \(Int(redisBackoff))s)")
        }
        // While the API server is known unreachable a new `kubectl exec` would only be refused:
        // the liveness probe asks instead. A session still open (a hung API server does not end
        // it) goes on answering.
        if let down = apiDown, await session?.isRunning != true {
            return RedisResult(error: down.message, errorKind: down.kind)
        }
        let s = redisSession()
        // Default INFO (Errorstats included since Redis 6.2): what the snapshot reads, at about
        // half the bytes of INFO all (no Commandstats or Latencystats, ~60 lines per refresh).
        var lines = ["PING", "INFO"]
        lines += Self.configNames.map { "CONFIG GET \($0)" }
        if t >= discoveryNext {
            lines.append(BullMQ.discoveryCommand(prefix: target.bullmqPrefix, cursor: discoveryCursor, count: 1000))
        }
        var queues = queueNames
        do {
            let replies = try await s.send(lines)
            if RedisAuth.wantsPassword(replies[0]) {
                if await authenticateSession() { return await probeRedis(t) }
                if let refused = RedisAuth.refusal(preludeReplies: await s.preludeReplies, stderrTail: await s.stderrTail) {
                    return RedisResult(error: refused)
                }
            }
            // The queues' counts reply one line each: one marker for the whole group.
            let queueReplyLines = try await oneLineEach(s, queues.flatMap(queueLines))
            redisBackoff = 0
            redisDenied = nil
            var result = RedisResult()
            let ping = replies[0].trimmingCharacters(in: .whitespacesAndNewlines)
            if ping != "PONG" { result.error = ping }
            let info = replies[1]
            if info.contains(":") && !info.hasPrefix("NOAUTH") && !info.hasPrefix("WRONGPASS") {
                result.info = info
                lastGood["redis"] = t
            } else if result.error == nil {
                result.error = info.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var config: [String: String] = [:]
            for (i, _) in Self.configNames.enumerated() {
                config.merge(RedisConfig.parseGetReply(replies[2 + i])) { a, _ in a }
            }
            result.config = config.isEmpty ? nil : config
            var idx = 2 + Self.configNames.count
            if t >= discoveryNext {
                absorbDiscovery(replies[idx], at: t)
                idx += 1
                // One-shot (status, check, runbooks) and the dashboard's first refresh: finish the walk
                // now, in bounded SCANs, so the snapshot lists the real queues. Later dashboard
                // refreshes spread it, one SCAN each.
                var rounds = 0
                while !useWatches || queueNames.isEmpty && !queueListKnown, discoveryNext <= t, discoveryCursor != "0", rounds < Self.oneShotDiscoveryRounds {
                    rounds += 1
                    guard let r = try? await s.send([BullMQ.discoveryCommand(prefix: target.bullmqPrefix, cursor: discoveryCursor, count: 1000)]).first else { break }
                    absorbDiscovery(r, at: t)
                }
            }
            var queueReplies: [String: ArraySlice<String>] = [:]
            var qi = 0
            for q in queues where qi + Self.queueLineCount <= queueReplyLines.count {
                queueReplies[q] = queueReplyLines[qi..<(qi + Self.queueLineCount)]
                qi += Self.queueLineCount
            }
            // Queues found just now (first snapshot): count them in a second small batch.
            let fresh = queueNames.filter { queueReplies[$0] == nil }
            if !fresh.isEmpty, let r = try? await oneLineEach(s, fresh.flatMap(queueLines)) {
                var i = 0
                for q in fresh { queueReplies[q] = r[i..<(i + Self.queueLineCount)]; i += Self.queueLineCount }
                queues += fresh
            }
            result.queues = await queueCounts(queues.filter { queueNames.contains($0) }, queueReplies, session: s, now: t)
            result.queuesSearching = !queueListKnown
            return result
        } catch {
            let failure = Self.sessionFailure(error)
            if failure.kind == KubectlError.Kind.forbidden.rawValue {
                // RBAC does not change by retrying every second: one `kubectl exec` per
                // `forbiddenRetry`, the refusal remembered in between.
                redisDenied = failure
                redisBackoff = Self.forbiddenRetry
            } else {
                redisDenied = nil
                redisBackoff = min(max(redisBackoff * 2, 1), 30)
            }
            redisBackoffUntil = t.addingTimeInterval(redisBackoff)
            return RedisResult(error: failure.message, errorKind: failure.kind)
        }
    }

    /// One-line replies through one marker; the group again with a marker per line when a reply
    /// spans lines (an error, a value with a newline in it).
    private func oneLineEach(_ s: LineSession, _ lines: [String]) async throws -> [String] {
        if lines.isEmpty { return [] }
        if let r = try await s.sendOneLineEach(lines, opener: ("ECHO __rrb_group__", "__rrb_group__")) { return r }
        return try await s.send(lines)
    }

    /// A one-shot snapshot walks at most this many SCAN COUNT 1000 rounds to find queues.
    static let oneShotDiscoveryRounds = 50
    /// Per queue: BullMQ's 8 counts, the oldest waiting job id, whether the queue is paused, and
    /// the job a worker took last (BullMQ moves jobs to the head of `active`).
    static let queueLineCount = 11

    private func queueLines(_ q: String) -> [String] {
        let p = target.bullmqPrefix
        return BullMQ.countCommands(prefix: p, queue: q)
            + [RedisCLI.line(["LINDEX", "\(p):\(q):wait", "-1"]), RedisCLI.line(["HGET", "\(p):\(q):meta", "paused"]),
               RedisCLI.line(["LINDEX", "\(p):\(q):active", "0"])]
    }

    private func absorbDiscovery(_ reply: String, at t: Date) {
        if let scan = BullMQ.parseScanReply(reply) {
            discoveryFound.formUnion(BullMQ.queueNames(fromMetaKeys: scan.keys, prefix: target.bullmqPrefix))
            discoveryCursor = scan.cursor
            if scan.cursor == "0" {
                queueListKnown = true
                queueNames = discoveryFound.sorted()
                discoveryFound = []
                discoveryNext = t.addingTimeInterval(queueDiscoveryInterval)
            }
            // else continue the cursor on the next refresh: one bounded SCAN per refresh.
        } else {
            discoveryNext = t.addingTimeInterval(queueDiscoveryInterval)
        }
    }

    /// Counts per queue, plus how long the oldest waiting job has waited (BullMQ pushes new jobs
    /// at the head of `wait`, so its tail is the oldest; its hash has the `timestamp` in ms).
    /// Jobs that wait long while the queue is not paused mean no worker takes them: a backlog
    /// that one snapshot can see, without comparing refreshes.
    private func queueCounts(_ queues: [String], _ replies: [String: ArraySlice<String>], session s: LineSession, now t: Date) async -> [QueueCounts] {
        let p = target.bullmqPrefix
        let prev = previousSnapshot?.queues ?? []
        var counts: [QueueCounts] = []
        var oldest: [(index: Int, id: String)] = []
        var newestActive: [(index: Int, id: String)] = []
        for q in queues {
            guard let r = replies[q], r.count == Self.queueLineCount else { continue }
            let lines = Array(r)
            var c = BullMQ.parseCounts(prefix: p, queue: q, reply: lines[0..<8].joined(separator: "\n"), previous: prev)
            let paused = lines[9].trimmingCharacters(in: .whitespacesAndNewlines)
            c.pausedFlag = paused == "1"
            let id = lines[8].trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty, !id.contains(" "), (c.waiting ?? 0) > 0 { oldest.append((counts.count, id)) }
            let act = lines[10].trimmingCharacters(in: .whitespacesAndNewlines)
            if !act.isEmpty, !act.contains(" "), (c.waiting ?? 0) > 0 { newestActive.append((counts.count, act)) }
            counts.append(c)
        }
        let asks = oldest.map { RedisCLI.line(["HGET", "\(p):\(queues[$0.index]):\($0.id)", "timestamp"]) }
            + newestActive.map { RedisCLI.line(["HGET", "\(p):\(queues[$0.index]):\($0.id)", "processedOn"]) }
        if !asks.isEmpty, let r = try? await oneLineEach(s, asks) {
            func seconds(_ reply: String) -> Int64? {
                Double(reply.trimmingCharacters(in: .whitespacesAndNewlines)).map { max(0, Int64(t.timeIntervalSince1970 - $0 / 1000)) }
            }
            for (k, o) in oldest.enumerated() where k < r.count { counts[o.index].oldestWaitingSeconds = seconds(r[k]) }
            for (k, a) in newestActive.enumerated() where oldest.count + k < r.count {
                counts[a.index].lastJobStartedSeconds = seconds(r[oldest.count + k])
            }
        }
        return counts
    }

    static func sessionFailure(_ error: any Error) -> Failure {
        if let e = error as? LineSessionError {
            switch e {
            case .childExited(_, let tail):
                let t = tail.trimmingCharacters(in: .whitespacesAndNewlines)
                if !t.isEmpty {
                    let k = KubectlError.classify(stderr: t, exitCode: 1)
                    return Failure(message: k.description, kind: k.kind.rawValue)
                }
                return Failure(message: e.description, kind: nil)
            default: return Failure(message: e.description, kind: nil)
            }
        }
        return Failure(message: "\(error)", kind: nil)
    }

    // MARK: - On demand

    public func logs(container: String, previous: Bool, tail: Int = 500) async -> Result<String, ProbeFailure> {
        var args = ["logs", target.pod, "-c", container, "--tail", String(tail)]
        if previous { args.append("--previous") }
        let r = await kubectl(args, label: "logs")
        return r.succeeded ? .success(r.stdoutText) : .failure(ProbeFailure(failureMessage(r).message))
    }

    /// Warning and normal events of the pod, newest first.
    public func podEvents() -> [KubeEvent] {
        events.values.sorted(by: KubeEvent.newestFirst)
    }

    /// Sends read-only lines through the persistent session (memory analysis, runbook checks).
    public func redisSend(_ lines: [String]) async throws -> [String] {
        try await redisSession().send(lines)
    }

    // MARK: - kubectl one-shots

    /// A one-shot read. Without the user's own --request-timeout it gets one shorter than our
    /// limit on the process, so a silent API server is reported by kubectl as a time-out (a
    /// cluster state) before we would have to kill a kubectl that says nothing.
    private func kubectl(_ args: [String], label: String) async -> CommandResult {
        let bounded = target.requestTimeout == nil ? args + ["--request-timeout=\(Self.oneShotRequestTimeout)"] : args
        return await runner.run(CommandSpec(target.kubectlArgv(bounded), timeout: probeTimeout, outputLimit: 16 << 20, label: label))
    }

    /// kubectl's --request-timeout for one-shot reads (probeTimeout, the kill, is 12 s).
    static let oneShotRequestTimeout = "5s"

    private func failureMessage(_ r: CommandResult) -> Failure {
        switch r.termination {
        // Our own limit on the process, past twice kubectl's --request-timeout (the dispatcher's
        // /version, then the read): kubectl got no answer it could report in time. For a one-shot
        // `status`/`check` a silent API server (or a discovery retried against one) is by far the
        // likeliest cause, so it counts as a time-out there (only the API's own objects make that
        // a cluster state). The dashboard has its liveness probe to tell a silent server from a
        // stuck kubectl, and keeps this one out of the cluster state.
        case .timedOut:
            return Failure(message: "kubectl timed out after \(probeTimeout) (it reported nothing: the API server or kubectl hangs)",
                           kind: useWatches ? nil : KubectlError.Kind.timeout.rawValue, killed: true)
        case .failedToStart(let why): return Failure(message: why, kind: nil)
        case .exited(0):
            // Success, but the output did not decode (cut short, an HTML error page, wrong types).
            do { _ = try KubeJSON.pods(from: r.stdout) } catch {
                return Failure(message: "kubectl output unreadable (\(r.stdout.count) bytes): \(error.description)", kind: nil)
            }
            return Failure(message: "kubectl output is not the expected object (\(r.stdout.count) bytes)", kind: nil)
        default:
            let err = r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            if err.isEmpty { return Failure(message: "kubectl \(r.termination)", kind: nil) }
            let k = KubectlError.classify(stderr: err, exitCode: r.exitCode ?? 1)
            return Failure(message: k.description, kind: k.kind.rawValue)
        }
    }
}

/// Awaits a task's value for at most a duration; the task itself is left running.
enum WaitBounded {
    final class Once<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var cont: CheckedContinuation<T?, Never>?
        init(_ c: CheckedContinuation<T?, Never>) { cont = c }
        func resume(_ v: T?) {
            lock.lock(); let c = cont; cont = nil; lock.unlock()
            c?.resume(returning: v)
        }
    }

    static func value<T: Sendable>(of task: Task<T, Never>, within d: Duration) async -> T? {
        await withCheckedContinuation { (c: CheckedContinuation<T?, Never>) in
            let once = Once(c)
            let timer = Task { if (try? await Task.sleep(for: d)) != nil { once.resume(nil) } }
            Task {
                let v = await task.value
                timer.cancel()
                once.resume(v)
            }
        }
    }
}

/// A failed read: the operator's message and, when kubectl failed, its classified kind.
struct Failure: Sendable, Equatable {
    var message: String
    var kind: String?
    /// We killed kubectl at our own limit: it reported nothing itself (it may be stuck, not the
    /// API server), so this alone never marks the API server down in the dashboard.
    var killed = false
}

public struct ProbeFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
