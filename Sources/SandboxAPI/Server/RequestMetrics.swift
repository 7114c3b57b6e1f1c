import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket

/// What the API server counts, served on its own `GET /metrics` (admin only, as `kubectl get
/// --raw /metrics` on a real cluster) in the Prometheus text format:
///
/// - `apiserver_request_total{code,component,resource,subresource,verb}`: every request, by the
///   real server's verb label (`RequestInfo.metricVerb`): GET (one object), LIST (a collection),
///   WATCH (`?watch=1`), POST, PUT, PATCH, DELETE, CONNECT (exec, attach, portforward, proxy;
///   an exec WebSocket upgrade is counted with code 101). Unlike the real server, which counts a
///   request when it ends, the sandbox counts it when the response starts, so a watch that stays
///   open is counted in the minute it was opened (what the benchmarks of issue 16 need).
/// - `apiserver_response_sent_bytes_total{component,resource,subresource,verb}` (sandbox only):
///   bytes of response bodies, counted as they are written: whole bodies, the chunks of watch
///   and log streams, the payloads of exec's WebSocket frames.
/// - `apiserver_longrunning_requests{component,resource,subresource,verb}` (a gauge, as the real
///   one): watches, followed logs and exec sessions open now.
public final class RequestMetrics: Sendable {
    struct Key: Hashable { var verb, resource, subresource: String; var code: Int }
    public struct Series: Hashable, Sendable {
        public var verb, resource, subresource: String
        public init(verb: String, resource: String, subresource: String) { self.verb = verb; self.resource = resource; self.subresource = subresource }
        init(_ info: RequestInfo) { self.init(verb: info.metricVerb, resource: info.resource ?? "", subresource: info.subresource ?? "") }
    }
    private struct Counters {
        var requests: [Key: Int] = [:]
        var bytes: [Series: Int] = [:]
        var longRunning: [Series: Int] = [:]
    }
    private let box = NIOLockedValueBox(Counters())
    public init() {}

    public func request(_ s: Series, code: Int) {
        box.withLockedValue { $0.requests[Key(verb: s.verb, resource: s.resource, subresource: s.subresource, code: code), default: 0] += 1 }
    }

    public func sent(_ s: Series, bytes n: Int) {
        guard n > 0 else { return }
        box.withLockedValue { $0.bytes[s, default: 0] += n }
    }

    public func longRunning(_ s: Series, _ delta: Int) {
        box.withLockedValue { $0.longRunning[s, default: 0] += delta }
    }

    static func labels(_ s: Series) -> String {
        "component=\"apiserver\",resource=\"\(s.resource)\",subresource=\"\(s.subresource)\",verb=\"\(s.verb)\""
    }

    /// Prometheus text format.
    public func render() -> String {
        let c = box.withLockedValue { $0 }
        var out = "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n"
        out += "# TYPE apiserver_request_total counter\n"
        for (k, v) in c.requests.sorted(by: { ($0.key.resource, $0.key.subresource, $0.key.verb, $0.key.code) < ($1.key.resource, $1.key.subresource, $1.key.verb, $1.key.code) }) {
            out += "apiserver_request_total{code=\"\(k.code)\",component=\"apiserver\",resource=\"\(k.resource)\",subresource=\"\(k.subresource)\",verb=\"\(k.verb)\"} \(v)\n"
        }
        let order: (Dictionary<Series, Int>.Element, Dictionary<Series, Int>.Element) -> Bool = {
            ($0.key.resource, $0.key.subresource, $0.key.verb) < ($1.key.resource, $1.key.subresource, $1.key.verb)
        }
        out += "# HELP apiserver_response_sent_bytes_total Bytes of response bodies sent, as they are written (whole bodies, watch and log stream chunks, exec WebSocket frame payloads), by verb, resource and subresource (sandbox).\n"
        out += "# TYPE apiserver_response_sent_bytes_total counter\n"
        for (k, v) in c.bytes.sorted(by: order) { out += "apiserver_response_sent_bytes_total{\(Self.labels(k))} \(v)\n" }
        out += "# HELP apiserver_longrunning_requests [ALPHA] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.\n"
        out += "# TYPE apiserver_longrunning_requests gauge\n"
        for (k, v) in c.longRunning.sorted(by: order) { out += "apiserver_longrunning_requests{\(Self.labels(k))} \(v)\n" }
        return out
    }
}

/// Counts the payload bytes of the WebSocket frames an exec session sends (added to an
/// upgraded connection's pipeline before the exec handler), and holds the long-running gauge
/// while the connection is open.
final class WebSocketSentBytes: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let metrics: RequestMetrics
    let series: RequestMetrics.Series

    init(metrics: RequestMetrics, series: RequestMetrics.Series) { self.metrics = metrics; self.series = series }

    func handlerAdded(context: ChannelHandlerContext) {
        metrics.longRunning(series, 1)
        context.channel.closeFuture.whenComplete { [metrics, series] _ in metrics.longRunning(series, -1) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        metrics.sent(series, bytes: unwrapOutboundIn(data).data.readableBytes)
        context.write(data, promise: promise)
    }
}
