import Foundation

// One observation of the Redis pod and the Redis inside it. This is the `status --json`
// schema (schemaVersion 1): fields may be added, never renamed. Unknown values are nil and
// encode as JSON null, never invented.

public struct Snapshot: Codable, Sendable, Equatable {
    public var schemaVersion: Int = 1
    /// When the snapshot was assembled (RFC 3339 UTC).
    public var takenAt: String?
    public var context: String?
    public var namespace: String?
    public var pod: PodSummary?
    public var memory: MemorySummary = MemorySummary()
    public var persistence: PersistenceSummary = PersistenceSummary()
    public var clients: ClientsSummary = ClientsSummary()
    public var exporter: ExporterSummary = ExporterSummary()
    public var queues: [QueueCounts] = []
    public var findings: [Finding] = []
    public var errors: [SourceError] = []
    /// The Redis server state as the session last saw it: "ok", "loading", "misconf",
    /// "oom", "noauth", "wrongpass", "busy", "unreachable", or nil when not probed.
    public var redisState: String?
    public var redisVersion: String?
    /// Key count per db from INFO keyspace, e.g. ["db0": 1234].
    public var keyspace: [String: Int] = [:]
    public var config: RedisConfigSummary = RedisConfigSummary()
    /// The error text behind `redisState` when it is not "ok" (e.g. the MISCONF reply), else nil.
    public var redisError: String?
    /// Server flavour and version when it is not plain Redis, e.g. "valkey 9.1.2", "dragonfly df-v2.0.0".
    public var redisServer: String?
    /// Evidence lines found in the previous redis container's log (`kubectl logs --previous`).
    public var logEvidence: [LogEvidence] = []
    /// ADR 0005 compliance items for the dashboard.
    public var adr: [AdrCheck] = []
    /// The key counts of the last snapshot in which Redis answered (this session), and when:
    /// what a runbook compares against after a repair, while Redis itself is down.
    public var keyspaceLastKnown: [String: Int] = [:]
    public var keyspaceLastKnownAt: String?
    /// Whether the cluster could be read this refresh (nil: not known, e.g. a snapshot built
    /// without any kubectl call). See `ClusterAccess`.
    public var cluster: ClusterAccess?
    /// True while the walk that finds BullMQ queues has not finished once (a large keyspace):
    /// `queues` may be incomplete. Nil when the list is complete or Redis was not read.
    public var queuesSearching: Bool?
    /// The Redis settings the pod's manifest passes as redis-server arguments (what a restart
    /// comes back with). Nil without a pod.
    public var manifest: ManifestConfig?
    /// Roles, offsets and Sentinels of every pod when the StatefulSet has more than one replica
    /// (Replication.swift); absent from the JSON (not null) otherwise.
    public var replication: ReplicationView?

    public init() {}

