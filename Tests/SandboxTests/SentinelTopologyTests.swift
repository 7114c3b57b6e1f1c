import Foundation
import ProcessRunner
import SandboxFixture
import Testing
@testable import Sandbox

/// `up --topology sentinel`: three pods with a real redis-server, a real Sentinel and the
/// exporter, read through the real kubectl; the Sentinel faults with what Redis and Sentinel
/// themselves report.
@Suite("Sandbox runtime: Sentinel topology", .serialized)
struct SentinelTopologyTests {
    static let pods = ["redis-0", "redis-1", "redis-2"]

    /// INFO replication of a pod's redis, through kubectl exec.
    static func replication(_ sb: TestSandbox, _ pod: String) async -> [String: String] {
        var out: [String: String] = [:]
        for line in (await sb.process.redisCLI(["INFO", "replication"], pod: pod, timeout: .seconds(10))).split(whereSeparator: \.isNewline) {
            let kv = line.split(separator: ":", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = kv[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// `redis-cli -p 26379 ARGS` in a pod's sentinel container, through kubectl exec.
    static func sentinel(_ sb: TestSandbox, _ pod: String, _ args: [String]) async -> String {
        let r = await sb.kubectl(["exec", pod, "-c", "sentinel", "--", "redis-cli", "-p", "26379"] + args, timeout: .seconds(10))
        return r.stdoutText
    }

    /// The master address each Sentinel reports (empty when it does not answer).
    static func masterAddrs(_ sb: TestSandbox, of pods: [String] = pods) async -> [String] {
        var out: [String] = []
        for p in pods {
            out.append((await sentinel(sb, p, ["SENTINEL", "get-master-addr-by-name", "mymaster"])).split(whereSeparator: \.isNewline).first.map(String.init) ?? "")
        }
        return out
    }

    static func podIP(_ sb: TestSandbox, _ pod: String) async -> String {
        (await sb.kubectl(["get", "pod", pod, "-o", "jsonpath={.status.podIP}"])).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func masters(_ sb: TestSandbox) async -> [String] {
        var out: [String] = []
        for p in pods where await replication(sb, p)["role"] == "master" { out.append(p) }
        return out
    }

    /// The lag in bytes of the replica at `ip`, as its master reports it.
    static func lagBytes(_ info: [String: String], ip: String) -> Int? {
        guard let master = info["master_repl_offset"].flatMap(Int.init) else { return nil }
        for (k, v) in info where k.hasPrefix("slave") && v.contains("ip=\(ip),") {
            let fields = Dictionary(uniqueKeysWithValues: v.split(separator: ",").compactMap { f -> (String, String)? in
                let kv = f.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            })
            return fields["offset"].flatMap(Int.init).map { master - $0 }
        }
        return nil
    }

    @Test func upFailoverQuorumPartitionAndLag() async throws {
        try await withTestSandbox(["--topology", "sentinel"]) { sb in
            // Three pods, each 3/3 Running, through the real kubectl.
            #expect(await SandboxProcess.eventually(30) {
                let lines = (await sb.kubectl(["get", "pods", "--no-headers"])).stdoutText.split(separator: "\n")
                return lines.count == 3 && lines.allSatisfy { $0.contains("3/3") && $0.contains("Running") }
            })
            let containers = (await sb.kubectl(["get", "pod", "redis-1", "-o", "jsonpath={.spec.containers[*].name}"])).stdoutText
            #expect(containers == "redis sentinel redis-exporter")

            // Roles are Redis's: one master, two replicas with their link up.
            #expect(await SandboxProcess.eventually(30) {
                var masters = 0, linked = 0
                for p in Self.pods {
                    let r = await Self.replication(sb, p)
                    if r["role"] == "master" { masters += 1 }
                    if r["role"] == "slave" && r["master_link_status"] == "up" { linked += 1 }
                }
                return masters == 1 && linked == 2
            })
            let master = try #require(await Self.masters(sb).first)
            let masterIP = await Self.podIP(sb, master)
            // The headless Service's names resolve inside the pods (their /etc/hosts).
            #expect((await sb.process.redisCLI(["-h", "\(master).redis.default.svc.cluster.local", "PING"], pod: Self.pods.first { $0 != master }!)).contains("PONG"))
            // Every Sentinel names that pod's IP; the quorum can be reached.
            #expect(await SandboxProcess.eventually(20) { await Self.masterAddrs(sb) == [masterIP, masterIP, masterIP] })
            #expect(await SandboxProcess.eventually(20) {
                (await Self.sentinel(sb, "redis-1", ["SENTINEL", "CKQUORUM", "mymaster"])).hasPrefix("OK 3 usable Sentinels")
            })
            // Sentinel's own config file is on the pod's volume, rewritten by Sentinel.
            let conf = await sb.kubectl(["exec", "redis-2", "-c", "sentinel", "--", "cat", "/data/sentinel.conf"])
            #expect(conf.stdoutText.contains("# Generated by CONFIG REWRITE"))
            #expect(conf.stdoutText.contains("sentinel known-sentinel mymaster"))

            let replicas = Self.pods.filter { $0 != master }
            // partition: the replica's ACKs stop reaching the master, the Sentinels call it down.
            let cut = replicas[0], cutIP = await Self.podIP(sb, cut)
            let part = await sb.sandbox("fault", ["partition", cut])
            #expect(part.succeeded, "\(part.stderrText)")
            #expect(await SandboxProcess.eventually(20) {
                let slaves = await Self.replication(sb, master).filter { $0.key.hasPrefix("slave") && $0.value.contains("ip=\(cutIP),") }
                return slaves.values.contains { v in (v.split(separator: ",").last?.split(separator: "=").last.flatMap { Int($0) } ?? 0) >= 3 }
            }, "the master still hears ACKs from \(cut)")
            #expect(await SandboxProcess.eventually(20) {
                let replies = await Self.sentinel(sb, master, ["SENTINEL", "REPLICAS", "mymaster"])
                let lines = replies.split(separator: "\n").map(String.init)
                guard let i = lines.firstIndex(of: cutIP), let f = lines[i...].firstIndex(of: "flags"), f + 1 < lines.count else { return false }
                return lines[f + 1].contains("s_down")
            }, "Sentinel did not see \(cut) down")
            #expect(await sb.sandbox("heal").succeeded)
            #expect(await SandboxProcess.eventually(20) {
                let v = await Self.replication(sb, master).first { $0.key.hasPrefix("slave") && $0.value.contains("ip=\(cutIP),") }?.value ?? ""
                return v.hasSuffix("lag=0") || v.hasSuffix("lag=1")
            })

            // replica-lag: under writes, the throttled replica's offset falls behind, more each time.
            let lag = await sb.sandbox("fault", ["replica-lag", replicas[1]])
            #expect(lag.succeeded, "\(lag.stderrText)")
            let slowIP = await Self.podIP(sb, replicas[1])
            var lags: [Int] = []
            for _ in 0..<2 {
                _ = await sb.process.redisCLI(["EVAL", "for i=1,300 do redis.call('SET','lag:'..i, string.rep('x',1000)) end return 1", "0"], pod: master)
                try await Task.sleep(for: .milliseconds(500))
                lags.append(Self.lagBytes(await Self.replication(sb, master), ip: slowIP) ?? -1)
            }
            #expect(lags[0] > 100_000 && lags[1] > lags[0], "lag in bytes \(lags)")
            #expect(await sb.sandbox("heal").succeeded)
            #expect(await SandboxProcess.eventually(30) { Self.lagBytes(await Self.replication(sb, master), ip: slowIP) == 0 })

            // master-kill: Sentinel promotes a replica; the Sentinels agree on its address.
            let started = Date()
            let kill = await sb.sandbox("fault", ["master-kill"])
            #expect(kill.succeeded, "\(kill.stderrText)")
            var newIP = ""
            let failedOver = await SandboxProcess.eventually(30, every: .milliseconds(300)) {
                let addrs = await Self.masterAddrs(sb)
                guard let a = addrs.first, a != masterIP, !a.isEmpty, Set(addrs).count == 1 else { return false }
                newIP = a
                return true
            }
            let seconds = Date().timeIntervalSince(started)
            #expect(failedOver, "no failover within 30 s")
            print("sentinel failover: all three Sentinels name \(newIP) \(String(format: "%.1f", seconds)) s after master-kill")
            // The address they name is a replica Sentinel promoted: that pod's Redis says role:master.
            var promoted = ""
            for p in replicas where await Self.podIP(sb, p) == newIP { promoted = p }
            #expect(!promoted.isEmpty, "\(newIP) is none of the replicas \(replicas)")
            #expect(await SandboxProcess.eventually(10) { await Self.replication(sb, promoted)["role"] == "master" })
            // The old master comes back (its held restart over) and Sentinel makes it a replica.
            #expect(await SandboxProcess.eventually(40) { await Self.replication(sb, master)["role"] == "slave" })

            // sentinel-down twice: no quorum; heal: quorum back.
            #expect(await sb.sandbox("fault", ["sentinel-down"]).succeeded)
            #expect(await sb.sandbox("fault", ["sentinel-down"]).succeeded)
            #expect(await SandboxProcess.eventually(20) {
                (await Self.sentinel(sb, "redis-0", ["SENTINEL", "CKQUORUM", "mymaster"])).hasPrefix("NOQUORUM")
            })
            #expect(await sb.sandbox("heal").succeeded)
            #expect(await SandboxProcess.eventually(20) {
                (await Self.sentinel(sb, "redis-0", ["SENTINEL", "CKQUORUM", "mymaster"])).hasPrefix("OK 3 usable Sentinels")
            })

            // master-returns-new-ip: the master's pod comes back with another IP, still a master by
            // its own config, unknown to the Sentinels, which promote another: two masters.
            let current = try #require(await Self.masters(sb).first)
            let before = await Self.podIP(sb, current)
            let back = await sb.sandbox("fault", ["master-returns-new-ip"])
            #expect(back.succeeded, "\(back.stderrText)")
            #expect(await SandboxProcess.eventually(30) { let ip = await Self.podIP(sb, current); return !ip.isEmpty && ip != before })
            #expect(await SandboxProcess.eventually(40) { await Self.masters(sb).count == 2 }, "no split brain after the master returned with a new IP")
            let healed = await sb.sandbox("heal")
            #expect(healed.stdoutText.contains("split brain"), "\(healed.stdoutText)")
        }
    }

    @Test func sentinelFaultsSayTheyNeedTheTopology() async throws {
        try await withTestSandbox { sb in
            let r = await sb.sandbox("fault", ["master-kill"])
            #expect(!r.succeeded)
            #expect(r.stderrText.contains("needs the Sentinel topology (redis-runbook-sandbox up --topology sentinel)"))
            #expect((await sb.kubectl(["get", "pods", "--no-headers"])).stdoutText.split(separator: "\n").count == 1)
        }
    }
}

