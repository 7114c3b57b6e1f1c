import Foundation
import NIOHTTP1

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
        let s = r.segments
        var rest: [String]
        if s.first == "api", s.count >= 2 {
            version = s[1]; rest = Array(s.dropFirst(2))
        } else if s.first == "apis", s.count >= 3 {
            group = s[1]; version = s[2]; rest = Array(s.dropFirst(3))
        } else {
            verb = r.method == .POST ? "post" : r.method.rawValue.lowercased()
            return
        }
        guard !rest.isEmpty else { return }
        isResource = true
        if rest[0] == "namespaces", rest.count >= 3 {
            namespace = rest[1]
            rest = Array(rest.dropFirst(2))
        } else if rest[0] == "namespaces", rest.count == 2 {
            // the namespace object itself
            namespace = nil
        }
        resource = rest[0]
        if rest.count >= 2 { name = rest[1] }
        if rest.count >= 3 { subresource = rest[2] }
        if rest.count >= 4 { subpath = "/" + rest.dropFirst(3).joined(separator: "/") }
        if subresource == "proxy", r.path.hasSuffix("/"), rest.count >= 3 { subpath += subpath.isEmpty ? "/" : (subpath.hasSuffix("/") ? "" : "/") }
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
