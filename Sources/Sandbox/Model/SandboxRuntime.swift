import Foundation

// Sandbox-only state that has no Kubernetes counterpart: which binaries stand in for the
// images, the (shortened) timings of the kubelet and node controller, and the switches the
// faults flip. Written by `sandbox up`, `sandbox fault` / `heal` and the daemon; read by both
// halves (the kubectl front resolves commands inside a pod through `commandPaths`).

public struct SandboxRuntime: Codable, Sendable, Equatable {
    /// Command name inside a pod → host executable ("redis-server", "redis-cli",
    /// "redis-check-aof", "redis-check-rdb", "redis_exporter"). Anything else: the host PATH.
    public var commandPaths: [String: String] = [:]
    /// Image repository (tag stripped) → entrypoint, for containers without `command`.
    public var imageEntrypoints: [String: String] = [:]
    public var timings: SandboxTimings = SandboxTimings()
    public var faults: FaultSwitches = FaultSwitches()
    /// True when pods run in a user namespace (not root): exec needs `nsenter -U` too.
    public var rootless: Bool = false
    /// The PVC volumes are tmpfs mounts of this size (bytes); nil when they are plain directories.
    public var volumeTmpfsBytes: Int64?
    /// How the container memory limit is enforced: "cgroup-v1" (kernel OOM killer) or "rss-poll".
    public var memoryEnforcement: String = "rss-poll"
    /// cgroup v1 memory directory holding every process of this sandbox (nil without cgroups).
    public var cgroupRoot: String?
    /// Where the StatefulSet template came from (a manifest path, or "embedded").
    public var manifestSource: String = "embedded"
    /// BullMQ queues `sandbox seed` created (the trickle feeds and works these).
    public var queues: [String] = []
    /// `up --topology`: nil or "single" (one pod), "sentinel" (SentinelTopology); optional so a
    /// state file written before it still loads.
    public var topology: String?
    /// `sandbox app --connect`: nil (the topology's own way: the first pod's 127.0.0.1:6379, or
    /// Sentinel in the Sentinel topology), "sentinel" (the Sentinels of every pod: what the app
    /// is switched to in migrate-to-sentinel) or "redis" (the first pod's Redis).
    public var appConnection: String?
    public init() {}
}

/// Kubernetes' timings, shortened for a sandbox. Real values in the comments.
public struct SandboxTimings: Codable, Sendable, Equatable {
    /// Container restart back-off: first delay, doubling up to the maximum (kubelet: 10 s, 300 s).
    public var backoffInitialSeconds: Int = 10
    public var backoffMaxSeconds: Int = 300
    /// A container that ran this long has its back-off reset (kubelet: 2 × max = 600 s).
    public var backoffResetSeconds: Int = 600
    /// Readiness probe period (manifest's periodSeconds when smaller; kubelet default 10 s).
    public var probePeriodSeconds: Int = 2
    /// Node lease renewal, the kubelet's heartbeat the node controller watches (kubelet: 10 s).
    /// Kept in the daemon's memory, as the Lease object is not part of what the sandbox serves.
    public var heartbeatSeconds: Int = 2
    /// Node status (its conditions' `lastHeartbeatTime`) re-posted when nothing changed
    /// (kubelet's nodeStatusReportFrequency: 5 min). Watchers of the node see no change between.
    public var nodeStatusReportSeconds: Int = 60
    /// Node controller: no heartbeat for this long → Ready Unknown (kube-controller-manager: 40 s).
    public var nodeMonitorGracePeriodSeconds: Int = 10
    /// After the unreachable taint, pods are marked for deletion (tolerationSeconds: 300 s).
    public var podEvictionTimeoutSeconds: Int = 30
    /// Default length of a `node-down` outage, after which the node reboots and rejoins.
    public var nodeOutageSeconds: Int = 60
    /// BullMQ trickle period (producers and worker).
    public var trickleSeconds: Int = 1
    public init() {}

