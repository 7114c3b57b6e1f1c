import Foundation
@testable import Sandbox

/// A cluster state as the daemon writes it (one Running redis-0), for unit tests of the model.
enum KctlFixture {
    static let now = RFC3339.parse("2026-11-26T16:00:00Z")!

    static func redisTemplate() -> PodTemplate {
        var redis = ContainerSpec(name: "redis", image: "redis:7.0.15-alpine")
        redis.command = ["redis-server"]
        redis.args = ["--appendonly", "yes", "--maxmemory", "384mb"]
        redis.ports = [ContainerPort(name: "redis", containerPort: 6379)]
        redis.limitsMemory = "512Mi"; redis.requestsMemory = "512Mi"; redis.requestsCPU = "100m"
        redis.volumeMounts = [VolumeMount(name: "data", mountPath: "/data")]
        var exporter = ContainerSpec(name: "redis-exporter", image: "oliver006/redis_exporter:v1.45.0")
        exporter.ports = [ContainerPort(name: "metrics", containerPort: 9121)]
        return PodTemplate(labels: ["app": "redis"], containers: [redis, exporter])
    }

    static func state(redisState: ContainerStateValue = .running(startedAt: "2026-11-26T15:50:00Z"),
                      restarts: Int = 0, lastState: ContainerStateValue? = nil, ready: Bool = true,
                      deletion: String? = nil, reason: String? = nil) -> ClusterState {
        let node = NodeState(uid: "node-uid", createdAt: "2026-11-24T10:00:00Z", capacityMemoryBytes: 8 << 30)
        var sts = StatefulSetState(uid: "sts-uid", createdAt: "2026-11-26T15:00:00Z", template: redisTemplate())
        sts.replicas = 1
        var s = ClusterState(createdAt: "2026-11-26T15:00:00Z", node: node, statefulSet: sts)
        s.generation = 42
        var pod = PodState(name: "redis-0", uid: "11111111-2222-3333-4444-555555555555", createdAt: "2026-11-26T15:54:48Z",
                           labels: ["app": "redis"], templateGeneration: 1, containers: sts.template.containers)
        pod.ownerKind = "StatefulSet"; pod.ownerName = "redis"; pod.nodeName = "sandbox-node-1"
        pod.phase = "Running"; pod.podIP = "10.244.0.6"; pod.startTime = "2026-11-26T15:54:48Z"; pod.pvcName = "data-redis-0"
        pod.deletionTimestamp = deletion
        pod.reason = reason
        pod.sandboxPid = 0
        let readyText = ready ? "True" : "False"
        pod.conditions = [
            PodCondition(type: "Initialized", status: "True", lastTransitionTime: "2026-11-26T15:54:48Z"),
            PodCondition(type: "Ready", status: readyText, lastTransitionTime: "2026-11-26T15:54:50Z"),
            PodCondition(type: "ContainersReady", status: readyText, lastTransitionTime: "2026-11-26T15:54:50Z"),
            PodCondition(type: "PodScheduled", status: "True", lastTransitionTime: "2026-11-26T15:54:48Z"),
        ]
        var redis = ContainerStatus(name: "redis", image: "redis:7.0.15-alpine", state: redisState)
        redis.ready = ready; redis.started = ready; redis.restartCount = restarts; redis.lastState = lastState
        redis.containerID = "containerd://abc"
        var exporter = ContainerStatus(name: "redis-exporter", image: "oliver006/redis_exporter:v1.45.0", state: .running(startedAt: "2026-11-26T15:54:49Z"))
        exporter.ready = true; exporter.started = true; exporter.containerID = "containerd://def"
        pod.containerStatuses = [redis, exporter]
        if !ready {
            for i in [1, 2] {
                pod.conditions[i].reason = "ContainersNotReady"
                pod.conditions[i].message = "containers with unready status: [redis]"
            }
        }
        s.pods = [pod]
        var pvc = PVCState(name: "data-redis-0", uid: "pvc-uid", createdAt: "2026-11-26T15:00:01Z", storageClassName: "longhorn",
                           request: "10Gi", volumeName: "pvc-0123", hostPath: "/tmp/none")
        pvc.labels = ["app": "redis"]
        s.pvcs = [pvc]
        var e = EventRecord(name: "redis-0.1880a", uid: "ev-uid", type: "Warning", reason: "BackOff",
                            message: "Back-off restarting failed container redis in pod redis-0_default(1111)",
                            involvedKind: "Pod", involvedName: "redis-0", source: "kubelet", firstTimestamp: "2026-11-26T15:58:00Z")
        e.lastTimestamp = "2026-11-26T15:59:18Z"; e.count = 4; e.involvedFieldPath = "spec.containers{redis}"
        e.involvedUID = "11111111-2222-3333-4444-555555555555"; e.sourceHost = "sandbox-node-1"
        s.events = [e]
        return s
    }

    static func reference(_ name: String) throws -> KctlJSON {
        let text = try String(contentsOfFile: "/work/shared/reference/kubectl/\(name)", encoding: .utf8)
        return try KctlJSON.parse(text)
    }
}
