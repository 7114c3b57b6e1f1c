import Foundation
import NIOCore
import NIOHTTP1
import Sandbox

/// The last handler of a connection's HTTP pipeline: gathers a request (head, body, end) and
/// hands it to the `APIServerCore` on a task; the response is written back through the channel.
/// NIO's `HTTPServerPipelineHandler` (pipelining assistance) holds the next request of the
/// connection until the response's `.end` is written, so requests are answered in order.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies larger than this are refused (413); kubectl sends a few KiB at most.
    static let maxBody = 3 * 1024 * 1024

    private let core: APIServerCore
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(core: APIServerCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
        case .body(var buf):
            if body.count + buf.readableBytes > Self.maxBody { tooLarge = true; return }
            if let bytes = buf.readBytes(length: buf.readableBytes) { body += bytes }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = APIRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
            body = []
            let channel = context.channel
            let core = self.core
            let keepAlive = head.isKeepAlive
            let version = head.version
            let tooLarge = self.tooLarge
            Task {
                let start = ContinuousClock.now
                let response = tooLarge
                    ? APIResponse.status(APIStatus(code: 413, reason: "RequestEntityTooLarge", message: "the request body is too large"))
                    : await core.respond(to: request, channel: channel)
                await core.write(response, for: request, version: version, keepAlive: keepAlive, to: channel, started: start)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // TLS errors, resets, a malformed request (NIO's HTTPServerProtocolErrorHandler answers
        // 400 first): close this connection only; the server goes on.
        FileHandle.standardError.write(Data("\(RFC3339.format()) apiserver: connection closed after error: \(error)\n".utf8))
        context.close(promise: nil)
    }
}
