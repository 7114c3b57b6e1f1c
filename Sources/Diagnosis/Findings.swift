import Foundation

/// Thresholds used by `Findings`. Documented here so the runbooks and the README can quote them.
public enum FindingRules {
    /// `memory-pressure` warning when used_memory >= 90 % of maxmemory; critical at >= 100 %.
    public static let usedOfMaxmemoryWarning = 0.90
    /// `memory-pressure` critical when RSS >= 90 % of the container memory limit (OOMKill is near).
    public static let rssOfLimitCritical = 0.90
    /// `maxmemory-too-close-to-limit` when maxmemory > 75 % of the container limit. The other 25 %
    /// must hold what maxmemory does not count: allocator fragmentation (RSS − used), client and
    /// replication buffers, and the copy-on-write pages of the AOF-rewrite/BGSAVE fork child, which
    /// the kernel charges to the same cgroup. Critical when maxmemory >= the limit.
    public static let maxmemoryOfLimit = 0.75
    /// `maxmemory-unset` is critical (instead of warning) when RSS >= this share of the limit.
    public static let unsetCriticalRssOfLimit = 0.80
    /// `oom-killed` is critical when the OOM kill finished less than this many seconds ago.
    public static let recentOOMKillSeconds: TimeInterval = 3600
    /// `queue-backlog`: warning when waiting >= this with no active job; critical at 10×.
    public static let backlogWaiting: Int64 = 1000
    /// `queue-backlog`: warning when waiting grew on this many refreshes in a row (and >= `growthMinWaiting`).
    public static let growthStreak = 3
    public static let growthMinWaiting: Int64 = 100
    /// `queue-backlog`: warning when the oldest waiting job of a queue that is not paused has
    /// waited this long (healthy workers take a job within milliseconds); critical at 10×.
    public static let oldestWaitingSeconds: Int64 = 30
    /// `redis-unreachable`: Redis has given no reply at all for this long (a PING answers in
    /// milliseconds; the dashboard's Redis probe waits 1 s before it calls a reply late).
    public static let redisSilentSeconds = 3
}

