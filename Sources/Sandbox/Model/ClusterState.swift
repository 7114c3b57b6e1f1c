import Foundation

// The sandbox's cluster, as the daemon (kubelet + controllers) and the kubectl front share it.
//
// Contract between the two halves of the sandbox:
//   - The state lives in `DIR/state.json`, read and written only through `StateStore`
//     (an exclusive flock on `DIR/state.lock`, atomic rename on write).
//   - The daemon (`SandboxDaemon`) is the only writer of *status*: container states, pids,
//     restart counts, node conditions, readiness. It never invents a status: each one follows
//     from something it observed (a process exit, a kill for exceeding the memory limit, a
//     missed heartbeat).
//   - The kubectl front writes only *intent*, as kubectl does against the API server:
//     `deletionTimestamp` on a pod, `statefulSet.replicas`, `statefulSet.template` (patch),
//     one-off repair pods (`kubectl run`), and events it causes. The daemon reconciles.
//   - Field names follow the Kubernetes API so rendering `kubectl get -o json` is a mapping.
//   - Times are RFC 3339 UTC strings with second precision ("2026-11-26T15:18:11Z"),
//     exactly as the API server prints them.

public struct ClusterState: Codable, Sendable, Equatable {
    /// Incremented on every write; lets readers notice change cheaply.
    public var generation: Int = 0
    public var createdAt: String
    /// Namespace of every object in this sandbox.
    public var namespace: String = "default"
    public var node: NodeState
    public var statefulSet: StatefulSetState
    public var pods: [PodState] = []
    public var pvcs: [PVCState] = []
    public var events: [EventRecord] = []
    /// Sequence for uids, resourceVersions and event names.
    public var nextSerial: Int = 1
    /// Sandbox-only settings and switches (binaries, timings, faults); not a Kubernetes object.
    /// Defined in SandboxRuntime.swift.
    public var runtime: SandboxRuntime = SandboxRuntime()

    public init(createdAt: String, node: NodeState, statefulSet: StatefulSetState) {
        self.createdAt = createdAt
        self.node = node
        self.statefulSet = statefulSet
    }
}

public struct NodeState: Codable, Sendable, Equatable {
    public var name: String = "sandbox-node-1"
    public var uid: String
    public var createdAt: String
    /// "True", "False" or "Unknown", as in the node's Ready condition.
    public var readyStatus: String = "True"
    public var readyReason: String = "KubeletReady"
    public var readyMessage: String = "kubelet is posting ready status"
    public var lastHeartbeatTime: String
    public var lastTransitionTime: String
    /// Set by the daemon while the node is down (fault `node-down`): kubelet stops heartbeating.
    public var kubeletStopped: Bool = false
    /// Taints the node controller adds (e.g. node.kubernetes.io/unreachable).
    public var taints: [Taint] = []
    public var capacityMemoryBytes: Int64
    public var capacityCPU: String = "2"
    /// metadata.resourceVersion: the state generation of this object's last change, stamped by
    /// `StateStore.update` (nil in a state file from before it; then the state generation is shown).
    public var resourceVersion: Int?

    public init(uid: String, createdAt: String, capacityMemoryBytes: Int64) {
        self.uid = uid
        self.createdAt = createdAt
        self.lastHeartbeatTime = createdAt
        self.lastTransitionTime = createdAt
        self.capacityMemoryBytes = capacityMemoryBytes
    }
}

public struct Taint: Codable, Sendable, Equatable {
    public var key: String
    public var effect: String
    public var timeAdded: String?
    public init(key: String, effect: String, timeAdded: String?) {
        self.key = key; self.effect = effect; self.timeAdded = timeAdded
    }
}

/// The pod template, as read from deploy/redis-statefulset.yaml and changed by `kubectl patch`.
public struct PodTemplate: Codable, Sendable, Equatable {
    public var labels: [String: String]
    public var containers: [ContainerSpec]
    public var terminationGracePeriodSeconds: Int = 30
    public init(labels: [String: String], containers: [ContainerSpec]) {
        self.labels = labels
        self.containers = containers
    }
}

public struct ContainerSpec: Codable, Sendable, Equatable {
    public var name: String
    public var image: String
    public var command: [String]?
    public var args: [String]?
    public var ports: [ContainerPort] = []
    public var env: [EnvVar] = []
    public var requestsCPU: String?
    public var requestsMemory: String?
    public var limitsCPU: String?
    public var limitsMemory: String?
    public var volumeMounts: [VolumeMount] = []
    /// readinessProbe.exec (command, periodSeconds...), nil when the container has none.
    public var readinessProbe: ExecProbe?
    public init(name: String, image: String) { self.name = name; self.image = image }
}