    public enum CodingKeys: String, CodingKey {
        case schemaVersion, takenAt, context, namespace, pod, memory, persistence, clients, exporter, queues, findings, errors, redisState, redisVersion, keyspace, config
        case redisError, redisServer, logEvidence, adr, keyspaceLastKnown, keyspaceLastKnownAt, cluster, queuesSearching, manifest, replication
    }
    // Encode nil optionals as null (the schema promises the keys).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(takenAt, forKey: .takenAt)
        try c.encode(context, forKey: .context)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(pod, forKey: .pod)
        try c.encode(memory, forKey: .memory)
        try c.encode(persistence, forKey: .persistence)
        try c.encode(clients, forKey: .clients)
        try c.encode(exporter, forKey: .exporter)
        try c.encode(queues, forKey: .queues)
        try c.encode(findings, forKey: .findings)
        try c.encode(errors, forKey: .errors)
        try c.encode(redisState, forKey: .redisState)
        try c.encode(redisVersion, forKey: .redisVersion)
        try c.encode(keyspace, forKey: .keyspace)
        try c.encode(config, forKey: .config)
        try c.encode(redisError, forKey: .redisError)
        try c.encode(redisServer, forKey: .redisServer)
        try c.encode(logEvidence, forKey: .logEvidence)
        try c.encode(adr, forKey: .adr)
        try c.encode(keyspaceLastKnown, forKey: .keyspaceLastKnown)
        try c.encode(keyspaceLastKnownAt, forKey: .keyspaceLastKnownAt)
        try c.encode(cluster, forKey: .cluster)
        try c.encode(queuesSearching, forKey: .queuesSearching)
        try c.encode(manifest, forKey: .manifest)
        try c.encodeIfPresent(replication, forKey: .replication)
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        takenAt = try c.decodeIfPresent(String.self, forKey: .takenAt)
        context = try c.decodeIfPresent(String.self, forKey: .context)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        pod = try c.decodeIfPresent(PodSummary.self, forKey: .pod)
        memory = try c.decodeIfPresent(MemorySummary.self, forKey: .memory) ?? MemorySummary()
        persistence = try c.decodeIfPresent(PersistenceSummary.self, forKey: .persistence) ?? PersistenceSummary()
        clients = try c.decodeIfPresent(ClientsSummary.self, forKey: .clients) ?? ClientsSummary()
        exporter = try c.decodeIfPresent(ExporterSummary.self, forKey: .exporter) ?? ExporterSummary()
        queues = try c.decodeIfPresent([QueueCounts].self, forKey: .queues) ?? []
        findings = try c.decodeIfPresent([Finding].self, forKey: .findings) ?? []
        errors = try c.decodeIfPresent([SourceError].self, forKey: .errors) ?? []
        redisState = try c.decodeIfPresent(String.self, forKey: .redisState)
        redisVersion = try c.decodeIfPresent(String.self, forKey: .redisVersion)
        keyspace = try c.decodeIfPresent([String: Int].self, forKey: .keyspace) ?? [:]
        config = try c.decodeIfPresent(RedisConfigSummary.self, forKey: .config) ?? RedisConfigSummary()
        redisError = try c.decodeIfPresent(String.self, forKey: .redisError)
        redisServer = try c.decodeIfPresent(String.self, forKey: .redisServer)
        logEvidence = try c.decodeIfPresent([LogEvidence].self, forKey: .logEvidence) ?? []
        adr = try c.decodeIfPresent([AdrCheck].self, forKey: .adr) ?? []
        keyspaceLastKnown = try c.decodeIfPresent([String: Int].self, forKey: .keyspaceLastKnown) ?? [:]
        keyspaceLastKnownAt = try c.decodeIfPresent(String.self, forKey: .keyspaceLastKnownAt)
        cluster = try c.decodeIfPresent(ClusterAccess.self, forKey: .cluster)
        queuesSearching = try c.decodeIfPresent(Bool.self, forKey: .queuesSearching)
        manifest = try c.decodeIfPresent(ManifestConfig.self, forKey: .manifest)
        replication = try c.decodeIfPresent(ReplicationView.self, forKey: .replication)
    }
}

/// Redis settings as the pod's manifest declares them: `redis-server` arguments of the Redis
/// container (`command` + `args`), e.g. `--maxmemory 384mb`. The pod's spec is the
/// StatefulSet's template it was created from; a restart comes back with these values, so a
/// running value that differs from them is lost at the next restart. Nil fields: not set there
/// (e.g. in a config file the tool cannot read).
public struct ManifestConfig: Codable, Sendable, Equatable {
    /// The `--maxmemory` argument as written (`384mb`).
    public var maxmemory: String?
    public var maxmemoryBytes: Int64?
    public var maxmemoryPolicy: String?
    public var appendonly: String?
    public var appendfsync: String?
    /// Index of the Redis container in the pod spec (and the StatefulSet template).
    public var containerIndex: Int?
    /// Index of the value after `--maxmemory` in the container's `args` (nil when it is in `command` or absent).
    public var maxmemoryArgIndex: Int?
    public init() {}