/// Health findings and ADR compliance computed from a snapshot.
public enum Findings {
    /// Every problem the snapshot shows, most severe first (stable within a severity).
    public static func evaluate(_ s: Snapshot) -> [Finding] {
        var out: [Finding] = []
        func add(_ id: String, _ sev: Severity, _ summary: String, _ evidence: String, _ runbook: String) {
            out.append(Finding(id: id, severity: sev, summary: summary, evidence: evidence, runbook: runbook))
        }
        let now = s.takenAt.flatMap(RFC3339.parse)
        let mem = s.memory, per = s.persistence
        let redis = s.pod?.containers.first { $0.name == "redis" } ?? s.pod?.containers.first { !$0.name.contains("exporter") }
        let exporterC = s.pod?.containers.first { $0.name.contains("exporter") }
        let aofLog = s.logEvidence.first { $0.kind == LogScan.Kind.aofCorruption.rawValue }

        // Reachability / Redis state
        switch s.redisState {
        case "unreachable":
            add("redis-unreachable", .critical, "Redis does not answer", s.redisError ?? "connection refused", "pod-restart")
        case "noauth", "wrongpass":
            add("redis-unreachable", .warning, "Redis rejects the tool's authentication (\(s.redisState!.uppercased()))",
                s.redisError ?? "NOAUTH", "pod-restart")
        case "busy":
            add("redis-unreachable", .critical, "Redis is busy running a script and answers nothing else", s.redisError ?? "BUSY", "pod-restart")
        default: break
        }

        // Pod and node
        if let pod = s.pod {
            if pod.ready == false {
                var ev = "phase \(pod.phase ?? "unknown"), Ready=False"
                if let r = pod.reason { ev += ", reason \(r)" }
                for c in pod.containers where c.ready == false {
                    ev += "; \(c.name): \(c.state ?? "unknown")\(c.reason.map { " \($0)" } ?? "")"
                }
                add("pod-not-ready", .critical, "Pod \(pod.name) is not ready", ev, "pod-restart")
            }
            if pod.nodeReady == false || pod.reason == "NodeLost" {
                add("node-not-ready", .critical, "Node \(pod.node ?? "?") is not Ready",
                    "node \(pod.node ?? "?") Ready condition is not True\(pod.reason.map { "; pod reason \($0)" } ?? "")", "node-failure")
            }
            for c in pod.containers where c.reason == "CrashLoopBackOff" {
                let isRedis = c.name == redis?.name
                let runbook = isRedis && aofLog != nil ? "aof-corruption" : "pod-restart"
                var ev = "\(c.name): waiting CrashLoopBackOff, \(c.restarts ?? 0) restarts"
                if let t = c.lastTermination { ev += ", last exit \(t.exitCode.map(String.init) ?? "?") \(t.reason ?? "")" }
                if isRedis, let l = aofLog { ev += "; previous log: \(l.line)" }
                add("crash-loop", isRedis ? .critical : .warning, "Container \(c.name) is crash-looping", ev, runbook)
            }
            // Restarts since the previous refresh without CrashLoopBackOff (yet).
            for c in pod.containers where c.reason != "CrashLoopBackOff" && c.name == redis?.name {
                if let t = c.lastTermination, t.reason != "OOMKilled", t.reason != "Completed",
                   let fin = t.finishedAt.flatMap(RFC3339.parse), let now, now.timeIntervalSince(fin) < 600, (c.restarts ?? 0) > 0 {
                    add("crash-loop", .warning, "Container \(c.name) restarted recently",
                        "\(c.name): \(c.restarts ?? 0) restarts, last exit \(t.exitCode.map(String.init) ?? "?") \(t.reason ?? "") at \(t.finishedAt ?? "?")", aofLog != nil ? "aof-corruption" : "pod-restart")
                }
            }
            for c in pod.containers {
                guard let t = c.lastTermination, t.reason == "OOMKilled" else { continue }
                var recent = true
                if let fin = t.finishedAt.flatMap(RFC3339.parse), let now { recent = now.timeIntervalSince(fin) < FindingRules.recentOOMKillSeconds }
                var ev = "\(c.name): last termination OOMKilled, exit code \(t.exitCode.map(String.init) ?? "?")"
                if let f = t.finishedAt { ev += ", at \(f)" }
                if let l = mem.limitBytes, c.name == redis?.name { ev += "; container limit \(Fmt.size(l))" }
                add("oom-killed", recent ? .critical : .warning, "Container \(c.name) was OOMKilled by the kernel", ev, "memory-pressure")
            }
        }

        // Previous-container log: AOF corruption
        if let l = aofLog {
            add("aof-corruption", .critical, "Redis refused to load its AOF (corrupt append-only file)", l.line, "aof-corruption")
        } else if let l = s.logEvidence.first(where: { $0.kind == LogScan.Kind.rdbCorruption.rawValue }) {
            add("aof-corruption", .critical, "Redis refused to load its RDB file (corrupt data file)", l.line, "aof-corruption")
        } else if let l = s.logEvidence.first(where: { $0.kind == LogScan.Kind.aofTruncated.rawValue }) {
            add("aof-corruption", .warning, "Redis truncated a damaged AOF on load: the last writes are lost", l.line, "aof-corruption")
        }

        // Persistence
        let misconf = s.redisState == "misconf" ? (s.redisError ?? "MISCONF") : nil
        if per.aofLastWriteStatus == "err" || (misconf?.contains("AOF") ?? false) {
            var ev = per.aofLastWriteStatus == "err" ? "aof_last_write_status:err" : ""
            if let m = misconf { ev += (ev.isEmpty ? "" : "; ") + m }
            if let l = s.logEvidence.first(where: { $0.kind == "disk-full" || $0.kind == "aof-write-error" }) { ev += "; log: \(l.line)" }
            add("aof-write-error", .critical, "Redis cannot write its AOF: writes are refused", ev, "disk-full")
        } else if let l = s.logEvidence.first(where: { $0.kind == "disk-full" || $0.kind == "aof-write-error" || $0.kind == "permission-denied" }) {
            add("aof-write-error", .warning, "The previous Redis container logged a write error", l.line, "disk-full")
        }
        if per.rdbLastBgsaveStatus == "err" || (misconf.map { !$0.contains("AOF") } ?? false) {
            var ev = per.rdbLastBgsaveStatus == "err" ? "rdb_last_bgsave_status:err" : ""
            if let m = misconf, !m.contains("AOF") { ev += (ev.isEmpty ? "" : "; ") + m }
            add("bgsave-error", misconf != nil ? .critical : .warning, "The last background save (BGSAVE) failed", ev, "disk-full")
        }
        if per.aofLastBgrewriteStatus == "err" {
            add("aof-rewrite-error", .warning, "The last AOF rewrite failed (disk space, permissions or a killed child)",
                "aof_last_bgrewrite_status:err\(per.aofRewriteScheduled == true ? ", aof_rewrite_scheduled:1" : "")", "disk-full")
        }
        if per.loading == true || s.redisState == "loading" {
            var ev = "loading:1"
            if let p = per.loadingPercent { ev += ", \(Fmt.num(p))% loaded" }
            if let e = per.loadingEtaSeconds { ev += ", ETA \(e)s" }
            add("loading", .warning, "Redis is loading its dataset and answers LOADING to clients", ev, "loading")
        }

        // Memory
        if let used = mem.usedBytes, let mx = mem.maxmemoryBytes, mx > 0 {
            let ratio = Double(used) / Double(mx)
            if let sev = Rules.usedOfMaxmemory(ratio) {
                add("memory-pressure", sev,
                    "Used memory is at \(Fmt.pct(ratio)) of maxmemory",
                    "used_memory \(Fmt.size(used)) of maxmemory \(Fmt.size(mx)) (\(Fmt.pct(ratio))), policy \(mem.policy ?? "unknown")", "memory-pressure")
            }
        }
        if let rss = mem.rssBytes, let lim = mem.limitBytes, lim > 0 {
            let ratio = Double(rss) / Double(lim)
            if Rules.ofLimit(ratio) == .critical {
                add("memory-pressure", .critical, "Redis RSS is at \(Fmt.pct(ratio)) of the container memory limit: OOMKill is near",
                    "used_memory_rss \(Fmt.size(rss)) of limit \(Fmt.size(lim)) (\(Fmt.pct(ratio)))", "memory-pressure")
            }
        }
        if s.redisState == "oom" || (mem.oomRejectionsPerSec ?? 0) > 0 {
            var ev = s.redisError ?? ""
            if let r = mem.oomRejectionsPerSec, r > 0 { ev += (ev.isEmpty ? "" : "; ") + "errorstat_OOM +\(Fmt.num(r))/s" }
            if let n = mem.oomRejections { ev += (ev.isEmpty ? "" : "; ") + "errorstat_OOM count=\(n)" }
            add("oom-rejections", .critical, "Writes are being rejected with OOM", ev, "memory-pressure")
        } else if let n = mem.oomRejections, n > 0 {
            let rateKnown = mem.oomRejectionsPerSec != nil
            add("oom-rejections", rateKnown ? .info : .warning,
                rateKnown ? "Writes were rejected with OOM earlier (none since the last refresh)" : "Writes have been rejected with OOM since Redis started",
                "errorstat_OOM count=\(n)", "memory-pressure")
        }
        let maxmem = mem.maxmemoryBytes ?? s.config.maxmemory
        if maxmem == 0 {
            if let lim = mem.limitBytes, lim > 0 {
                let rssRatio = mem.rssBytes.map { Double($0) / Double(lim) }
                let sev: Severity = (rssRatio ?? 0) >= FindingRules.unsetCriticalRssOfLimit ? .critical : .warning
                var ev = "maxmemory 0 (unset): the container limit \(Fmt.size(lim)) is the only limit"
                if let r = rssRatio, let rss = mem.rssBytes { ev += "; RSS \(Fmt.size(rss)) (\(Fmt.pct(r)) of the limit)" }
                ev += "; with \(mem.policy ?? "noeviction") Redis is OOMKilled before the eviction policy ever applies"
                add("maxmemory-unset", sev, "maxmemory is unset: the container limit is the only limit", ev, "memory-pressure")
            } else {
                add("maxmemory-unset", .warning, "maxmemory is unset and no container memory limit is known",
                    "maxmemory 0 (unset) and no container memory limit known: the node's memory is the only limit", "memory-pressure")
            }
        }
        if let mx = maxmem, mx > 0, let lim = mem.limitBytes, lim > 0 {
            let ratio = Double(mx) / Double(lim)
            let headroom = lim - mx
            let cow = max(mem.aofLastCowBytes ?? 0, mem.rdbLastCowBytes ?? 0)
            if ratio > FindingRules.maxmemoryOfLimit {
                var ev = "maxmemory \(Fmt.size(mx)) is \(Fmt.pct(ratio)) of the container limit \(Fmt.size(lim)) (rule: at most \(Fmt.pct(FindingRules.maxmemoryOfLimit))); headroom \(Fmt.size(max(headroom, 0)))"
                if cow > 0 { ev += "; last fork CoW \(Fmt.size(cow))" }
                add("maxmemory-too-close-to-limit", ratio >= 1 ? .critical : .warning,
                    "maxmemory leaves too little room under the container limit for a fork and overhead", ev, "memory-pressure")
            } else if cow > 0 && !Rules.forkFits(maxmemory: mx, limit: lim, cow: cow) {
                add("maxmemory-too-close-to-limit", .warning,
                    "The last fork's copy-on-write did not fit in the headroom under the container limit",
                    "last fork CoW \(Fmt.size(cow)) >= headroom \(Fmt.size(headroom)) (limit \(Fmt.size(lim)) − maxmemory \(Fmt.size(mx)))", "memory-pressure")
            }
        }

        // The running config against the pod's manifest (what a restart comes back with).
        var manifestDiff: [String: String] = [:]
        if let m = s.manifest {
            if let want = m.maxmemoryBytes, let have = s.config.maxmemory ?? mem.maxmemoryBytes, want != have {
                manifestDiff["maxmemory"] = "maxmemory \(have) (\(Fmt.bytes(have))) running, --maxmemory \(m.maxmemory ?? String(want)) (\(Fmt.bytes(want))) in the manifest"
            }
            if let want = m.maxmemoryPolicy, let have = (s.config.maxmemoryPolicy ?? mem.policy)?.lowercased(), want != have {
                manifestDiff["maxmemory-policy"] = "maxmemory-policy \(have) running, \(want) in the manifest"
            }
            if let want = m.appendonly, let have = s.config.appendonly?.lowercased(), want != have {
                manifestDiff["appendonly"] = "appendonly \(have) running, \(want) in the manifest"
            }
            if let want = m.appendfsync, let have = (s.config.appendfsync ?? per.appendfsync)?.lowercased(), want != have {
                manifestDiff["appendfsync"] = "appendfsync \(have) running, \(want) in the manifest"
            }
        }
        /// A setting that an ADR finding already reports: its manifest difference goes into that evidence.
        func restartNote(_ key: String) -> String {
            guard let d = manifestDiff.removeValue(forKey: key) else { return "" }
            return "; " + d + " (a restart brings the manifest's value back)"
        }

        // Config drift against ADR 0005
        let policy = s.config.maxmemoryPolicy ?? mem.policy
        if let p = policy, p != "noeviction" {
            let evicted = mem.evictedKeys ?? 0
            add("eviction-policy", evicted > 0 ? .critical : .warning,
                "maxmemory-policy is \(p), not noeviction: BullMQ keys can be evicted",
                "maxmemory-policy \(p)\(mem.evictedKeys.map { ", evicted_keys \($0)" } ?? "")" + restartNote("maxmemory-policy"), "config-drift")
        }
        if s.config.appendonly == "no" || (s.config.appendonly == nil && per.aofEnabled == false && per.loading != true) {
            add("aof-disabled", .warning, "AOF persistence is off: a restart loses every write since the last RDB save",
                (s.config.appendonly != nil ? "appendonly no" : "aof_enabled:0") + restartNote("appendonly"), "config-drift")
        }
        if let f = s.config.appendfsync ?? per.appendfsync, f != "everysec" {
            add("fsync-policy", .warning, "appendfsync is \(f), the ADR says everysec",
                "appendfsync \(f)\(f == "always" ? " (slow; Redis exits on a disk-full write error)" : f == "no" ? " (the kernel decides when data reaches disk)" : "")" + restartNote("appendfsync"), "config-drift")
        }
        // What no other finding reports: the running value is right (or a choice, like a raised
        // maxmemory) but the manifest says something else, so the next restart undoes it.
        if !manifestDiff.isEmpty {
            let order = ["maxmemory", "maxmemory-policy", "appendonly", "appendfsync"]
            add("config-not-persisted", .warning,
                "The running config differs from the manifest: a restart brings the manifest's values back",
                order.compactMap { manifestDiff[$0] }.joined(separator: "; "), manifestDiff["maxmemory"] != nil ? "memory-pressure" : "config-drift")
        }

        // Exporter
        if s.exporter.up == false {
            add("exporter-down", .warning, "The exporter cannot reach Redis (redis_up 0)", "redis_up 0", "exporter-down")
        } else if s.exporter.present == true, let e = s.errors.first(where: {
            // A 403 says what this user may read, not whether the exporter works; a 500/429 is
            // the API server answering, not the exporter failing.
            $0.source == "exporter" && !ClusterAccess.isClusterFailure($0) && AccessDenial($0) == nil
                && $0.kind != KubectlError.Kind.serverError.rawValue
        }) {
            add("exporter-down", .warning, "The exporter's metrics cannot be read", e.message, "exporter-down")
        } else if let c = exporterC, c.ready == false {
            add("exporter-down", .warning, "The exporter container is not ready",
                "\(c.name): \(c.state ?? "unknown")\(c.reason.map { " \($0)" } ?? "")", "exporter-down")
        }

        // Queues
        for q in s.queues {
            guard let w = q.waiting else { continue }
            let label = "\(q.prefix):\(q.name)"
            if w >= FindingRules.backlogWaiting && (q.active ?? 0) == 0 {
                add("queue-backlog", w >= FindingRules.backlogWaiting * 10 ? .critical : .warning,
                    "Queue \(q.name) has \(w) waiting jobs and none active",
                    "\(label): waiting \(w), active \(q.active.map(String.init) ?? "unknown")\(q.waitingDelta.map { ", \($0 >= 0 ? "+" : "")\($0) since last refresh" } ?? "")", "queue-backlog")
            } else if q.pausedFlag != true, let age = q.oldestWaitingSeconds, age >= FindingRules.oldestWaitingSeconds,
                      (q.lastJobStartedSeconds ?? Int64.max) >= FindingRules.oldestWaitingSeconds {
                // (A worker that took a job recently is working through the backlog: it drains.)
                add("queue-backlog", age >= FindingRules.oldestWaitingSeconds * 10 ? .critical : .warning,
                    "Jobs in queue \(q.name) are not being picked up",
                    "\(label): oldest waiting job waited \(age)s, waiting \(w), active \(q.active.map(String.init) ?? "unknown")", "queue-backlog")
            } else if let streak = q.waitingGrowthStreak, streak >= FindingRules.growthStreak, w >= FindingRules.growthMinWaiting {
                add("queue-backlog", .warning, "Queue \(q.name) keeps growing",
                    "\(label): waiting \(w), grew on \(streak) refreshes in a row (last +\(q.waitingDelta ?? 0)), active \(q.active.map(String.init) ?? "unknown")", "queue-backlog")
            }
        }

        // A StatefulSet of more than one replica: roles, links and Sentinels (ReplicationFindings.swift).
        out += ReplicationFindings.evaluate(s.replication)

        return causalOrder(out)
    }