    /// A timing missing from the state file (one written by an older redis-runbook) takes its
    /// default, so an existing sandbox still comes up after an upgrade.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SandboxTimings()
        func int(_ key: CodingKeys, _ fallback: Int) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? fallback }
        backoffInitialSeconds = try int(.backoffInitialSeconds, d.backoffInitialSeconds)
        backoffMaxSeconds = try int(.backoffMaxSeconds, d.backoffMaxSeconds)
        backoffResetSeconds = try int(.backoffResetSeconds, d.backoffResetSeconds)
        probePeriodSeconds = try int(.probePeriodSeconds, d.probePeriodSeconds)
        heartbeatSeconds = try int(.heartbeatSeconds, d.heartbeatSeconds)
        nodeStatusReportSeconds = try int(.nodeStatusReportSeconds, d.nodeStatusReportSeconds)
        nodeMonitorGracePeriodSeconds = try int(.nodeMonitorGracePeriodSeconds, d.nodeMonitorGracePeriodSeconds)
        podEvictionTimeoutSeconds = try int(.podEvictionTimeoutSeconds, d.podEvictionTimeoutSeconds)
        nodeOutageSeconds = try int(.nodeOutageSeconds, d.nodeOutageSeconds)
        trickleSeconds = try int(.trickleSeconds, d.trickleSeconds)
    }

    /// Short timings for tests (same behaviour, faster clocks).
    public static var fast: SandboxTimings {
        var t = SandboxTimings()
        t.backoffInitialSeconds = 2
        t.backoffMaxSeconds = 8
        t.backoffResetSeconds = 16
        t.probePeriodSeconds = 1
        t.heartbeatSeconds = 1
        t.nodeStatusReportSeconds = 10
        t.nodeMonitorGracePeriodSeconds = 3
        t.podEvictionTimeoutSeconds = 5
        t.nodeOutageSeconds = 15
        return t
    }
}

/// What the faults switched on (the daemon acts on these; `heal` switches them off).
public struct FaultSwitches: Codable, Sendable, Equatable {
    /// Extra arguments given to the exporter container on its next starts (exporter-down).
    public var exporterExtraArgs: [String]?
    /// slow-loading: a slow volume. The redis container's next starts get Redis's own
    /// `key-load-delay` (µs a key; -N: a short sleep every N keys on average), so LOADING lasts
    /// long enough to be seen on any machine; optional so a state file written before it loads.
    public var redisKeyLoadDelayMicros: Int?
    /// BullMQ worker stopped (queue-backlog): producers go on, nothing leaves `wait`.
    public var workerStopped: Bool = false
    /// BullMQ worker hung (queue-stalled): its connections stay (its client names are in CLIENT
    /// LIST) but it neither renews the locks of its active jobs nor takes new ones; optional so
    /// a state file written before it still loads.
    public var workerHung: Bool?
    /// BullMQ trickle off entirely (no producers either), e.g. during benchmarks.
    public var trickleDisabled: Bool = false
    /// node-down: when the outage started and when the node comes back (RFC 3339).
    public var nodeDownSince: String?
    public var nodeDownUntil: String?
    /// disk-full: the volume's tmpfs was shrunk to what it held (original size in volumeTmpfsBytes).
    public var diskFull: Bool = false
    /// Names of every fault injected since the last heal, oldest first.
    public var injected: [String] = []
    /// Faults of the API server itself (read by `redis-runbook-sandbox apiserver`; optional so a
    /// state file written before them still loads). api-down: the listener and every connection closed.
    public var apiDown: Bool?
    /// api-slow: every response delayed by this many seconds.
    public var apiSlowSeconds: Double?
    /// api-errors: a share of requests answered 500 InternalError or 429 TooManyRequests.
    public var apiErrors: Bool?
    /// watch-drop: watches closed every few seconds, sometimes with a 410 Gone event.
    public var watchDrop: Bool?
    /// token-expired: every bearer token is refused with 401.
    public var tokenExpired: Bool?
    /// Sentinel topology faults (SentinelFaults.swift). "pod/container" → until (RFC 3339): the
    /// kubelet holds that container's restart (master-kill, master-returns-new-ip).
    public var heldContainers: [String: String]?
    /// sentinel-down: pods whose sentinel process is stopped (SIGSTOP), in order.
    public var stoppedSentinels: [String]?
    /// partition: pods cut from the others (blackhole routes in their network namespace).
    public var partitioned: [String]?
    /// replica-lag: pods whose link is throttled (tbf on the bridge's end).
    public var throttled: [String]?
    /// stale-sentinel-config: pods whose Sentinel was restarted on a config naming a dead address.
    public var staleSentinels: [String]?
    public init() {}

    /// True when any API fault is on.
    public var anyAPIFault: Bool {
        apiDown == true || apiSlowSeconds != nil || apiErrors == true || watchDrop == true || tokenExpired == true
    }
}

/// An exec readiness probe as in the manifest.
public struct ExecProbe: Codable, Sendable, Equatable {
    public var command: [String]
    public var periodSeconds: Int = 10
    public var timeoutSeconds: Int = 1
    public var failureThreshold: Int = 3
    public var initialDelaySeconds: Int = 0
    public init(command: [String]) { self.command = command }
}
