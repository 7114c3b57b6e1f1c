import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Sandbox

/// What every connection shares: the users, the watch hub (state.json follower), the request
/// counters, the open connections (closed by api-down) and the API faults.
public final class APIServerCore: Sendable {
    public let layout: SandboxLayout
    public let files: APIServerFiles
    let users: [String: APIUser]
    public let metrics = RequestMetrics()
    public let hub: WatchHub
    /// The inert load-test objects of `redis-runbook-sandbox bulk` (none normally).
    public let bulk: BulkStore
    private let connections = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])

    public init(layout: SandboxLayout) throws {
        self.layout = layout
        self.files = APIServerFiles(layout: layout)
        var users: [String: APIUser] = [:]
        for (name, token) in try files.tokens() {
            users[token] = APIUser(name: name, isAdmin: name == APIServerFiles.adminUser)
        }
        self.users = users
        self.hub = WatchHub(store: StateStore(layout: layout))
        self.bulk = BulkStore(layout: layout)
    }

    var store: StateStore { StateStore(layout: layout) }

    /// The API faults as last read from state.json (by the hub).
    public func faults() -> FaultSwitches { hub.latestState()?.runtime.faults ?? FaultSwitches() }

    // MARK: connections

    func track(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        connections.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [connections] _ in _ = connections.withLockedValue { $0.removeValue(forKey: id) } }
    }

    func closeAllConnections() {
        let all = connections.withLockedValue { c in defer { c = [:] }; return Array(c.values) }
        for ch in all { ch.close(promise: nil) }
    }

    // MARK: authentication

    enum Auth { case user(APIUser), anonymous, refused }

    func authenticate(_ headers: HTTPHeaders) -> Auth {
        guard let value = headers.first(name: "Authorization") else { return .anonymous }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .refused }
        if faults().tokenExpired == true { return .refused }
        guard let user = users[String(parts[1]).trimmingCharacters(in: .whitespaces)] else { return .refused }
        return .user(user)
    }

    // MARK: requests

    /// Applies the per-request faults, authenticates, routes, counts.
    func respond(to request: APIRequest, channel: Channel) async -> APIResponse {
        var request = request
        let info = RequestInfo(request)
        let f = faults()
        if let delay = f.apiSlowSeconds, delay > 0 {
            try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
        if f.apiErrors == true, !info.isHealth {
            let roll = Int.random(in: 0..<100)
            if roll < 25 { return .status(.internalError("etcdserver: request timed out")) }
            if roll < 40 { return .status(.tooManyRequests(retryAfter: 1)) }
        }
        switch authenticate(request.headers) {
        case .refused: return .status(.unauthorized)
        case .anonymous:
            // As system:anonymous with the public-info-viewer role: health and version only.
            guard info.isHealth || request.path == "/version" else {
                if info.isResource {
                    return .status(.forbidden(user: "system:anonymous", verb: info.rbacVerb, resource: info.resource ?? "",
                                              subresource: info.subresource, group: info.group, name: info.name, namespace: info.namespace))
                }
                return .status(.forbiddenPath(user: "system:anonymous", verb: "get", path: request.path))
            }
        case .user(let u): request.user = u
        }
        return await Router(core: self).handle(request, info: info)
    }

    /// Writes a response (whole or streamed) and counts it: the request when its response starts,
    /// the body bytes as they are written (`RequestMetrics`).
    func write(_ response: APIResponse, for request: APIRequest, version: HTTPVersion, keepAlive: Bool, to channel: Channel,
               started: ContinuousClock.Instant) async {
        let series = RequestMetrics.Series(RequestInfo(request))
        metrics.request(series, code: Int(response.status.code))
        var headers = response.headers
        headers.replaceOrAdd(name: "Cache-Control", value: "no-cache, private")
        headers.replaceOrAdd(name: "Date", value: Self.httpDate())
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        switch response.body {
        case .bytes(let bytes):
            headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
            let head = HTTPResponseHead(version: version, status: response.status, headers: headers)
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if !bytes.isEmpty, request.method != .HEAD {
                channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))), promise: nil)
                metrics.sent(series, bytes: bytes.count)
            }
            let done = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: done)
            if !keepAlive { done.futureResult.whenComplete { _ in channel.close(promise: nil) } }
            _ = try? await done.futureResult.get()
        case .stream(let producer):
            headers.remove(name: "Content-Length")
            headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            let head = HTTPResponseHead(version: version, status: response.status, headers: headers)
            try? await channel.writeAndFlush(HTTPServerResponsePart.head(head))
            let metrics = self.metrics
            let writer = ResponseWriter(channel: channel) { n in metrics.sent(series, bytes: n) }
            metrics.longRunning(series, 1)
            do { try await producer(writer) } catch {}
            metrics.longRunning(series, -1)
            if channel.isActive {
                let done = channel.eventLoop.makePromise(of: Void.self)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: done)
                if !keepAlive { done.futureResult.whenComplete { _ in channel.close(promise: nil) } }
                _ = try? await done.futureResult.get()
            }
        }
    }

    static func httpDate() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: Date())
    }

    // MARK: WebSocket upgrade (exec)

    /// Decides, synchronously on the event loop, whether a WebSocket upgrade request is
    /// accepted: authenticated, allowed by RBAC, the pod exists and the stream code accepts it
    /// (`StreamRoutes.acceptUpgrade`). Refused requests go on as plain HTTP, where the router
    /// answers them with the Status error (403, 404, 401...) kubectl prints.
    func upgradeDecision(_ head: HTTPRequestHead) -> UpgradeBox.Accepted? {
        var request = APIRequest(method: head.method, uri: head.uri, headers: head.headers)
        let info = RequestInfo(request)
        guard info.isResource, info.resource == "pods", let sub = info.subresource, StreamRoutes.subresources.contains(sub),
              let ns = info.namespace, let name = info.name else { return nil }
        let f = faults()
        if f.apiErrors == true, Int.random(in: 0..<100) < 40 { return nil }
        guard case .user(let user) = authenticate(head.headers) else { return nil }
        request.user = user
        guard RBAC.allows(user, verb: info.rbacVerb, resource: "pods", subresource: sub) else { return nil }
        guard let state = try? store.read(), ns == state.namespace, let pod = state.pods.first(where: { $0.name == name }) else { return nil }
        let context = StreamContext(layout: layout, user: user, namespace: ns, podName: name, subresource: sub, subpath: info.subpath)
        guard let headers = StreamRoutes.acceptUpgrade(request, pod: pod, state: state, context: context) else { return nil }
        return UpgradeBox.Accepted(request: request, pod: pod, state: state, context: context, headers: headers)
    }

    /// For `NIOWebSocketServerUpgrader.shouldUpgrade`: the headers of the upgrade the gate accepted.
    func shouldUpgrade(channel: Channel, box: UpgradeBox) -> EventLoopFuture<HTTPHeaders?> {
        guard let accepted = box.peek() else { return channel.eventLoop.makeSucceededFuture(nil) }
        metrics.request(RequestMetrics.Series(verb: "CONNECT", resource: "pods", subresource: accepted.context.subresource), code: 101)
        let delay = faults().apiSlowSeconds ?? 0
        if delay > 0 {
            return channel.eventLoop.scheduleTask(in: .milliseconds(Int64(delay * 1000))) { accepted.headers }.futureResult.map { Optional($0) }
        }
        return channel.eventLoop.makeSucceededFuture(accepted.headers)
    }
}