public struct ContainerPort: Codable, Sendable, Equatable {
    public var name: String?
    public var containerPort: Int
    public var `protocol`: String = "TCP"
    public init(name: String?, containerPort: Int) { self.name = name; self.containerPort = containerPort }
}

public struct EnvVar: Codable, Sendable, Equatable {
    public var name: String
    /// Literal value, or nil when it comes from a secret (valueFrom.secretKeyRef).
    public var value: String?
    public var secretName: String?
    public var secretKey: String?
    public init(name: String, value: String?) { self.name = name; self.value = value }
}

public struct VolumeMount: Codable, Sendable, Equatable {
    public var name: String
    public var mountPath: String
    public init(name: String, mountPath: String) { self.name = name; self.mountPath = mountPath }
}

public struct StatefulSetState: Codable, Sendable, Equatable {
    public var name: String = "redis"
    public var uid: String
    public var createdAt: String
    /// Desired replicas (spec.replicas). `kubectl scale` writes it.
    public var replicas: Int = 1
    public var serviceName: String = "redis"
    public var selector: [String: String] = ["app": "redis"]
    public var template: PodTemplate
    /// Incremented whenever `template` changes (metadata.generation); a pod created from an
    /// older template is out of date and is replaced by the rolling update.
    public var templateGeneration: Int = 1
    public var observedGeneration: Int = 1
    /// Name of the volumeClaimTemplate ("data"), its storage class and size.
    public var claimTemplateName: String = "data"
    public var storageClassName: String = "longhorn"
    public var storageRequest: String = "10Gi"
    /// metadata.resourceVersion: the state generation of this object's last change, stamped by
    /// `StateStore.update` (nil in a state file from before it; then the state generation is shown).
    public var resourceVersion: Int?
    public init(uid: String, createdAt: String, template: PodTemplate) {
        self.uid = uid
        self.createdAt = createdAt
        self.template = template
    }
}

public struct PodState: Codable, Sendable, Equatable {
    public var name: String
    public var uid: String
    public var createdAt: String
    public var labels: [String: String]
    /// "StatefulSet" for redis-N, nil for a one-off pod made by `kubectl run`.
    public var ownerKind: String?
    public var ownerName: String?
    /// The template generation this pod was created from (controller-revision-hash stand-in).
    public var templateGeneration: Int
    /// The spec this pod runs (copied from the template at creation; `kubectl run` pods have their own).
    public var containers: [ContainerSpec]
    public var restartPolicy: String = "Always"
    public var nodeName: String?
    /// "Pending", "Running", "Succeeded", "Failed" or "Unknown".
    public var phase: String = "Pending"
    /// status.reason, e.g. "NodeLost" when the node stopped reporting.
    public var reason: String?
    public var message: String?
    public var podIP: String?
    public var startTime: String?
    /// Set by `kubectl delete`; the daemon terminates the containers and removes the pod.
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int?
    /// Conditions: PodScheduled, Initialized, ContainersReady, Ready.
    public var conditions: [PodCondition] = []
    public var containerStatuses: [ContainerStatus] = []
    /// The pod's volume: name of the PVC mounted at the data mount path.
    public var pvcName: String?
    /// Pid of the process that holds the pod's network and mount namespaces (the "pause"
    /// container). `kubectl exec` enters these namespaces; 0 when none.
    public var sandboxPid: Int32 = 0
    /// metadata.resourceVersion: the state generation of this object's last change, stamped by
    /// `StateStore.update` (nil in a state file from before it; then the state generation is shown).
    public var resourceVersion: Int?

    public init(name: String, uid: String, createdAt: String, labels: [String: String], templateGeneration: Int, containers: [ContainerSpec]) {
        self.name = name
        self.uid = uid
        self.createdAt = createdAt
        self.labels = labels
        self.templateGeneration = templateGeneration
        self.containers = containers
    }
}

public struct PodCondition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String
    public var lastProbeTime: String?
    public init(type: String, status: String, lastTransitionTime: String) {
        self.type = type; self.status = status; self.lastTransitionTime = lastTransitionTime
    }
}

/// One of `state` / `lastState` in a containerStatus.
public enum ContainerStateValue: Codable, Sendable, Equatable {
    case waiting(reason: String, message: String?)
    case running(startedAt: String)
    case terminated(reason: String, exitCode: Int32, signal: Int32?, message: String?, startedAt: String?, finishedAt: String)
}

