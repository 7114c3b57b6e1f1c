import Diagnosis
import Foundation
import Testing
@testable import Live
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot HTTP server on a Unix socket that answers every connection with `response`
/// (bytes as given, so framing can be exercised exactly), for the client's framing only; the
/// end-to-end tests use the real `kubectl proxy`.
final class CannedSocketServer: @unchecked Sendable {
    let path: String
    let fd: Int32
    var requests: [String] = []
    let lock = NSLock()

    init(responses: [[UInt8]], delayBeforeAnswer: Double = 0) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("canned-\(UUID().uuidString.prefix(8)).sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.path = path
        self.fd = fd
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, listen(fd, 8) == 0 else { throw UnixHTTP.Failure(kind: .connect, message: "bind") }
        Thread {
            for r in responses {
                let c = accept(fd, nil, nil)
                guard c >= 0 else { return }
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(c, &buf, buf.count)
                self.lock.withLock { self.requests.append(String(decoding: buf[0..<max(0, n)], as: UTF8.self)) }
                if delayBeforeAnswer > 0 { usleep(UInt32(delayBeforeAnswer * 1_000_000)) }
                _ = r.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
                close(c)
            }
        }.start()
    }

    deinit { close(fd); unlink(path) }
}

@Suite struct ProxyClientTests {
    @Test func chunkedBodiesAreReassembledAndTheRequestIsAPlainGET() throws {
        let resp = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;ext=1\r\n12}\r\n0\r\n\r\n".utf8)
        let s = try CannedSocketServer(responses: [resp])
        let r = try UnixHTTP.get(socket: s.path, target: "/api/v1/namespaces/default/pods/redis-0", timeout: 5)
        #expect(r.status == 200)
        #expect(r.text == "{\"a\":12}")
        #expect(r.headers["content-type"] == "application/json")
        let req = s.lock.withLock { s.requests.first ?? "" }
        #expect(req.hasPrefix("GET /api/v1/namespaces/default/pods/redis-0 HTTP/1.1\r\n"))
        #expect(req.contains("Connection: close\r\n"))
    }

    @Test func contentLengthAndBodyUntilClose() throws {
        let s = try CannedSocketServer(responses: [
            Array("HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nabcdEXTRA".utf8),
            Array("HTTP/1.1 500 Internal Server Error\r\n\r\ndial tcp 127.0.0.1:6443: connect: connection refused\n".utf8),
        ])
        let a = try UnixHTTP.get(socket: s.path, target: "/x", timeout: 5)
        #expect(a.status == 404 && a.text == "abcd")
        let b = try UnixHTTP.get(socket: s.path, target: "/y", timeout: 5)
        #expect(b.status == 500 && b.text.contains("connection refused"))
    }

    @Test func aSilentServerIsATimeoutNotAHang() throws {
        let s = try CannedSocketServer(responses: [Array("HTTP/1.1 200 OK\r\n\r\n".utf8)], delayBeforeAnswer: 3)
        let start = Date()
        #expect(throws: UnixHTTP.Failure.self) { try UnixHTTP.get(socket: s.path, target: "/version", timeout: 0.3) }
        #expect(Date().timeIntervalSince(start) < 2)
        do { _ = try UnixHTTP.get(socket: "/nonexistent/api.sock", target: "/", timeout: 1) } catch let e as UnixHTTP.Failure {
            #expect(e.kind == .connect)
        }
    }

    /// What the proxy passes back is classified as a failed kubectl call would be.
    @Test func answersMapToTheSameFailureKindsAsKubectl() {
        func f(_ status: Int, _ body: String) -> Failure { APIClient.failure(status: status, body: Data(body.utf8), contentType: nil) }
        let notFound = f(404, #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"redis-9\" not found","reason":"NotFound","code":404}"#)
        #expect(notFound.kind == "notFound" && notFound.message.contains(#"pods "redis-9" not found"#))
        let unauthorized = f(401, #"{"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#)
        #expect(unauthorized.kind == "unauthorized")
        let forbidden = f(403, #"{"kind":"Status","status":"Failure","message":"pods \"redis-0\" is forbidden: User \"oncall-viewer\" cannot get resource \"pods/log\"","reason":"Forbidden","code":403}"#)
        #expect(forbidden.kind == "forbidden" && forbidden.message.contains("oncall-viewer"))
        let refused = f(500, "dial tcp 127.0.0.1:6443: connect: connection refused")
        #expect(refused.kind == "connectionRefused")
        #expect(ClusterAccess.state(for: .connectionRefused) == .refused)
        let tls = f(500, "tls: failed to verify certificate: x509: certificate signed by unknown authority")
        #expect(tls.kind == "certificate")
        let previous = f(400, #"{"kind":"Status","status":"Failure","message":"previous terminated container \"redis\" in pod \"redis-0\" not found","reason":"BadRequest","code":400}"#)
        #expect(previous.message.contains("previous terminated container"))
        #expect(!ClusterReader.isClusterFailure(previous))
        #expect(ClusterReader.isClusterFailure(refused))
    }
}
