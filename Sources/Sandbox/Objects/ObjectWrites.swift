import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes of intent to the state from an object's JSON, shared by the imitation kubectl and the
/// API server: a StatefulSet after a patch, a PVC's storage request, a pod created from JSON.
/// Errors are `KubectlError`s with the API server's message ("The StatefulSet \"redis\" is invalid: ...").
public enum ObjectWrites {
    /// The StatefulSet as `after` (the patched JSON of `before`) describes it; only the fields a
    /// real server lets change may differ.
    public static func statefulSet(from after: KctlJSON, before: KctlJSON, current: StatefulSetState, name: String) throws -> StatefulSetState {
        // Only replicas, template, updateStrategy and friends may change in a StatefulSet spec.
        var specBefore = before["spec"]?.objectValue ?? [:]
        var specAfter = after["spec"]?.objectValue ?? [:]
        for k in ["replicas", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "ordinals"] {
            specBefore.removeValue(forKey: k); specAfter.removeValue(forKey: k)
        }
        // The server compares after defaulting: a claim template sent as a manifest has it
        // (kubectl apply replaces the whole list, which has no merge key) without the fields the
        // server fills in (kind, volumeMode, status).
        if case .array(let a)? = specBefore["volumeClaimTemplates"] { specBefore["volumeClaimTemplates"] = .array(a.map(defaultedClaimTemplate)) }
        if case .array(let a)? = specAfter["volumeClaimTemplates"] { specAfter["volumeClaimTemplates"] = .array(a.map(defaultedClaimTemplate)) }
        if specBefore != specAfter {
            throw KubectlError("The StatefulSet \"\(name)\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
        }
        var sts = current
        if let r = after["spec"]?["replicas"]?.intValue { sts.replicas = Int(r) }
        let tpl = after["spec"]?["template"]
        let containersJSON = tpl?["spec"]?["containers"]?.arrayValue ?? []
        if containersJSON.isEmpty {
            throw KubectlError("The StatefulSet \"\(name)\" is invalid: spec.template.spec.containers: Required value")
        }
        var containers: [ContainerSpec] = []
        for cj in containersJSON {
            let base = sts.template.containers.first { $0.name == cj["name"]?.stringValue }
            let c = try KctlPatch.container(from: cj, base: base)
            if c.image.isEmpty {
                throw KubectlError("The StatefulSet \"\(name)\" is invalid: spec.template.spec.containers[\(containers.count)].image: Required value")
            }
            containers.append(c)
        }
        sts.template.containers = containers
        if let labels = tpl?["metadata"]?["labels"]?.objectValue {
            sts.template.labels = labels.compactMapValues { $0.stringValue }
        }
        if let g = tpl?["spec"]?["terminationGracePeriodSeconds"]?.intValue { sts.template.terminationGracePeriodSeconds = Int(g) }
        if sts.template != current.template { sts.templateGeneration += 1 }
        return sts
    }

    /// A claim template with the server's defaults filled in where absent.
    static func defaultedClaimTemplate(_ t: KctlJSON) -> KctlJSON {
        guard var o = t.objectValue else { return t }
        if o["apiVersion"] == nil { o["apiVersion"] = "v1" }
        if o["kind"] == nil { o["kind"] = "PersistentVolumeClaim" }
        var meta = o["metadata"]?.objectValue ?? [:]
        if meta["creationTimestamp"] == nil { meta["creationTimestamp"] = .null }
        o["metadata"] = .object(meta)
        var spec = o["spec"]?.objectValue ?? [:]
        if spec["volumeMode"] == nil { spec["volumeMode"] = "Filesystem" }
        o["spec"] = .object(spec)
        if o["status"] == nil { o["status"] = ["phase": "Pending"] }
        return .object(o)
    }

    /// `dryRun`: validated and recorded in `state` only (the caller's copy), no volume resized.
    public static func patchPVCStorage(_ state: inout ClusterState, name: String, patch: KctlJSON, dryRun: Bool = false) throws {
        guard let storage = patch["spec"]?["resources"]?["requests"]?["storage"]?.stringValue,
              patch.objectValue?.keys.sorted() == ["spec"], patch["spec"]?.objectValue?.keys.sorted() == ["resources"] else {
            throw KubectlError("The PersistentVolumeClaim \"\(name)\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests for bound claims")
        }
        guard let newBytes = Quantity.parse(storage) else {
            throw KubectlError("error: unable to parse quantity \"\(storage)\"")
        }
        do {
            guard let i = state.pvcs.firstIndex(where: { $0.name == name }) else {
                throw KubectlError.notFound("persistentvolumeclaims", name)
            }
            let old = Quantity.parse(state.pvcs[i].request) ?? 0
            if newBytes < old {
                throw KubectlError("The PersistentVolumeClaim \"\(name)\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value")
            }
            let path = state.pvcs[i].hostPath
            if newBytes > old, !dryRun, getuid() == 0, Mounts.isMountPoint(path) {
                let size = min(newBytes, 2 << 30)
                guard Mounts.resizeTmpfs(path, sizeBytes: size) else {
                    throw KubectlError("Error from server: resizing volume \(state.pvcs[i].volumeName) failed: \(String(cString: strerror(errno)))")
                }
                state.runtime.volumeTmpfsBytes = size
                state.runtime.faults.diskFull = false
            }
            state.pvcs[i].request = storage
        }
    }

    /// A pod from its JSON (`kubectl run`'s object, with --overrides merged): containers, the
    /// PVC it mounts, restart policy, labels.
    public static func podPlan(_ pod: KctlJSON, defaultLabels: [String: String] = [:], defaultRestart: String = "Always") throws
        -> (containers: [ContainerSpec], pvcName: String?, restartPolicy: String, labels: [String: String]) {
        let containersJSON = pod["spec"]?["containers"]?.arrayValue ?? []
        let containers = try containersJSON.map { try KctlPatch.container(from: $0) }
        var pvc: String?
        for v in pod["spec"]?["volumes"]?.arrayValue ?? [] {
            if let claim = v["persistentVolumeClaim"]?["claimName"]?.stringValue { pvc = claim; break }
        }
        let podLabels = pod["metadata"]?["labels"]?.objectValue?.compactMapValues { $0.stringValue } ?? defaultLabels
        return (containers, pvc, pod["spec"]?["restartPolicy"]?.stringValue ?? defaultRestart, podLabels)
    }

    /// A new one-off pod (not owned by the StatefulSet), waiting for the kubelet to start it.
    public static func newPod(name: String, createdAt: String, plan: (containers: [ContainerSpec], pvcName: String?, restartPolicy: String, labels: [String: String])) -> PodState {
        var pod = PodState(name: name, uid: UUID().uuidString.lowercased(), createdAt: createdAt, labels: plan.labels,
                           templateGeneration: 0, containers: plan.containers)
        pod.restartPolicy = plan.restartPolicy
        pod.pvcName = plan.pvcName
        pod.containerStatuses = plan.containers.map {
            ContainerStatus(name: $0.name, image: $0.image, state: .waiting(reason: "ContainerCreating", message: nil))
        }
        return pod
    }
}
