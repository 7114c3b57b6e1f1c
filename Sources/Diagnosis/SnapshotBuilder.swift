import Foundation

/// Everything one refresh gathered. Each source is optional: nil means "not read" and leaves the
/// matching snapshot values nil (the failure belongs in `errors`).
public struct SnapshotInputs: Sendable {
    public var now: Date
    public var context: String?
    public var namespace: String?
    /// The pod name asked for (used when the pod could not be read).
    public var podName: String?
    /// Name of the redis container in the pod spec.
    public var redisContainer: String = "redis"
    public var pod: KubePod?
    public var node: KubeNode?
    /// Events of the namespace or the pod; filtered to the pod's Warning events.
    public var events: [KubeEvent]?
    /// Raw `INFO all` text.
    public var infoText: String?
    /// `CONFIG GET` results, name → value (see `RedisConfig.parseGetReply`).
    public var config: [String: String]?
    /// The exporter's `/metrics` text.
    public var metricsText: String?
    /// `kubectl logs --previous` of the redis container.
    public var previousLogText: String?
    /// Queue counts of this refresh (see `BullMQ.parseCounts`); trends are filled from `previous`.
    public var queues: [QueueCounts]?
    /// The walk that finds the queues has not finished once yet (a large keyspace).
    public var queuesSearching = false
    /// The last snapshot, for rates and deltas.
    public var previous: Snapshot?
    /// An error text the Redis session saw this refresh (e.g. a PING reply "LOADING ...",
    /// "MISCONF ...", or redis-cli's "Could not connect to Redis ...: Connection refused").
    public var redisSessionError: String?
    public var errors: [SourceError] = []
    /// The API server itself did not answer a request of its own (the liveness probe): Redis
    /// answering through a `kubectl exec` session opened before does not say it answers now.
    public var apiSilent = false
    /// How long the Redis probe of this refresh has waited for a reply with no answer at all,
    /// set only once the API server has answered since Redis fell silent (so the silence is
    /// Redis's, or its node's, not the control plane's).
    public var redisSilentSeconds: Int?
    /// Every pod's roles and Sentinel when the StatefulSet has more than one replica (nil: one).
    public var replication: ReplicationView?

    public init(now: Date) { self.now = now }
}