    public enum CodingKeys: String, CodingKey { case maxmemory, maxmemoryBytes, maxmemoryPolicy, appendonly, appendfsync, containerIndex, maxmemoryArgIndex }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxmemory, forKey: .maxmemory)
        try c.encode(maxmemoryBytes, forKey: .maxmemoryBytes)
        try c.encode(maxmemoryPolicy, forKey: .maxmemoryPolicy)
        try c.encode(appendonly, forKey: .appendonly)
        try c.encode(appendfsync, forKey: .appendfsync)
        try c.encode(containerIndex, forKey: .containerIndex)
        try c.encode(maxmemoryArgIndex, forKey: .maxmemoryArgIndex)
    }

    /// Reads `--name value` pairs from a container's command and args.
    public static func parse(command: [String], args: [String], containerIndex: Int?) -> ManifestConfig {
        var m = ManifestConfig()
        m.containerIndex = containerIndex
        func scan(_ list: [String], isArgs: Bool) {
            var i = 0
            while i < list.count {
                let a = list[i]
                var name = "", value: String? = nil, valueIndex: Int? = nil
                if a.hasPrefix("--"), let sp = a.firstIndex(of: " ") {
                    // `- --appendonly yes` in exec form is one argument; redis-server reads it as one line.
                    name = String(a[a.index(a.startIndex, offsetBy: 2)..<sp])
                    value = a[a.index(after: sp)...].trimmingCharacters(in: .whitespaces)
                } else if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                    name = String(a[a.index(a.startIndex, offsetBy: 2)..<eq]); value = String(a[a.index(after: eq)...])
                } else if a.hasPrefix("--"), i + 1 < list.count {
                    name = String(a.dropFirst(2)); value = list[i + 1]; valueIndex = i + 1
                }
                switch name.lowercased() {
                case "maxmemory":
                    m.maxmemory = value; m.maxmemoryBytes = value.flatMap(ManifestConfig.redisBytes)
                    m.maxmemoryArgIndex = isArgs ? valueIndex : nil
                case "maxmemory-policy": m.maxmemoryPolicy = value?.lowercased()
                case "appendonly": m.appendonly = value?.lowercased()
                case "appendfsync": m.appendfsync = value?.lowercased()
                default: break
                }
                i += valueIndex != nil && !name.isEmpty && ["maxmemory", "maxmemory-policy", "appendonly", "appendfsync"].contains(name.lowercased()) ? 2 : 1
            }
        }
        scan(command, isArgs: false)
        scan(args, isArgs: true)
        return m
    }

    /// A Redis memory value (`384mb`, `1gb`, `100kb`, `1m`, bytes) in bytes, as redis.conf reads it.
    public static func redisBytes(_ text: String) -> Int64? {
        let t = text.lowercased()
        let units: [(String, Int64)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1_000), ("b", 1)]
        for (u, f) in units where t.hasSuffix(u) {
            guard let n = Int64(t.dropLast(u.count)) else { return nil }
            return n * f
        }
        return Int64(t)
    }
}

public struct PodSummary: Codable, Sendable, Equatable {
    public var name: String
    public var phase: String?
    public var ready: Bool?
    public var node: String?
    public var nodeReady: Bool?
    public var restarts: Int?
    /// status.reason of the pod (e.g. "NodeLost") and whether it is terminating.
    public var reason: String?
    public var terminating: Bool?
    public var startTime: String?
    public var containers: [ContainerSummary] = []
    /// Memory limit of the redis container from the pod spec, in bytes.
    public var redisMemoryLimitBytes: Int64?
    /// Recent warning events for the pod, newest first.
    public var warnings: [EventSummary] = []
    public init(name: String) { self.name = name }

    public enum CodingKeys: String, CodingKey { case name, phase, ready, node, nodeReady, restarts, reason, terminating, startTime, containers, redisMemoryLimitBytes, warnings }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(phase, forKey: .phase)
        try c.encode(ready, forKey: .ready)
        try c.encode(node, forKey: .node)
        try c.encode(nodeReady, forKey: .nodeReady)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(reason, forKey: .reason)
        try c.encode(terminating, forKey: .terminating)
        try c.encode(startTime, forKey: .startTime)
        try c.encode(containers, forKey: .containers)
        try c.encode(redisMemoryLimitBytes, forKey: .redisMemoryLimitBytes)
        try c.encode(warnings, forKey: .warnings)
    }
}

public struct ContainerSummary: Codable, Sendable, Equatable {
    public var name: String
    public var ready: Bool?
    /// "running", "waiting" or "terminated".
    public var state: String?
    /// Reason of the current state (e.g. "CrashLoopBackOff", "ContainerCreating").
    public var reason: String?
    public var message: String?
    public var restarts: Int?
    public var startedAt: String?
    public var lastTermination: Termination?
    public init(name: String) { self.name = name }

    public enum CodingKeys: String, CodingKey { case name, ready, state, reason, message, restarts, startedAt, lastTermination }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(ready, forKey: .ready)
        try c.encode(state, forKey: .state)
        try c.encode(reason, forKey: .reason)
        try c.encode(message, forKey: .message)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(lastTermination, forKey: .lastTermination)
    }
}