@Suite("Sandbox runtime: Sentinel topology, restarts and stale config", .serialized)
struct SentinelTopologyRestartTests {
    /// The template and the names the pods resolve, without processes.
    @Test func templateAndHostsFile() throws {
        var redis = ContainerSpec(name: "redis", image: "redis:7.0.15-alpine")
        redis.command = ["redis-server"]
        redis.args = ["--appendonly", "yes"]
        let t = SentinelTopology.template(from: PodTemplate(labels: ["app": "redis"], containers: [redis, ContainerSpec(name: "redis-exporter", image: "x")]))
        #expect(t.containers.map(\.name) == ["redis", "sentinel", "redis-exporter"])
        #expect(t.containers[0].args == ["/data/redis.conf", "--appendonly", "yes"])
        #expect(t.containers[1].command == ["redis-sentinel", "/data/sentinel.conf"])
        #expect(t.containers[1].readinessProbe?.command == ["redis-cli", "-p", "26379", "ping"])
        #expect(SentinelTopology.template(from: t) == t)

        var state = ClusterState(createdAt: "", node: NodeState(uid: "n", createdAt: "", capacityMemoryBytes: 1),
                                 statefulSet: StatefulSetState(uid: "s", createdAt: "", template: t))
        for (i, ready) in [true, false, true].enumerated() {
            var p = PodState(name: "redis-\(i)", uid: "u\(i)", createdAt: "", labels: [:], templateGeneration: 1, containers: t.containers)
            p.podIP = "10.244.0.\(i + 2)"
            p.conditions = [PodCondition(type: "Ready", status: ready ? "True" : "False", lastTransitionTime: "")]
            state.pods.append(p)
        }
        let hosts = SentinelTopology.hostsFile(state: state, pod: state.pods[0])
        #expect(hosts.contains("10.244.0.2\tredis-0.redis.default.svc.cluster.local\tredis-0\n"))
        #expect(hosts.contains("10.244.0.4\tredis-2.redis.default.svc.cluster.local"))
        // A pod that is not Ready has no record (a headless Service publishes ready addresses only).
        #expect(!hosts.contains("10.244.0.3"))
        #expect(hosts.contains("10.244.0.4\tredis.default.svc.cluster.local"))
    }

