import Foundation
import Sandbox

/// The resources this API server serves, with their discovery facts.
public enum ResourceKind: String, CaseIterable, Sendable, Hashable {
    case namespaces, nodes, pods, statefulsets, persistentvolumeclaims, events, secrets, configmaps

    public var group: String { self == .statefulsets ? "apps" : "" }
    public var version: String { "v1" }
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var kind: String {
        switch self {
        case .namespaces: return "Namespace"
        case .nodes: return "Node"
        case .pods: return "Pod"
        case .statefulsets: return "StatefulSet"
        case .persistentvolumeclaims: return "PersistentVolumeClaim"
        case .events: return "Event"
        case .secrets: return "Secret"
        case .configmaps: return "ConfigMap"
        }
    }
    public var singular: String { kind.lowercased() }
    public var namespaced: Bool { self != .namespaces && self != .nodes }
    public var shortNames: [String] {
        switch self {
        case .namespaces: return ["ns"]
        case .nodes: return ["no"]
        case .pods: return ["po"]
        case .statefulsets: return ["sts"]
        case .persistentvolumeclaims: return ["pvc"]
        case .events: return ["ev"]
        case .secrets: return []
        case .configmaps: return ["cm"]
        }
    }
    public var categories: [String] {
        switch self {
        case .pods, .statefulsets: return ["all"]
        default: return []
        }
    }
    /// Verbs in discovery (what this server really implements for the resource).
    public var verbs: [String] {
        switch self {
        case .pods: return ["create", "delete", "get", "list", "patch", "watch"]
        case .statefulsets, .persistentvolumeclaims: return ["get", "list", "patch", "watch"]
        case .events, .namespaces, .nodes, .secrets, .configmaps: return ["get", "list", "watch"]
        }
    }
    /// Subresources: name → (kind, group/version of that kind, verbs).
    public var subresources: [(name: String, kind: String, group: String, version: String, verbs: [String])] {
        switch self {
        case .pods:
            return [("exec", "PodExecOptions", "", "v1", ["create", "get"]),
                    ("log", "Pod", "", "v1", ["get"]),
                    ("proxy", "PodProxyOptions", "", "v1", ["create", "delete", "get", "patch", "update"]),
                    ("status", "Pod", "", "v1", ["get"])]
        case .statefulsets:
            return [("scale", "Scale", "autoscaling", "v1", ["get", "patch"]),
                    ("status", "StatefulSet", "", "v1", ["get"])]
        default: return []
        }
    }

    public static func lookup(group: String, resource: String) -> ResourceKind? {
        guard let k = ResourceKind(rawValue: resource), k.group == group else { return nil }
        return k
    }

    /// Field selectors the real server supports for the kind: label → JSON path in the object.
    var fieldLabels: [String: [String]] {
        var m: [String: [String]] = ["metadata.name": ["metadata", "name"]]
        if namespaced { m["metadata.namespace"] = ["metadata", "namespace"] }
        switch self {
        case .pods:
            m["status.phase"] = ["status", "phase"]
            m["spec.nodeName"] = ["spec", "nodeName"]
            m["spec.restartPolicy"] = ["spec", "restartPolicy"]
            m["spec.schedulerName"] = ["spec", "schedulerName"]
            m["spec.serviceAccountName"] = ["spec", "serviceAccountName"]
            m["status.podIP"] = ["status", "podIP"]
            m["status.nominatedNodeName"] = ["status", "nominatedNodeName"]
        case .events:
            for f in ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"] {
                m["involvedObject.\(f)"] = ["involvedObject", f]
            }
            m["reason"] = ["reason"]
            m["type"] = ["type"]
            m["source"] = ["source", "component"]
            m["reportingComponent"] = ["reportingComponent"]
        case .nodes:
            m["spec.unschedulable"] = ["spec", "unschedulable"]
        case .secrets:
            m["type"] = ["type"]
        case .namespaces:
            m["status.phase"] = ["status", "phase"]
        default: break
        }
        return m
    }
}

