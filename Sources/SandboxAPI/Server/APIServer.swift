import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// The sandbox's Kubernetes API server: HTTPS on 127.0.0.1:<DIR/apiserver.port>, bearer
/// tokens, state.json as its etcd. `redis-runbook-sandbox apiserver --dir DIR` runs `run()`.
///
/// Pipeline of a connection: NIOSSLServerHandler → HTTP/1.1 decoder/encoder with pipelining
/// assistance → NIOHTTPServerUpgradeHandler (NIOWebSocketServerUpgrader, for pods/exec) →
/// HTTPHandler (→ APIServerCore.respond → Router).
///
/// The API faults live in state.json with the others; this loop reads them every 200 ms:
/// api-down closes the listener and every open connection and re-listens on the same port
/// after heal; the others are applied per request by `APIServerCore`. The same loop follows
/// DIR/bulk.json (`redis-runbook-sandbox bulk`, load tests only; `BulkStore`).
public final class APIServer: Sendable {
    public let core: APIServerCore
    let group: MultiThreadedEventLoopGroup
    let sslContext: NIOSSLContext
    let port: Int
    private let listener = NIOLockedValueBox<Channel?>(nil)

    public init(layout: SandboxLayout) throws {
        let files = APIServerFiles(layout: layout)
        guard let port = files.port() else { throw SandboxError("no API server files in \(layout.root.path) (run `redis-runbook-sandbox up`)") }
        self.port = port
        let chain = try NIOSSLCertificate.fromPEMFile(files.serverCert.path)
        let key = try NIOSSLPrivateKey(file: files.serverKey.path, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.applicationProtocols = ["http/1.1"]
        self.sslContext = try NIOSSLContext(configuration: tls)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.core = try APIServerCore(layout: layout)
    }

    /// Serves until SIGTERM (the caller installs the handler) or a fatal error.
    public func run(stop: @escaping @Sendable () -> Bool) async throws {
        core.hub.start()
        var lastBindError = ""
        while !stop() {
            let down = core.faults().apiDown == true
            let bound = listener.withLockedValue { $0 } != nil
            if down && bound {
                let ch = listener.withLockedValue { l -> Channel? in defer { l = nil }; return l }
                try? await ch?.close()
                core.closeAllConnections()
                log("api-down: listener and connections closed")
            } else if !down && !bound {
                do {
                    let ch = try await bind()
                    listener.withLockedValue { $0 = ch }
                    log("listening on https://127.0.0.1:\(port)")
                    lastBindError = ""
                } catch {
                    let text = "\(error)"
                    if text != lastBindError { log("cannot listen on 127.0.0.1:\(port): \(text); retrying") }
                    lastBindError = text
                }
            }
            core.bulk.refresh(state: core.hub.latestState())
            try? await Task.sleep(for: .milliseconds(200))
        }
        let ch = listener.withLockedValue { $0 }
        try? await ch?.close()
        core.closeAllConnections()
        core.hub.stop()
        try? await group.shutdownGracefully()
    }

    func log(_ s: String) {
        FileHandle.standardError.write(Data("\(RFC3339.format()) apiserver: \(s)\n".utf8))
    }

    private func bind() async throws -> Channel {
        let core = self.core
        let ssl = self.sslContext
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                core.track(channel)
                let box = UpgradeBox()
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 24, automaticErrorHandling: true,
                    shouldUpgrade: { channel, _ in core.shouldUpgrade(channel: channel, box: box) },
                    upgradePipelineHandler: { channel, _ in
                        guard let u = box.take() else { return channel.close() }
                        let series = RequestMetrics.Series(verb: "CONNECT", resource: "pods", subresource: u.context.subresource)
                        return channel.pipeline.addHandler(WebSocketSentBytes(metrics: core.metrics, series: series)).flatMap {
                            StreamRoutes.upgradeHandlers(channel: channel, request: u.request, pod: u.pod, state: u.state, context: u.context)
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: ssl))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { ctx in
                            ctx.pipeline.removeHandler(name: "api-http", promise: nil)
                        }))
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(core: core), name: "api-http")
                    let upgradeHandler = try channel.pipeline.syncOperations.context(handlerType: HTTPServerUpgradeHandler.self)
                    try channel.pipeline.syncOperations.addHandler(UpgradeGate(core: core, box: box), position: .before(upgradeHandler.handler))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
    }
}

/// Carries an accepted WebSocket upgrade from `shouldUpgrade` to `upgradePipelineHandler`
/// (both run for the same connection).
final class UpgradeBox: Sendable {
    struct Accepted: Sendable {
        var request: APIRequest
        var pod: PodState
        var state: ClusterState
        var context: StreamContext
        var headers: HTTPHeaders
    }
    private let value = NIOLockedValueBox<Accepted?>(nil)
    func put(_ a: Accepted) { value.withLockedValue { $0 = a } }
    func peek() -> Accepted? { value.withLockedValue { $0 } }
    func take() -> Accepted? { value.withLockedValue { v in defer { v = nil }; return v } }
}

/// Sits just before NIO's upgrade handler and decides on a WebSocket upgrade request first
/// (`APIServerCore.upgradeDecision`): an accepted one goes on to the upgrader (and the gate
/// leaves the pipeline, as the connection stops speaking HTTP); a refused one loses its
/// `Upgrade` header and goes on as plain HTTP, so the router answers it with a Status (403,
/// 404, 401) — NIO's WebSocket upgrader would otherwise just fail the connection.
final class UpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    let core: APIServerCore
    let box: UpgradeBox
    init(core: APIServerCore, box: UpgradeBox) { self.core = core; self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), head.headers.contains(name: "Upgrade") else {
            context.fireChannelRead(data)
            return
        }
        if let accepted = core.upgradeDecision(head) {
            box.put(accepted)
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        head.headers.remove(name: "Upgrade")
        let connection = head.headers[canonicalForm: "connection"].filter { $0.lowercased() != "upgrade" }.joined(separator: ", ")
        head.headers.remove(name: "Connection")
        if !connection.isEmpty { head.headers.add(name: "Connection", value: connection) }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}
