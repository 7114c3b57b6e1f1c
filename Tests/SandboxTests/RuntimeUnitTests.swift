import Foundation
import Testing
@testable import Sandbox

@Suite("Sandbox runtime rules")
struct RuntimeUnitTests {
    static func repoManifest() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/redis-statefulset.yaml")
    }

    /// A state file written before a timing existed (an older redis-runbook) still loads: the
    /// missing timing takes its default, the others keep their values. A state that cannot be
    /// read at all says what to do.
    @Test func stateFromAnOlderVersionLoads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rrb-state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = StateStore(layout: SandboxLayout(root: dir))
        var state = KctlFixture.state()
        state.runtime.timings = .fast
        try store.create(state)
        let file = SandboxLayout(root: dir).stateFile
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        var runtime = try #require(json["runtime"] as? [String: Any])
        var timings = try #require(runtime["timings"] as? [String: Any])
        timings["nodeStatusReportSeconds"] = nil
        runtime["timings"] = timings
        json["runtime"] = runtime
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        let read = try store.read()
        #expect(read.runtime.timings.nodeStatusReportSeconds == SandboxTimings().nodeStatusReportSeconds)
        #expect(read.runtime.timings.backoffMaxSeconds == SandboxTimings.fast.backoffMaxSeconds)
        #expect(read.pods.map(\.name) == ["redis-0"])

        try Data("{\"generation\": \"x\"}".utf8).write(to: file)
        do {
            _ = try store.read()
            Issue.record("a broken state was read")
        } catch {
            let m = "\(error)"
            #expect(m.contains(file.path) && m.contains("sandbox down --dir \(dir.path)"), "\(m)")
        }
    }

    @Test func embeddedManifestIsTheRepoFile() throws {
        let file = try String(contentsOf: Self.repoManifest(), encoding: .utf8)
        #expect(file == EmbeddedManifest.redisStatefulSet, "regenerate Sources/Sandbox/Manifest/EmbeddedManifest.swift from deploy/redis-statefulset.yaml")
    }

    @Test func manifestFixesTheADRMistakes() throws {
        let m = try StatefulSetManifest.parse(EmbeddedManifest.redisStatefulSet)
        #expect(m.name == "redis" && m.replicas == 1 && m.serviceName == "redis")
        #expect(m.claimTemplateName == "data" && m.storageClassName == "longhorn" && m.storageRequest == "10Gi")
        let redis = try #require(m.template.containers.first { $0.name == "redis" })
        #expect(redis.command == ["redis-server"])
        let args = redis.args ?? []
        // separate argv items, maxmemory with headroom under the limit
        #expect(args.contains("--appendonly") && args.contains("yes"))
        #expect(!args.contains { $0.contains(" ") })
        #expect(args.firstIndex(of: "--maxmemory").map { args[$0 + 1] } == "384mb")
        #expect(args.firstIndex(of: "--maxmemory-policy").map { args[$0 + 1] } == "noeviction")
        #expect(redis.limitsMemory == "512Mi")
        #expect(redis.readinessProbe?.command.joined(separator: " ").contains("PONG") == true)
        let exporter = try #require(m.template.containers.first { $0.name == "redis-exporter" })
        #expect(exporter.args?.contains("--redis.addr=redis://localhost:6379") == true)
        #expect(!exporter.image.hasSuffix(":latest"))
        // the backup waits for the snapshot instead of sleeping
        let script = EmbeddedManifest.redisStatefulSet.components(separatedBy: "kind: CronJob").last ?? ""
        #expect(!script.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("sleep") })
        #expect(script.contains("redis-cli -h redis-0.redis --rdb"))
    }

    @Test func memoryLimitOverrideScalesMaxmemory() throws {
        var m = try StatefulSetManifest.parse(EmbeddedManifest.redisStatefulSet)
        try m.setRedisMemoryLimit("128Mi")
        let redis = try #require(m.template.containers.first { $0.name == "redis" })
        #expect(redis.limitsMemory == "128Mi" && redis.requestsMemory == "128Mi")
        #expect(redis.args?.firstIndex(of: "--maxmemory").map { redis.args![$0 + 1] } == "96mb")
        #expect(throws: ManifestError.self) { try m.setRedisMemoryLimit("lots") }
    }

    @Test func quantities() {
        #expect(Quantity.parse("512Mi") == 536_870_912)
        #expect(Quantity.parse("1Gi") == 1_073_741_824)
        #expect(Quantity.parse("64M") == 64_000_000)
        #expect(Quantity.parse("x") == nil)
        #expect(Quantity.redisMemory(384 << 20) == "384mb")
    }

    @Test func backoffDoublesToTheCapAndResets() {
        let t = SandboxTimings()
        var cur = 0
        var delays: [Int] = []
        for _ in 0..<8 {
            let (d, n) = KubeletRules.nextBackoff(current: cur, ranSeconds: 1, timings: t)
            delays.append(d); cur = n
        }
        #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300])
        #expect(KubeletRules.nextBackoff(current: 300, ranSeconds: 601, timings: t).delay == 0)
    }

    @Test func kubectlWording() {
        #expect(KubeletRules.backoffMessage(seconds: 20, container: "redis", pod: "redis-0", namespace: "default", uid: "u-1")
                == "back-off 20s restarting failed container=redis pod=redis-0_default(u-1)")
        #expect(KubeletRules.duration(80) == "1m20s")
        #expect(KubeletRules.duration(300) == "5m0s")
        #expect(KubeletRules.terminated(exitCode: nil, signal: 9, oomKilled: true) == ("OOMKilled", 137))
        #expect(KubeletRules.terminated(exitCode: nil, signal: 15, oomKilled: false) == ("Error", 143))
        #expect(KubeletRules.terminated(exitCode: 0, signal: nil, oomKilled: false) == ("Completed", 0))
        #expect(KubeletRules.redisPingReady("PONG\n"))
        #expect(!KubeletRules.redisPingReady("LOADING Redis is loading the dataset in memory"))
        #expect(!KubeletRules.redisPingReady("MISCONF Errors writing to the AOF file: No space left on device"))
    }

    @Test func timesRoundTrip() {
        let d = Date(timeIntervalSince1970: 1_795_705_243)
        let s = RFC3339.format(d)
        #expect(s.hasSuffix("Z") && s.count == 20)
        #expect(RFC3339.parse(s) == d)
    }

    @Test func podExecEntersThePodNamespaces() {
        var st = ClusterState(createdAt: "x", node: NodeState(uid: "n", createdAt: "x", capacityMemoryBytes: 1),
                              statefulSet: StatefulSetState(uid: "s", createdAt: "x", template: PodTemplate(labels: [:], containers: [])))
        st.runtime.commandPaths = ["redis-cli": "/opt/redis6/redis-cli"]
        var pod = PodState(name: "redis-0", uid: "u", createdAt: "x", labels: [:], templateGeneration: 1, containers: [])
        #expect(PodExec.argv(state: st, pod: pod, command: ["redis-cli", "ping"]) == nil)
        pod.sandboxPid = 4242
        let argv = PodExec.argv(state: st, pod: pod, command: ["redis-cli", "ping"]) ?? []
        #expect(Array(argv.dropFirst()) == ["-t", "4242", "-n", "-m", "--wd", "--", "/opt/redis6/redis-cli", "ping"])
        #expect(PodExec.imageRepository("oliver006/redis_exporter:v1.45.0") == "oliver006/redis_exporter")
        #expect(PodExec.imageRepository("docker.io/library/redis:7.0.15-alpine") == "redis")
    }

    @Test func respEncoding() {
        var b = RESPBuffer()
        b.add(["SET", "k", ""])
        #expect(String(decoding: b.bytes, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n")
        b.add(["PING"])
        #expect(b.commands == 2)
    }
}
