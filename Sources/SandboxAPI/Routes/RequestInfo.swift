import Foundation
import NIOHTTP1
import Sandbox

/// What a request asks, parsed from its path as the real apiserver's RequestInfoFactory does:
/// group, version, namespace, resource, name, subresource, and the verbs for RBAC and metrics.
public struct RequestInfo: Sendable {
    public var isResource = false
    public var group = ""
    public var version = ""
    public var namespace: String?
    public var resource: String?
    public var name: String?
    public var subresource: String?
    /// For pods/proxy: what follows `/proxy` ("" or "/metrics").
    public var subpath = ""
    /// get, list, watch, create, update, patch, delete, deletecollection.
    public var verb = "get"
    public var isWatch = false
    /// Health endpoints (/healthz, /readyz, /livez and their /... checks).
    public var isHealth = false

    public init(_ r: APIRequest) {
        isHealth = RequestInfo.isHealthPath(r.path)
        let p = APIParse.pathInfo(r.path)
        guard p.isAPI else {
            verb = r.method == .POST ? "post" : r.method.rawValue.lowercased()
            return
        }
        group = p.group; version = p.version
        guard p.isResource else { return }
        isResource = true
        namespace = p.namespace; resource = p.resource; name = p.name; subresource = p.subresource; subpath = p.subpath
        let watchParam = r.query("watch").map { $0 == "true" || $0 == "1" } ?? false
        switch r.method {
        case .GET, .HEAD:
            if name == nil { verb = watchParam ? "watch" : "list"; isWatch = watchParam } else { verb = "get" }
            if let sub = subresource, ["exec", "attach", "portforward"].contains(sub) { verb = "create" }
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
        if let sub = subresource, ["exec", "attach", "portforward", "proxy"].contains(sub) { return "CONNECT" }
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
