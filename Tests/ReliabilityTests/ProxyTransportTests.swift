import Diagnosis
import Foundation
import Live
import ProcessRunner
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP server on a Unix socket for the client's framing only: every connection gets the
/// next canned answer, as raw bytes (so each framing is exercised exactly), optionally after a
/// delay or trickled byte by byte. Everything against the API runs the real `kubectl proxy`.
final class CannedSocketServer: @unchecked Sendable {
    let path: String
    private let fd: Int32
    /// What the server read, shared with its thread (which must not keep the server alive: its
    /// deinit removes the socket file).
    private final class Requests: @unchecked Sendable {
        let lock = NSLock()
        var list: [String] = []
    }
    private let seen = Requests()
    var requests: [String] { seen.lock.withLock { seen.list } }

    /// `delay`: seconds before answering; `trickle`: seconds between single bytes of the answer.
    init(_ responses: [String], delay: Double = 0, trickle: Double = 0) throws {
        path = "/tmp/proxy-canned-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let p = path
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in p.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, listen(fd, 8) == 0 else { throw SandboxProcess.Failure("bind \(path): \(errno)") }
        let listener = fd
        let seen = seen
        Thread {
            for r in responses {
                let c = accept(listener, nil, nil)
                guard c >= 0 else { return }
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(c, &buf, buf.count)
                seen.lock.withLock { seen.list.append(String(decoding: buf[0..<max(0, n)], as: UTF8.self)) }
                if delay > 0 { usleep(UInt32(delay * 1_000_000)) }
                let bytes = Array(r.utf8)
                if trickle > 0 {
                    for b in bytes { var one = b; if send(c, &one, 1, Int32(MSG_NOSIGNAL)) < 0 { break }; usleep(UInt32(trickle * 1_000_000)) }
                } else {
                    _ = bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                close(c)
            }
        }.start()
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd); unlink(path) }
}

@Suite("proxy transport: HTTP framing and failure classification")
struct ProxyFramingTests {
    @Test func chunkedBodyIsReassembledAndTheRequestIsAPlainGET() throws {
        let s = try CannedSocketServer(["HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;ext=1\r\n12}\r\n0\r\nX-Trailer: t\r\n\r\n"])
        let r = try UnixHTTP.get(socket: s.path, target: "/api/v1/namespaces/default/pods/redis-0", timeout: 5)
        #expect(r.status == 200)
        #expect(r.text == "{\"a\":12}")
        #expect(r.headers["content-type"] == "application/json")
        let req = try #require(s.requests.first)
        #expect(req.hasPrefix("GET /api/v1/namespaces/default/pods/redis-0 HTTP/1.1\r\n"))
        #expect(req.contains("\r\nConnection: close\r\n") && req.contains("\r\nHost: localhost\r\n"))
    }

    @Test func contentLengthStopsAtTheLengthAndNoLengthReadsUntilClose() throws {
        let s = try CannedSocketServer([
            "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nabcdEXTRA",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\ndial tcp 127.0.0.1:6443: connect: connection refused\n",
        ])
        let a = try UnixHTTP.get(socket: s.path, target: "/x", timeout: 5)
        #expect(a.status == 404 && a.text == "abcd")
        let b = try UnixHTTP.get(socket: s.path, target: "/y", timeout: 5)
        #expect(b.status == 500 && b.text == "dial tcp 127.0.0.1:6443: connect: connection refused\n")
    }

