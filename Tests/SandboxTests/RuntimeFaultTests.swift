import Foundation
import ProcessRunner
import Testing
@testable import Sandbox
#if canImport(Glibc)
import Glibc
#endif

func lastTerminated(_ c: ContainerStatus?) -> (reason: String, code: Int32)? {
    if case .terminated(let r, let code, _, _, _, _)? = c?.lastState { return (r, code) }
    return nil
}

func waitingReason(_ c: ContainerStatus?) -> String? {
    if case .waiting(let r, _)? = c?.state { return r }
    return nil
}

@Suite("Sandbox runtime: faults", .serialized)
struct RuntimeFaultTests {
    @Test func crashOOMKillExporterBacklogDriftAndHeal() async throws {
        try await withTestSandbox(["--memory-limit", "128Mi"]) { sb in
            #expect(await sb.sandbox("seed").succeeded)
            // The queues as the real BullMQ client wrote them (jobs run to completed by its Worker).
            #expect(Int(await sb.redisCLI(["ZCARD", "bull:email:completed"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 255)
            #expect(await sb.redisCLI(["TYPE", "bull:email:events"]).contains("stream"))
            #expect(await sb.redisCLI(["TYPE", "bull:email:completed"]).contains("zset"))
            #expect(await sb.redisCLI(["HGET", "bull:email:meta", "opts.maxLenEvents"]).contains("10000"))

            // crash: SIGKILL, restarted at once, Error 137
            let crash = await sb.sandbox("fault", ["crash"])
            #expect(crash.succeeded, "\(crash.stderrText)")
            #expect(await sb.waitUntil(20) { s in
                let c = s.pods.first?.containerStatuses.first { $0.name == "redis" }
                return c?.restartCount == 1 && c?.ready == true
            })
            #expect(lastTerminated(sb.container("redis"))?.reason == "Error")
            #expect(lastTerminated(sb.container("redis"))?.code == 137)

