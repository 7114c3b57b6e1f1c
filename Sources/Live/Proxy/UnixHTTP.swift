import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 client over a Unix domain socket: how the tool talks to the one
/// `kubectl proxy --unix-socket` it runs (see `KubeProxy`). It owns no credentials and no TLS:
/// kubectl holds those. One connection per request (`Connection: close`); bodies framed by
/// Content-Length, chunked transfer coding, or the end of the connection.
///
/// Owns: sockets and HTTP framing. Must not: spawn processes, know Kubernetes objects.
/// Calls block; `AsyncUnixHTTP` runs them on a dispatch queue, off Swift's cooperative pool.
public enum UnixHTTP {
    public struct Response: Sendable {
        public var status: Int
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable { case connect, timeout, protocolError, closed }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    /// An open request: the status line and headers are read; the body is read with `next`.
    public final class Connection: @unchecked Sendable {
        let fd: Int32
        private var buffer: [UInt8] = []
        public private(set) var status = 0
        public private(set) var headers: [String: String] = [:]
        private var chunked = false
        private var remaining: Int?            // Content-Length left, nil when not framed by it
        private var chunkLeft = 0              // bytes left in the current chunk
        private var finished = false
        private let closeLock = NSLock()
        private var closed = false

        init(fd: Int32) { self.fd = fd }
        deinit { close() }

        /// Closes the socket; a `next` blocked in another thread returns at once.
        public func close() {
            closeLock.lock(); defer { closeLock.unlock() }
            guard !closed else { return }
            closed = true
            shutdown(fd, Int32(SHUT_RDWR))
            Glibc.close(fd)
        }

        /// More body bytes, or nil at the end of the body. Waits at most `timeout` seconds for
        /// data to arrive (throws `.timeout`).
        public func next(timeout: Double) throws -> [UInt8]? {
            if finished { return nil }
            if chunked { return try nextChunked(timeout: timeout) }
            if let r = remaining {
                if r == 0 { finished = true; return nil }
                if buffer.isEmpty { guard try fill(timeout: timeout) else { throw UnixHTTP.failure(.closed, "connection closed before the body ended") } }
                let n = min(r, buffer.count)
                let out = Array(buffer.prefix(n))
                buffer.removeFirst(n)
                remaining = r - n
                return out
            }
            if buffer.isEmpty { guard try fill(timeout: timeout) else { finished = true; return nil } }
            let out = buffer; buffer = []
            return out
        }

        private func nextChunked(timeout: Double) throws -> [UInt8]? {
            if chunkLeft == 0 {
                let line = try readLine(timeout: timeout)
                let sizeText = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard let size = Int(sizeText, radix: 16) else { throw UnixHTTP.failure(.protocolError, "bad chunk size \(sizeText.prefix(20))") }
                if size == 0 {
                    // Trailers until the empty line.
                    while try !readLine(timeout: timeout).isEmpty {}
                    finished = true
                    return nil
                }
                chunkLeft = size
            }
            if buffer.isEmpty { guard try fill(timeout: timeout) else { throw UnixHTTP.failure(.closed, "connection closed inside a chunk") } }
            let n = min(chunkLeft, buffer.count)
            let out = Array(buffer.prefix(n))
            buffer.removeFirst(n)
            chunkLeft -= n
            if chunkLeft == 0 { _ = try readLine(timeout: timeout) }   // the CRLF after the chunk data
            return out
        }

        func readHead(timeout: Double) throws {
            let statusLine = try readLine(timeout: timeout)
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
                throw UnixHTTP.failure(.protocolError, "not an HTTP response: \(statusLine.prefix(60))")
            }
            status = code
            while true {
                let l = try readLine(timeout: timeout)
                if l.isEmpty { break }
                guard let colon = l.firstIndex(of: ":") else { continue }
                headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") == true
            if !chunked, let cl = headers["content-length"].flatMap({ Int($0) }) { remaining = cl }
        }

