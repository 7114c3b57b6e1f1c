import Foundation

// Lenient models of the `kubectl get ... -o json` objects the dashboard reads. Every field is
// optional: unknown fields are ignored, missing fields are nil, a field of the wrong type is a
// `KubeDecodeError` naming its path (decoding never traps).

public struct KubeObjectMeta: Decodable, Sendable, Equatable {
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var resourceVersion: String?
}

/// A Kubernetes resource quantity as it appears in JSON: normally a string ("512Mi"), a bare
/// number is accepted too.
public struct KubeQuantity: Decodable, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { text = s; return }
        if let i = try? c.decode(Int64.self) { text = String(i); return }
        if let d = try? c.decode(Double.self) { text = String(d); return }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a quantity string or number"))
    }
    /// Bytes (or plain units), see `Quantity.parse`.
    public var value: Int64? { Quantity.parse(text) }
    public var description: String { text }
}

public struct KubeResources: Decodable, Sendable, Equatable {
    public var limits: [String: KubeQuantity]?
    public var requests: [String: KubeQuantity]?
}

public struct KubeEnvVar: Decodable, Sendable, Equatable {
    public var name: String?
    public var value: String?
}

public struct KubeContainerPort: Decodable, Sendable, Equatable {
    public var name: String?
    public var containerPort: Int?
    public var `protocol`: String?
}

public struct KubeContainer: Decodable, Sendable, Equatable {
    public var name: String?
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var env: [KubeEnvVar]?
    public var ports: [KubeContainerPort]?
    public var resources: KubeResources?
}

public struct KubePodSpec: Decodable, Sendable, Equatable {
    public var nodeName: String?
    public var restartPolicy: String?
    public var containers: [KubeContainer]?
    public var initContainers: [KubeContainer]?
    public var terminationGracePeriodSeconds: Int?
}

public struct KubeCondition: Decodable, Sendable, Equatable {
    public var type: String?
    public var status: String?
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
    public var lastHeartbeatTime: String?
}

public struct KubeStateRunning: Decodable, Sendable, Equatable { public var startedAt: String? }
public struct KubeStateWaiting: Decodable, Sendable, Equatable { public var reason: String?; public var message: String? }
public struct KubeStateTerminated: Decodable, Sendable, Equatable {
    public var reason: String?
    public var message: String?
    public var exitCode: Int?
    public var signal: Int?
    public var startedAt: String?
    public var finishedAt: String?
}

public struct KubeContainerState: Decodable, Sendable, Equatable {
    public var running: KubeStateRunning?
    public var waiting: KubeStateWaiting?
    public var terminated: KubeStateTerminated?
    /// "running", "waiting", "terminated" or nil.
    public var name: String? { running != nil ? "running" : waiting != nil ? "waiting" : terminated != nil ? "terminated" : nil }
}

public struct KubeContainerStatus: Decodable, Sendable, Equatable {
    public var name: String?
    public var ready: Bool?
    public var started: Bool?
    public var restartCount: Int?
    public var image: String?
    public var state: KubeContainerState?
    public var lastState: KubeContainerState?
}

public struct KubePodStatus: Decodable, Sendable, Equatable {
    public var phase: String?
    public var reason: String?
    public var message: String?
    public var startTime: String?
    public var podIP: String?
    public var hostIP: String?
    public var conditions: [KubeCondition]?
    public var containerStatuses: [KubeContainerStatus]?
    public var initContainerStatuses: [KubeContainerStatus]?
}

public struct KubePod: Decodable, Sendable, Equatable {
    public var kind: String?
    public var metadata: KubeObjectMeta?
    public var spec: KubePodSpec?
    public var status: KubePodStatus?
    /// The Ready condition as a Bool (nil when absent).
    public var isReady: Bool? {
        status?.conditions?.first { $0.type == "Ready" }.map { $0.status == "True" }
    }
}