    /// Root causes and what they explain. A cause (left) present at critical severity (or any
    /// severity for `loading`, which is never an accident) explains the symptoms on the right: the
    /// pod is not ready, crash-loops or does not answer *because* its AOF is corrupt, its node is
    /// down, it was OOM-killed, its disk is full or it is still loading. Listed in priority order:
    /// when two causes are present, a symptom goes to the first.
    public static let causes: [(cause: String, explains: Set<String>)] = [
        ("node-not-ready", ["pod-not-ready", "crash-loop", "redis-unreachable", "exporter-down"]),
        ("aof-corruption", ["pod-not-ready", "crash-loop", "redis-unreachable", "exporter-down"]),
        ("aof-write-error", ["pod-not-ready", "crash-loop", "redis-unreachable", "bgsave-error", "aof-rewrite-error"]),
        ("oom-killed", ["pod-not-ready", "crash-loop", "redis-unreachable", "exporter-down"]),
        ("loading", ["pod-not-ready", "redis-unreachable", "exporter-down"]),
        ("oom-rejections", ["queue-backlog"]),
    ]

    /// Findings ordered by the causal graph, then severity: each root (a finding no present cause
    /// explains) by severity, a cause before a plain symptom of the same severity, and right after
    /// each root the findings it explains, marked `because` and pointing to the cause's runbook.
    /// Idempotent: the dashboard applies it again to whatever snapshot it is given.
    public static func causalOrder(_ f: [Finding]) -> [Finding] {
        var found = f
        var effects: [String: [Int]] = [:]                    // cause id -> indexes it explains
        for (i, finding) in found.enumerated() {
            for (cause, explains) in causes where explains.contains(finding.id) && cause != finding.id {
                guard let c = found.first(where: { $0.id == cause && ($0.severity == .critical || cause == "loading") }) else { continue }
                found[i].because = cause
                if let rb = c.runbook { found[i].runbook = rb }
                effects[cause, default: []].append(i)
                break
            }
        }
        let causePriority = Dictionary(uniqueKeysWithValues: causes.enumerated().map { ($0.element.cause, $0.offset) })
        let roots = found.indices.filter { found[$0].because == nil }.sorted { a, b in
            let fa = found[a], fb = found[b]
            if fa.severity.rank != fb.severity.rank { return fa.severity.rank < fb.severity.rank }
            let pa = effects[fa.id] != nil ? causePriority[fa.id] ?? Int.max : Int.max
            let pb = effects[fb.id] != nil ? causePriority[fb.id] ?? Int.max : Int.max
            return pa != pb ? pa < pb : a < b
        }
        var out: [Finding] = []
        var placed = Set<String>()
        for r in roots {
            out.append(found[r])
            // A cause id can appear twice (e.g. two memory-pressure rows); its symptoms follow the first.
            guard !placed.contains(found[r].id) else { continue }
            placed.insert(found[r].id)
            let fx = (effects[found[r].id] ?? []).sorted { found[$0].severity.rank != found[$1].severity.rank ? found[$0].severity.rank < found[$1].severity.rank : $0 < $1 }
            out += fx.map { found[$0] }
        }
        return out
    }

