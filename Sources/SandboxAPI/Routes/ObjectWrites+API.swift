import Foundation
import NIOCore
import NIOHTTP1
import Sandbox

/// The writes: they record intent in state.json (as the real server writes etcd); the daemon
/// (kubelet and controllers) acts on it and writes the status.
extension ObjectHandlers {
    /// A state write; the imitation's errors become Status errors with the server's wording.
    func update<T>(_ body: (inout ClusterState) throws -> T) throws -> T {
        do {
            let r = try store.update(body)
            router.core.hub.poll()
            return r
        } catch let e as KubectlError {
            throw Self.status(from: e)
        }
    }

    static func status(from e: KubectlError) -> APIStatus { APIStatus(APIParse.status(from: e)) }

    // MARK: create (pods)

    func create() throws -> APIResponse {
        guard kind == .pods else { throw APIStatus.methodNotAllowed(request.method.rawValue) }
        let body = try Router.parseBody(request)
        guard body["kind"]?.stringValue ?? "Pod" == "Pod", body["apiVersion"]?.stringValue ?? "v1" == "v1" else {
            throw APIStatus.badRequest("the API version in the data (\(body["apiVersion"]?.stringValue ?? "")) does not match the expected API version (v1)")
        }
        let name = body["metadata"]?["name"]?.stringValue ?? ""
        guard !name.isEmpty else {
            throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required")
        }
        guard name.count <= 253, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }), name.first?.isLetter ?? false || name.first?.isNumber ?? false else {
            throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\(name)\" is invalid: metadata.name: Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
        }
        if let ns = body["metadata"]?["namespace"]?.stringValue, ns != info.namespace {
            throw APIStatus.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let containers = body["spec"]?["containers"]?.arrayValue ?? []
        if containers.isEmpty {
            throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\(name)\" is invalid: spec.containers: Required value")
        }
        for (i, c) in containers.enumerated() {
            if (c["name"]?.stringValue ?? "").isEmpty {
                throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\(name)\" is invalid: spec.containers[\(i)].name: Required value")
            }
            if (c["image"]?.stringValue ?? "").isEmpty {
                throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\(name)\" is invalid: spec.containers[\(i)].image: Required value")
            }
        }
        let plan: (containers: [ContainerSpec], pvcName: String?, restartPolicy: String, labels: [String: String])
        do { plan = try ObjectWrites.podPlan(body) } catch let e as KubectlError {
            throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\(name)\" is invalid: \(Router.serverMessage(e.description))")
        }
        guard ["Always", "OnFailure", "Never"].contains(plan.restartPolicy) else {
            throw APIStatus(code: 422, reason: "Invalid", message: "Pod \"\(name)\" is invalid: spec.restartPolicy: Unsupported value: \"\(plan.restartPolicy)\": supported values: \"Always\", \"OnFailure\", \"Never\"")
        }
        let ns = info.namespace ?? ""
        let uid: String = try update { state in
            guard ns == state.namespace else { throw APIStatus.notFound(resource: "namespaces", name: ns) }
            if state.pods.contains(where: { $0.name == name }) {
                throw APIStatus(code: 409, reason: "AlreadyExists", message: "pods \"\(name)\" already exists",
                                details: ["name": .string(name), "kind": "pods"])
            }
            let pod = ObjectWrites.newPod(name: name, createdAt: RFC3339.format(), plan: plan)
            state.pods.append(pod)
            return pod.uid
        }
        let state = try store.read()
        guard let pod = state.pods.first(where: { $0.uid == uid }) else { throw APIStatus.internalError("pod vanished after create") }
        return .json(KctlObjects(state: state).pod(pod), status: .created)
    }

    // MARK: delete (pods)

    func delete(_ name: String) throws -> APIResponse {
        guard kind == .pods else { throw APIStatus.methodNotAllowed(request.method.rawValue) }
        var grace: Int? = request.query("gracePeriodSeconds").flatMap { Int($0) }
        if !request.body.isEmpty {
            let opts = try Router.parseBody(request)
            if let g = opts["gracePeriodSeconds"]?.intValue { grace = Int(g) }
            if let p = opts["propagationPolicy"]?.stringValue, !["Background", "Foreground", "Orphan"].contains(p) {
                throw APIStatus(code: 422, reason: "Invalid", message: "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"\(p)\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"")
            }
        }
        if let g = grace, g < 0 { grace = 0 }
        let ns = info.namespace ?? ""
        let nowS = RFC3339.format()
        let result: (pod: PodState, removed: Bool) = try update { state in
            guard ns == state.namespace, let i = state.pods.firstIndex(where: { $0.name == name }) else {
                throw APIStatus.notFound(resource: "pods", name: name)
            }
            let pod = state.pods[i]
            let g = grace ?? (pod.ownerKind == "StatefulSet" ? state.statefulSet.template.terminationGracePeriodSeconds : 30)
            // Grace 0 (kubectl --force --grace-period=0), or a pod no kubelet runs: gone at once.
            if g == 0 || pod.nodeName == nil {
                state.pods.remove(at: i)
                var p = pod
                p.deletionTimestamp = p.deletionTimestamp ?? nowS
                p.deletionGracePeriodSeconds = 0
                return (p, true)
            }
            if pod.deletionTimestamp == nil || (pod.deletionGracePeriodSeconds ?? Int.max) > g {
                state.pods[i].deletionTimestamp = pod.deletionTimestamp ?? nowS
                state.pods[i].deletionGracePeriodSeconds = g
            }
            return (state.pods[i], false)
        }
        let state = try store.read()
        return .json(KctlObjects(state: state).pod(result.pod))
    }

    // MARK: patch (statefulsets, persistentvolumeclaims)

    typealias PatchType = APIParse.PatchType

    func patchType() throws -> PatchType {
        do { return try APIParse.patchType(contentType: request.headers.first(name: "Content-Type")) } catch { throw APIStatus(error) }
    }

    /// (Sandbox's APIParse.applyPatch: pure, fuzzed by Fuzz/Sources/FuzzAPIRequest.)
    func applyPatch(_ target: KctlJSON, _ type: PatchType, _ patch: KctlJSON) throws -> KctlJSON {
        do { return try APIParse.applyPatch(target, type, patch) } catch { throw APIStatus(error) }
    }

    func patch(_ name: String) throws -> APIResponse {
        guard kind == .statefulsets || kind == .persistentvolumeclaims else { throw APIStatus.methodNotAllowed(request.method.rawValue) }
        let type = try patchType()
        let body = try Router.parseBody(request)
        let ns = info.namespace ?? ""
        // ?dryRun=All (kubectl --dry-run=server): validated and answered as the object would be,
        // nothing stored.
        let dryRun = request.query("dryRun")
        if let d = dryRun, d != "All" {
            throw APIStatus.badRequest("Invalid dry run value \"\(d)\", supported values: \"All\"")
        }
        if dryRun == "All" {
            var copy = try store.read()
            do { try patchState(&copy, name, ns: ns, type: type, body: body, dryRun: true) } catch let e as KubectlError { throw Self.status(from: e) }
            return .json(try find(name, in: copy))
        }
        try update { state in try patchState(&state, name, ns: ns, type: type, body: body, dryRun: false) }
        let state = try store.read()
        return .json(try find(name, in: state))
    }

    /// The patch applied to `state`. A dry run never touches a volume (no tmpfs resize).
    private func patchState(_ state: inout ClusterState, _ name: String, ns: String, type: PatchType, body: KctlJSON, dryRun: Bool) throws {
        guard ns == state.namespace else { throw APIStatus.notFound(resource: kind.rawValue, name: name, group: kind.group) }
        if kind == .statefulsets {
            guard state.statefulSet.name == name else { throw APIStatus.notFound(resource: "statefulsets", name: name, group: "apps") }
            let before = KctlObjects(state: state).statefulSet()
            let after = try applyPatch(before, type, body)
            if let r = after["spec"]?["replicas"], (r.intValue ?? -1) < 0 {
                throw APIStatus(code: 422, reason: "Invalid", message: "StatefulSet.apps \"\(name)\" is invalid: spec.replicas: Invalid value: \(r.compact()): must be greater than or equal to 0")
            }
            state.statefulSet = try ObjectWrites.statefulSet(from: after, before: before, current: state.statefulSet, name: name)
        } else {
            guard let p = state.pvcs.first(where: { $0.name == name }) else { throw APIStatus.notFound(resource: "persistentvolumeclaims", name: name) }
            let before = KctlObjects(state: state).pvc(p)
            let after = try applyPatch(before, type, body)
            // Only spec.resources.requests.storage may change on a bound claim.
            var sb = before["spec"]?.objectValue ?? [:], sa = after["spec"]?.objectValue ?? [:]
            let newStorage = after["spec"]?["resources"]?["requests"]?["storage"]?.stringValue
            sb.removeValue(forKey: "resources"); sa.removeValue(forKey: "resources")
            guard sb == sa else {
                throw APIStatus(code: 422, reason: "Invalid", message: "PersistentVolumeClaim \"\(name)\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims")
            }
            if let newStorage, newStorage != p.request {
                try ObjectWrites.patchPVCStorage(&state, name: name, patch: ["spec": ["resources": ["requests": ["storage": .string(newStorage)]]]], dryRun: dryRun)
            }
        }
    }

    // MARK: statefulsets/scale

    func scaleJSON(_ state: ClusterState) -> KctlJSON {
        let sts = state.statefulSet
        let st = KctlObjects(state: state).statefulSetStatus()
        return [
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": ["name": .string(sts.name), "namespace": .string(state.namespace), "uid": .string(sts.uid),
                         "resourceVersion": .string(String(sts.resourceVersion ?? state.generation)), "creationTimestamp": .string(sts.createdAt)],
            "spec": ["replicas": .int(Int64(sts.replicas))],
            "status": ["replicas": .int(Int64(st.replicas)),
                       "selector": .string(sts.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))],
        ]
    }

    func getScale(_ name: String) throws -> APIResponse {
        let state = try store.read()
        guard try checkNamespace(state, name: name), state.statefulSet.name == name else {
            throw APIStatus.notFound(resource: "statefulsets", name: name, group: "apps")
        }
        return .json(scaleJSON(state))
    }

    func setReplicas(_ name: String, from scale: KctlJSON) throws -> APIResponse {
        guard let r = scale["spec"]?["replicas"] else {
            return try getScale(name)
        }
        guard let n = r.intValue, n >= 0, n <= 1000 else {
            throw APIStatus(code: 422, reason: "Invalid", message: "Scale.autoscaling \"\(name)\" is invalid: spec.replicas: Invalid value: \(r.compact()): must be greater than or equal to 0")
        }
        let ns = info.namespace ?? ""
        try update { state in
            guard ns == state.namespace, state.statefulSet.name == name else { throw APIStatus.notFound(resource: "statefulsets", name: name, group: "apps") }
            state.statefulSet.replicas = Int(n)
        }
        return .json(scaleJSON(try store.read()))
    }

    func patchScale(_ name: String) throws -> APIResponse {
        let type = try patchType()
        let body = try Router.parseBody(request)
        let state = try store.read()
        guard try checkNamespace(state, name: name), state.statefulSet.name == name else {
            throw APIStatus.notFound(resource: "statefulsets", name: name, group: "apps")
        }
        let after = try applyPatch(scaleJSON(state), type, body)
        return try setReplicas(name, from: after)
    }

    func putScale(_ name: String) throws -> APIResponse {
        let body = try Router.parseBody(request)
        return try setReplicas(name, from: body)
    }
}
