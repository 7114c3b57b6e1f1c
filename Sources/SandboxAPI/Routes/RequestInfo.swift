import Foundation
import NIOHTTP1
import Sandbox

/// What a request asks, parsed from its path as the real apiserver's RequestInfoFactory does:
/// group, version, namespace, resource, name, subresource, and the verbs for RBAC and metrics.
@dynamicMemberLookup
public struct RequestInfo: Sendable {
    /// The path's parts, from the one parser (`APIParse.pathInfo`): group, version, namespace,
    /// resource, name, subresource, subpath (read through as `info.namespace` etc.).
    public let path: APIParse.PathInfo
    /// get, list, watch, create, update, patch, delete, deletecollection.
    public private(set) var verb = "get"
    public private(set) var isWatch = false
    /// Health endpoints (/healthz, /readyz, /livez and their /... checks).
    public let isHealth: Bool
    /// A resource path of the API (not discovery, not /version).
    public var isResource: Bool { path.isAPI && path.isResource }

    public subscript<T>(dynamicMember key: KeyPath<APIParse.PathInfo, T>) -> T { path[keyPath: key] }

    public init(_ r: APIRequest) {
        isHealth = RequestInfo.isHealthPath(r.path)
        path = APIParse.pathInfo(r.path)
        guard path.isAPI else {
            verb = r.method == .POST ? "post" : r.method.rawValue.lowercased()
            return
        }
        guard path.isResource else { return }
        let name = path.name
        let watchParam = r.query("watch").map { $0 == "true" || $0 == "1" } ?? false
        switch r.method {
        case .GET, .HEAD:
            if name == nil { verb = watchParam ? "watch" : "list"; isWatch = watchParam } else { verb = "get" }
            if let sub = path.subresource, ["exec", "attach", "portforward"].contains(sub) { verb = "create" }
        case .POST: verb = "create"
        case .PUT: verb = "update"
        case .PATCH: verb = "patch"
        case .DELETE: verb = name == nil ? "deletecollection" : "delete"
        default: verb = r.method.rawValue.lowercased()
        }
    }

    /// The RBAC verb (exec/attach/portforward need `create`, as the real authorizer asks).
    public var rbacVerb: String { verb }

    /// The verb label of apiserver_request_total.
    public var metricVerb: String {
        guard isResource else { return verb.uppercased() == "POST" ? "POST" : "GET" }
        if let sub = path.subresource, ["exec", "attach", "portforward", "proxy"].contains(sub) { return "CONNECT" }
        switch verb {
        case "get": return "GET"
        case "list": return "LIST"
        case "watch": return "WATCH"
        case "create": return "POST"
        case "update": return "PUT"
        case "patch": return "PATCH"
        case "delete": return "DELETE"
        case "deletecollection": return "DELETE"
        default: return verb.uppercased()
        }
    }
}

extension RequestInfo {
    static func isHealthPath(_ path: String) -> Bool {
        ["/healthz", "/readyz", "/livez"].contains { path == $0 || path.hasPrefix($0 + "/") }
    }
}