    /// ADR 0005 compliance: appendonly yes, appendfsync everysec, maxmemory-policy noeviction,
    /// maxmemory set, maxmemory low enough under the container limit, exporter present and up.
    public static func adrChecks(_ s: Snapshot) -> [AdrCheck] {
        var out: [AdrCheck] = []
        let aof = s.config.appendonly ?? s.persistence.aofEnabled.map { $0 ? "yes" : "no" }
        out.append(check("appendonly", aof.map { $0 == "yes" }, aof.map { "appendonly \($0)" }))
        let fsync = s.config.appendfsync ?? s.persistence.appendfsync
        out.append(check("appendfsync", fsync.map { $0 == "everysec" }, fsync.map { "appendfsync \($0)" }))
        let policy = s.config.maxmemoryPolicy ?? s.memory.policy
        out.append(check("maxmemory-policy", policy.map { $0 == "noeviction" }, policy.map { "maxmemory-policy \($0)" }))
        let mx = s.memory.maxmemoryBytes ?? s.config.maxmemory
        let lim = s.memory.limitBytes
        out.append(check("maxmemory-set", mx.map { $0 > 0 },
                         mx.map { $0 == 0 ? "unset: the container limit is the only limit" : "maxmemory \(Fmt.size($0))" }))
        let headroom: AdrCheck
        if let mx, mx > 0, let lim, lim > 0 {
            let r = Double(mx) / Double(lim)
            // The fork of an AOF rewrite or BGSAVE copies pages into the same cgroup: the room under
            // the limit must hold the last fork's copy-on-write too.
            let cow = max(s.memory.aofLastCowBytes ?? 0, s.memory.rdbLastCowBytes ?? 0)
            let room = lim - mx
            var detail = "maxmemory \(Fmt.size(mx)) = \(Fmt.pct(r)) of limit \(Fmt.size(lim)), \(Fmt.size(max(room, 0))) left for a fork"
            if cow > 0 { detail += " (last fork CoW \(Fmt.size(cow)))" }
            headroom = AdrCheck(id: "maxmemory-headroom", title: Rules.title("maxmemory-headroom"),
                                status: Rules.headroomPasses(maxmemory: mx, limit: lim, cow: cow) ? .pass : .fail, detail: detail)
        } else if mx == 0 {
            headroom = AdrCheck(id: "maxmemory-headroom", title: Rules.title("maxmemory-headroom"),
                                status: .fail, detail: lim != nil ? "maxmemory unset: Redis is OOMKilled before noeviction applies"
                                                                  : "maxmemory unset and no container limit known")
        } else if let mx, mx > 0, s.pod != nil, lim == nil {
            headroom = AdrCheck(id: "maxmemory-headroom", title: Rules.title("maxmemory-headroom"),
                                status: .pass, detail: "no container memory limit; maxmemory \(Fmt.size(mx)) is the limit")
        } else {
            headroom = AdrCheck(id: "maxmemory-headroom", title: Rules.title("maxmemory-headroom"),
                                status: .unknown, detail: "unknown: \(mx == nil ? "maxmemory" : "container limit") not read")
        }
        out.append(headroom)
        let exp: AdrCheck
        // A crash-looping or not-ready exporter container is not up, whatever its last metrics said.
        let exporterNotReady = s.pod?.containers.first { $0.name.contains("exporter") && $0.ready == false }
        switch (s.exporter.present, s.exporter.up) {
        case (false, _): exp = AdrCheck(id: "exporter", title: Rules.title("exporter"), status: .fail, detail: "no exporter container in the pod")
        case (_, _) where exporterNotReady != nil:
            exp = AdrCheck(id: "exporter", title: Rules.title("exporter"), status: .fail,
                           detail: "container \(exporterNotReady!.name) not ready (\(exporterNotReady!.reason ?? exporterNotReady!.state ?? "unknown"))")
        case (_, false): exp = AdrCheck(id: "exporter", title: Rules.title("exporter"), status: .fail, detail: "redis_up 0")
        case (true, true): exp = AdrCheck(id: "exporter", title: Rules.title("exporter"), status: .pass, detail: "present, redis_up 1")
        default: exp = AdrCheck(id: "exporter", title: Rules.title("exporter"), status: .unknown,
                                detail: s.exporter.present == true ? "present; metrics not read" : "unknown: pod not read")
        }
        out.append(exp)
        return out
    }

    private static func check(_ id: String, _ ok: Bool?, _ detail: String?) -> AdrCheck {
        AdrCheck(id: id, title: Rules.title(id), status: ok.map { $0 ? .pass : .fail } ?? .unknown, detail: detail ?? "unknown: not read")
    }
}

