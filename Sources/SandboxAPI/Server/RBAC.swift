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
