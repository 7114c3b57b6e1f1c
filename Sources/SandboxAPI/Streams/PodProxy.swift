import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

// `GET /api/v1/namespaces/{ns}/pods/[http:]{name}[:port]/proxy[/path]`: an HTTP GET made inside
// the pod's network namespace (its own 127.0.0.1, see `PodNet`), whose status, content type and
// body come back as they are, e.g. the redis_exporter's metrics for
// `kubectl get --raw /api/v1/namespaces/default/pods/redis-0:9121/proxy/metrics`. A port nobody
// listens on is the real server's 503 `error trying to reach service: dial tcp IP:PORT: connect:
// connection refused`.

public struct ProxyTarget: Equatable, Sendable {
    /// The pod's name in a proxy path segment `[scheme:]name[:port]`.
    public static func podName(_ segment: String) -> String {
        var parts = segment.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, parts[0] == "http" || parts[0] == "https" { parts.removeFirst() }
        return parts.first ?? segment
    }

    var scheme: String
    var pod: String
    var port: UInt16
    /// Path and query sent to the pod ("/metrics", "/metrics?x=1").
    var target: String

    /// Reads `[scheme:]name[:port]` from the request path (the segment after `pods`).
    static func parse(_ request: APIRequest, subpath: String) throws(APIStatus) -> ProxyTarget {
        let segs = request.segments
        guard let i = segs.firstIndex(of: "pods"), i + 1 < segs.count else {
            throw APIStatus.notFoundPath()
        }
        var parts = segs[i + 1].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var scheme = "http"
        if parts.count > 1, parts[0] == "http" || parts[0] == "https" { scheme = parts.removeFirst() }
        guard let name = parts.first, !name.isEmpty, parts.count <= 2 else {
            throw APIStatus.badRequest("invalid pod request \(segs[i + 1])")
        }
        var port: UInt16 = 80
        if parts.count == 2, !parts[1].isEmpty {
            guard let p = UInt16(parts[1]), p > 0 else {
                throw APIStatus.badRequest("invalid port \(parts[1]) in pod request \(segs[i + 1])")
            }
            port = p
        }
        if scheme == "https" {
            throw APIStatus.badRequest("the sandbox API server proxies only http to pods, not https")
        }
        var target = subpath.isEmpty ? "/" : subpath
        if let q = request.uri.firstIndex(of: "?") { target += String(request.uri[q...]) }
        // Never a header injection: the target goes on the request line as it is.
        if target.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " }) {
            throw APIStatus.badRequest("invalid proxy path")
        }
        return ProxyTarget(scheme: scheme, pod: name, port: port, target: target)
    }
}

enum PodProxy {
    static let timeoutSeconds = 10.0
    static let maxBody = 64 << 20

    static func response(_ request: APIRequest, pod: PodState, context: StreamContext) async -> APIResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return .status(.methodNotAllowed(request.method.rawValue))
        }
        let target: ProxyTarget
        do throws(APIStatus) { target = try ProxyTarget.parse(request, subpath: context.subpath) } catch { return .status(error) }
        let ip = pod.podIP.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        func unreachable(_ why: String) -> APIResponse {
            .status(APIStatus(code: 503, reason: "ServiceUnavailable",
                              message: "error trying to reach service: dial tcp \(ip):\(target.port): \(why)"))
        }
        guard pod.sandboxPid > 0 else { return unreachable("connect: no route to host") }
        let pid = pod.sandboxPid
        let method = request.method.rawValue
        let result: Result<Relayed, PodNet.ConnectError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                relay(sandboxPid: pid, target: target, method: method)
            }
        } catch {
            return .status(.internalError("proxy: \(error)"))
        }
        switch result {
        case .failure(.refused): return unreachable("connect: connection refused")
        case .failure(.other(let why)): return unreachable(why)
        case .success(let r):
            var headers = HTTPHeaders()
            for (name, value) in r.headers where passedHeaders.contains(name.lowercased()) { headers.add(name: name, value: value) }
            return APIResponse(status: HTTPResponseStatus(statusCode: r.status), headers: headers,
                               body: .bytes(request.method == .HEAD ? [] : r.body))
        }
    }

    /// Headers of the pod's answer passed on (hop-by-hop ones and lengths are the server's own).
    static let passedHeaders: Set<String> = ["content-type", "content-encoding", "cache-control", "etag", "last-modified", "location", "www-authenticate"]

    struct Relayed: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
    }

    /// HTTP/1.0 request inside the pod's network namespace (blocking; run off the event loops).
    static func relay(sandboxPid: Int32, target: ProxyTarget, method: String) -> Result<Relayed, PodNet.ConnectError> {
        let fd: Int32
        do { fd = try PodNet.connect(sandboxPid: sandboxPid, port: target.port, timeoutSeconds: timeoutSeconds) } catch let e as PodNet.ConnectError {
            return .failure(e)
        } catch {
            return .failure(.other("\(error)"))
        }
        defer { close(fd) }
        let head = "\(method) \(target.target) HTTP/1.0\r\nHost: 127.0.0.1:\(target.port)\r\nUser-Agent: redis-runbook-sandbox-apiserver\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .failure(.other("write: connection reset by peer")) }
            off += n
        }
        bytes = []
        var response: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while response.count <= maxBody {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.other("read: i/o timeout")) }
            if n == 0 { break }
            response += buf[0..<n]
        }
        let sep: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = firstRange(of: sep, in: response) else { return .failure(.other("malformed HTTP response")) }
        let headText = String(decoding: response[..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]), (100..<600).contains(status) else {
            return .failure(.other("malformed HTTP response"))
        }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let c = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        return .success(Relayed(status: status, headers: headers, body: Array(response[(end + sep.count)...])))
    }

    static func firstRange(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
