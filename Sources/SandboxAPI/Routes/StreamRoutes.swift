import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Sandbox

// THE SEAM FOR POD STREAMS: exec, log, proxy (and attach / portforward, refused).
//
// Owned by the pod-streams work (branch `exec`): this file, Sources/SandboxAPI/Streams/**,
// Tests/SandboxAPITests/Streams*.swift. Everything else in SandboxAPI belongs to the server.
//
// What the server does before it calls in here (Router.swift, APIServer.swift):
//   - TLS, HTTP/1.1 parsing, the bearer token → `APIUser` (401 Status otherwise), the API
//     faults (api-down / api-slow / api-errors / token-expired), request counting for /metrics.
//   - Routing: only the paths /api/v1/namespaces/{ns}/pods/{name}/{exec|attach|portforward|log|proxy}
//     and /api/v1/namespaces/{ns}/pods/{name}/proxy/{rest...} come here.
//   - RBAC, with the real wording on refusal: `create` on pods/exec, pods/attach,
//     pods/portforward (and `get` for a WebSocket GET, as the real authorizer maps it:
//     kubectl's exec GET is authorized as `create`, so we check `create`); `get` on pods/log;
//     `get` on pods/proxy. A refused request never reaches this file.
//   - The pod exists in the namespace (404 `pods "x" not found` otherwise). `pod` and `state`
//     are one consistent read of state.json, taken just before the call.
//
// Two ways in:
//   1. WebSocket (exec over v5.channel.k8s.io / v4.channel.k8s.io). For a GET with
//      `Upgrade: websocket`, NIO's `NIOWebSocketServerUpgrader` asks `acceptUpgrade`: return
//      the extra response headers (at least `Sec-WebSocket-Protocol` with the chosen
//      subprotocol) to accept, or nil to refuse (the request then continues as plain HTTP
//      into `handle`, which should answer with a Status error). After the 101 is sent, NIO has
//      removed the HTTP handlers and calls `upgradeHandlers`, which adds the WebSocket frame
//      handling to the channel's pipeline (NIOWebSocket's frame encoder/decoder are already
//      in place; add the handler that runs the process).
//   2. Plain HTTP (log, proxy, an SPDY exec POST, attach, portforward): `handle` returns an
//      `APIResponse`, a whole body or `.stream { writer in ... }` for `log?follow=true`.
//
// The server counts the request (verb CONNECT for exec/attach/portforward/proxy, GET for log)
// and the bytes written through `ResponseWriter` and in WebSocket frames (RequestMetrics.swift).

/// What a stream handler needs besides the request: where the sandbox is and who asks.
public struct StreamContext: Sendable {
    public let layout: SandboxLayout
    public var store: StateStore { StateStore(layout: layout) }
    public let user: APIUser
    public let namespace: String
    public let podName: String
    /// "exec", "attach", "portforward", "log" or "proxy".
    public let subresource: String
    /// For proxy: the path after `/proxy` ("" or "/metrics"), with a leading slash when not empty.
    public let subpath: String
    public init(layout: SandboxLayout, user: APIUser, namespace: String, podName: String, subresource: String, subpath: String) {
        self.layout = layout; self.user = user; self.namespace = namespace; self.podName = podName
        self.subresource = subresource; self.subpath = subpath
    }
}

public enum StreamRoutes {
    /// The pod subresources served here.
    public static let subresources: Set<String> = ["exec", "attach", "portforward", "log", "proxy"]

    /// WebSocket: accept (extra 101 headers, e.g. Sec-WebSocket-Protocol) or refuse (nil).
    /// Called on the channel's event loop; must not block. Only exec is served over WebSocket;
    /// a request that fails the checks made before an upgrade is refused here and answered
    /// with its Status error by `handle`.
    public static func acceptUpgrade(_ request: APIRequest, pod: PodState, state: ClusterState, context: StreamContext) -> HTTPHeaders? {
        guard context.subresource == "exec", request.method == .GET, let proto = ExecProtocol.negotiate(request.headers) else { return nil }
        do throws(APIStatus) { try ExecPlan.validate(request: request, pod: pod) } catch { return nil }
        var headers = HTTPHeaders()
        headers.add(name: "Sec-WebSocket-Protocol", value: proto)
        return headers
    }

    /// WebSocket: after the 101, add the handlers that serve the stream.
    public static func upgradeHandlers(channel: Channel, request: APIRequest, pod: PodState, state: ClusterState,
                                       context: StreamContext) -> EventLoopFuture<Void> {
        let proto = ExecProtocol.negotiate(request.headers) ?? ExecProtocol.v5
        let plan: ExecPlan
        do throws(APIStatus) {
            plan = try ExecPlan.make(request: request, pod: pod, state: state, layout: context.layout)
        } catch {
            plan = .refuse(error)
        }
        let label = "exec \(context.namespace)/\(context.podName): \(request.queryAll("command").joined(separator: " "))"
        return channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 12,
                                            maxAccumulatedFrameSize: 1 << 24))
            try channel.pipeline.syncOperations.addHandler(ExecWebSocketHandler(plan: plan, subprotocol: proto, label: label))
        }
    }

    /// Plain HTTP for every stream subresource.
    public static func handle(_ request: APIRequest, pod: PodState, state: ClusterState, context: StreamContext) async -> APIResponse {
        switch context.subresource {
        case "log":
            guard request.method == .GET || request.method == .HEAD else { return .status(.methodNotAllowed(request.method.rawValue)) }
            return PodLogs.response(request, pod: pod, context: context)
        case "proxy":
            return await PodProxy.response(request, pod: pod, context: context)
        case "exec":
            return execWithoutWebSocket(request, pod: pod)
        default:
            return .status(.badRequest("pods/\(context.subresource) is not served by the sandbox API server: it serves pods/exec (WebSocket), pods/log and pods/proxy"))
        }
    }

    /// An exec that did not become a WebSocket: its own error first (as the real server checks
    /// the request before upgrading), else why it cannot be served.
    static func execWithoutWebSocket(_ request: APIRequest, pod: PodState) -> APIResponse {
        do throws(APIStatus) { try ExecPlan.validate(request: request, pod: pod) } catch { return .status(error) }
        // The server's UpgradeGate drops the Upgrade header of a refused upgrade: tell SPDY
        // (kubectl's POST retry, or a kubectl that speaks only SPDY) from WebSocket otherwise.
        let spdy = request.method == .POST || request.headers.contains(name: "X-Stream-Protocol-Version")
            || request.headers[canonicalForm: "Upgrade"].contains { $0.lowercased().hasPrefix("spdy/") }
        if spdy {
            return .status(.badRequest(ExecProtocol.spdyRefusal))
        }
        if request.headers.contains(name: "Sec-WebSocket-Key") {
            let offered = request.headers[canonicalForm: "Sec-WebSocket-Protocol"].map(String.init)
            return .status(.badRequest("unable to upgrade: unable to negotiate protocol: client supports \(ExecProtocol.goList(offered)), server supports \(ExecProtocol.goList(ExecProtocol.supported))"))
        }
        return .status(.badRequest("Upgrade request required"))
    }
}