/// Assembles a `Snapshot` from probe outputs. Pure: same inputs, same snapshot.
public enum SnapshotBuilder {
    public static func build(_ input: SnapshotInputs) -> Snapshot {
        var s = Snapshot()
        s.takenAt = RFC3339.format(input.now)
        s.context = input.context
        s.namespace = input.namespace
        s.errors = input.errors

        // Pod, node, events
        if let pod = input.pod {
            s.pod = podSummary(pod, node: input.node, events: input.events ?? [], redisContainer: input.redisContainer)
            s.memory.limitBytes = s.pod?.redisMemoryLimitBytes
            s.exporter.present = (pod.spec?.containers ?? []).contains(where: isExporter)
            if let rc = redisContainer(in: pod, named: input.redisContainer) {
                let idx = (pod.spec?.containers ?? []).firstIndex { $0 == rc }
                s.manifest = ManifestConfig.parse(command: rc.command ?? [], args: rc.args ?? [], containerIndex: idx)
            }
        }

        // Redis INFO
        let info = input.infoText.map(RedisInfo.parse)
        let cfg = input.config ?? [:]
        if let info, !info.isEmpty { fill(&s, info: info) }

        // CONFIG GET
        if let v = cfg["appendonly"] { s.config.appendonly = v }
        if let v = cfg["appendfsync"] { s.config.appendfsync = v }
        if let v = cfg["maxmemory-policy"] { s.config.maxmemoryPolicy = v }
        if let v = cfg["maxmemory"] { s.config.maxmemory = Int64(v) }
        if let v = cfg["appenddirname"] { s.config.appenddirname = v }
        if let v = cfg["appendfilename"] { s.config.appendfilename = v }
        if let v = cfg["dir"] { s.config.dir = v }
        if let v = s.config.maxmemory { s.memory.maxmemoryBytes = v }
        if let v = s.config.maxmemoryPolicy { s.memory.policy = v }
        if let v = s.config.appendfsync { s.persistence.appendfsync = v }
        if let v = s.config.appendonly { s.persistence.aofEnabled = (v == "yes") }

        // Rates
        if let prev = input.previous, let prevAt = prev.takenAt.flatMap(RFC3339.parse) {
            let dt = input.now.timeIntervalSince(prevAt)
            if dt > 0, let cur = s.memory.oomRejections, let before = prev.memory.oomRejections, cur >= before {
                s.memory.oomRejectionsPerSec = Double(cur - before) / dt
            }
        }

        // Exporter
        if let text = input.metricsText {
            s.exporter.up = PrometheusText.parse(Self.exporterUpLines(text)).redisUp
        }

        // Logs
        if let log = input.previousLogText {
            s.logEvidence = LogScan.scan(log).map(\.evidence)
        }

        // Queues
        if let queues = input.queues {
            s.queues = queues.map { BullMQ.withTrend($0, previous: input.previous?.queues ?? []) }
            s.queuesSearching = input.queuesSearching ? true : nil
        }

        // Can the cluster be read at all? Failures to reach it say nothing about Redis.
        s.cluster = ClusterAccess.derive(errors: input.errors, previous: input.previous?.cluster, now: s.takenAt,
                                         redisAnswered: input.infoText != nil && !input.apiSilent)
        let clusterFailed = s.cluster?.isReachable == false

        // Redis state (never from a kubectl exec that could not reach the API server)
        let redisErrors = input.errors.filter { $0.source == "redis" && !ClusterAccess.isClusterFailure($0) }.map(\.message)
        let sessionText = clusterFailed ? nil : input.redisSessionError
        let stateText = ([sessionText].compactMap { $0 } + redisErrors).first { RedisReplyState.classify($0) != nil }
        if let t = stateText, let st = RedisReplyState.classify(t) {
            s.redisState = st
            s.redisError = t.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let info, !info.isEmpty {
            s.redisState = s.persistence.loading == true ? "loading" : "ok"
        }
        // Redis (or its node) stopped answering while the API server still answers: say so at
        // once, not only in the header, and long before the node's status changes.
        if s.redisState == nil, !clusterFailed, let silent = input.redisSilentSeconds, silent >= FindingRules.redisSilentSeconds {
            s.redisState = "unreachable"
            s.redisError = "no reply from redis-cli for \(silent)s while the API server answers"
        }
        if s.redisState == "loading" { s.persistence.loading = true }
        // Not read because this user may not exec into the pod: say so, in plain words.
        if s.redisState == nil, info == nil, let d = AccessDenial.all(input.errors).first(where: { $0.source == "redis" }) {
            s.redisError = d.plain
        }

        s.replication = input.replication
        s.adr = Findings.adrChecks(s)
        s.findings = Findings.evaluate(s)
        // While the cluster cannot be read, the findings of the last refresh that could read it
        // stay (the dashboard marks them stale); nothing new is concluded from missing data.
        if clusterFailed, let prev = input.previous {
            let from = prev.cluster?.isReachable == false ? prev.cluster?.findingsFrom : prev.takenAt
            if from != nil {
                s.findings = prev.findings
                s.cluster?.findingsFrom = from
            }
        }
        return s
    }

    static func isExporter(_ c: KubeContainer) -> Bool {
        let n = (c.name ?? "").lowercased(), img = (c.image ?? "").lowercased()
        return n.contains("exporter") || img.contains("redis_exporter") || img.contains("redis-exporter")
    }

    /// The redis container: by name, else the first non-exporter container whose image mentions redis.
    static func redisContainer(in pod: KubePod, named name: String) -> KubeContainer? {
        let cs = pod.spec?.containers ?? []
        return cs.first { $0.name == name }
            ?? cs.first { !isExporter($0) && ($0.image ?? "").lowercased().contains("redis") }
    }

    static func podSummary(_ pod: KubePod, node: KubeNode?, events: [KubeEvent], redisContainer name: String) -> PodSummary {
        var p = PodSummary(name: pod.metadata?.name ?? "")
        p.phase = pod.status?.phase
        p.ready = pod.isReady
        p.node = pod.spec?.nodeName
        if let node, node.metadata?.name == nil || node.metadata?.name == p.node { p.nodeReady = node.isReady }
        p.reason = pod.status?.reason
        p.terminating = pod.metadata.map { $0.deletionTimestamp != nil }
        p.startTime = pod.status?.startTime
        let statuses = pod.status?.containerStatuses ?? []
        var names = (pod.spec?.containers ?? []).compactMap(\.name)
        for st in statuses { if let n = st.name, !names.contains(n) { names.append(n) } }
        p.containers = names.map { n in
            var c = ContainerSummary(name: n)
            if let st = statuses.first(where: { $0.name == n }) {
                c.ready = st.ready
                c.restarts = st.restartCount
                c.state = st.state?.name
                c.reason = st.state?.waiting?.reason ?? st.state?.terminated?.reason
                c.message = st.state?.waiting?.message ?? st.state?.terminated?.message
                c.startedAt = st.state?.running?.startedAt ?? st.state?.terminated?.startedAt
                if let t = st.lastState?.terminated {
                    c.lastTermination = Termination(reason: t.reason, exitCode: t.exitCode, finishedAt: t.finishedAt)
                } else if let t = st.state?.terminated {
                    c.lastTermination = Termination(reason: t.reason, exitCode: t.exitCode, finishedAt: t.finishedAt)
                }
            }
            return c
        }
        if !statuses.isEmpty { p.restarts = statuses.reduce(0) { $0 + ($1.restartCount ?? 0) } }
        if let rc = redisContainer(in: pod, named: name) {
            p.redisMemoryLimitBytes = rc.resources?.limits?["memory"]?.value
        }
        let podName = pod.metadata?.name
        p.warnings = events
            .filter { $0.type == "Warning" && (podName == nil || $0.involvedObject?.name == podName) }
            .sorted(by: KubeEvent.newestFirst)
            .prefix(20)
            .map { EventSummary(type: $0.type ?? "Warning", reason: $0.reason ?? "", message: $0.message ?? "", lastTimestamp: $0.when, count: $0.series?.count ?? $0.count) }
        return p
    }

    static func fill(_ s: inout Snapshot, info: RedisInfo) {
        s.redisVersion = info.string("redis_version")
        if let v = info.string("valkey_version") { s.redisServer = "valkey \(v)" }
        else if let v = info.string("dragonfly_version") { s.redisServer = "dragonfly \(v)" }
        else if info.hasSection("KeyDB") || info.string("storage_provider") != nil { s.redisServer = "keydb \(s.redisVersion ?? "")" }
        let ks = info.keyspace
        s.keyspace = Dictionary(uniqueKeysWithValues: ks.map { ($0.key, Int(clamping: $0.value)) })
        // INFO lists only non-empty dbs: an answered INFO with a Keyspace section and no db0
        // means db0 holds 0 keys (a fact, not a guess).
        if s.keyspace["db0"] == nil, info.hasSection("Keyspace") { s.keyspace["db0"] = 0 }

        // Memory
        s.memory.usedBytes = info.int("used_memory")
        s.memory.rssBytes = info.int("used_memory_rss")
        s.memory.peakBytes = info.int("used_memory_peak")
        s.memory.maxmemoryBytes = info.int("maxmemory")
        s.memory.policy = info.string("maxmemory_policy")
        if let dfly = info.int("oom_rejections") {
            s.memory.oomRejections = dfly
        } else if info.hasSection("Errorstats") {
            s.memory.oomRejections = info.errorStats["OOM"] ?? 0
        }
        s.memory.evictedKeys = info.int("evicted_keys")
        s.memory.fragmentationRatio = info.double("mem_fragmentation_ratio")
        s.memory.aofLastCowBytes = info.int("aof_last_cow_size")
        s.memory.rdbLastCowBytes = info.int("rdb_last_cow_size")

        // Persistence
        let p = info
        let loading = p.bool("loading")
        s.persistence.loading = loading
        if loading == true {
            s.persistence.loadingPercent = p.double("loading_loaded_perc")
            s.persistence.loadingEtaSeconds = p.int("loading_eta_seconds")
        } else {
            // aof_enabled reads 0 while loading even with appendonly yes: only trust it otherwise.
            s.persistence.aofEnabled = p.bool("aof_enabled")
        }
        s.persistence.aofLastWriteStatus = p.string("aof_last_write_status")
        s.persistence.aofLastBgrewriteStatus = p.string("aof_last_bgrewrite_status")
        s.persistence.aofRewriteInProgress = p.bool("aof_rewrite_in_progress")
        s.persistence.aofRewriteScheduled = p.bool("aof_rewrite_scheduled")
        s.persistence.aofDelayedFsync = p.int("aof_delayed_fsync")
        s.persistence.aofCurrentSizeBytes = p.int("aof_current_size")
        s.persistence.aofBaseSizeBytes = p.int("aof_base_size")
        s.persistence.rdbLastBgsaveStatus = p.string("rdb_last_bgsave_status")
        s.persistence.rdbLastSaveTime = p.int("rdb_last_save_time")
        s.persistence.rdbBgsaveInProgress = p.bool("rdb_bgsave_in_progress")

        // Clients and traffic (negative values, e.g. Dragonfly's -1, mean "not tracked")
        func nonNeg(_ k: String) -> Int64? { info.int(k).flatMap { $0 >= 0 ? $0 : nil } }
        s.clients.connected = nonNeg("connected_clients")
        s.clients.blocked = nonNeg("blocked_clients")
        s.clients.opsPerSec = nonNeg("instantaneous_ops_per_sec")
        s.clients.rejectedConnections = nonNeg("rejected_connections")
    }
}

extension SnapshotBuilder {
    /// The `redis_up` lines of an exporter exposition: all the snapshot reads of it. The live
    /// prober keeps only these when the metrics arrive (every 15 s), so the ~36 KB exposition is
    /// not split again on every refresh (parsing all of it was a third of the dashboard's CPU).
    public static func exporterUpLines(_ text: String) -> String {
        var out: [Substring] = []
        let name = Array("redis_up".utf8)
        for line in TextLines.split(text) {
            let u = line.utf8
            guard let at = u.firstIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }),
                  u[at...].starts(with: name) else { continue }
            let after = u.index(at, offsetBy: name.count)
            if after == u.endIndex || [UInt8(ascii: "{"), UInt8(ascii: " "), UInt8(ascii: "\t")].contains(u[after]) { out.append(line) }
        }
        return out.joined(separator: "\n")
    }
}

/// RFC 3339 timestamps as Kubernetes and the snapshot write them.
