import Foundation

/// List-then-watch of the objects one selector picks (a pod by name, its node, its events),
/// as client-go's reflector does it, through the proxy: one LIST at start for the current state
/// and a resourceVersion, then `?watch=1&resourceVersion=RV&allowWatchBookmarks=true`, picked up
/// again from the last resourceVersion when the server ends the watch (`timeoutSeconds`), and a
/// new LIST only when the server says that version is gone (410 Expired).
///
/// Owns: one reader thread and its connection; what it read waits in a queue for `poll`.
/// Must not: decode the objects (the caller knows their type) or decide freshness (the caller
/// combines `lastHeard` with the cluster's liveness).
public final class APIWatch: @unchecked Sendable {
    public enum Delivery: Sendable {
        /// A LIST body: the complete current set (replaces what the caller had).
        case list(Data)
        /// An ADDED or MODIFIED watch event line (`{"type":..,"object":..}`).
        case upsert(Data)
        /// A DELETED watch event line.
        case delete(Data)
    }

    public let path: String
    public let selector: String
    private let socket: @Sendable () -> String?
    private let requestTimeout: Double
    private let lock = NSLock()
    private var queue: [Delivery] = []
    private var thread: Thread?
    private var stopped = false
    private var conn: UnixHTTP.Connection?
    private var _lastHeard: Date?
    private var _connected = false
    private var _lastFailure: Failure?
    private var _requests: [String: Int] = [:]

    /// `path`: the collection (e.g. `/api/v1/namespaces/ns/pods`); `selector`: a field selector
    /// (e.g. `metadata.name=redis-0`). `socket` gives the proxy's socket when it serves.
    public init(path: String, selector: String, requestTimeout: Double = 5, socket: @escaping @Sendable () -> String?) {
        self.path = path
        self.selector = selector
        self.requestTimeout = requestTimeout
        self.socket = socket
    }

    deinit { stop() }

    /// When the server last said anything on this watch (an event, a bookmark, a list).
    public var lastHeard: Date? { lock.withLock { _lastHeard } }
    /// True while a watch stream is open.
    public var connected: Bool { lock.withLock { _connected } }
    public var lastFailure: Failure? { lock.withLock { _lastFailure } }
    /// Requests made, by verb ("LIST", "WATCH").
    public var requests: [String: Int] { lock.withLock { _requests } }

    /// What arrived since the last call; starts the reader on first use.
    public func poll() -> [Delivery] {
        lock.lock(); defer { lock.unlock() }
        if thread == nil && !stopped {
            let t = Thread { [weak self] in self?.run() }
            t.name = "watch \(selector)"
            thread = t
            t.start()
        }
        let out = queue
        queue = []
        return out
    }

    public func stop() {
        lock.lock()
        stopped = true
        let c = conn
        conn = nil
        _connected = false
        lock.unlock()
        c?.close()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func deliver(_ d: Delivery) {
        lock.withLock {
            queue.append(d)
            if queue.count > 5000 { queue.removeFirst(queue.count - 5000) }
            _lastHeard = Date()
            _lastFailure = nil
        }
    }

    private func fail(_ f: Failure) { lock.withLock { _lastFailure = f; _connected = false } }

    private func count(_ verb: String) { lock.withLock { _requests[verb, default: 0] += 1 } }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    private struct Meta: Decodable { var resourceVersion: String? }
    private struct ListHead: Decodable { var kind: String?; var metadata: Meta? }
    private struct EventHead: Decodable {
        struct Object: Decodable { var metadata: Meta?; var code: Int?; var reason: String?; var message: String? }
        var type: String?
        var object: Object?
    }

    private func run() {
        var rv: String?
        var backoff = 0.5
        while !isStopped {
            guard let sock = socket() else {
                sleep(backoff); backoff = min(backoff * 2, 10); continue
            }
            if rv == nil {
                count("LIST")
                let target = "\(path)?fieldSelector=\(Self.encode(selector))"
                do {
                    let r = try UnixHTTP.get(socket: sock, target: target, timeout: requestTimeout)
                    guard (200..<300).contains(r.status) else {
                        fail(APIClient.failure(status: r.status, body: r.body, contentType: r.headers["content-type"]))
                        sleep(backoff); backoff = min(backoff * 2, 10); continue
                    }
                    rv = (try? JSONDecoder().decode(ListHead.self, from: r.body))?.metadata?.resourceVersion ?? "0"
                    deliver(.list(r.body))
                } catch let e as UnixHTTP.Failure {
                    fail(APIClient.failure(e, timeout: requestTimeout))
                    sleep(backoff); backoff = min(backoff * 2, 10); continue
                } catch {
                    fail(Failure(message: "\(error)", kind: nil)); sleep(backoff); continue
                }
            }
            count("WATCH")
            let target = "\(path)?fieldSelector=\(Self.encode(selector))&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=\(Self.encode(rv ?? "0"))"
            do {
                let c = try UnixHTTP.open(socket: sock, target: target, timeout: requestTimeout)
                guard (200..<300).contains(c.status) else {
                    var body: [UInt8] = []
                    while let part = try? c.next(timeout: requestTimeout), body.count < 64 << 10 { body += part }
                    c.close()
                    let f = APIClient.failure(status: c.status, body: Data(body), contentType: c.headers["content-type"])
                    if c.status == 410 { rv = nil; continue }
                    fail(f)
                    sleep(backoff); backoff = min(backoff * 2, 10); continue
                }
                lock.withLock { conn = c; _connected = true; _lastHeard = Date(); _lastFailure = nil }
                backoff = 0.5
                var pending: [UInt8] = []
                reading: while !isStopped {
                    guard let part = try c.next(timeout: 24 * 3600) else { break }
                    pending += part
                    while let nl = pending.firstIndex(of: 0x0A) {
                        let line = Data(pending[..<nl])
                        pending.removeFirst(nl + 1)
                        guard !line.isEmpty, let ev = try? JSONDecoder().decode(EventHead.self, from: line) else { continue }
                        if let v = ev.object?.metadata?.resourceVersion, !v.isEmpty { rv = v }
                        switch ev.type {
                        case "ADDED", "MODIFIED": deliver(.upsert(line))
                        case "DELETED": deliver(.delete(line))
                        case "BOOKMARK": lock.withLock { _lastHeard = Date() }
                        case "ERROR":
                            if ev.object?.code == 410 { rv = nil }
                            else { fail(Failure(message: "watch error: \(ev.object?.message ?? "unknown")", kind: nil)) }
                            break reading
                        default: continue
                        }
                    }
                }
                lock.withLock { if conn === c { conn = nil }; _connected = false }
                c.close()
            } catch let e as UnixHTTP.Failure {
                fail(APIClient.failure(e, timeout: requestTimeout))
                sleep(backoff); backoff = min(backoff * 2, 10)
            } catch {
                fail(Failure(message: "\(error)", kind: nil)); sleep(backoff)
            }
        }
    }

    /// Sleeps in small steps so `stop` is not held up.
    private func sleep(_ seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        while !isStopped, Date() < end { usleep(50_000) }
    }
}

/// Decoding helpers for what `APIWatch` delivers.
public enum APIObjects {
    struct ListOf<T: Decodable>: Decodable { var items: [T]? }
    struct EventOf<T: Decodable>: Decodable { var object: T? }

    public static func items<T: Decodable>(_ type: T.Type, list: Data) -> [T]? {
        (try? JSONDecoder().decode(ListOf<T>.self, from: list))?.items
    }

    public static func object<T: Decodable>(_ type: T.Type, event: Data) -> T? {
        (try? JSONDecoder().decode(EventOf<T>.self, from: event))?.object
    }
}