    @Test func aTruncatedBodyIsAnErrorNotAShortAnswer() throws {
        let s = try CannedSocketServer(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc"])
        #expect(throws: UnixHTTP.Failure(kind: .closed, message: "connection closed before the body ended")) {
            try UnixHTTP.get(socket: s.path, target: "/x", timeout: 5)
        }
        #expect(throws: UnixHTTP.Failure(kind: .closed, message: "connection closed inside a chunk")) {
            try UnixHTTP.get(socket: s.path, target: "/x", timeout: 5)
        }
    }

    /// A server that says nothing, and one that trickles its answer past the deadline: both end
    /// at the request's deadline as a time-out, which reads as kubectl's own time-out.
    @Test func theDeadlineEndsASilentOrTricklingAnswer() throws {
        let silent = try CannedSocketServer(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"], delay: 3)
        var start = Date()
        var failure: UnixHTTP.Failure?
        do { _ = try UnixHTTP.get(socket: silent.path, target: "/version", timeout: 0.4) } catch let e as UnixHTTP.Failure { failure = e }
        #expect(failure?.kind == .timeout && failure?.headersRead == false)
        #expect(Date().timeIntervalSince(start) < 1.5)

        let trickle = try CannedSocketServer(["HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n" + String(repeating: "x", count: 400)], trickle: 0.01)
        start = Date()
        failure = nil
        do { _ = try UnixHTTP.get(socket: trickle.path, target: "/version", timeout: 1.0) } catch let e as UnixHTTP.Failure { failure = e }
        let took = Date().timeIntervalSince(start)
        #expect(failure?.kind == .timeout && failure?.headersRead == true, "\(String(describing: failure))")
        #expect(took >= 0.9 && took < 2.5, "every byte came within the per-read wait, yet the request must end at its deadline: \(took) s")

        let k = APIClient.failure(try #require(failure))
        #expect(k.kind == .timeout)
        #expect(ClusterAccess.state(for: k.kind) == .timedOut)
    }

    @Test func noSocketIsTheProxysFailureNotTheClusters() throws {
        var failure: UnixHTTP.Failure?
        do { _ = try UnixHTTP.get(socket: "/nonexistent/api.sock", target: "/", timeout: 1) } catch let e as UnixHTTP.Failure { failure = e }
        #expect(failure?.kind == .connect)
        let k = APIClient.failure(failure!)
        #expect(k.kind == .failed && ClusterAccess.state(for: k.kind) == nil)
    }

    /// What the proxy passes back is classified as a failed kubectl call is: each answer reads as
    /// the stderr kubectl prints for it.
    @Test func answersReadAsKubectlsFailures() {
        func f(_ status: Int, _ body: String) -> KubectlError { APIClient.failure(status: status, body: Data(body.utf8)) }
        func stderr(_ status: Int, _ body: String) -> String { APIClient.kubectlStderr(status: status, body: Data(body.utf8)) }
        let notFoundBody = #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"redis-9\" not found","reason":"NotFound","code":404}"#
        #expect(stderr(404, notFoundBody) == #"Error from server (NotFound): pods "redis-9" not found"#)
        #expect(f(404, notFoundBody) == KubectlError.classify(stderr: #"Error from server (NotFound): pods "redis-9" not found"#, exitCode: 1))
        #expect(f(401, #"{"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#).kind == .unauthorized)
        #expect(stderr(401, "") == "error: You must be logged in to the server (Unauthorized)")
        let forbidden = f(403, #"{"kind":"Status","status":"Failure","message":"pods \"redis-0\" is forbidden: User \"oncall-viewer\" cannot get resource \"pods/log\"","reason":"Forbidden","code":403}"#)
        #expect(forbidden.kind == .forbidden && forbidden.message.contains("oncall-viewer"))
        #expect(stderr(500, "dial tcp 127.0.0.1:6443: connect: connection refused\n")
            == "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
        #expect(f(500, "dial tcp 127.0.0.1:6443: connect: connection refused").message == "Cannot reach the API server: connection refused (127.0.0.1:6443)")
        #expect(f(500, "tls: failed to verify certificate: x509: certificate signed by unknown authority").kind == .certificate)
        #expect(stderr(500, "net/http: TLS handshake timeout") == "Unable to connect to the server: net/http: TLS handshake timeout")
        #expect(f(500, "net/http: TLS handshake timeout").kind == .tlsHandshakeTimeout)
        let internalError = f(500, #"{"kind":"Status","status":"Failure","message":"etcdserver: leader changed","reason":"InternalError","code":500}"#)
        #expect(internalError.kind == .serverError)
        let previous = f(400, #"{"kind":"Status","status":"Failure","message":"previous terminated container \"redis\" in pod \"redis-0\" not found","reason":"BadRequest","code":400}"#)
        #expect(previous.message.contains("previous terminated container") && ClusterAccess.state(for: previous.kind) == nil)
        // The proxy's own refusal of exec: plain text.
        #expect(f(403, "Forbidden").kind == .forbidden)
    }
}