    @Test func staleSentinelConfigThenAllRestart() async throws {
        try await withTestSandbox(["--topology", "sentinel"]) { sb in
            typealias T = SentinelTopologyTests
            #expect(await SandboxProcess.eventually(30) {
                let a = await T.masterAddrs(sb)
                return !a[0].isEmpty && Set(a).count == 1
            })
            let masterIP = try #require(await T.masterAddrs(sb).first)
            // stale-sentinel-config: redis-2's Sentinel comes back naming an address no pod has.
            let stale = await sb.sandbox("fault", ["stale-sentinel-config", "redis-2"])
            #expect(stale.succeeded, "\(stale.stderrText)")
            var staleAddr = ""
            #expect(await SandboxProcess.eventually(20) {
                let a = await T.masterAddrs(sb)
                staleAddr = a[2]
                return a[0] == masterIP && a[1] == masterIP && !a[2].isEmpty && a[2] != masterIP
            }, "the Sentinels do not disagree")
            let ips = [await T.podIP(sb, "redis-0"), await T.podIP(sb, "redis-1"), await T.podIP(sb, "redis-2")]
            #expect(!ips.contains(staleAddr))
            #expect(await sb.sandbox("heal").succeeded)
            #expect(await SandboxProcess.eventually(20) { await T.masterAddrs(sb) == [masterIP, masterIP, masterIP] })

            // all-restart: every pod killed at once; the kubelet brings them all back, each redis and
            // Sentinel from its own files: one master, the Sentinels agree again.
            let restarts = sb.state?.pods.map { $0.containerStatuses.first { $0.name == "redis" }?.restartCount ?? 0 } ?? []
            #expect(await sb.sandbox("fault", ["all-restart"]).succeeded)
            #expect(await SandboxProcess.eventually(40) {
                let lines = (await sb.kubectl(["get", "pods", "--no-headers"])).stdoutText.split(separator: "\n")
                let now = sb.state?.pods.map { $0.containerStatuses.first { $0.name == "redis" }?.restartCount ?? 0 } ?? []
                return lines.count == 3 && lines.allSatisfy { $0.contains("3/3") } && zip(now, restarts).allSatisfy { $0 > $1 }
            })
            #expect(await SandboxProcess.eventually(40) {
                let a = await T.masterAddrs(sb)
                return await T.masters(sb).count == 1 && !a[0].isEmpty && Set(a).count == 1
            })
        }
    }
}