public struct KubeNodeSpec: Decodable, Sendable, Equatable { public var unschedulable: Bool? }
public struct KubeNodeStatus: Decodable, Sendable, Equatable {
    public var conditions: [KubeCondition]?
    public var capacity: [String: KubeQuantity]?
    public var allocatable: [String: KubeQuantity]?
}
public struct KubeNode: Decodable, Sendable, Equatable {
    public var metadata: KubeObjectMeta?
    public var spec: KubeNodeSpec?
    public var status: KubeNodeStatus?
    /// The Ready condition: true only for status "True" ("False" and "Unknown" are not ready).
    public var isReady: Bool? {
        status?.conditions?.first { $0.type == "Ready" }.map { $0.status == "True" }
    }
}

public struct KubeObjectReference: Decodable, Sendable, Equatable {
    public var kind: String?
    public var name: String?
    public var namespace: String?
}
public struct KubeEventSeries: Decodable, Sendable, Equatable {
    public var count: Int?
    public var lastObservedTime: String?
}
public struct KubeEvent: Decodable, Sendable, Equatable {
    public var metadata: KubeObjectMeta?
    public var type: String?
    public var reason: String?
    public var message: String?
    public var count: Int?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var eventTime: String?
    public var involvedObject: KubeObjectReference?
    public var series: KubeEventSeries?
    /// The best "when" of the event: series last observation, lastTimestamp, eventTime, firstTimestamp, creation.
    public var when: String? {
        series?.lastObservedTime ?? lastTimestamp ?? eventTime ?? firstTimestamp ?? metadata?.creationTimestamp
    }

    /// Newest first, in the order they really happened: by time (parsed, so `…:05.123456Z` and
    /// `…:05Z` compare as times), then, within the same second, by the server's resourceVersion
    /// (later writes have higher ones), then by name: never the order of a dictionary.
    public static func newestFirst(_ a: KubeEvent, _ b: KubeEvent) -> Bool {
        let ta = a.when.flatMap(RFC3339.parse) ?? .distantPast
        let tb = b.when.flatMap(RFC3339.parse) ?? .distantPast
        if Int(ta.timeIntervalSince1970) != Int(tb.timeIntervalSince1970) { return ta > tb }
        let ra = a.metadata?.resourceVersion.flatMap { UInt64($0) } ?? 0
        let rb = b.metadata?.resourceVersion.flatMap { UInt64($0) } ?? 0
        if ra != rb { return ra > rb }
        return (a.metadata?.name ?? "") > (b.metadata?.name ?? "")
    }
}

public struct KubeStatefulSetSpec: Decodable, Sendable, Equatable {
    public struct Template: Decodable, Sendable, Equatable {
        public var metadata: KubeObjectMeta?
        public var spec: KubePodSpec?
    }
    public var replicas: Int?
    public var serviceName: String?
    public var template: Template?
    public var volumeClaimTemplates: [KubePVC]?
}
public struct KubeStatefulSetStatus: Decodable, Sendable, Equatable {
    public var replicas: Int?
    public var readyReplicas: Int?
    public var currentReplicas: Int?
    public var updatedReplicas: Int?
    public var availableReplicas: Int?
    public var currentRevision: String?
    public var updateRevision: String?
    public var observedGeneration: Int?
}
public struct KubeStatefulSet: Decodable, Sendable, Equatable {
    public var metadata: KubeObjectMeta?
    public var spec: KubeStatefulSetSpec?
    public var status: KubeStatefulSetStatus?
}

public struct KubePVCSpec: Decodable, Sendable, Equatable {
    public var accessModes: [String]?
    public var storageClassName: String?
    public var volumeName: String?
    public var volumeMode: String?
    public var resources: KubeResources?
}
public struct KubePVCStatus: Decodable, Sendable, Equatable {
    public var phase: String?
    public var accessModes: [String]?
    public var capacity: [String: KubeQuantity]?
}
public struct KubePVC: Decodable, Sendable, Equatable {
    public var metadata: KubeObjectMeta?
    public var spec: KubePVCSpec?
    public var status: KubePVCStatus?
}

