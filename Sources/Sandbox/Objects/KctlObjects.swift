import Foundation

/// Pure mapping from the sandbox state to Kubernetes API objects, as `kubectl get -o json`
/// prints them (managedFields stripped, as kubectl does by default).
public struct KctlObjects: Sendable {
    public let state: ClusterState
    public init(state: ClusterState) { self.state = state }

    public static let kubeletVersion = "v1.28.9"
    public static let nodeIP = "192.168.49.2"
    static let tolerations: KctlJSON = [
        ["effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300],
        ["effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300],
    ]

    var resourceVersion: KctlJSON { .string(String(max(1, state.generation))) }
    /// An object's own resourceVersion (the generation of its last change), else the state's.
    func rv(_ v: Int?) -> KctlJSON { v.map { .string(String($0)) } ?? resourceVersion }

    // MARK: lists

    public static func list(_ items: [KctlJSON]) -> KctlJSON {
        ["apiVersion": "v1", "items": .array(items), "kind": "List", "metadata": ["resourceVersion": ""]]
    }

    // MARK: hashes and ids

    /// Deterministic hex from a seed (public for the API server's stable uids).
    public static func hexDigest(_ seed: String, length: Int) -> String { hex(seed, length: length) }

    /// Deterministic hex from a seed (FNV-1a, stretched).
    static func hex(_ seed: String, length: Int) -> String {
        var out = ""
        var h: UInt64 = 0xcbf29ce484222325
        var round = 0
        while out.count < length {
            for b in (seed + "#\(round)").utf8 { h ^= UInt64(b); h = h &* 0x100000001b3 }
            out += String(format: "%016llx", h)
            round += 1
        }
        return String(out.prefix(length))
    }

    /// Kubernetes' "safe" encoding alphabet for generated name suffixes and revision hashes.
    static func safeSuffix(_ seed: String, length: Int) -> String {
        let alphabet = Array("bcdfghjkmnpqrstvwxz2456789")
        var h: UInt64 = 0xcbf29ce484222325
        for b in seed.utf8 { h ^= UInt64(b); h = h &* 0x100000001b3 }
        var out = ""
        for _ in 0..<length {
            out.append(alphabet[Int(h % UInt64(alphabet.count))])
            h = h / UInt64(alphabet.count) ^ (h &* 0x9E3779B97F4A7C15)
        }
        return out
    }

    public func revision(forGeneration generation: Int) -> String {
        "\(state.statefulSet.name)-" + KctlObjects.safeSuffix("\(state.statefulSet.uid)/\(generation)", length: 10)
    }

    // MARK: pods

    /// Labels as the API server shows them (the StatefulSet controller's labels added if missing).
    public func podLabels(_ pod: PodState) -> [String: String] {
        var labels = pod.labels
        if pod.ownerKind == "StatefulSet" {
            if labels["controller-revision-hash"] == nil { labels["controller-revision-hash"] = revision(forGeneration: pod.templateGeneration) }
            if labels["statefulset.kubernetes.io/pod-name"] == nil { labels["statefulset.kubernetes.io/pod-name"] = pod.name }
            if labels["apps.kubernetes.io/pod-index"] == nil, let idx = pod.name.split(separator: "-").last, Int(idx) != nil {
                labels["apps.kubernetes.io/pod-index"] = String(idx)
            }
        }
        return labels
    }

    func apiAccessVolumeName(_ pod: PodState) -> String {
        "kube-api-access-" + String(KctlObjects.safeSuffix(pod.uid, length: 5))
    }

    static func stringMap(_ m: [String: String]) -> KctlJSON { .object(m.mapValues { .string($0) }) }

    func containerSpecJSON(_ c: ContainerSpec, extraMounts: [KctlJSON]) -> KctlJSON {
        var o: [String: KctlJSON] = [
            "name": .string(c.name),
            "image": .string(c.image),
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "resources": KctlObjects.resourcesJSON(c),
        ]
        if let cmd = c.command { o["command"] = .array(cmd.map { .string($0) }) }
        if let args = c.args { o["args"] = .array(args.map { .string($0) }) }
        if !c.ports.isEmpty {
            o["ports"] = .array(c.ports.map { p in
                var po: [String: KctlJSON] = ["containerPort": .int(Int64(p.containerPort)), "protocol": .string(p.protocol)]
                if let n = p.name { po["name"] = .string(n) }
                return .object(po)
            })
        }
        if !c.env.isEmpty {
            o["env"] = .array(c.env.map { e in
                if let v = e.value { return ["name": .string(e.name), "value": .string(v)] }
                if let s = e.secretName, let k = e.secretKey {
                    return ["name": .string(e.name), "valueFrom": ["secretKeyRef": ["key": .string(k), "name": .string(s)]]]
                }
                return ["name": .string(e.name)]
            })
        }
        if let probe = c.readinessProbe {
            var po: [String: KctlJSON] = [
                "exec": ["command": .array(probe.command.map { .string($0) })],
                "failureThreshold": .int(Int64(probe.failureThreshold)), "periodSeconds": .int(Int64(probe.periodSeconds)),
                "successThreshold": 1, "timeoutSeconds": .int(Int64(probe.timeoutSeconds)),
            ]
            if probe.initialDelaySeconds > 0 { po["initialDelaySeconds"] = .int(Int64(probe.initialDelaySeconds)) }
            o["readinessProbe"] = .object(po)
        }
        let mounts = c.volumeMounts.map { m -> KctlJSON in ["mountPath": .string(m.mountPath), "name": .string(m.name)] } + extraMounts
        if !mounts.isEmpty { o["volumeMounts"] = .array(mounts) }
        return .object(o)
    }

    static func resourcesJSON(_ c: ContainerSpec) -> KctlJSON {
        var r: [String: KctlJSON] = [:]
        var limits: [String: KctlJSON] = [:]
        var requests: [String: KctlJSON] = [:]
        if let v = c.limitsCPU { limits["cpu"] = .string(v) }
        if let v = c.limitsMemory { limits["memory"] = .string(v) }
        if let v = c.requestsCPU { requests["cpu"] = .string(v) }
        if let v = c.requestsMemory { requests["memory"] = .string(v) }
        // The API server defaults requests to limits when only limits are given.
        if requests["cpu"] == nil, let v = limits["cpu"] { requests["cpu"] = v }
        if requests["memory"] == nil, let v = limits["memory"] { requests["memory"] = v }
        if !limits.isEmpty { r["limits"] = .object(limits) }
        if !requests.isEmpty { r["requests"] = .object(requests) }
        return .object(r)
    }

    static func qosClass(_ containers: [ContainerSpec]) -> String {
        var any = false
        var guaranteed = true
        for c in containers {
            let reqCPU = c.requestsCPU ?? c.limitsCPU, reqMem = c.requestsMemory ?? c.limitsMemory
            if c.limitsCPU != nil || c.limitsMemory != nil || reqCPU != nil || reqMem != nil { any = true }
            if c.limitsCPU == nil || c.limitsMemory == nil || reqCPU != c.limitsCPU || reqMem != c.limitsMemory { guaranteed = false }
        }
        if !any { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }

    static func stateJSON(_ s: ContainerStateValue?, containerID: String?) -> KctlJSON {
        guard let s else { return [:] }
        switch s {
        case .waiting(let reason, let message):
            var w: [String: KctlJSON] = ["reason": .string(reason)]
            if let message { w["message"] = .string(message) }
            return ["waiting": .object(w)]
        case .running(let startedAt):
            return ["running": ["startedAt": .string(startedAt)]]
        case .terminated(let reason, let exitCode, let signal, let message, let startedAt, let finishedAt):
            var t: [String: KctlJSON] = ["exitCode": .int(Int64(exitCode)), "reason": .string(reason), "finishedAt": .string(finishedAt)]
            t["startedAt"] = startedAt.map { .string($0) } ?? .null
            if let signal, signal != 0 { t["signal"] = .int(Int64(signal)) }
            if let message { t["message"] = .string(message) }
            if let containerID { t["containerID"] = .string(containerID) }
            return ["terminated": .object(t)]
        }
    }

    func containerStatusJSON(_ pod: PodState, _ cs: ContainerStatus) -> KctlJSON {
        let imageRepo = cs.image.split(separator: ":").first.map(String.init) ?? cs.image
        let lastID: String? = cs.restartCount > 0
            ? "containerd://" + KctlObjects.hex("\(pod.uid)/\(cs.name)/\(cs.restartCount - 1)", length: 64) : nil
        var o: [String: KctlJSON] = [
            "name": .string(cs.name),
            "image": .string(KctlObjects.qualifiedImage(cs.image)),
            "imageID": .string(KctlObjects.qualifiedImage(imageRepo) + "@sha256:" + KctlObjects.hex("image/" + cs.image, length: 64)),
            "ready": .bool(cs.ready),
            "started": .bool(cs.started),
            "restartCount": .int(Int64(cs.restartCount)),
            "state": KctlObjects.stateJSON(cs.state, containerID: cs.containerID),
            "lastState": KctlObjects.stateJSON(cs.lastState, containerID: lastID),
        ]
        if let id = cs.containerID { o["containerID"] = .string(id) }
        return .object(o)
    }

    /// "redis:7.0.15" → "docker.io/library/redis:7.0.15", as containerd reports it.
    static func qualifiedImage(_ image: String) -> String {
        let parts = image.split(separator: "/")
        if parts.count == 1 { return "docker.io/library/" + image }
        if let first = parts.first, !first.contains("."), !first.contains(":"), first != "localhost" { return "docker.io/" + image }
        return image
    }

    public func pod(_ pod: PodState) -> KctlJSON {
        var metadata: [String: KctlJSON] = [
            "name": .string(pod.name),
            "namespace": .string(state.namespace),
            "uid": .string(pod.uid),
            "resourceVersion": rv(pod.resourceVersion),
            "creationTimestamp": .string(pod.createdAt),
            "labels": KctlObjects.stringMap(podLabels(pod)),
        ]
        if pod.ownerKind == "StatefulSet", let owner = pod.ownerName {
            metadata["generateName"] = .string(owner + "-")
            metadata["ownerReferences"] = [[
                "apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                "kind": "StatefulSet", "name": .string(owner), "uid": .string(state.statefulSet.uid),
            ]]
        }
        if let dt = pod.deletionTimestamp {
            metadata["deletionTimestamp"] = .string(dt)
            metadata["deletionGracePeriodSeconds"] = .int(Int64(pod.deletionGracePeriodSeconds ?? 30))
        }

        let apiVolume = apiAccessVolumeName(pod)
        let apiMount: KctlJSON = ["mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": .string(apiVolume), "readOnly": true]
        var volumes: [KctlJSON] = []
        if let pvc = pod.pvcName {
            let volName = pod.containers.flatMap(\.volumeMounts).first?.name ?? state.statefulSet.claimTemplateName
            volumes.append(["name": .string(volName), "persistentVolumeClaim": ["claimName": .string(pvc)]])
        }
        volumes.append([
            "name": .string(apiVolume),
            "projected": [
                "defaultMode": 420,
                "sources": [
                    ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
                    ["configMap": ["items": [["key": "ca.crt", "path": "ca.crt"]], "name": "kube-root-ca.crt"]],
                    ["downwardAPI": ["items": [["fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"], "path": "namespace"]]]],
                ],
            ],
        ])
        var spec: [String: KctlJSON] = [
            "containers": .array(pod.containers.map { containerSpecJSON($0, extraMounts: [apiMount]) }),
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": .string(pod.restartPolicy),
            "schedulerName": "default-scheduler",
            "securityContext": [:],
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": .int(Int64(pod.ownerKind == "StatefulSet" ? state.statefulSet.template.terminationGracePeriodSeconds : 30)),
            "tolerations": KctlObjects.tolerations,
            "volumes": .array(volumes),
        ]
        if let node = pod.nodeName { spec["nodeName"] = .string(node) }
        if pod.ownerKind == "StatefulSet" {
            spec["hostname"] = .string(pod.name)
            spec["subdomain"] = .string(state.statefulSet.serviceName)
        }

        var status: [String: KctlJSON] = [
            "phase": .string(pod.phase),
            "qosClass": .string(KctlObjects.qosClass(pod.containers)),
        ]
        if !pod.conditions.isEmpty {
            status["conditions"] = .array(pod.conditions.map { c in
                var o: [String: KctlJSON] = [
                    "type": .string(c.type), "status": .string(c.status),
                    "lastTransitionTime": .string(c.lastTransitionTime),
                    "lastProbeTime": c.lastProbeTime.map { .string($0) } ?? .null,
                ]
                if let r = c.reason { o["reason"] = .string(r) }
                if let m = c.message { o["message"] = .string(m) }
                return .object(o)
            })
        }
        if !pod.containerStatuses.isEmpty {
            status["containerStatuses"] = .array(pod.containerStatuses.map { containerStatusJSON(pod, $0) })
        }
        if pod.nodeName != nil && pod.startTime != nil {
            status["hostIP"] = .string(KctlObjects.nodeIP)
            status["hostIPs"] = [["ip": .string(KctlObjects.nodeIP)]]
        }
        if let ip = pod.podIP, !ip.isEmpty {
            status["podIP"] = .string(ip)
            status["podIPs"] = [["ip": .string(ip)]]
        }
        if let t = pod.startTime { status["startTime"] = .string(t) }
        if let r = pod.reason { status["reason"] = .string(r) }
        if let m = pod.message { status["message"] = .string(m) }

        return ["apiVersion": "v1", "kind": "Pod", "metadata": .object(metadata), "spec": .object(spec), "status": .object(status)]
    }

    // MARK: statefulset

    public struct StatefulSetStatus: Equatable, Sendable {
        public var replicas = 0, readyReplicas = 0, currentReplicas = 0, updatedReplicas = 0, availableReplicas = 0
        public var currentRevision = "", updateRevision = ""
        public var observedGeneration = 0
    }

    /// The StatefulSet controller's status, computed from the pods it owns.
    public func statefulSetStatus() -> StatefulSetStatus {
        let sts = state.statefulSet
        let owned = state.pods.filter { $0.ownerKind == "StatefulSet" && $0.ownerName == sts.name }
        var s = StatefulSetStatus()
        s.observedGeneration = sts.observedGeneration
        s.replicas = owned.count
        s.readyReplicas = owned.filter { p in p.conditions.contains { $0.type == "Ready" && $0.status == "True" } && p.deletionTimestamp == nil }.count
        s.availableReplicas = s.readyReplicas
        s.updateRevision = revision(forGeneration: sts.templateGeneration)
        s.updatedReplicas = owned.filter { $0.templateGeneration == sts.templateGeneration }.count
        let oldest = owned.map(\.templateGeneration).min() ?? sts.templateGeneration
        s.currentRevision = revision(forGeneration: oldest)
        s.currentReplicas = owned.filter { $0.templateGeneration == oldest }.count
        return s
    }

    public func statefulSet() -> KctlJSON {
        let sts = state.statefulSet
        let st = statefulSetStatus()
        let templateSpec: KctlJSON = [
            "containers": .array(sts.template.containers.map { containerSpecJSON($0, extraMounts: []) }),
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": [:],
            "terminationGracePeriodSeconds": .int(Int64(sts.template.terminationGracePeriodSeconds)),
        ]
        var status: [String: KctlJSON] = [
            "availableReplicas": .int(Int64(st.availableReplicas)),
            "collisionCount": 0,
            "currentRevision": .string(st.currentRevision),
            "observedGeneration": .int(Int64(st.observedGeneration)),
            "replicas": .int(Int64(st.replicas)),
            "updateRevision": .string(st.updateRevision),
        ]
        if st.readyReplicas > 0 { status["readyReplicas"] = .int(Int64(st.readyReplicas)) }
        if st.currentReplicas > 0 && st.replicas > 0 { status["currentReplicas"] = .int(Int64(st.currentReplicas)) }
        if st.updatedReplicas > 0 { status["updatedReplicas"] = .int(Int64(st.updatedReplicas)) }
        return [
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": [
                "creationTimestamp": .string(sts.createdAt),
                "generation": .int(Int64(sts.templateGeneration)),
                "labels": KctlObjects.stringMap(sts.selector),
                "name": .string(sts.name),
                "namespace": .string(state.namespace),
                "resourceVersion": rv(sts.resourceVersion),
                "uid": .string(sts.uid),
            ],
            "spec": [
                "persistentVolumeClaimRetentionPolicy": ["whenDeleted": "Retain", "whenScaled": "Retain"],
                "podManagementPolicy": "OrderedReady",
                "replicas": .int(Int64(sts.replicas)),
                "revisionHistoryLimit": 10,
                "selector": ["matchLabels": KctlObjects.stringMap(sts.selector)],
                "serviceName": .string(sts.serviceName),
                "template": [
                    "metadata": ["creationTimestamp": nil, "labels": KctlObjects.stringMap(sts.template.labels)],
                    "spec": templateSpec,
                ],
                "updateStrategy": ["rollingUpdate": ["partition": 0], "type": "RollingUpdate"],
                "volumeClaimTemplates": [[
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": ["creationTimestamp": nil, "name": .string(sts.claimTemplateName)],
                    "spec": [
                        "accessModes": ["ReadWriteOnce"],
                        "resources": ["requests": ["storage": .string(sts.storageRequest)]],
                        "storageClassName": .string(sts.storageClassName),
                        "volumeMode": "Filesystem",
                    ],
                    "status": ["phase": "Pending"],
                ]],
            ],
            "status": .object(status),
        ]
    }

    // MARK: pvc

    public func pvc(_ p: PVCState) -> KctlJSON {
        var metadata: [String: KctlJSON] = [
            "annotations": [
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "driver.longhorn.io",
                "volume.kubernetes.io/storage-provisioner": "driver.longhorn.io",
            ],
            "creationTimestamp": .string(p.createdAt),
            "finalizers": ["kubernetes.io/pvc-protection"],
            "name": .string(p.name),
            "namespace": .string(state.namespace),
            "resourceVersion": rv(p.resourceVersion),
            "uid": .string(p.uid),
        ]
        if !p.labels.isEmpty { metadata["labels"] = KctlObjects.stringMap(p.labels) }
        var status: [String: KctlJSON] = ["phase": .string(p.phase)]
        if p.phase == "Bound" {
            status["accessModes"] = .array(p.accessModes.map { .string($0) })
            status["capacity"] = ["storage": .string(p.request)]
        }
        return [
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": .object(metadata),
            "spec": [
                "accessModes": .array(p.accessModes.map { .string($0) }),
                "resources": ["requests": ["storage": .string(p.request)]],
                "storageClassName": .string(p.storageClassName),
                "volumeMode": "Filesystem",
                "volumeName": .string(p.volumeName),
            ],
            "status": .object(status),
        ]
    }

    // MARK: events

    public func event(_ e: EventRecord) -> KctlJSON {
        var involved: [String: KctlJSON] = [
            "apiVersion": .string(e.involvedKind == "StatefulSet" ? "apps/v1" : "v1"),
            "kind": .string(e.involvedKind),
            "name": .string(e.involvedName),
        ]
        if e.involvedKind != "Node" { involved["namespace"] = .string(state.namespace) }
        if let uid = e.involvedUID {
            involved["uid"] = .string(uid)
            // The involved object's version when the event was recorded: the event's own.
            if e.involvedKind != "Node" { involved["resourceVersion"] = rv(e.resourceVersion) }
        }
        if let fp = e.involvedFieldPath { involved["fieldPath"] = .string(fp) }
        var source: [String: KctlJSON] = ["component": .string(e.source)]
        if let host = e.sourceHost { source["host"] = .string(host) }
        return [
            "apiVersion": "v1",
            "count": .int(Int64(e.count)),
            "eventTime": nil,
            "firstTimestamp": .string(e.firstTimestamp),
            "involvedObject": .object(involved),
            "kind": "Event",
            "lastTimestamp": .string(e.lastTimestamp),
            "message": .string(e.message),
            "metadata": [
                "creationTimestamp": .string(e.firstTimestamp),
                "name": .string(e.name),
                "namespace": .string(state.namespace),
                "resourceVersion": rv(e.resourceVersion),
                "uid": .string(e.uid),
            ],
            "reason": .string(e.reason),
            "reportingComponent": .string(e.source),
            "reportingInstance": .string(e.sourceHost ?? ""),
            "source": .object(source),
            "type": .string(e.type),
        ]
    }

    // MARK: node

    public func node() -> KctlJSON {
        let n = state.node
        let memKi = n.capacityMemoryBytes / 1024
        func cond(_ type: String, _ status: String, _ reason: String, _ message: String) -> KctlJSON {
            [
                "lastHeartbeatTime": .string(n.lastHeartbeatTime), "lastTransitionTime": .string(n.lastTransitionTime),
                "message": .string(message), "reason": .string(reason), "status": .string(status), "type": .string(type),
            ]
        }
        let conditions: [KctlJSON]
        if n.readyStatus == "Unknown" {
            conditions = ["MemoryPressure", "DiskPressure", "PIDPressure"].map {
                cond($0, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
            } + [cond("Ready", "Unknown", n.readyReason, n.readyMessage)]
        } else {
            conditions = [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", n.readyStatus, n.readyReason, n.readyMessage),
            ]
        }
        var spec: [String: KctlJSON] = ["podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]]
        if !n.taints.isEmpty {
            spec["taints"] = .array(n.taints.map { t in
                var o: [String: KctlJSON] = ["effect": .string(t.effect), "key": .string(t.key)]
                if let ta = t.timeAdded { o["timeAdded"] = .string(ta) }
                return .object(o)
            })
        }
        let capacity: KctlJSON = [
            "cpu": .string(n.capacityCPU), "ephemeral-storage": "102626232Ki", "hugepages-2Mi": "0",
            "memory": .string("\(memKi)Ki"), "pods": "110",
        ]
        return [
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": [
                "annotations": [
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                ],
                "creationTimestamp": .string(n.createdAt),
                "labels": [
                    "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": .string(n.name),
                    "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": "",
                ],
                "name": .string(n.name),
                "resourceVersion": rv(n.resourceVersion),
                "uid": .string(n.uid),
            ],
            "spec": .object(spec),
            "status": [
                "addresses": [["address": .string(KctlObjects.nodeIP), "type": "InternalIP"], ["address": .string(n.name), "type": "Hostname"]],
                "allocatable": capacity,
                "capacity": capacity,
                "conditions": .array(conditions),
                "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
                "nodeInfo": [
                    "architecture": "amd64", "bootID": .string(KctlObjects.hex("boot/" + n.uid, length: 32)),
                    "containerRuntimeVersion": "containerd://1.7.15", "kernelVersion": .string(KctlObjects.kernelVersion()),
                    "kubeProxyVersion": .string(KctlObjects.kubeletVersion), "kubeletVersion": .string(KctlObjects.kubeletVersion),
                    "machineID": .string(KctlObjects.hex("machine/" + n.uid, length: 32)), "operatingSystem": "linux",
                    "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": .string(n.uid),
                ],
            ],
        ]
    }

    static func kernelVersion() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
