import Common
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Inert API objects for load tests (`redis-runbook-sandbox bulk --pods N --events M`, issue 16's
// figure 5): pods with no process behind them, in a plausible Running state, and events about
// them, in the sandbox's namespace, so that a namespace-wide LIST is expensive while the
// tool's own field- and label-selected reads are not.
//
// Kept out of state.json on purpose: the daemon (kubelet + controllers) reads and writes
// state.json on every tick, and 25,000 more objects there would slow its reconcile loop and
// every kubectl-side write. `bulk` writes only a recipe (DIR/bulk.json: counts, a creation
// time); the API server generates the objects from it once, keeps them, and serves them beside
// the state's own objects (list, get, watch's initial ADDED events). They never change, so a
// watch sends no events for them after its initial list. `down` removes the recipe; the demo
// never writes one.

public struct BulkSpec: Codable, Sendable, Equatable {
    public var pods: Int
    public var events: Int
    /// RFC 3339; the objects' creationTimestamp (a while before `bulk` ran, for plausible ages).
    public var createdAt: String
    /// metadata.resourceVersion of every bulk object: the state generation when they were made.
    public var resourceVersion: Int
    public init(pods: Int, events: Int, createdAt: String, resourceVersion: Int) {
        self.pods = pods; self.events = events; self.createdAt = createdAt; self.resourceVersion = resourceVersion
    }
}

extension SandboxLayout {
    /// The bulk objects' recipe (`redis-runbook-sandbox bulk`); absent in a normal sandbox.
    public var bulkFile: URL { root.appendingPathComponent("bulk.json") }
    /// "PODS EVENTS" the API server serves now (written after it loaded bulk.json).
    public var apiServerBulkFile: URL { root.appendingPathComponent("apiserver.bulk") }
}

public enum BulkObjects {
    public static func read(_ layout: SandboxLayout) -> BulkSpec? {
        guard let d = FileManager.default.contents(atPath: layout.bulkFile.path) else { return nil }
        return try? JSONDecoder().decode(BulkSpec.self, from: d)
    }

    public static func write(_ spec: BulkSpec, _ layout: SandboxLayout) throws {
        let tmp = layout.root.appendingPathComponent("bulk.json.tmp")
        try JSONEncoder().encode(spec).write(to: tmp)
        if rename(tmp.path, layout.bulkFile.path) != 0 { throw SandboxError("cannot write \(layout.bulkFile.path): \(String(cString: strerror(errno)))") }
    }

    public static func remove(_ layout: SandboxLayout) {
        try? FileManager.default.removeItem(at: layout.bulkFile)
    }

    /// What the API server says it serves ("PODS EVENTS"), nil before it has answered.
    public static func served(_ layout: SandboxLayout) -> (pods: Int, events: Int)? {
        guard let t = try? String(contentsOf: layout.apiServerBulkFile, encoding: .utf8) else { return nil }
        let p = t.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        return p.count == 2 ? (p[0], p[1]) : nil
    }

    /// The workloads the bulk pods belong to: none is Redis, none carries `app=redis`.
    struct App {
        var name, tier, image: String
        var port: Int
    }
    static let apps: [App] = [
        App(name: "web", tier: "frontend", image: "registry.example.com/shop/web:1.42.0", port: 8080),
        App(name: "api", tier: "backend", image: "registry.example.com/shop/api:3.7.1", port: 9000),
        App(name: "worker", tier: "jobs", image: "registry.example.com/shop/worker:3.7.1", port: 9090),
        App(name: "thumbnailer", tier: "jobs", image: "registry.example.com/media/thumbnailer:0.9.4", port: 8081),
    ]
    /// Kubernetes' random-suffix alphabet (no vowels, no 0/1/3).
    static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    static func suffix(_ n: Int, length: Int) -> String {
        var n = n, out: [Character] = []
        for _ in 0..<length { out.append(alphabet[n % alphabet.count]); n /= alphabet.count }
        return String(out.reversed())
    }

    static func templateHash(_ app: App) -> String { suffix(abs(app.name.hashValueStable) % 7_625_597_484_987, length: 9) + "d" }

    public static func podName(_ i: Int) -> String {
        let app = apps[i % apps.count]
        return "\(app.name)-\(templateHash(app))-\(suffix(i * 7919 + 12345, length: 5))"
    }

    /// The bulk pods: Running on the sandbox's node, ready, no process and no volume behind them.
    public static func pods(_ spec: BulkSpec, node: String) -> [PodState] {
        (0..<max(0, spec.pods)).map { i in
            let app = apps[i % apps.count]
            let uid = "b0c5e7a1-0000-4000-8000-" + String(format: "%012x", i)
            var c = ContainerSpec(name: app.name, image: app.image)
            c.ports = [ContainerPort(name: "http", containerPort: app.port)]
            c.env = [EnvVar(name: "APP_ENV", value: "production"), EnvVar(name: "LOG_LEVEL", value: "info")]
            c.requestsCPU = "100m"; c.requestsMemory = "128Mi"; c.limitsMemory = "256Mi"
            var p = PodState(name: podName(i), uid: uid, createdAt: spec.createdAt,
                             labels: ["app": app.name, "tier": app.tier, "pod-template-hash": templateHash(app)],
                             templateGeneration: 1, containers: [c])
            p.nodeName = node
            p.phase = "Running"
            p.podIP = "10.244.\(1 + i / 250).\(2 + i % 250)"
            p.startTime = spec.createdAt
            p.conditions = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map {
                PodCondition(type: $0, status: "True", lastTransitionTime: spec.createdAt)
            }
            var cs = ContainerStatus(name: app.name, image: app.image, state: .running(startedAt: spec.createdAt))
            cs.ready = true; cs.started = true
            cs.containerID = "containerd://" + KctlObjects.hexDigest("bulk/\(i)", length: 64)
            p.containerStatuses = [cs]
            p.resourceVersion = spec.resourceVersion
            return p
        }
    }

    /// Events about the bulk pods, round robin: Scheduled, Pulled, Created, Started, then
    /// readiness probe warnings.
    public static func events(_ spec: BulkSpec, node: String, namespace: String) -> [EventRecord] {
        guard spec.pods > 0 else { return [] }
        return (0..<max(0, spec.events)).map { j in
            let i = j % spec.pods, round = j / spec.pods
            let app = apps[i % apps.count], pod = podName(i)
            let kinds: [(String, String, String, String)] = [
                ("Normal", "Scheduled", "default-scheduler", "Successfully assigned \(namespace)/\(pod) to \(node)"),
                ("Normal", "Pulled", "kubelet", "Container image \"\(app.image)\" already present on machine"),
                ("Normal", "Created", "kubelet", "Created container \(app.name)"),
                ("Normal", "Started", "kubelet", "Started container \(app.name)"),
                ("Warning", "Unhealthy", "kubelet", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
            ]
            let k = kinds[min(round, kinds.count - 1)]
            var e = EventRecord(name: "\(pod).\(String(format: "%016x", 0x17e0_0000_0000 + j))",
                                uid: "e0c5e7a1-0000-4000-8000-" + String(format: "%012x", j),
                                type: k.0, reason: k.1, message: k.3, involvedKind: "Pod", involvedName: pod,
                                source: k.2, firstTimestamp: spec.createdAt)
            e.involvedUID = "b0c5e7a1-0000-4000-8000-" + String(format: "%012x", i)
            if k.2 == "kubelet" { e.sourceHost = node; e.involvedFieldPath = "spec.containers{\(app.name)}" }
            if round >= kinds.count - 1 { e.count = round - kinds.count + 2 }
            e.resourceVersion = spec.resourceVersion
            return e
        }
    }
}

extension String {
    /// A hash that is the same in every process (Swift's hashValue is seeded per process).
    var hashValueStable: Int {
        var h: UInt64 = 1_469_598_103_934_665_603
        for b in utf8 { h = (h ^ UInt64(b)) &* 1_099_511_628_211 }
        return Int(truncatingIfNeeded: h >> 1)
    }
}