/// A kubectl JSON document that could not be decoded. `path` is like
/// `items[0].status.containerStatuses[0].restartCount`.
public struct KubeDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Decoding of `kubectl get -o json` output. Each `…(from:)` accepts a single object or a
/// `List`/`…List` with `items`.
public enum KubeJSON {
    public static func pods(from data: Data) throws(KubeDecodeError) -> [KubePod] { try objects(KubePod.self, from: data) }
    public static func nodes(from data: Data) throws(KubeDecodeError) -> [KubeNode] { try objects(KubeNode.self, from: data) }
    public static func events(from data: Data) throws(KubeDecodeError) -> [KubeEvent] { try objects(KubeEvent.self, from: data) }
    public static func statefulSets(from data: Data) throws(KubeDecodeError) -> [KubeStatefulSet] { try objects(KubeStatefulSet.self, from: data) }
    public static func pvcs(from data: Data) throws(KubeDecodeError) -> [KubePVC] { try objects(KubePVC.self, from: data) }

    /// The single pod of `kubectl get pod NAME -o json` (or the first item of a list).
    public static func pod(from data: Data) throws(KubeDecodeError) -> KubePod {
        guard let p = try pods(from: data).first else { throw KubeDecodeError(path: "items", message: "the list has no pod") }
        return p
    }
    /// The single node (or the first item of a list).
    public static func node(from data: Data) throws(KubeDecodeError) -> KubeNode {
        guard let n = try nodes(from: data).first else { throw KubeDecodeError(path: "items", message: "the list has no node") }
        return n
    }

    private struct ListProbe: Decodable { var items: Bool? ; enum CodingKeys: CodingKey { case items }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            items = c.contains(.items) ? true : nil
        }
    }
    private struct ItemList<T: Decodable>: Decodable { var items: [T]? }

    /// Decodes a single `T` or a list of `T` (`items`; a null `items` is an empty list).
    public static func objects<T: Decodable>(_ type: T.Type, from data: Data) throws(KubeDecodeError) -> [T] {
        let decoder = JSONDecoder()
        do {
            let probe = try decoder.decode(ListProbe.self, from: data)
            if probe.items != nil {
                return try decoder.decode(ItemList<T>.self, from: data).items ?? []
            }
            return [try decoder.decode(T.self, from: data)]
        } catch let e as DecodingError {
            throw describe(e)
        } catch {
            throw KubeDecodeError(path: "", message: "not JSON: \(error.localizedDescription)")
        }
    }

    static func pathString(_ path: [any CodingKey]) -> String {
        var out = ""
        for k in path {
            if let i = k.intValue { out += "[\(i)]" } else { out += out.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return out
    }

    static func describe(_ e: DecodingError) -> KubeDecodeError {
        switch e {
        case let .typeMismatch(type, ctx):
            return KubeDecodeError(path: pathString(ctx.codingPath), message: "wrong type, expected \(typeName(type))")
        case let .valueNotFound(type, ctx):
            return KubeDecodeError(path: pathString(ctx.codingPath), message: "missing value, expected \(typeName(type))")
        case let .keyNotFound(key, ctx):
            return KubeDecodeError(path: pathString(ctx.codingPath + [key]), message: "missing key")
        case let .dataCorrupted(ctx):
            if ctx.codingPath.isEmpty {
                // Foundation reports a number too big for its field (restartCount: 1e23) without
                // a path; say what it is rather than "not valid JSON".
                if ctx.debugDescription.contains("not representable") {
                    return KubeDecodeError(path: "", message: "a number out of range: \(clip(ctx.debugDescription, 120))")
                }
                var message = "not valid JSON"
                if let u = ctx.underlyingError { message += " (\(clip("\(u)", 120)))" }
                return KubeDecodeError(path: "", message: message)
            }
            return KubeDecodeError(path: pathString(ctx.codingPath), message: "invalid value: \(ctx.debugDescription)")
        @unknown default:
            return KubeDecodeError(path: "", message: "\(e)")
        }
    }

    /// One line of at most `n` characters, without control characters (it is shown in panels).
    static func clip(_ s: String, _ n: Int) -> String {
        let flat = String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? " " : $0 }))
        return flat.count > n ? String(flat.prefix(n)) + "…" : flat
    }

    private static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "string"
        case is Int.Type, is Int64.Type: return "integer"
        case is Bool.Type: return "boolean"
        case is Double.Type: return "number"
        default:
            let n = String(describing: t)
            if n.hasPrefix("Array") { return "array" }
            if n.hasPrefix("Dictionary") { return "object" }
            return "object (\(n))"
        }
    }
}

