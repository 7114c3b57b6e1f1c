import Foundation
import NIOConcurrencyHelpers

/// The two users' permissions. `admin` is bound to cluster-admin; `oncall-viewer` to the real
/// `view` ClusterRole: get, list and watch on everything but secrets, `pods/log` and the
/// status / scale subresources for reading; never exec, attach, portforward or proxy, never a
/// write. Everyone may create a SelfSubjectAccessReview (system:basic-user).
public enum RBAC {
    static let viewerVerbs: Set<String> = ["get", "list", "watch"]
    static let viewerDeniedResources: Set<String> = ["secrets"]
    static let viewerDeniedSubresources: Set<String> = ["exec", "attach", "portforward", "proxy"]

    public static func allows(_ user: APIUser, verb: String, resource: String, subresource: String?, group: String = "") -> Bool {
        if user.isAdmin { return true }
        if group == "authorization.k8s.io", resource == "selfsubjectaccessreviews" || resource == "selfsubjectrulesreviews", verb == "create" { return true }
        guard viewerVerbs.contains(verb) else { return false }
        if viewerDeniedResources.contains(resource) { return false }
        if let sub = subresource, viewerDeniedSubresources.contains(sub) { return false }
        return true
    }

    /// Non-resource URLs: discovery, /version and health for every authenticated user; /metrics for admin.
    public static func allowsPath(_ user: APIUser, path: String) -> Bool {
        if user.isAdmin { return true }
        return path != "/metrics" && !path.hasPrefix("/metrics/")
    }
}

extension APIStatus {
    /// `forbidden: User "oncall-viewer" cannot get path "/metrics"`
    public static func forbiddenPath(user: String, verb: String, path: String) -> APIStatus {
        APIStatus(code: 403, reason: "Forbidden", message: "forbidden: User \"\(user)\" cannot \(verb) path \"\(path)\"", details: [:])
    }
}

/// Request counters, exposed at /metrics as the real server's apiserver_request_total.
public final class RequestMetrics: Sendable {
    struct Key: Hashable { var verb, resource, subresource: String; var code: Int }
    struct BytesKey: Hashable { var verb, resource, subresource: String }
    private let counts = NIOLockedValueBox<[Key: Int]>([:])
    private let bytes = NIOLockedValueBox<[BytesKey: Int]>([:])
    public init() {}

    public func count(verb: String, resource: String, subresource: String, code: Int, bytes n: Int) {
        counts.withLockedValue { $0[Key(verb: verb, resource: resource, subresource: subresource, code: code), default: 0] += 1 }
        bytes.withLockedValue { $0[BytesKey(verb: verb, resource: resource, subresource: subresource), default: 0] += n }
    }

    /// Prometheus text format.
    public func render() -> String {
        var out = "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n"
        out += "# TYPE apiserver_request_total counter\n"
        let c = counts.withLockedValue { $0 }
        for (k, v) in c.sorted(by: { ($0.key.resource, $0.key.subresource, $0.key.verb, $0.key.code) < ($1.key.resource, $1.key.subresource, $1.key.verb, $1.key.code) }) {
            out += "apiserver_request_total{code=\"\(k.code)\",component=\"apiserver\",resource=\"\(k.resource)\",subresource=\"\(k.subresource)\",verb=\"\(k.verb)\"} \(v)\n"
        }
        out += "# HELP apiserver_response_sent_bytes_total Bytes of response bodies sent, by verb, resource and subresource (sandbox).\n"
        out += "# TYPE apiserver_response_sent_bytes_total counter\n"
        let b = bytes.withLockedValue { $0 }
        for (k, v) in b.sorted(by: { ($0.key.resource, $0.key.subresource, $0.key.verb) < ($1.key.resource, $1.key.subresource, $1.key.verb) }) {
            out += "apiserver_response_sent_bytes_total{component=\"apiserver\",resource=\"\(k.resource)\",subresource=\"\(k.subresource)\",verb=\"\(k.verb)\"} \(v)\n"
        }
        return out
    }
}
