import Foundation
import Testing
@testable import Diagnosis

@Suite struct SnapshotBuilderTests {
    @Test func healthySnapshotHasNoFindingsAndAllAdrPass() throws {
        let s = SnapshotBuilder.build(try Healthy.inputs())
        #expect(s.findings.isEmpty, "\(s.findings)")
        #expect(s.adr.count == 6)
        #expect(s.adr.allSatisfy { $0.status == .pass }, "\(s.adr)")
        #expect(s.takenAt == "2025-10-05T12:00:00Z")
        #expect(s.redisState == "ok")
        #expect(s.redisVersion == "7.0.15")
        #expect(s.pod?.name == "redis-0" && s.pod?.ready == true && s.pod?.nodeReady == true && s.pod?.restarts == 0)
        #expect(s.pod?.containers.map(\.name) == ["redis", "redis-exporter"])
        #expect(s.memory.limitBytes == 536_870_912)
        #expect(s.memory.maxmemoryBytes == 402_653_184)
        #expect(s.memory.usedBytes == 50_000_000 && s.memory.rssBytes == 60_000_000)
        #expect(s.memory.policy == "noeviction")
        #expect(s.memory.oomRejections == 0)
        #expect(s.memory.fragmentationRatio == 1.2)
        #expect(s.persistence.aofEnabled == true && s.persistence.appendfsync == "everysec")
        #expect(s.persistence.aofLastWriteStatus == "ok" && s.persistence.rdbLastBgsaveStatus == "ok")
        #expect(s.persistence.loading == false && s.persistence.loadingPercent == nil)
        #expect(s.clients.connected == 5 && s.clients.blocked == 2 && s.clients.opsPerSec == 120)
        #expect(s.exporter.present == true && s.exporter.up == true)
        #expect(s.keyspace == ["db0": 1234])
        #expect(s.queues.first?.waiting == 3)
        #expect(CheckReport.make(s).exitCode == 0)
    }

    @Test func nothingReadIsAllNullAndUnknown() {
        var i = SnapshotInputs(now: Healthy.now)
        i.errors = [SourceError(source: "pod", message: "Not logged in to the cluster (Unauthorized)"),
                    SourceError(source: "redis", message: "kubectl exec failed")]
        let s = SnapshotBuilder.build(i)
        #expect(s.pod == nil && s.redisState == nil && s.memory.usedBytes == nil && s.memory.oomRejections == nil)
        #expect(s.findings.isEmpty)
        #expect(s.adr.allSatisfy { $0.status == .unknown })
        let c = CheckReport.make(s)
        #expect(c.exitCode == 3 && c.status == .unknown)
        #expect(c.text.hasPrefix("REDIS UNKNOWN - could not read Redis: pod: Not logged in"))
    }

    @Test func ratesAndDeltasFromPrevious() throws {
        var i1 = try Healthy.inputs()
        i1.infoText = InfoText.make(oom: 10)
        let s1 = SnapshotBuilder.build(i1)
        #expect(s1.memory.oomRejections == 10 && s1.memory.oomRejectionsPerSec == nil)
        var i2 = try Healthy.inputs()
        i2.now = Healthy.now.addingTimeInterval(5)
        i2.infoText = InfoText.make(oom: 60)
        var q = i2.queues![0]; q.waiting = 13; i2.queues = [q]
        i2.previous = s1
        let s2 = SnapshotBuilder.build(i2)
        #expect(s2.memory.oomRejectionsPerSec == 10)
        #expect(s2.queues[0].waitingDelta == 10 && s2.queues[0].waitingGrowthStreak == 1)
        // A restarted Redis (counter went down) gives no rate rather than a negative one.
        var i3 = i2; i3.previous = s2; i3.now = Healthy.now.addingTimeInterval(10); i3.infoText = InfoText.make(oom: 0)
        #expect(SnapshotBuilder.build(i3).memory.oomRejectionsPerSec == nil)
    }

    @Test func memoryLimitFromThePodSpecQuantities() throws {
        for (q, bytes) in [("512Mi", Int64(536_870_912)), ("1Gi", 1_073_741_824), ("500M", 500_000_000), ("1e9", 1_000_000_000), ("128974848", 128_974_848)] {
            var i = try Healthy.inputs()
            i.pod = try KubeJSON.pod(from: PodJSON.pod(limit: q))
            #expect(SnapshotBuilder.build(i).memory.limitBytes == bytes, "\(q)")
        }
        var i = try Healthy.inputs()
        i.pod = try KubeJSON.pod(from: PodJSON.pod(limit: nil))
        #expect(SnapshotBuilder.build(i).memory.limitBytes == nil)
    }