public struct Termination: Codable, Sendable, Equatable {
    public var reason: String?
    public var exitCode: Int?
    public var finishedAt: String?
    public init(reason: String?, exitCode: Int?, finishedAt: String?) {
        self.reason = reason; self.exitCode = exitCode; self.finishedAt = finishedAt
    }
    public enum CodingKeys: String, CodingKey { case reason, exitCode, finishedAt }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(reason, forKey: .reason)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(finishedAt, forKey: .finishedAt)
    }
}

public struct EventSummary: Codable, Sendable, Equatable {
    public var type: String
    public var reason: String
    public var message: String
    public var lastTimestamp: String?
    public var count: Int?
    public init(type: String, reason: String, message: String, lastTimestamp: String?, count: Int?) {
        self.type = type; self.reason = reason; self.message = message; self.lastTimestamp = lastTimestamp; self.count = count
    }
    public enum CodingKeys: String, CodingKey { case type, reason, message, lastTimestamp, count }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(reason, forKey: .reason)
        try c.encode(message, forKey: .message)
        try c.encode(lastTimestamp, forKey: .lastTimestamp)
        try c.encode(count, forKey: .count)
    }
}

public struct MemorySummary: Codable, Sendable, Equatable {
    public var usedBytes: Int64?
    public var rssBytes: Int64?
    public var peakBytes: Int64?
    /// 0 means unset (no Redis-side limit).
    public var maxmemoryBytes: Int64?
    /// The redis container's memory limit from the pod spec.
    public var limitBytes: Int64?
    public var policy: String?
    /// Writes rejected with OOM (errorstat_OOM count; a missing line is 0 when INFO was read).
    public var oomRejections: Int64?
    /// OOM rejections per second since the previous snapshot.
    public var oomRejectionsPerSec: Double?
    public var evictedKeys: Int64?
    public var fragmentationRatio: Double?
    public var aofLastCowBytes: Int64?
    public var rdbLastCowBytes: Int64?
    public init() {}

    public enum CodingKeys: String, CodingKey { case usedBytes, rssBytes, peakBytes, maxmemoryBytes, limitBytes, policy, oomRejections, oomRejectionsPerSec, evictedKeys, fragmentationRatio, aofLastCowBytes, rdbLastCowBytes }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(usedBytes, forKey: .usedBytes)
        try c.encode(rssBytes, forKey: .rssBytes)
        try c.encode(peakBytes, forKey: .peakBytes)
        try c.encode(maxmemoryBytes, forKey: .maxmemoryBytes)
        try c.encode(limitBytes, forKey: .limitBytes)
        try c.encode(policy, forKey: .policy)
        try c.encode(oomRejections, forKey: .oomRejections)
        try c.encode(oomRejectionsPerSec, forKey: .oomRejectionsPerSec)
        try c.encode(evictedKeys, forKey: .evictedKeys)
        try c.encode(fragmentationRatio, forKey: .fragmentationRatio)
        try c.encode(aofLastCowBytes, forKey: .aofLastCowBytes)
        try c.encode(rdbLastCowBytes, forKey: .rdbLastCowBytes)
    }
}

public struct PersistenceSummary: Codable, Sendable, Equatable {
    public var aofEnabled: Bool?
    public var appendfsync: String?
    public var aofLastWriteStatus: String?
    public var aofLastBgrewriteStatus: String?
    public var aofRewriteInProgress: Bool?
    public var aofRewriteScheduled: Bool?
    public var aofDelayedFsync: Int64?
    public var aofCurrentSizeBytes: Int64?
    public var aofBaseSizeBytes: Int64?
    public var rdbLastBgsaveStatus: String?
    public var rdbLastSaveTime: Int64?
    public var rdbBgsaveInProgress: Bool?
    public var loading: Bool?
    public var loadingPercent: Double?
    public var loadingEtaSeconds: Int64?
    public init() {}