            // oom-kill: really over the cgroup limit, OOMKilled 137
            let oom = await sb.sandbox("fault", ["oom-kill"])
            #expect(oom.succeeded, "\(oom.stderrText)")
            #expect(await sb.waitUntil(20) { s in
                lastTerminated(s.pods.first?.containerStatuses.first { $0.name == "redis" })?.reason == "OOMKilled"
            })
            #expect(lastTerminated(sb.container("redis"))?.code == 137)
            #expect(sb.container("redis")?.restartCount == 2 || waitingReason(sb.container("redis")) == "CrashLoopBackOff")
            #expect(sb.state?.events.contains { $0.reason == "OOMKilling" } == true)
            // the transaction's memory was never persisted: Redis comes back with its manifest maxmemory
            #expect(await sb.waitUntil(30) { TestSandbox.isReady($0) })
            #expect(await sb.info("memory")["maxmemory"] == String(96 << 20))

            // exporter-down: CrashLoopBackOff with kubectl's message, the exporter's own fatal line in its log
            #expect(await sb.sandbox("fault", ["exporter-down"]).succeeded)
            #expect(await sb.waitUntil(30) { s in
                guard let c = s.pods.first?.containerStatuses.first(where: { $0.name == "redis-exporter" }),
                      case .waiting(let r, let m) = c.state else { return false }
                return r == "CrashLoopBackOff" && (m ?? "").hasPrefix("back-off ") && (m ?? "").contains("restarting failed container=redis-exporter pod=redis-0_default(")
            })
            let exp = try #require(sb.container("redis-exporter"))
            #expect(sb.containerLog("redis-exporter", restart: exp.restartCount).contains("invalid port")
                    || sb.containerLog("redis-exporter", restart: exp.restartCount - 1).contains("invalid port"))
            #expect(sb.state?.events.contains { $0.reason == "BackOff" && $0.message.hasPrefix("Back-off restarting failed container redis-exporter in pod redis-0_default(") } == true)

            // queue-backlog: wait grows
            #expect(await sb.sandbox("fault", ["queue-backlog"]).succeeded)
            try await Task.sleep(for: .milliseconds(500))
            let w1 = Int(await sb.redisCLI(["LLEN", "bull:email:wait"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            try await Task.sleep(for: .seconds(3))
            let w2 = Int(await sb.redisCLI(["LLEN", "bull:email:wait"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            #expect(w2 > w1 && w1 >= 0, "wait \(w1) -> \(w2)")

            // config-drift
            #expect(await sb.sandbox("fault", ["config-drift"]).succeeded)
            #expect(await sb.info("memory")["maxmemory_policy"] == "allkeys-lru")

            // heal: worker and exporter back; drift is left for a runbook
            let heal = await sb.sandbox("heal")
            #expect(heal.stdoutText.contains("BullMQ worker restarted") && heal.stdoutText.contains("exporter restarted"))
            #expect(heal.stdoutText.contains("left for a runbook") && heal.stdoutText.contains("maxmemory-policy"))
            #expect(await sb.waitUntil(20) { s in s.pods.first?.containerStatuses.first { $0.name == "redis-exporter" }?.ready == true })
            let w3 = Int(await sb.redisCLI(["LLEN", "bull:email:wait"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            try await Task.sleep(for: .seconds(3))
            let w4 = Int(await sb.redisCLI(["LLEN", "bull:email:wait"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            #expect(w4 < w3, "the worker drains wait: \(w3) -> \(w4)")
            #expect(await sb.info("memory")["maxmemory_policy"] == "allkeys-lru")
            // Repaired by hand (as the config-drift runbook does): heal no longer lists it.
            #expect(await sb.redisCLI(["CONFIG", "SET", "maxmemory-policy", "noeviction"]).contains("OK"))
            let again = await sb.sandbox("heal")
            #expect(!again.stdoutText.contains("maxmemory-policy") && !again.stdoutText.contains("left for a runbook"), "\(again.stdoutText)")
            #expect(!(await sb.sandbox("status")).stdoutText.contains("config-drift"))
        }
    }

    @Test func aofCorruptionCrashLoopsWithRedisOwnError() async throws {
        try await withTestSandbox(["--memory-limit", "128Mi"]) { sb in
            #expect(await sb.sandbox("seed").succeeded)
            let r = await sb.sandbox("fault", ["aof-corruption"])
            #expect(r.succeeded, "\(r.stderrText)")
            #expect(await sb.waitUntil(40) { s in
                let c = s.pods.first?.containerStatuses.first { $0.name == "redis" }
                return waitingReason(c) == "CrashLoopBackOff" && (c?.restartCount ?? 0) >= 2
            }, "\(sb.daemonLog())")
            let c = try #require(sb.container("redis"))
            #expect(lastTerminated(c)?.reason == "Error" && lastTerminated(c)?.code == 1)
            // `logs --previous` reads restart N-1
            #expect(sb.containerLog("redis", restart: c.restartCount - 1).contains("Bad file format reading the append only file"))
            #expect(sb.pod()?.conditions.first { $0.type == "Ready" }?.status == "False")
        }
    }

    @Test func truncatedAOFDiskFullAndMemoryPressure() async throws {
        try await withTestSandbox(["--memory-limit", "128Mi"]) { sb in
            #expect(await sb.sandbox("seed").succeeded)
            let t = await sb.sandbox("fault", ["aof-truncated"])
            #expect(t.succeeded, "\(t.stderrText)")
            #expect(await sb.waitUntil(20) { s in
                let c = s.pods.first?.containerStatuses.first { $0.name == "redis" }
                return c?.restartCount == 1 && c?.ready == true
            })
            let log = sb.containerLog("redis", restart: 1)
            #expect(log.contains("!!! Warning: short read while loading the AOF file"))
            #expect(log.contains("loaded anyway because aof-load-truncated is enabled"))

            let d = await sb.sandbox("fault", ["disk-full"])
            #expect(d.succeeded, "\(d.stderrText)")
            #expect(await sb.info("persistence")["aof_last_write_status"] == "err")
            #expect(await sb.redisCLI(["SET", "x", "y"]).contains("MISCONF"))
            // PING answers MISCONF too: the readiness probe fails
            #expect(await sb.waitUntil(15) { s in s.pods.first?.containerStatuses.first { $0.name == "redis" }?.ready == false })
            #expect(sb.state?.events.contains { $0.reason == "Unhealthy" && $0.message.contains("MISCONF") } == true)
            let heal = await sb.sandbox("heal")
            #expect(heal.stdoutText.contains("volume grown back"))
            #expect(await sb.eventually(15) { await sb.info("persistence")["aof_last_write_status"] == "ok" })
            #expect(await sb.waitUntil(15) { TestSandbox.isReady($0) })

            let m = await sb.sandbox("fault", ["memory-pressure"], timeout: .seconds(180))
            #expect(m.succeeded, "\(m.stderrText)")
            #expect(await sb.redisCLI(["SET", "x", "y"]).contains("OOM command not allowed when used memory > 'maxmemory'"))
            let mem = await sb.info("memory")
            #expect((Int64(mem["used_memory"] ?? "0") ?? 0) >= (Int64(mem["maxmemory"] ?? "1") ?? 1) - (1 << 20))
            // Automatic AOF rewrites are held off while the pressure lasts, so no fork is
            // OOMKilled: Redis itself is never restarted by memory-pressure.
            #expect(sb.container("redis")?.restartCount == 1, "memory-pressure must not kill Redis")
            #expect(await sb.redisCLI(["CONFIG", "GET", "auto-aof-rewrite-percentage"]).split(separator: "\n").last == "0")
        }
    }

    @Test func nodeDownGoesUnknownEvictsAndComesBack() async throws {
        try await withTestSandbox { sb in
            let before = try #require(sb.pod())
            #expect(await sb.sandbox("fault", ["node-down", "--duration", "12"]).succeeded)
            // Redis is really unreachable (frozen)
            let ping = await sb.redisCLI(["-t", "1", "PING"], timeout: .seconds(5))
            #expect(!ping.contains("PONG"))
            #expect(await sb.waitUntil(15) { $0.node.readyStatus == "Unknown" })
            let node = try #require(sb.state?.node)
            #expect(node.readyReason == "NodeStatusUnknown" && node.readyMessage == "Kubelet stopped posting node status.")
            #expect(node.taints.contains { $0.key == "node.kubernetes.io/unreachable" && $0.effect == "NoExecute" })
            #expect(sb.pod()?.conditions.first { $0.type == "Ready" }?.status == "False")
            // eviction: Terminating, NodeLost
            #expect(await sb.waitUntil(15) { s in s.pods.first?.deletionTimestamp != nil })
            #expect(sb.pod()?.reason == "NodeLost")
            #expect(sb.state?.events.contains { $0.reason == "TaintManagerEviction" } == true)
            // the node reboots: a new pod, Ready again
            #expect(await sb.waitUntil(30) { s in
                s.node.readyStatus == "True" && (s.pods.first.map { $0.uid != before.uid } ?? false) && TestSandbox.isReady(s)
            }, "\(sb.daemonLog())")
            #expect(sb.state?.events.contains { $0.reason == "NodeNotReady" } == true)
            #expect(sb.state?.events.contains { $0.reason == "Rebooted" } == true)
        }
    }

    @Test func slowLoadingShowsLOADINGAndNotReady() async throws {
        try await withTestSandbox { sb in
            let f = await sb.sandbox("fault", ["slow-loading"], timeout: .seconds(240))
            #expect(f.succeeded, "\(f.stderrText)")
            var sawLoading = false
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let info = await sb.info("persistence")
                if info["loading"] == "1" { sawLoading = true; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(sawLoading)
            #expect(await sb.redisCLI(["GET", "slow:1"]).contains("LOADING Redis is loading the dataset in memory"))
            #expect(sb.container("redis")?.ready == false)
            #expect(await sb.waitUntil(90) { TestSandbox.isReady($0) })
            #expect(sb.containerLog("redis", restart: 1).contains("DB loaded from append only file"))
        }
    }
}