    @Test func flavoursFromReferenceInfo() throws {
        for (file, server) in [("valkey-9.1.2_info_all.txt", "valkey 9.1.2"), ("dragonfly-df-v2.0.0_info_all.txt", "dragonfly df-v2.0.0"), ("keydb-6.3.4_info_all.txt", "keydb 6.3.4")] {
            var i = SnapshotInputs(now: Healthy.now)
            i.infoText = try Fixture.text("redis-info/" + file)
            let s = SnapshotBuilder.build(i)
            #expect(s.redisServer == server)
            #expect(s.redisState == "ok")
            #expect(s.memory.usedBytes != nil)
            #expect(s.memory.oomRejections == 0)
            #expect(s.clients.rejectedConnections != -1)
        }
        var i = SnapshotInputs(now: Healthy.now)
        i.infoText = try Fixture.text("redis-info/redis-6.2.1_info-excerpt_loading1_crash-report.txt")
        let s = SnapshotBuilder.build(i)
        #expect(s.redisState == "loading" && s.persistence.loading == true && s.persistence.loadingPercent == 2.19)
        #expect(s.persistence.aofEnabled == nil, "aof_enabled:0 while loading says nothing")
        #expect(s.memory.oomRejections == nil, "no Errorstats section in 6.2.1 excerpt: unknown, not 0")
        #expect(s.findings.contains { $0.id == "loading" })
        #expect(s.findings.contains { $0.id == "eviction-policy" })
        #expect(!s.findings.contains { $0.id == "aof-disabled" })
    }
}

@Suite struct FindingTests {
    func build(_ edit: (inout SnapshotInputs) throws -> Void) throws -> Snapshot {
        var i = try Healthy.inputs()
        try edit(&i)
        return SnapshotBuilder.build(i)
    }
    func finding(_ s: Snapshot, _ id: String) -> Finding? { s.findings.first { $0.id == id } }

    static let allIds = ["redis-unreachable", "pod-not-ready", "crash-loop", "oom-killed", "aof-corruption", "aof-write-error",
                         "bgsave-error", "loading", "memory-pressure", "oom-rejections", "maxmemory-unset",
                         "maxmemory-too-close-to-limit", "eviction-policy", "aof-disabled", "fsync-policy", "node-not-ready",
                         "exporter-down", "queue-backlog"]

