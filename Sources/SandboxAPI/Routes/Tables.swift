import Foundation
import Sandbox

/// Server-side printing: `meta.k8s.io/v1` Table objects with the columns of the real server's
/// printers (pkg/printers/internalversion/printers.go); priority-1 columns are `-o wide`'s.
/// The server fills every cell (wide included); kubectl hides priority-1 columns itself.
enum Tables {
    struct Column { var name: String; var type = "string"; var format = ""; var priority = 0; var description = "" }

    static let nameDoc = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    static let ageDoc = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"

    static func name() -> Column { Column(name: "Name", format: "name", description: nameDoc) }
    static func age() -> Column { Column(name: "Age", description: ageDoc) }

    static func columns(_ kind: ResourceKind) -> [Column] {
        switch kind {
        case .pods:
            return [name(), Column(name: "Ready", description: "The aggregate readiness state of this pod for accepting traffic."),
                    Column(name: "Status", description: "The aggregate status of the containers in this pod."),
                    Column(name: "Restarts", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                    age(),
                    Column(name: "IP", priority: 1, description: "podIP is the IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
                    Column(name: "Node", priority: 1, description: "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName."),
                    Column(name: "Nominated Node", priority: 1, description: "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods."),
                    Column(name: "Readiness Gates", priority: 1, description: "If specified, all readiness gates will be evaluated for pod readiness.")]
        case .statefulsets:
            return [name(), Column(name: "Ready", description: "Number of the pod with ready state"), age(),
                    Column(name: "Containers", priority: 1, description: "Names of each container in the template."),
                    Column(name: "Images", priority: 1, description: "Images referenced by each container in the template.")]
        case .persistentvolumeclaims:
            return [name(), Column(name: "Status", description: "phase represents the current phase of PersistentVolumeClaim."),
                    Column(name: "Volume", description: "volumeName is the binding reference to the PersistentVolume backing this claim."),
                    Column(name: "Capacity", description: "capacity represents the actual resources of the underlying volume."),
                    Column(name: "Access Modes", description: "accessModes contains the actual access modes the volume backing the PVC has."),
                    Column(name: "StorageClass", description: "storageClassName is the name of the StorageClass required by the claim."),
                    Column(name: "VolumeAttributesClass", description: "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim."),
                    age(),
                    Column(name: "VolumeMode", priority: 1, description: "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.")]
        case .events:
            return [Column(name: "Last Seen", description: "The time at which the most recent occurrence of this event was recorded."),
                    Column(name: "Type", description: "Type of this event (Normal, Warning), new types could be added in the future"),
                    Column(name: "Reason", description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
                    Column(name: "Object", description: "The object that this event is about."),
                    Column(name: "Subobject", priority: 1, description: "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."),
                    Column(name: "Source", priority: 1, description: "The component reporting this event. Should be a short machine understandable string."),
                    Column(name: "Message", description: "A human-readable description of the status of this operation."),
                    Column(name: "First Seen", priority: 1, description: "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
                    Column(name: "Count", priority: 1, description: "The number of times this event has occurred."),
                    Column(name: "Name", priority: 1, description: nameDoc)]
        case .nodes:
            return [name(), Column(name: "Status", description: "The status of the node"),
                    Column(name: "Roles", description: "The roles of the node"), age(),
                    Column(name: "Version", description: "Kubelet Version reported by the node."),
                    Column(name: "Internal-IP", priority: 1, description: "List of addresses reachable to the node. Queried from cloud provider, if available."),
                    Column(name: "External-IP", priority: 1, description: "List of addresses reachable to the node. Queried from cloud provider, if available."),
                    Column(name: "OS-Image", priority: 1, description: "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
                    Column(name: "Kernel-Version", priority: 1, description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
                    Column(name: "Container-Runtime", priority: 1, description: "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).")]
        case .namespaces:
            return [name(), Column(name: "Status", description: "The status of the namespace"), age()]
        case .secrets:
            return [name(), Column(name: "Type", description: "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
                    Column(name: "Data", type: "string", description: "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"),
                    age()]
        case .configmaps:
            return [name(), Column(name: "Data", type: "string", description: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."),
                    age()]
        }
    }

    static func columnJSON(_ kind: ResourceKind) -> KctlJSON {
        .array(columns(kind).map { c in
            ["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
             "description": .string(c.description), "priority": .int(Int64(c.priority))]
        })
    }

    /// The cells of one object's row (all columns).
    static func cells(_ kind: ResourceKind, _ object: KctlJSON, state: ClusterState, now: Date) -> [KctlJSON] {
        let rows = KctlRows(state: state, now: now)
        let name = object.metadataName
        let uid = object.metadataUID
        func strings(_ a: [String]) -> [KctlJSON] { a.map { .string($0) } }
        switch kind {
        case .pods:
            guard let pod = state.pods.first(where: { $0.uid == uid }) else { return fallback(object, now: now, count: columns(kind).count) }
            return strings(rows.podRow(pod, wide: true))
        case .statefulsets:
            return strings(rows.statefulSetRow(wide: true))
        case .persistentvolumeclaims:
            guard let p = state.pvcs.first(where: { $0.uid == uid }) else { return fallback(object, now: now, count: columns(kind).count) }
            var r = rows.pvcRow(p, wide: true)
            r.insert("<unset>", at: 6)
            return strings(r)
        case .events:
            guard let e = state.events.first(where: { $0.uid == uid }) else {
                // A deleted event (watch DELETED): from its JSON.
                return fallback(object, now: now, count: columns(kind).count)
            }
            var r: [KctlJSON] = strings(rows.eventRow(e, wide: true))
            r[8] = .int(Int64(e.count))
            return r
        case .nodes:
            return strings(rows.nodeRow(wide: true))
        case .namespaces:
            return [.string(name), .string(object["status"]?["phase"]?.stringValue ?? "Active"),
                    .string(KctlTime.since(object["metadata"]?["creationTimestamp"]?.stringValue, now: now))]
        case .secrets:
            return [.string(name), .string(object["type"]?.stringValue ?? "Opaque"), .int(Int64(object["data"]?.objectValue?.count ?? 0)),
                    .string(KctlTime.since(object["metadata"]?["creationTimestamp"]?.stringValue, now: now))]
        case .configmaps:
            return [.string(name), .int(Int64(object["data"]?.objectValue?.count ?? 0)),
                    .string(KctlTime.since(object["metadata"]?["creationTimestamp"]?.stringValue, now: now))]
        }
    }

    /// Cells for an object no longer in the state (a DELETED watch event): its name, age, and "".
    static func fallback(_ object: KctlJSON, now: Date, count: Int) -> [KctlJSON] {
        var r: [KctlJSON] = Array(repeating: .string(""), count: count)
        r[0] = .string(object.metadataName)
        return r
    }

    static func partialMetadata(_ object: KctlJSON) -> KctlJSON {
        ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
    }

    static func table(_ kind: ResourceKind, objects: [KctlJSON], state: ClusterState, resourceVersion: String?,
                      includeObject: String?, withColumns: Bool = true, continueToken: String? = nil) -> KctlJSON {
        let now = Date()
        let rows: [KctlJSON] = objects.map { o in
            var row: [String: KctlJSON] = ["cells": .array(cells(kind, o, state: state, now: now))]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = o
            default: row["object"] = partialMetadata(o)
            }
            return .object(row)
        }
        var meta: [String: KctlJSON] = [:]
        if let resourceVersion { meta["resourceVersion"] = .string(resourceVersion) }
        if let continueToken { meta["continue"] = .string(continueToken) }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(meta),
            "columnDefinitions": withColumns ? columnJSON(kind) : .null,
            "rows": .array(rows),
        ]
    }

    /// True when the Accept header asks for a Table (as kubectl's get does).
    static func wantsTable(_ accept: String?) -> Bool {
        guard let accept else { return false }
        for part in accept.split(separator: ",") {
            let p = part.replacingOccurrences(of: " ", with: "")
            if p.contains("as=Table"), p.contains("g=meta.k8s.io"), p.contains("v=v1") && !p.contains("v=v1beta1") { return true }
        }
        // v1beta1 Table: the same shape under meta.k8s.io/v1beta1; kubectl always offers v1 first.
        return false
    }
}
