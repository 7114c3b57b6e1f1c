import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 client over a Unix domain socket: how the tool talks to the one
/// `kubectl proxy --unix-socket` it runs (see `KubeProxy`). It owns no credentials and no TLS:
/// kubectl holds those. One connection per request (`Connection: close`); bodies framed by
/// Content-Length, chunked transfer coding, or the end of the connection. Every read has a
/// deadline: a silent server is a `.timeout`, never a hang.
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
        public enum Kind: Sendable, Equatable {
            /// The socket is not there or nobody listens on it (the proxy is not serving).
            case connect
            /// Nothing arrived before the deadline.
            case timeout
            /// The bytes are not HTTP/1.1 as framed (or too large).
            case protocolError
            /// The connection ended before the answer did.
            case closed
        }
        public var kind: Kind
        public var message: String
        /// For `.timeout`: true when the status line and headers had arrived (the body was late).
        public var headersRead = false
        public init(kind: Kind, message: String, headersRead: Bool = false) {
            self.kind = kind; self.message = message; self.headersRead = headersRead
        }
        public var description: String { message }
    }

    /// An open request: the status line and headers are read; the body is read with `next`.
    public final class Connection: @unchecked Sendable {
        let fd: Int32
        private var buffer: [UInt8] = []
        public private(set) var status = 0
        public private(set) var headers: [String: String] = [:]
        private var headRead = false
        private var chunked = false
        private var remaining: Int?            // Content-Length left, nil when not framed by it
        private var chunkLeft = 0              // bytes left in the current chunk
        private var finished = false
        private let closeLock = NSLock()
        private var closed = false

        init(fd: Int32) { self.fd = fd }
        deinit { close() }

        /// Wakes a `next` blocked in another thread (it sees the end of the stream) without
        /// closing the descriptor: only the thread that reads may close it, or a descriptor
        /// number reused by another connection in between would be read by the wrong reader.
        public func interrupt() {
            closeLock.lock(); defer { closeLock.unlock() }
            guard !closed else { return }
            shutdown(fd, Int32(SHUT_RDWR))
        }

        /// Closes the socket. Call it from the thread that reads it (`interrupt` from any other).
        public func close() {
            closeLock.lock(); defer { closeLock.unlock() }
            guard !closed else { return }
            closed = true
            shutdown(fd, Int32(SHUT_RDWR))
            Glibc.close(fd)
        }

        /// More body bytes, or nil at the end of the body. Waits at most `timeout` seconds for
        /// them (throws `.timeout`).
        public func next(timeout: Double) throws -> [UInt8]? {
            try next(until: Date().addingTimeInterval(timeout))
        }

        func next(until deadline: Date) throws -> [UInt8]? {
            if finished { return nil }
            if chunked { return try nextChunked(until: deadline) }
            if let r = remaining {
                if r == 0 { finished = true; return nil }
                if buffer.isEmpty { guard try fill(until: deadline) else { throw UnixHTTP.failure(.closed, "connection closed before the body ended") } }
                let n = min(r, buffer.count)
                let out = Array(buffer.prefix(n))
                buffer.removeFirst(n)
                remaining = r - n
                return out
            }
            // Neither Content-Length nor chunked: the body ends when the server closes.
            if buffer.isEmpty { guard try fill(until: deadline) else { finished = true; return nil } }
            let out = buffer; buffer = []
            return out
        }

        private func nextChunked(until deadline: Date) throws -> [UInt8]? {
            if chunkLeft == 0 {
                let line = try readLine(until: deadline)
                let sizeText = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard let size = Int(sizeText, radix: 16), size >= 0 else { throw UnixHTTP.failure(.protocolError, "bad chunk size \(sizeText.prefix(20))") }
                if size == 0 {
                    // Trailers until the empty line.
                    while try !readLine(until: deadline).isEmpty {}
                    finished = true
                    return nil
                }
                chunkLeft = size
            }
            if buffer.isEmpty { guard try fill(until: deadline) else { throw UnixHTTP.failure(.closed, "connection closed inside a chunk") } }
            let n = min(chunkLeft, buffer.count)
            let out = Array(buffer.prefix(n))
            buffer.removeFirst(n)
            chunkLeft -= n
            if chunkLeft == 0 {
                // The CRLF after the chunk data.
                guard try readLine(until: deadline).isEmpty else { throw UnixHTTP.failure(.protocolError, "chunk longer than its size") }
            }
            return out
        }

        func readHead(until deadline: Date) throws {
            var statusLine = try readLine(until: deadline)
            while statusLine.isEmpty { statusLine = try readLine(until: deadline) }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
                throw UnixHTTP.failure(.protocolError, "not an HTTP response: \(statusLine.prefix(60))")
            }
            status = code
            while true {
                let l = try readLine(until: deadline)
                if l.isEmpty { break }
                guard let colon = l.firstIndex(of: ":") else { continue }
                headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            headRead = true
            chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") == true
            if !chunked, let cl = headers["content-length"].flatMap({ Int($0) }), cl >= 0 { remaining = cl }
            // No body for 1xx, 204 and 304.
            if (100..<200).contains(code) || code == 204 || code == 304 { finished = true }
        }

        /// One CRLF- (or LF-) terminated line, without the terminator.
        private func readLine(until deadline: Date) throws -> String {
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
                guard try fill(until: deadline) else {
                    throw UnixHTTP.failure(.closed, "connection closed by the proxy")
                }
            }
        }

        /// Reads what is there into the buffer; false at end of stream.
        private func fill(until deadline: Date) throws -> Bool {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var rc: Int32 = 0
            while true {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { rc = 0; break }
                rc = poll(&p, 1, Int32(max(1, min(left * 1000, 3_600_000))))
                if rc > 0 || (rc < 0 && errno != EINTR) { break }
                // A time-out of poll's own (it may wake a little early) or EINTR: wait out the rest.
            }
            if rc == 0 { throw Failure(kind: .timeout, message: "no answer in time", headersRead: headRead) }
            if rc < 0 { throw UnixHTTP.failure(.closed, "poll: \(String(cString: strerror(errno)))") }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            var n: Int
            repeat { n = read(fd, &chunk, chunk.count) } while n < 0 && errno == EINTR
            if n < 0 { throw UnixHTTP.failure(.closed, "read: \(String(cString: strerror(errno)))") }
            if n == 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    static func failure(_ kind: Failure.Kind, _ message: String) -> Failure { Failure(kind: kind, message: message) }

    /// Connects to the socket at `path` and sends `GET target`; returns once the status line and
    /// headers are read, within `timeout` seconds.
    public static func open(socket path: String, target: String, accept: String = "application/json", timeout: Double) throws -> Connection {
        try open(socket: path, target: target, accept: accept, until: Date().addingTimeInterval(timeout))
    }

    static func open(socket path: String, target: String, accept: String, until deadline: Date) throws -> Connection {
        guard target.hasPrefix("/"), !target.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " }) else {
            throw failure(.protocolError, "not a request path: \(target.prefix(60))")
        }
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
        let data = Array(request.utf8)
        var off = 0
        while off < data.count {
            let n = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw failure(.closed, "write: \(String(cString: strerror(errno)))") }
            off += n
        }
        try conn.readHead(until: deadline)
        return conn
    }

    /// `GET target`, the whole answer within `timeout` seconds; bodies over `limit` bytes are an error.
    public static func get(socket path: String, target: String, accept: String = "application/json", timeout: Double,
                           limit: Int = 64 << 20) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        let c = try open(socket: path, target: target, accept: accept, until: deadline)
        defer { c.close() }
        var body: [UInt8] = []
        while let part = try c.next(until: deadline) {
            body += part
            if body.count > limit { throw failure(.protocolError, "answer larger than \(limit) bytes") }
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