    @Test func healthyProducesNone() throws {
        let s = try build { _ in }
        for id in Self.allIds { #expect(finding(s, id) == nil, "\(id)") }
    }

    @Test func redisUnreachable() throws {
        let s = try build {
            $0.infoText = nil; $0.config = nil
            $0.redisSessionError = "Could not connect to Redis at 127.0.0.1:6379: Connection refused"
        }
        let f = try #require(finding(s, "redis-unreachable"))
        #expect(f.severity == .critical && f.runbook == "pod-restart")
        #expect(f.evidence.contains("Connection refused"))
        #expect(s.findings.first?.severity == .critical)
        #expect(CheckReport.make(s).exitCode == 2)
    }

    @Test func podNotReadyAndCrashLoop() throws {
        let s = try build {
            $0.pod = try KubeJSON.pod(from: PodJSON.pod(ready: false, redisStatus: PodJSON.container("redis", ready: false, restarts: 7,
                state: #"{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container=redis"}}"#,
                lastState: #"{"terminated":{"reason":"Error","exitCode":1,"finishedAt":"2025-10-05T11:59:00Z"}}"#)))
            $0.infoText = nil
            $0.redisSessionError = #"error: unable to upgrade connection: container not found ("redis")"#
        }
        let nr = try #require(finding(s, "pod-not-ready"))
        #expect(nr.severity == .critical && nr.runbook == "pod-restart")
        #expect(nr.evidence.contains("redis: waiting CrashLoopBackOff"))
        let cl = try #require(finding(s, "crash-loop"))
        #expect(cl.severity == .critical && cl.runbook == "pod-restart")
        #expect(cl.evidence.contains("7 restarts") && cl.evidence.contains("last exit 1 Error"))
    }

    @Test func crashLoopWithAofCorruptionPointsToAofRunbook() throws {
        let log = try Fixture.blocks("redis-info/logs.txt").first { $0.header.contains("1Panel") }!.body
        let s = try build {
            $0.pod = try KubeJSON.pod(from: PodJSON.pod(ready: false, redisStatus: PodJSON.container("redis", ready: false, restarts: 4,
                state: #"{"waiting":{"reason":"CrashLoopBackOff"}}"#,
                lastState: #"{"terminated":{"reason":"Error","exitCode":1,"finishedAt":"2025-10-05T11:59:00Z"}}"#)))
            $0.infoText = nil
            $0.previousLogText = log
        }
        let cl = try #require(finding(s, "crash-loop"))
        #expect(cl.runbook == "aof-corruption")
        #expect(cl.evidence.contains("Bad file format reading the append only file appendonly.aof.44.incr.aof"))
        let ac = try #require(finding(s, "aof-corruption"))
        #expect(ac.severity == .critical && ac.runbook == "aof-corruption")
        // Root cause first: the corrupt AOF explains the pod that is not ready and the crash loop,
        // which fold under it and point to its runbook (Enter / X on the default selection).
        #expect(s.findings.first?.id == "aof-corruption")
        #expect(s.findings.first?.because == nil)
        let nr = try #require(finding(s, "pod-not-ready"))
        #expect(nr.because == "aof-corruption" && nr.runbook == "aof-corruption")
        #expect(cl.because == "aof-corruption")
        #expect(CheckReport.make(s).text.hasPrefix("REDIS CRITICAL - Redis refused to load its AOF"))
        #expect(ac.evidence.hasPrefix("redis  | 9:M 02 Jun 2025 06:13:23.204 # Bad file format"))
        #expect(s.logEvidence.first?.kind == "aof-corruption")
    }

    @Test func oomKilled() throws {
        let s = try build {
            $0.pod = try KubeJSON.pod(from: PodJSON.pod(redisStatus: PodJSON.container("redis", restarts: 1,
                lastState: #"{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2025-10-05T11:50:00Z"}}"#)))
        }
        let f = try #require(finding(s, "oom-killed"))
        #expect(f.severity == .critical && f.runbook == "memory-pressure")
        #expect(f.evidence.contains("OOMKilled, exit code 137") && f.evidence.contains("512.0 MiB"))
        // Days ago: still reported, as a warning.
        let old = try build {
            $0.pod = try KubeJSON.pod(from: PodJSON.pod(redisStatus: PodJSON.container("redis", restarts: 1,
                lastState: #"{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2025-10-01T11:50:00Z"}}"#)))
        }
        #expect(finding(old, "oom-killed")?.severity == .warning)
        // The reference Job pod (OOMKilled in state, not lastState).
        let job = try build {
            $0.pod = try KubeJSON.pod(from: Fixture.data("kubectl/pod-oomkilled-terminated_podlist.json"))
            $0.redisContainer = "memory-eater"
        }
        #expect(finding(job, "oom-killed") != nil)
        #expect(finding(job, "pod-not-ready") != nil)
    }

    @Test func aofWriteErrorAndMisconf() throws {
        let s = try build {
            $0.infoText = InfoText.make(aofWrite: "err")
            $0.redisSessionError = "MISCONF Errors writing to the AOF file: No space left on device"
        }
        #expect(s.redisState == "misconf")
        let f = try #require(finding(s, "aof-write-error"))
        #expect(f.severity == .critical && f.runbook == "disk-full")
        #expect(f.evidence.contains("aof_last_write_status:err") && f.evidence.contains("No space left on device"))
        #expect(finding(s, "bgsave-error") == nil)
    }

    @Test func bgsaveError() throws {
        let s = try build { $0.infoText = InfoText.make(bgsave: "err") }
        let f = try #require(finding(s, "bgsave-error"))
        #expect(f.severity == .warning && f.runbook == "disk-full" && f.evidence == "rdb_last_bgsave_status:err")
        let m = try build {
            $0.infoText = InfoText.make(bgsave: "err")
            $0.redisSessionError = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."
        }
        #expect(finding(m, "bgsave-error")?.severity == .critical)
        #expect(finding(m, "aof-write-error") == nil)
    }

    @Test func aofRewriteErrorFromReferenceInfo() throws {
        let s = try build { $0.infoText = try Fixture.text("redis-info/redis-5.0.9_info-persistence_aof-bgrewrite-err.txt") }
        #expect(finding(s, "aof-rewrite-error")?.runbook == "disk-full")
    }

    @Test func loading() throws {
        let s = try build { $0.infoText = InfoText.make(loading: true) }
        let f = try #require(finding(s, "loading"))
        #expect(f.runbook == "loading" && f.evidence.contains("14.61% loaded") && f.evidence.contains("ETA 5s"))
        #expect(finding(s, "aof-disabled") == nil, "aof_enabled:0 while loading is not a config problem")
        let reply = try build { $0.infoText = nil; $0.redisSessionError = "LOADING Redis is loading the dataset in memory" }
        #expect(reply.redisState == "loading" && finding(reply, "loading") != nil)
    }

    @Test func memoryPressure() throws {
        let s = try build { $0.infoText = InfoText.make(used: 370_000_000, rss: 400_000_000) }
        let f = try #require(finding(s, "memory-pressure"))
        #expect(f.severity == .warning && f.runbook == "memory-pressure")
        #expect(f.evidence.contains("of maxmemory 384.0 MiB (91.9%)"))
        let over = try build { $0.infoText = InfoText.make(used: 410_000_000, rss: 420_000_000) }
        #expect(finding(over, "memory-pressure")?.severity == .critical)
        let nearLimit = try build { $0.infoText = InfoText.make(used: 300_000_000, rss: 500_000_000) }
        #expect(nearLimit.findings.contains { $0.id == "memory-pressure" && $0.summary.contains("container memory limit") })
        // The ElastiCache excerpt: 404.62M of 416.25M.
        let ec = try build {
            $0.infoText = try Fixture.text("redis-info/redis-5.0.3-elasticache_info-all-excerpt_used-memory-near-maxmemory.txt")
            $0.config = nil; $0.pod = nil
        }
        #expect(finding(ec, "memory-pressure")?.evidence.contains("(97.2%)") == true)
    }

    @Test func oomRejections() throws {
        let s = try build { $0.infoText = InfoText.make(oom: 8) }
        let f = try #require(finding(s, "oom-rejections"))
        #expect(f.severity == .warning && f.evidence == "errorstat_OOM count=8" && f.runbook == "memory-pressure")
        var prev = try Healthy.inputs(); prev.infoText = InfoText.make(oom: 8)
        let s1 = SnapshotBuilder.build(prev)
        let rising = try build { $0.infoText = InfoText.make(oom: 18); $0.previous = s1; $0.now = Healthy.now.addingTimeInterval(5) }
        #expect(finding(rising, "oom-rejections")?.severity == .critical)
        #expect(finding(rising, "oom-rejections")?.evidence.contains("+2/s") == true)
        let reply = try build { $0.redisSessionError = "OOM command not allowed when used memory > 'maxmemory'." }
        #expect(finding(reply, "oom-rejections")?.severity == .critical)
    }

    @Test func adrManifestHasNoMaxmemory() throws {
        // The ADR's own manifest: limit 512Mi, no --maxmemory, noeviction.
        let s = try build {
            $0.infoText = InfoText.make(maxmemory: 0)
            $0.config = ["appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction", "maxmemory": "0"]
        }
        let f = try #require(finding(s, "maxmemory-unset"))
        #expect(f.severity == .warning && f.runbook == "memory-pressure")
        #expect(f.summary == "maxmemory is unset: the container limit is the only limit")
        #expect(f.evidence.contains("the container limit 512.0 MiB is the only limit"))
        #expect(f.evidence.contains("OOMKilled before the eviction policy ever applies"))
        #expect(!f.evidence.contains("% of maxmemory") && !f.evidence.lowercased().contains("host"))
        #expect(s.adr.first { $0.id == "maxmemory-set" }?.status == .fail)
        #expect(s.adr.first { $0.id == "maxmemory-set" }?.detail == "unset: the container limit is the only limit")
        #expect(s.adr.first { $0.id == "maxmemory-headroom" }?.status == .fail)
        #expect(StatusText.render(s).contains("maxmemory unset: the container limit is the only limit"))
        #expect(CheckReport.make(s).exitCode == 1)
        // Near the limit it becomes critical.
        let hot = try build {
            $0.infoText = InfoText.make(used: 400_000_000, rss: 450_000_000, maxmemory: 0)
            $0.config?["maxmemory"] = "0"
        }
        #expect(finding(hot, "maxmemory-unset")?.severity == .critical)
    }

    @Test func maxmemoryTooCloseToLimit() throws {
        let s = try build {
            $0.infoText = InfoText.make(maxmemory: 500_000_000)
            $0.config?["maxmemory"] = "500000000"
        }
        let f = try #require(finding(s, "maxmemory-too-close-to-limit"))
        #expect(f.severity == .warning && f.runbook == "memory-pressure")
        #expect(f.evidence.contains("93.1% of the container limit 512.0 MiB") && f.evidence.contains("at most 75%"))
        let above = try build { $0.config?["maxmemory"] = "1073741824" }
        #expect(finding(above, "maxmemory-too-close-to-limit")?.severity == .critical)
        // Within 75 % but the last fork's CoW did not fit in the headroom (limit − maxmemory = 128 MiB).
        let cow = try build { $0.infoText = InfoText.make(aofCow: 200_000_000) }
        let c = try #require(finding(cow, "maxmemory-too-close-to-limit"))
        #expect(c.evidence.contains("last fork CoW 190.7 MiB >= headroom 128.0 MiB"))
    }

    @Test func configDrift() throws {
        let s = try build {
            $0.config = ["appendonly": "no", "appendfsync": "always", "maxmemory-policy": "allkeys-lru", "maxmemory": "402653184"]
            $0.infoText = InfoText.make(policy: "allkeys-lru", aofEnabled: 0, evicted: 681)
        }
        let ev = try #require(finding(s, "eviction-policy"))
        #expect(ev.severity == .critical && ev.runbook == "config-drift" && ev.evidence.hasPrefix("maxmemory-policy allkeys-lru, evicted_keys 681"))
        // The pod's manifest says noeviction and appendonly yes: the evidence says a restart brings them back.
        #expect(ev.evidence.hasSuffix("; maxmemory-policy allkeys-lru running, noeviction in the manifest (a restart brings the manifest's value back)"))
        #expect(finding(s, "aof-disabled")?.evidence == "appendonly no; appendonly no running, yes in the manifest (a restart brings the manifest's value back)")
        #expect(finding(s, "config-not-persisted") == nil)
        #expect(finding(s, "aof-disabled")?.runbook == "config-drift")
        #expect(finding(s, "fsync-policy")?.evidence.hasPrefix("appendfsync always") == true)
        #expect(finding(s, "fsync-policy")?.runbook == "config-drift")
        #expect(s.adr.filter { $0.status == .fail }.map(\.id) == ["appendonly", "appendfsync", "maxmemory-policy"])
        let volatile = try build { $0.config?["maxmemory-policy"] = "volatile-lru" }
        #expect(finding(volatile, "eviction-policy")?.severity == .warning)
    }

    @Test func nodeDownExplainsThePodAndRedis() throws {
        let s = try build {
            $0.node = try KubeJSON.node(from: PodJSON.node(ready: "Unknown"))
            $0.pod = try KubeJSON.pod(from: PodJSON.pod(ready: false, redisStatus: PodJSON.container("redis", ready: false)))
            $0.infoText = nil
            $0.redisSessionError = "Could not connect to Redis at 127.0.0.1:6379: Connection refused"
        }
        #expect(s.findings.map(\.id).first == "node-not-ready", "\(s.findings.map(\.id))")
        for id in ["pod-not-ready", "redis-unreachable"] {
            let f = try #require(finding(s, id))
            #expect(f.because == "node-not-ready" && f.runbook == "node-failure", "\(id)")
        }
        // The symptoms come right after their cause.
        #expect(Array(s.findings.map(\.id).prefix(3)).sorted() == ["node-not-ready", "pod-not-ready", "redis-unreachable"])
    }

    @Test func aSymptomWithoutItsCauseKeepsItsOwnRunbook() throws {
        // An old (warning) OOM kill explains nothing: the crash loop stays a root with pod-restart.
        let list = Findings.causalOrder([
            Finding(id: "crash-loop", severity: .critical, summary: "c", evidence: "e", runbook: "pod-restart"),
            Finding(id: "oom-killed", severity: .warning, summary: "o", evidence: "e", runbook: "memory-pressure"),
        ])
        #expect(list.map(\.id) == ["crash-loop", "oom-killed"])
        #expect(list.allSatisfy { $0.because == nil })
        #expect(list[0].runbook == "pod-restart")
        // A critical one does, and comes first although listed later.
        let crit = Findings.causalOrder([
            Finding(id: "pod-not-ready", severity: .critical, summary: "p", evidence: "e", runbook: "pod-restart"),
            Finding(id: "eviction-policy", severity: .warning, summary: "x", evidence: "e", runbook: "config-drift"),
            Finding(id: "oom-killed", severity: .critical, summary: "o", evidence: "e", runbook: "memory-pressure"),
        ])
        #expect(crit.map(\.id) == ["oom-killed", "pod-not-ready", "eviction-policy"])
        #expect(crit[1].because == "oom-killed" && crit[1].runbook == "memory-pressure")
    }

    /// The API server refuses connections: every kubectl read fails the same way.
    static func refusedErrors() -> [SourceError] {
        let msg = KubectlError.classify(stderr: "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?", exitCode: 1)
        #expect(msg.kind == .connectionRefused)
        return ["pod", "node", "events", "exporter", "redis"].map {
            SourceError(source: $0, message: msg.description, staleSeconds: 6, kind: msg.kind.rawValue)
        }
    }

    /// Redis gave no reply at all (its node froze): a finding at once when the API server has
    /// answered since; nothing while the silence may be the control plane's, or is too short.
    @Test func redisSilentWhileTheAPIAnswersIsAFinding() throws {
        let silent = try build {
            $0.infoText = nil; $0.config = nil
            $0.redisSessionError = "no reply from redis-cli for 3s (still waiting)"
            $0.redisSilentSeconds = FindingRules.redisSilentSeconds
        }
        let f = try #require(finding(silent, "redis-unreachable"))
        #expect(f.severity == .critical && f.evidence.contains("no reply from redis-cli for 3s"), "\(f)")
        #expect(CheckReport.make(silent).exitCode == 2)
        let short = try build {
            $0.infoText = nil; $0.config = nil
            $0.redisSessionError = "no reply from redis-cli for 2s (still waiting)"
            $0.redisSilentSeconds = FindingRules.redisSilentSeconds - 1
        }
        #expect(finding(short, "redis-unreachable") == nil, "a reply 2 s late is no outage yet")
        let apiDown = try build {
            $0.pod = nil; $0.node = nil; $0.infoText = nil; $0.config = nil; $0.metricsText = nil; $0.queues = nil
            $0.redisSessionError = "no reply from redis-cli for 9s (still waiting)"
            $0.redisSilentSeconds = 9
            $0.errors = Self.refusedErrors()
        }
        #expect(finding(apiDown, "redis-unreachable") == nil, "the control plane's silence is not Redis's")
    }

    @Test func unreachableClusterIsUnknownNotARedisOutage() throws {
        let s = try build {
            $0.pod = nil; $0.node = nil; $0.infoText = nil; $0.config = nil; $0.metricsText = nil; $0.queues = nil
            $0.redisSessionError = "Cannot reach the API server: connection refused (127.0.0.1:6443)"
            $0.errors = Self.refusedErrors()
        }
        #expect(s.cluster?.state == .refused)
        #expect(s.cluster?.since == s.takenAt)
        #expect(s.cluster?.message?.contains("connection refused") == true)
        // No Redis or exporter finding from data that is missing only because the API is down.
        #expect(s.redisState == nil)
        #expect(finding(s, "redis-unreachable") == nil)
        #expect(finding(s, "exporter-down") == nil)
        let c = CheckReport.make(s)
        #expect(c.exitCode == 3 && c.status == .unknown)
        #expect(c.text.hasPrefix("REDIS UNKNOWN - cannot read the cluster (refused): Cannot reach the API server"), "\(c.text)")
    }

    @Test func lastKnownFindingsStayWhileTheClusterIsUnreachable() throws {
        let before = try build {
            var q = QueueCounts(prefix: "bull", name: "emails"); q.waiting = 5000; q.active = 0
            $0.queues = [q]
        }
        #expect(before.cluster?.state == .reachable)
        #expect(finding(before, "queue-backlog") != nil)
        let during = try build {
            $0.now = Healthy.now.addingTimeInterval(10)
            $0.previous = before
            $0.pod = nil; $0.node = nil; $0.infoText = nil; $0.config = nil; $0.metricsText = nil; $0.queues = nil
            $0.errors = Self.refusedErrors()
        }
        #expect(finding(during, "queue-backlog") != nil, "the backlog must not silently disappear")
        #expect(during.cluster?.findingsFrom == before.takenAt)
        let later = try build {
            $0.now = Healthy.now.addingTimeInterval(20)
            $0.previous = during
            $0.pod = nil; $0.node = nil; $0.infoText = nil; $0.config = nil; $0.metricsText = nil; $0.queues = nil
            $0.errors = Self.refusedErrors()
        }
        // The state and its start carry over; the findings are still those computed from live data.
        #expect(later.cluster?.since == during.cluster?.since)
        #expect(later.cluster?.findingsFrom == before.takenAt)
        #expect(finding(later, "queue-backlog") != nil)
        #expect(CheckReport.make(later).text.contains("STALE findings last computed from live data at \(before.takenAt!)"))
        // Back: fresh findings again, the state is reachable.
        let back = try build { $0.now = Healthy.now.addingTimeInterval(30); $0.previous = later }
        #expect(back.cluster?.state == .reachable && back.cluster?.since == nil && back.cluster?.findingsFrom == nil)
        #expect(finding(back, "queue-backlog") == nil)
    }

    @Test func clusterStateFromEachKindOfFailure() {
        let cases: [(String, ClusterAccess.State)] = [
            ("error: You must be logged in to the server (Unauthorized)", .unauthorized),
            ("Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority", .tls),
            ("Unable to connect to the server: dial tcp 127.0.0.1:6443: i/o timeout", .timedOut),
            ("Unable to connect to the server: net/http: TLS handshake timeout", .timedOut),
            (#"Error from server (Forbidden): pods "redis-0" is forbidden: User "oncall-viewer" cannot get resource "pods" in API group "" in the namespace "default""#, .forbidden),
            (#"Error from server (NotFound): pods "redis-9" not found"#, .reachable),
            // The exporter's port refused behind the API server's pod proxy: the API server answers.
            ("Error from server (ServiceUnavailable): error trying to reach service: dial tcp 10.244.0.6:9121: connect: connection refused", .reachable),
        ]
        for (stderr, want) in cases {
            let k = KubectlError.classify(stderr: stderr, exitCode: 1)
            let got = ClusterAccess.derive(errors: [SourceError(source: "pod", message: k.description, kind: k.kind.rawValue)], previous: nil, now: "t")
            #expect(got.state == want, "\(stderr)")
        }
        // The exporter behind the pod proxy timing out (a frozen pod on a dead node) while the pod
        // and node reads answer: the API server is there.
        let slowProxy = KubectlError.classify(stderr: "Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)", exitCode: 1)
        #expect(slowProxy.kind == .timeout)
        #expect(ClusterAccess.derive(errors: [SourceError(source: "exporter", message: slowProxy.description, kind: slowProxy.kind.rawValue)], previous: nil, now: "t").state == .reachable)
        #expect(ClusterAccess.derive(errors: [SourceError(source: "pod", message: slowProxy.description, kind: slowProxy.kind.rawValue)], previous: nil, now: "t").state == .timedOut)
        // A forbidden exec (a viewer) with a readable pod: the cluster is reachable.
        let k = KubectlError.classify(stderr: #"Error from server (Forbidden): pods "redis-0" is forbidden: User "oncall-viewer" cannot create resource "pods/exec""#, exitCode: 1)
        #expect(ClusterAccess.derive(errors: [SourceError(source: "redis", message: k.description, kind: k.kind.rawValue)], previous: nil, now: "t").state == .reachable)
    }

    @Test func nodeNotReady() throws {
        let s = try build { $0.node = try KubeJSON.node(from: PodJSON.node(ready: "Unknown")) }
        let f = try #require(finding(s, "node-not-ready"))
        #expect(f.severity == .critical && f.runbook == "node-failure" && f.evidence.contains("node-1"))
        let lost = try build { $0.pod = try KubeJSON.pod(from: PodJSON.pod(reason: "NodeLost")); $0.node = nil }
        #expect(finding(lost, "node-not-ready")?.evidence.contains("NodeLost") == true)
    }

    @Test func exporterDown() throws {
        let s = try build { $0.metricsText = "# TYPE redis_up gauge\nredis_up{addr=\"redis://localhost:6379\"} 0\n" }
        let f = try #require(finding(s, "exporter-down"))
        #expect(f.runbook == "exporter-down" && f.evidence == "redis_up 0")
        #expect(s.adr.first { $0.id == "exporter" }?.status == .fail)
        let unreadable = try build {
            $0.metricsText = nil
            $0.errors = [SourceError(source: "exporter", message: "Error from server (ServiceUnavailable): the server is currently unable to handle the request")]
        }
        #expect(finding(unreadable, "exporter-down")?.evidence.contains("ServiceUnavailable") == true)
        let missing = try build { $0.pod = try KubeJSON.pod(from: PodJSON.pod(exporter: false)); $0.metricsText = nil }
        #expect(missing.exporter.present == false)
        #expect(missing.adr.first { $0.id == "exporter" }?.detail == "no exporter container in the pod")
    }

    @Test func queueBacklog() throws {
        let s = try build {
            var q = QueueCounts(prefix: "bull", name: "emails"); q.waiting = 5000; q.active = 0
            $0.queues = [q]
        }
        let f = try #require(finding(s, "queue-backlog"))
        #expect(f.severity == .warning && f.runbook == "queue-backlog")
        #expect(f.evidence.contains("bull:emails: waiting 5000, active 0"))
        // Growing on three refreshes in a row, with workers busy.
        var prev: Snapshot?
        var last: Snapshot?
        for (n, waiting) in [100, 150, 220, 300].enumerated() {
            last = try build {
                var q = QueueCounts(prefix: "bull", name: "emails"); q.waiting = Int64(waiting); q.active = 4
                $0.queues = [q]; $0.previous = prev; $0.now = Healthy.now.addingTimeInterval(Double(n) * 5)
            }
            if n < 3 { #expect(finding(last!, "queue-backlog") == nil, "refresh \(n)") }
            prev = last
        }
        let g = try #require(finding(last!, "queue-backlog"))
        #expect(g.evidence.contains("grew on 3 refreshes in a row (last +80)"))
    }

    @Test func sortedMostSevereFirst() throws {
        let s = try build {
            $0.config = ["appendonly": "no", "appendfsync": "everysec", "maxmemory-policy": "noeviction", "maxmemory": "402653184"]
            $0.node = try KubeJSON.node(from: PodJSON.node(ready: "False"))
            $0.infoText = InfoText.make(oom: 3)
        }
        let ranks = s.findings.map(\.severity.rank)
        #expect(ranks == ranks.sorted())
        #expect(s.findings.first?.id == "node-not-ready")
        #expect(Set(s.findings.map(\.id)) == ["node-not-ready", "aof-disabled", "oom-rejections"])
    }
}

/// Issue 19.5: the running config against the pod's manifest (what a restart brings back).
@Suite struct ManifestDriftTests {
    @Test func manifestArgumentsAreRead() throws {
        let m = ManifestConfig.parse(command: ["redis-server"], args: ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory", "384mb",
                                                                       "--maxmemory-policy", "noeviction"], containerIndex: 0)
        #expect(m.maxmemory == "384mb" && m.maxmemoryBytes == 402_653_184 && m.maxmemoryArgIndex == 5 && m.containerIndex == 0)
        #expect(m.maxmemoryPolicy == "noeviction" && m.appendonly == "yes" && m.appendfsync == "everysec")
        // One exec-form item per setting, as in the fixture's command.
        let one = ManifestConfig.parse(command: ["redis-server", "--appendonly yes", "--maxmemory 1gb"], args: [], containerIndex: 1)
        #expect(one.appendonly == "yes" && one.maxmemoryBytes == 1 << 30 && one.maxmemoryArgIndex == nil)
        // From a real pod JSON: the fixture's redis container.
        let s = SnapshotBuilder.build(try Healthy.inputs())
        #expect(s.manifest?.appendonly == "yes" && s.manifest?.maxmemoryPolicy == "noeviction" && s.manifest?.containerIndex == 0)
        #expect(!s.findings.contains { $0.id == "config-not-persisted" })
    }

    func snapshot(runtime maxmemory: Int64, policy: String = "noeviction") -> Snapshot {
        var s = Snapshot()
        s.config.maxmemory = maxmemory
        s.config.maxmemoryPolicy = policy
        s.config.appendonly = "yes"
        s.config.appendfsync = "everysec"
        s.manifest = ManifestConfig.parse(command: ["redis-server"], args: ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory", "384mb",
                                                                            "--maxmemory-policy", "noeviction"], containerIndex: 0)
        return s
    }

    @Test func runtimeMaxmemoryThatDiffersFromTheManifestIsFlagged() {
        let same = Findings.evaluate(snapshot(runtime: 402_653_184))
        #expect(!same.contains { $0.id == "config-not-persisted" })
        let f = Findings.evaluate(snapshot(runtime: 503_316_480))
        let d = f.first { $0.id == "config-not-persisted" }
        #expect(d?.severity == .warning && d?.runbook == "memory-pressure")
        #expect(d?.evidence.contains("maxmemory 503316480") == true && d?.evidence.contains("--maxmemory 384mb") == true)
        // A policy changed at runtime is the ADR finding; its evidence says the manifest differs.
        let p = Findings.evaluate(snapshot(runtime: 402_653_184, policy: "allkeys-lru"))
        #expect(!p.contains { $0.id == "config-not-persisted" })
        #expect(p.first { $0.id == "eviction-policy" }?.evidence.contains("maxmemory-policy allkeys-lru running, noeviction in the manifest") == true)
        // The running value is the ADR's but the manifest is not: the next restart undoes it.
        var s = snapshot(runtime: 402_653_184)
        s.manifest?.appendfsync = "always"
        let q = Findings.evaluate(s).first { $0.id == "config-not-persisted" }
        #expect(q?.runbook == "config-drift" && q?.evidence == "appendfsync everysec running, always in the manifest")
    }
}
