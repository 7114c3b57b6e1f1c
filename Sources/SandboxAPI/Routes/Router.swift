import Foundation
import NIOCore
import NIOHTTP1
import Sandbox

/// Routes one authenticated request: non-resource paths (health, version, discovery,
/// /metrics), RBAC, then the resource verbs. Every failure is a `Status`.
struct Router: Sendable {
    let core: APIServerCore
    var layout: SandboxLayout { core.layout }
    var store: StateStore { core.store }

    func handle(_ r: APIRequest, info: RequestInfo) async -> APIResponse {
        do {
            if !info.isResource { return try nonResource(r, info: info) }
            return try await resource(r, info: info)
        } catch let s as APIStatus {
            return .status(s)
        } catch let e as StateStoreError {
            return .status(.internalError("\(e)"))
        } catch let e as KubectlError {
            return .status(.badRequest(Self.serverMessage(e.description)))
        } catch {
            return .status(.internalError("\(error)"))
        }
    }

    /// The imitation's errors carry kubectl's prefixes; the server sends the bare message.
    static func serverMessage(_ text: String) -> String { APIParse.serverMessage(text) }

    // MARK: non-resource

    func nonResource(_ r: APIRequest, info: RequestInfo) throws -> APIResponse {
        let path = r.path.count > 1 && r.path.hasSuffix("/") ? String(r.path.dropLast()) : r.path
        if info.isHealth {
            guard r.method == .GET || r.method == .HEAD else { throw APIStatus.methodNotAllowed(r.method.rawValue) }
            if r.query("verbose") != nil {
                return .text("[+]ping ok\n[+]log ok\n[+]etcd ok\n\(path.dropFirst()) check passed\n")
            }
            return .text("ok")
        }
        if let user = r.user, !RBAC.allowsPath(user, path: path) {
            throw APIStatus.forbiddenPath(user: user.name, verb: r.method == .GET ? "get" : r.method.rawValue.lowercased(), path: path)
        }
        guard r.method == .GET || r.method == .HEAD else {
            throw APIStatus.methodNotAllowed(r.method.rawValue)
        }
        switch path {
        case "/version": return .json(Discovery.version())
        case "/api", "/apis":
            if Discovery.wantsAggregated(r.headers.first(name: "Accept")) {
                var resp = APIResponse.json(Discovery.aggregated(core: path == "/api"))
                resp.headers.replaceOrAdd(name: "Content-Type", value: Discovery.aggregatedContentType)
                return resp
            }
            return .json(path == "/api" ? Discovery.apiVersions() : Discovery.apiGroupList())
        case "/metrics": return .text(core.metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        case "/openapi/v3": return .json(OpenAPI.index())
        case _ where path.hasPrefix("/openapi/v3/"):
            guard let doc = OpenAPI.document(path: path) else { throw APIStatus.notFoundPath() }
            return .json(doc)
        default:
            let s = path.split(separator: "/").map(String.init)
            if s.count == 2, s[0] == "api", let list = Discovery.resources(group: "", version: s[1]) { return .json(list) }
            if s.count == 3, s[0] == "apis", let list = Discovery.resources(group: s[1], version: s[2]) { return .json(list) }
            if s.count == 2, s[0] == "apis", let g = Discovery.groups.first(where: { $0.name == s[1] }) {
                var o = Discovery.groupJSON(g.name, g.version).objectValue ?? [:]
                o["kind"] = "APIGroup"; o["apiVersion"] = "v1"
                return .json(.object(o))
            }
            throw APIStatus.notFoundPath()
        }
    }

    // MARK: resources

    func resource(_ r: APIRequest, info: RequestInfo) async throws -> APIResponse {
        guard let user = r.user else { throw APIStatus.unauthorized }
        let resource = info.resource ?? ""
        if info.group == "authorization.k8s.io", info.version == "v1", resource == "selfsubjectaccessreviews" {
            guard r.method == .POST else { throw APIStatus.methodNotAllowed(r.method.rawValue) }
            return try selfSubjectAccessReview(r, user: user)
        }
        guard info.version == "v1", let kind = ResourceKind.lookup(group: info.group, resource: resource) else {
            throw APIStatus.notFoundPath()
        }
        if let sub = info.subresource {
            guard kind.subresources.contains(where: { $0.name == sub }) || (kind == .pods && StreamRoutes.subresources.contains(sub)) else {
                throw APIStatus.notFoundPath()
            }
        }
        if kind.namespaced && info.namespace == nil && info.name != nil { throw APIStatus.notFoundPath() }
        guard RBAC.allows(user, verb: info.rbacVerb, resource: resource, subresource: info.subresource, group: info.group) else {
            throw APIStatus.forbidden(user: user.name, verb: info.rbacVerb, resource: resource, subresource: info.subresource,
                                      group: info.group, name: info.name, namespace: kind.namespaced ? info.namespace : nil)
        }
        // Streams (exec, log, proxy, attach, portforward): the seam.
        if kind == .pods, let sub = info.subresource, StreamRoutes.subresources.contains(sub), let ref = info.name, let ns = info.namespace {
            let name = sub == "proxy" ? ProxyTarget.podName(ref) : ref  // [scheme:]name[:port]
            let state = try store.read()
            guard ns == state.namespace, let pod = state.pods.first(where: { $0.name == name }) else {
                throw APIStatus.notFound(resource: "pods", name: name)
            }
            let ctx = StreamContext(layout: layout, user: user, namespace: ns, podName: name, subresource: sub, subpath: info.subpath)
            return await StreamRoutes.handle(r, pod: pod, state: state, context: ctx)
        }
        let objects = ObjectHandlers(router: self, kind: kind, info: info, request: r)
        switch (r.method, info.name, info.subresource) {
        case (.GET, nil, nil), (.HEAD, nil, nil):
            return info.isWatch ? try objects.watch() : try objects.list()
        case (.GET, .some(let name), nil), (.HEAD, .some(let name), nil):
            return try objects.get(name)
        case (.GET, .some(let name), "status"):
            return try objects.get(name)
        case (.GET, .some(let name), "scale") where kind == .statefulsets:
            return try objects.getScale(name)
        case (.PATCH, .some(let name), "scale") where kind == .statefulsets:
            return try objects.patchScale(name)
        case (.PUT, .some(let name), "scale") where kind == .statefulsets:
            return try objects.putScale(name)
        case (.POST, nil, nil):
            return try objects.create()
        case (.DELETE, .some(let name), nil):
            return try objects.delete(name)
        case (.PATCH, .some(let name), nil):
            return try objects.patch(name)
        default:
            throw APIStatus.methodNotAllowed(r.method.rawValue)
        }
    }

    // MARK: SelfSubjectAccessReview (kubectl auth can-i)

    func selfSubjectAccessReview(_ r: APIRequest, user: APIUser) throws -> APIResponse {
        let body: KctlJSON
        if (r.headers.first(name: "Content-Type") ?? "").hasPrefix("application/vnd.kubernetes.protobuf") {
            guard let b = KubeProtobuf.selfSubjectAccessReview(r.body) else {
                throw APIStatus.badRequest("error decoding the request body: not a SelfSubjectAccessReview in protobuf")
            }
            body = b
        } else {
            body = try Self.parseBody(r)
        }
        guard body["kind"]?.stringValue == "SelfSubjectAccessReview" || body["kind"] == nil else {
            throw APIStatus.badRequest("SelfSubjectAccessReview in version \"v1\" cannot be handled as a \(body["kind"]?.stringValue ?? "")")
        }
        let spec = body["spec"] ?? [:]
        var allowed = false
        var reason = ""
        if let attrs = spec["resourceAttributes"] {
            let verb = attrs["verb"]?.stringValue ?? ""
            let res = attrs["resource"]?.stringValue ?? ""
            let sub = attrs["subresource"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            let group = attrs["group"]?.stringValue ?? ""
            allowed = verb == "*" || res == "*" ? user.isAdmin : RBAC.allows(user, verb: verb, resource: res, subresource: sub, group: group)
        } else if let nr = spec["nonResourceAttributes"] {
            allowed = RBAC.allowsPath(user, path: nr["path"]?.stringValue ?? "")
        }
        if allowed { reason = user.isAdmin ? "RBAC: allowed by ClusterRoleBinding \"sandbox-admin\" of ClusterRole \"cluster-admin\" to User \"admin\"" : "RBAC: allowed by ClusterRoleBinding \"oncall-viewer\" of ClusterRole \"view\" to User \"oncall-viewer\"" }
        var status: [String: KctlJSON] = ["allowed": .bool(allowed)]
        if !reason.isEmpty { status["reason"] = .string(reason) }
        let out: KctlJSON = [
            "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": ["creationTimestamp": nil], "spec": spec, "status": .object(status),
        ]
        return .json(out, status: .created)
    }

    // MARK: bodies

    /// Parses a JSON body; 400 BadRequest with the decoder's complaint otherwise (also for
    /// nesting deeper than a real object has, so the recursive parser cannot be exhausted).
    static func parseBody(_ r: APIRequest) throws -> KctlJSON {
        if (r.headers.first(name: "Content-Type") ?? "").hasPrefix("application/vnd.kubernetes.protobuf") {
            throw APIStatus(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        }
        do { return try APIParse.jsonBody(r.body) } catch { throw APIStatus(error) }
    }
}