public struct ContainerStatus: Codable, Sendable, Equatable {
    public var name: String
    public var image: String
    public var ready: Bool = false
    public var started: Bool = false
    public var restartCount: Int = 0
    public var state: ContainerStateValue
    public var lastState: ContainerStateValue?
    public var containerID: String?
    /// Host pid of the container's main process while running; 0 otherwise.
    public var pid: Int32 = 0
    /// Current back-off delay for CrashLoopBackOff, in seconds (10 doubling to 300).
    public var backoffSeconds: Int = 0
    /// When the kubelet may start the container again (RFC 3339), while backing off.
    public var nextStartAt: String?
    /// cgroup v1 memory directory of the running container (memory.usage_in_bytes for `top`), nil without one.
    public var cgroupPath: String?
    public init(name: String, image: String, state: ContainerStateValue) {
        self.name = name; self.image = image; self.state = state
    }
}

public struct PVCState: Codable, Sendable, Equatable {
    public var name: String
    public var uid: String
    public var createdAt: String
    public var storageClassName: String
    public var request: String
    public var accessModes: [String] = ["ReadWriteOnce"]
    public var phase: String = "Bound"
    public var volumeName: String
    /// Directory on disk that holds the volume's data (mounted at /data in the pod).
    public var hostPath: String
    public var labels: [String: String] = [:]
    /// metadata.resourceVersion: the state generation of this object's last change, stamped by
    /// `StateStore.update` (nil in a state file from before it; then the state generation is shown).
    public var resourceVersion: Int?
    public init(name: String, uid: String, createdAt: String, storageClassName: String, request: String, volumeName: String, hostPath: String) {
        self.name = name; self.uid = uid; self.createdAt = createdAt
        self.storageClassName = storageClassName; self.request = request
        self.volumeName = volumeName; self.hostPath = hostPath
    }
}

public struct EventRecord: Codable, Sendable, Equatable {
    public var name: String
    public var uid: String
    /// "Normal" or "Warning".
    public var type: String
    public var reason: String
    public var message: String
    public var involvedKind: String
    public var involvedName: String
    public var involvedUID: String?
    public var involvedFieldPath: String?
    /// Reporting component, e.g. "kubelet", "statefulset-controller", "node-controller".
    public var source: String
    public var sourceHost: String?
    public var firstTimestamp: String
    public var lastTimestamp: String
    public var count: Int = 1
    /// metadata.resourceVersion: the state generation of this object's last change, stamped by
    /// `StateStore.update` (nil in a state file from before it; then the state generation is shown).
    public var resourceVersion: Int?
    public init(name: String, uid: String, type: String, reason: String, message: String, involvedKind: String, involvedName: String, source: String, firstTimestamp: String) {
        self.name = name; self.uid = uid; self.type = type; self.reason = reason; self.message = message
        self.involvedKind = involvedKind; self.involvedName = involvedName; self.source = source
        self.firstTimestamp = firstTimestamp; self.lastTimestamp = firstTimestamp
    }
}

/// Well-known paths inside a sandbox directory. Both halves use these and nothing else.
public struct SandboxLayout: Sendable {
    public let root: URL
    public init(root: URL) { self.root = root }
    public var stateFile: URL { root.appendingPathComponent("state.json") }
    public var lockFile: URL { root.appendingPathComponent("state.lock") }
    public var daemonPidFile: URL { root.appendingPathComponent("daemon.pid") }
    public var daemonLog: URL { root.appendingPathComponent("daemon.log") }
    /// The API server (redis-runbook-sandbox apiserver): pid, log, port, kubeconfig, PKI.
    public var apiServerPidFile: URL { root.appendingPathComponent("apiserver.pid") }
    /// The state generation the API server has read last (written by its state poll): a fault
    /// command returns once the server serves with it.
    public var apiServerGenerationFile: URL { root.appendingPathComponent("apiserver.generation") }
    public var apiServerLog: URL { root.appendingPathComponent("apiserver.log") }
    public var apiServerPortFile: URL { root.appendingPathComponent("apiserver.port") }
    public var kubeconfig: URL { root.appendingPathComponent("kubeconfig") }
    public var pkiDir: URL { root.appendingPathComponent("pki") }

    /// ${XDG_STATE_HOME:-~/.local/state}/redis-runbook/sandbox
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty {
            return URL(fileURLWithPath: x).appendingPathComponent("redis-runbook/sandbox")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/state/redis-runbook/sandbox")
    }
    /// PVC data: volumes/<pvc-name>/ (mounted at /data in the pod).
    public func volumeDir(_ pvc: String) -> URL { root.appendingPathComponent("volumes").appendingPathComponent(pvc) }
    /// Container logs: pods/<pod>/<container>/<restartCount>.log; `logs --previous` reads restartCount-1.
    public func containerLog(pod: String, container: String, restart: Int) -> URL {
        root.appendingPathComponent("pods").appendingPathComponent(pod).appendingPathComponent(container).appendingPathComponent("\(restart).log")
    }
}