    public enum CodingKeys: String, CodingKey { case aofEnabled, appendfsync, aofLastWriteStatus, aofLastBgrewriteStatus, aofRewriteInProgress, aofRewriteScheduled, aofDelayedFsync, aofCurrentSizeBytes, aofBaseSizeBytes, rdbLastBgsaveStatus, rdbLastSaveTime, rdbBgsaveInProgress, loading, loadingPercent, loadingEtaSeconds }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(aofEnabled, forKey: .aofEnabled)
        try c.encode(appendfsync, forKey: .appendfsync)
        try c.encode(aofLastWriteStatus, forKey: .aofLastWriteStatus)
        try c.encode(aofLastBgrewriteStatus, forKey: .aofLastBgrewriteStatus)
        try c.encode(aofRewriteInProgress, forKey: .aofRewriteInProgress)
        try c.encode(aofRewriteScheduled, forKey: .aofRewriteScheduled)
        try c.encode(aofDelayedFsync, forKey: .aofDelayedFsync)
        try c.encode(aofCurrentSizeBytes, forKey: .aofCurrentSizeBytes)
        try c.encode(aofBaseSizeBytes, forKey: .aofBaseSizeBytes)
        try c.encode(rdbLastBgsaveStatus, forKey: .rdbLastBgsaveStatus)
        try c.encode(rdbLastSaveTime, forKey: .rdbLastSaveTime)
        try c.encode(rdbBgsaveInProgress, forKey: .rdbBgsaveInProgress)
        try c.encode(loading, forKey: .loading)
        try c.encode(loadingPercent, forKey: .loadingPercent)
        try c.encode(loadingEtaSeconds, forKey: .loadingEtaSeconds)
    }
}

public struct ClientsSummary: Codable, Sendable, Equatable {
    public var connected: Int64?
    public var blocked: Int64?
    public var opsPerSec: Int64?
    public var rejectedConnections: Int64?
    public init() {}
    public enum CodingKeys: String, CodingKey { case connected, blocked, opsPerSec, rejectedConnections }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(connected, forKey: .connected)
        try c.encode(blocked, forKey: .blocked)
        try c.encode(opsPerSec, forKey: .opsPerSec)
        try c.encode(rejectedConnections, forKey: .rejectedConnections)
    }
}

public struct ExporterSummary: Codable, Sendable, Equatable {
    /// redis_up from the exporter's metrics; nil when the metrics could not be read.
    public var up: Bool?
    /// Whether the pod spec has the exporter container at all.
    public var present: Bool?
    public init() {}
    public enum CodingKeys: String, CodingKey { case up, present }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(up, forKey: .up)
        try c.encode(present, forKey: .present)
    }
}

public struct RedisConfigSummary: Codable, Sendable, Equatable {
    public var appendonly: String?
    public var appendfsync: String?
    public var maxmemoryPolicy: String?
    public var maxmemory: Int64?
    public var appenddirname: String?
    public var appendfilename: String?
    public var dir: String?
    public init() {}
    public enum CodingKeys: String, CodingKey { case appendonly, appendfsync, maxmemoryPolicy, maxmemory, appenddirname, appendfilename, dir }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(appendonly, forKey: .appendonly)
        try c.encode(appendfsync, forKey: .appendfsync)
        try c.encode(maxmemoryPolicy, forKey: .maxmemoryPolicy)
        try c.encode(maxmemory, forKey: .maxmemory)
        try c.encode(appenddirname, forKey: .appenddirname)
        try c.encode(appendfilename, forKey: .appendfilename)
        try c.encode(dir, forKey: .dir)
    }
}

public struct QueueCounts: Codable, Sendable, Equatable {
    public var prefix: String
    public var name: String
    public var waiting: Int64?
    public var active: Int64?
    public var delayed: Int64?
    public var prioritized: Int64?
    public var completed: Int64?
    public var failed: Int64?
    public var paused: Int64?
    public var waitingChildren: Int64?
    /// Change of `waiting` since the previous refresh (nil on the first).
    public var waitingDelta: Int64?
    /// How many refreshes in a row `waiting` has grown (0 when it did not grow; nil on the first).
    public var waitingGrowthStreak: Int?
    /// Seconds the oldest job in `wait` has been waiting (nil when none waits or unknown).
    public var oldestWaitingSeconds: Int64?
    /// The queue is paused (`meta.paused` = 1): waiting jobs are expected to wait.
    public var pausedFlag: Bool?
    /// Seconds since a worker took the newest active job (its `processedOn`); nil when none is active.
    public var lastJobStartedSeconds: Int64?
    public init(prefix: String, name: String) { self.prefix = prefix; self.name = name }
    public enum CodingKeys: String, CodingKey { case prefix, name, waiting, active, delayed, prioritized, completed, failed, paused, waitingChildren, waitingDelta, waitingGrowthStreak, oldestWaitingSeconds, pausedFlag, lastJobStartedSeconds }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(prefix, forKey: .prefix)
        try c.encode(name, forKey: .name)
        try c.encode(waiting, forKey: .waiting)
        try c.encode(active, forKey: .active)
        try c.encode(delayed, forKey: .delayed)
        try c.encode(prioritized, forKey: .prioritized)
        try c.encode(completed, forKey: .completed)
        try c.encode(failed, forKey: .failed)
        try c.encode(paused, forKey: .paused)
        try c.encode(waitingChildren, forKey: .waitingChildren)
        try c.encode(waitingDelta, forKey: .waitingDelta)
        try c.encode(waitingGrowthStreak, forKey: .waitingGrowthStreak)
        try c.encode(oldestWaitingSeconds, forKey: .oldestWaitingSeconds)
        try c.encode(pausedFlag, forKey: .pausedFlag)
        try c.encode(lastJobStartedSeconds, forKey: .lastJobStartedSeconds)
    }
}

