import Foundation

/// The resource kinds the sandbox serves.
public enum KctlKind: String, Sendable, CaseIterable {
    case pod, statefulset, pvc, event, node

    public static func from(_ word: String) -> KctlKind? {
        switch word.lowercased() {
        case "pod", "pods", "po": return .pod
        case "statefulset", "statefulsets", "sts", "statefulset.apps", "statefulsets.apps": return .statefulset
        case "pvc", "pvcs", "persistentvolumeclaim", "persistentvolumeclaims": return .pvc
        case "event", "events", "ev": return .event
        case "node", "nodes", "no": return .node
        default: return nil
        }
    }
    /// The resource name in API errors: pods "x" not found.
    public var resource: String {
        switch self {
        case .pod: return "pods"
        case .statefulset: return "statefulsets.apps"
        case .pvc: return "persistentvolumeclaims"
        case .event: return "events"
        case .node: return "nodes"
        }
    }
    /// Prefix of `-o name`.
    public var namePrefix: String {
        switch self {
        case .pod: return "pod"
        case .statefulset: return "statefulset.apps"
        case .pvc: return "persistentvolumeclaim"
        case .event: return "event"
        case .node: return "node"
        }
    }
    public var namespaced: Bool { self != .node }
}
