import Foundation
import NIOCore
import NIOHTTP1
import Sandbox

// The request and response types of the sandbox API server, shared by the router
// (Routes/Router.swift) and the pod streams (Routes/StreamRoutes.swift, Streams/).

/// An authenticated user of the API (from its bearer token, see `APICredentials`).
public struct APIUser: Sendable, Equatable {
    public var name: String
    /// True for `admin` (every verb); false for `oncall-viewer` (get, list, watch; see `RBAC`).
    public var isAdmin: Bool
    public init(name: String, isAdmin: Bool) { self.name = name; self.isAdmin = isAdmin }
}

/// One HTTP request as the router sees it: method, path split into segments, query, headers, body.
public struct APIRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent ("/api/v1/namespaces/default/pods?limit=500").
    public var uri: String
    /// The path without the query, percent-decoded ("/api/v1/namespaces/default/pods").
    public var path: String
    /// Query parameters in order; a name may repeat (`command=redis-cli&command=PING`).
    public var query: [(name: String, value: String)]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set by the router after authentication; nil before.
    public var user: APIUser?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        // (Sandbox's APIParse: pure, fuzzed by Fuzz/Sources/FuzzAPIRequest.)
        (self.path, self.query) = APIParse.target(uri)
    }

    /// The first value of a query parameter.
    public func query(_ name: String) -> String? { query.first { $0.name == name }?.value }
    /// Every value of a (repeated) query parameter, in order.
    public func queryAll(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    /// A boolean query parameter as the API server decodes it (Go's strconv.ParseBool; absent is
    /// false), with the real server's error naming the options `kind` (e.g. "PodExecOptions").
    public func queryBool(_ name: String, kind: String) throws(APIStatus) -> Bool {
        guard let v = query(name) else { return false }
        guard let b = APIParse.bool(v) else { throw APIStatus(APIParse.boolError(v, kind: kind)) }
        return b
    }
    /// Path segments ("/api/v1/pods" → ["api", "v1", "pods"]).
    public var segments: [String] { path.split(separator: "/").map(String.init) }
    public var bodyData: Data { Data(body) }
}

/// A response: a whole body, or a stream written chunk by chunk (watch, `log?follow=true`, proxy).
public struct APIResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Called once after the head is sent (chunked transfer encoding). Return to end the
        /// response; a throw or the client going away ends it too.
        case stream(@Sendable (ResponseWriter) async throws -> Void)
    }
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: KctlJSON, status: HTTPResponseStatus = .ok) -> APIResponse {
        var h = HTTPHeaders()
        h.add(name: "Content-Type", value: "application/json")
        return APIResponse(status: status, headers: h, body: .bytes(Array(value.compact().utf8)))
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8") -> APIResponse {
        var h = HTTPHeaders()
        h.add(name: "Content-Type", value: contentType)
        return APIResponse(status: status, headers: h, body: .bytes(Array(text.utf8)))
    }

    /// A `Status` object (kind Status, status Failure) as every API error is sent.
    public static func status(_ s: APIStatus) -> APIResponse {
        var r = json(s.json, status: HTTPResponseStatus(statusCode: s.code))
        if let retry = s.retryAfterSeconds { r.headers.add(name: "Retry-After", value: String(retry)) }
        return r
    }
}

/// Writes the chunks of a streamed response. Sendable; safe to use from any task.
public struct ResponseWriter: Sendable {
    let channel: Channel
    let counter: @Sendable (Int) -> Void
    init(channel: Channel, counter: @escaping @Sendable (Int) -> Void) { self.channel = channel; self.counter = counter }

    /// Sends one chunk and flushes it; throws when the client has gone.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        counter(bytes.count)
        let buf = channel.allocator.buffer(bytes: bytes)
        try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buf)))
    }
    public func write(_ text: String) async throws { try await write(Array(text.utf8)) }
    /// False once the client closed the connection (or the server is closing it).
    public var isOpen: Bool { channel.isActive }
    /// Completes when the connection closes.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
}

/// A Kubernetes `Status` error (metav1.Status, status Failure).
public struct APIStatus: Error, Sendable {
    public var code: Int
    public var reason: String
    public var message: String
    public var details: KctlJSON?
    public var retryAfterSeconds: Int?

    public init(code: Int, reason: String, message: String, details: KctlJSON? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code; self.reason = reason; self.message = message; self.details = details; self.retryAfterSeconds = retryAfterSeconds
    }

    public var json: KctlJSON {
        var o: [String: KctlJSON] = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { o["details"] = details }
        return .object(o)
    }

    static func details(name: String?, group: String, kind: String) -> KctlJSON {
        var d: [String: KctlJSON] = ["kind": .string(kind)]
        if let name { d["name"] = .string(name) }
        if !group.isEmpty { d["group"] = .string(group) }
        return .object(d)
    }

    /// `pods "redis-9" not found`
    public static func notFound(resource: String, name: String, group: String = "") -> APIStatus {
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        return APIStatus(code: 404, reason: "NotFound", message: "\(qualified) \"\(name)\" not found",
                         details: details(name: name, group: group, kind: resource))
    }
    public static func notFoundPath() -> APIStatus {
        APIStatus(code: 404, reason: "NotFound", message: "the server could not find the requested resource",
                  details: ["causes": [["reason": "UnexpectedServerResponse", "message": "404 page not found"]]])
    }
    /// A request refused while parsing it (Sandbox's APIParse).
    public init(_ e: APIParseError) { self.init(code: e.code, reason: e.reason, message: e.message) }

    public static func badRequest(_ message: String) -> APIStatus { APIStatus(code: 400, reason: "BadRequest", message: message) }
    public static func methodNotAllowed(_ method: String) -> APIStatus {
        APIStatus(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource",
                  details: ["causes": [["reason": "UnexpectedServerResponse", "message": .string("\(method) not allowed")]]])
    }
    public static let unauthorized = APIStatus(code: 401, reason: "Unauthorized", message: "Unauthorized")
    /// `pods "redis-0" is forbidden: User "oncall-viewer" cannot create resource "pods/exec" in API group "" in the namespace "default"`
    public static func forbidden(user: String, verb: String, resource: String, subresource: String?, group: String,
                                 name: String?, namespace: String?) -> APIStatus {
        let full = subresource.map { "\(resource)/\($0)" } ?? resource
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        var msg = ""
        if let name { msg = "\(qualified) \"\(name)\" is forbidden: " } else { msg = "\(qualified) is forbidden: " }
        msg += "User \"\(user)\" cannot \(verb) resource \"\(full)\" in API group \"\(group)\""
        if let namespace { msg += " in the namespace \"\(namespace)\"" } else { msg += " at the cluster scope" }
        return APIStatus(code: 403, reason: "Forbidden", message: msg, details: details(name: name, group: group, kind: resource))
    }
    public static func internalError(_ message: String) -> APIStatus {
        APIStatus(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)",
                  details: ["causes": [["message": .string(message)]]])
    }
    public static func tooManyRequests(retryAfter: Int) -> APIStatus {
        APIStatus(code: 429, reason: "TooManyRequests", message: "the server has received too many requests and has asked us to try again later",
                  details: ["causes": [["reason": "UnexpectedServerResponse", "message": "Too many requests, please try again later."]],
                            "retryAfterSeconds": .int(Int64(retryAfter))],
                  retryAfterSeconds: retryAfter)
    }
    public static func gone(_ message: String) -> APIStatus { APIStatus(code: 410, reason: "Expired", message: message) }
}