public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case critical, warning, info
    public var rank: Int { switch self { case .critical: 0; case .warning: 1; case .info: 2 } }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

public struct Finding: Codable, Sendable, Equatable {
    public var id: String
    public var severity: Severity
    public var summary: String
    public var evidence: String
    /// Id of the runbook that deals with it (for a finding explained by another, the cause's runbook).
    public var runbook: String?
    /// Id of the finding that explains this one (its root cause), nil for a root. `Findings.causes`
    /// says which finding explains which; a finding with a cause is listed right after it.
    public var because: String?
    public init(id: String, severity: Severity, summary: String, evidence: String, runbook: String?, because: String? = nil) {
        self.id = id; self.severity = severity; self.summary = summary; self.evidence = evidence; self.runbook = runbook
        self.because = because
    }
    public enum CodingKeys: String, CodingKey { case id, severity, summary, evidence, runbook, because }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        severity = try c.decode(Severity.self, forKey: .severity)
        summary = try c.decode(String.self, forKey: .summary)
        evidence = try c.decode(String.self, forKey: .evidence)
        runbook = try c.decodeIfPresent(String.self, forKey: .runbook)
        because = try c.decodeIfPresent(String.self, forKey: .because)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(severity, forKey: .severity)
        try c.encode(summary, forKey: .summary)
        try c.encode(evidence, forKey: .evidence)
        try c.encode(runbook, forKey: .runbook)
        try c.encode(because, forKey: .because)
    }
}

public struct SourceError: Codable, Sendable, Equatable {
    /// "pod", "node", "events", "redis", "exporter", "logs", "queues".
    public var source: String
    public var message: String
    /// Seconds since this source last succeeded (nil if never).
    public var staleSeconds: Int?
    /// The classified kubectl failure (`KubectlError.Kind` raw value) when the error came from
    /// kubectl; `redisTimedOut` when the Redis session did not answer in time; nil for other
    /// errors (a Redis reply, unreadable output).
    public var kind: String?
    /// The kind of a Redis session that did not answer within its time (its child was killed):
    /// Redis or the exec stream was silent, which says nothing of the cluster (not a kubectl kind).
    public static let redisTimedOut = "redisTimedOut"
    public init(source: String, message: String, staleSeconds: Int? = nil, kind: String? = nil) {
        self.source = source; self.message = message; self.staleSeconds = staleSeconds; self.kind = kind
    }
    public enum CodingKeys: String, CodingKey { case source, message, staleSeconds, kind }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(message, forKey: .message)
        try c.encode(staleSeconds, forKey: .staleSeconds)
        try c.encode(kind, forKey: .kind)
    }
}

/// One line of the previous container's log that proves a problem.
public struct LogEvidence: Codable, Sendable, Equatable {
    /// See `LogScan.Kind` raw values: "aof-corruption", "aof-truncated", "rdb-corruption",
    /// "disk-full", "permission-denied", "aof-write-error", "aof-rewrite-error", "fork-failed",
    /// "out-of-memory", "shutdown-refused", "slow-fsync".
    public var kind: String
    /// The log line, trimmed.
    public var line: String
    public init(kind: String, line: String) { self.kind = kind; self.line = line }
}

/// One ADR 0005 compliance item: "pass", "fail" or "unknown".
public struct AdrCheck: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case pass, fail, unknown }
    /// "appendonly", "appendfsync", "maxmemory-policy", "maxmemory-set", "maxmemory-headroom", "exporter".
    public var id: String
    /// What the ADR asks, e.g. "appendonly yes".
    public var title: String
    public var status: Status
    /// What was observed, e.g. "appendonly no" or "unknown: CONFIG GET not read".
    public var detail: String
    public init(id: String, title: String, status: Status, detail: String) {
        self.id = id; self.title = title; self.status = status; self.detail = detail
    }
}