/// The objects of each kind as the API returns them, from one state read.
public struct ObjectCatalog: Sendable {
    public let state: ClusterState
    public let layout: SandboxLayout
    public init(state: ClusterState, layout: SandboxLayout) { self.state = state; self.layout = layout }

    var render: KctlObjects { KctlObjects(state: state) }

    public func objects(_ kind: ResourceKind) -> [KctlJSON] {
        switch kind {
        case .namespaces: return [namespace(state.namespace)]
        case .nodes: return [render.node()]
        case .pods: return state.pods.map { render.pod($0) }
        case .statefulsets: return [render.statefulSet()]
        case .persistentvolumeclaims: return state.pvcs.map { render.pvc($0) }
        case .events: return state.events.map { render.event($0) }
        case .secrets: return secrets()
        case .configmaps: return [rootCAConfigMap()].compactMap { $0 }
        }
    }

    func stableUID(_ seed: String) -> String {
        let h = KctlObjects.hexDigest(seed + "/" + state.node.uid, length: 32)
        let c = Array(h)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }

    func namespace(_ name: String) -> KctlJSON {
        [
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": [
                "creationTimestamp": .string(state.createdAt),
                "labels": ["kubernetes.io/metadata.name": .string(name)],
                "name": .string(name), "resourceVersion": "1", "uid": .string(stableUID("namespace/" + name)),
            ],
            "spec": ["finalizers": ["kubernetes"]],
            "status": ["phase": "Active"],
        ]
    }

    /// Secrets are files DIR/secrets/<name>/<key> (see SandboxSecrets).
    func secrets() -> [KctlJSON] {
        let dir = SandboxSecrets.dir(layout.root)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name -> KctlJSON? in
            let sdir = dir.appendingPathComponent(name)
            guard let keys = try? FileManager.default.contentsOfDirectory(atPath: sdir.path) else { return nil }
            var data: [String: KctlJSON] = [:]
            for key in keys.sorted() where !key.hasPrefix(".") {
                if let d = FileManager.default.contents(atPath: sdir.appendingPathComponent(key).path) { data[key] = .string(d.base64EncodedString()) }
            }
            let created = (try? FileManager.default.attributesOfItem(atPath: sdir.path)[.creationDate] as? Date)
                ?? (try? FileManager.default.attributesOfItem(atPath: sdir.path)[.modificationDate] as? Date) ?? Date()
            return [
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": .object(data),
                "metadata": [
                    "creationTimestamp": .string(RFC3339.format(created)), "name": .string(name),
                    "namespace": .string(state.namespace), "resourceVersion": "1", "uid": .string(stableUID("secret/" + name)),
                ],
            ]
        }
    }

    /// kube-root-ca.crt, in every namespace of a real cluster: the API server's CA.
    func rootCAConfigMap() -> KctlJSON? {
        let ca = layout.root.appendingPathComponent("pki/ca.crt")
        guard let pem = try? String(contentsOf: ca, encoding: .utf8) else { return nil }
        return [
            "apiVersion": "v1", "kind": "ConfigMap", "data": ["ca.crt": .string(pem)],
            "metadata": [
                "annotations": ["kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."],
                "creationTimestamp": .string(state.createdAt), "name": "kube-root-ca.crt",
                "namespace": .string(state.namespace), "resourceVersion": "1", "uid": .string(stableUID("configmap/kube-root-ca.crt")),
            ],
        ]
    }
}

extension KctlJSON {
    var metadataName: String { self["metadata"]?["name"]?.stringValue ?? "" }
    var metadataUID: String { self["metadata"]?["uid"]?.stringValue ?? "" }
    var metadataRV: Int { Int(self["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0 }
    var labels: [String: String] {
        (self["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues { $0.stringValue }
    }
    func value(at path: [String]) -> KctlJSON? {
        var cur: KctlJSON? = self
        for p in path { cur = cur?[p] }
        return cur
    }
}