        /// One CRLF- (or LF-) terminated line, without the terminator.
        private func readLine(timeout: Double) throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            var scanned = 0
            while true {
                if let nl = buffer[scanned...].firstIndex(of: 0x0A) {
                    var line = Array(buffer[..<nl])
                    if line.last == 0x0D { line.removeLast() }
                    buffer.removeFirst(nl + 1)
                    return String(decoding: line, as: UTF8.self)
                }
                scanned = buffer.count
                if buffer.count > 64 << 10 { throw UnixHTTP.failure(.protocolError, "header line longer than 64 KiB") }
                guard try fill(timeout: max(0.001, deadline.timeIntervalSinceNow)) else {
                    throw UnixHTTP.failure(.closed, "connection closed by the proxy")
                }
            }
        }

        /// Reads what is there into the buffer; false at end of stream.
        private func fill(timeout: Double) throws -> Bool {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, min(timeout * 1000, Double(Int32.max))))
            var rc: Int32
            repeat { rc = poll(&p, 1, ms) } while rc < 0 && errno == EINTR
            if rc == 0 { throw UnixHTTP.failure(.timeout, "no answer within \(Self.seconds(timeout))") }
            if rc < 0 { throw UnixHTTP.failure(.closed, "poll: \(String(cString: strerror(errno)))") }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            var n: Int
            repeat { n = read(fd, &chunk, chunk.count) } while n < 0 && errno == EINTR
            if n < 0 { throw UnixHTTP.failure(.closed, "read: \(String(cString: strerror(errno)))") }
            if n == 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }

        static func seconds(_ t: Double) -> String { t == t.rounded() ? "\(Int(t))s" : String(format: "%.1fs", t) }
    }

    static func failure(_ kind: Failure.Kind, _ message: String) -> Failure { Failure(kind: kind, message: message) }

    /// Connects and sends `GET path`; returns once the status line and headers are read.
    public static func open(socket path: String, target: String, accept: String = "application/json", timeout: Double) throws -> Connection {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure(.connect, "socket: \(String(cString: strerror(errno)))") }
        let conn = Connection(fd: fd)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw failure(.connect, "socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw failure(.connect, "cannot connect to \(path): \(String(cString: strerror(errno)))") }
        let request = "GET \(target) HTTP/1.1\r\nHost: localhost\r\nAccept: \(accept)\r\nUser-Agent: redis-runbook\r\nConnection: close\r\n\r\n"
        var data = Array(request.utf8)
        var off = 0
        while off < data.count {
            let n = data.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 { if errno == EINTR { continue }; throw failure(.closed, "write: \(String(cString: strerror(errno)))") }
            off += n
        }
        data.removeAll()
        try conn.readHead(timeout: timeout)
        return conn
    }

    /// `GET target`, the whole body, all within `timeout` seconds; bodies over `limit` are an error.
    public static func get(socket path: String, target: String, accept: String = "application/json", timeout: Double,
                           limit: Int = 64 << 20) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        let c = try open(socket: path, target: target, accept: accept, timeout: timeout)
        defer { c.close() }
        var body: [UInt8] = []
        while let part = try c.next(timeout: max(0.001, deadline.timeIntervalSinceNow)) {
            body += part
            if body.count > limit { throw failure(.protocolError, "answer larger than \(limit >> 20) MiB") }
        }
        return Response(status: c.status, headers: c.headers, body: Data(body))
    }
}

/// `UnixHTTP.get` for async callers: the blocking call runs on a dispatch queue.
public enum AsyncUnixHTTP {
    static let queue = DispatchQueue(label: "redis-runbook.unix-http", attributes: .concurrent)

    public static func get(socket: String, target: String, accept: String = "application/json", timeout: Double) async -> Result<UnixHTTP.Response, UnixHTTP.Failure> {
        await withCheckedContinuation { c in
            queue.async {
                do { c.resume(returning: .success(try UnixHTTP.get(socket: socket, target: target, accept: accept, timeout: timeout))) }
                catch let e as UnixHTTP.Failure { c.resume(returning: .failure(e)) }
                catch { c.resume(returning: .failure(UnixHTTP.Failure(kind: .protocolError, message: "\(error)"))) }
            }
        }
    }
}
