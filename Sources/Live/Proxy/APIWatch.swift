import Diagnosis
import Foundation

/// List-then-watch of the objects one field selector picks (a pod by name, its node, its
/// events), as client-go's reflector does it, through the proxy: one LIST for the current state
/// and its resourceVersion, then `?watch=1&allowWatchBookmarks=true&resourceVersion=RV`, picked
/// up again from the last resourceVersion seen (an event's or a bookmark's) when the server ends
/// the watch, and a new LIST only when the server says that version is gone (410 Expired).
///
/// Owns: one reader thread and its connection; what it read waits in a queue for `poll`.
/// Must not: decode the objects (the caller knows their type) or decide freshness (the caller
/// combines `lastHeard` and `connected` with the cluster's liveness).
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
    /// The server ends each watch after this many seconds; it is then resumed from the last version.
    public let watchSeconds: Int
    private let proxy: KubeProxy
    private let requestTimeout: Double
    private let lock = NSLock()
    private var queue: [Delivery] = []
    private var thread: Thread?
    private var stopped = false
    private var conn: UnixHTTP.Connection?
    private var _lastHeard: Date?
    private var _connected = false
    private var _lastFailure: KubectlError?
    private var _lastFailureAt: Date?
    private var _requests: [String: Int] = [:]
    private var _resourceVersion: String?
    private var woken = false
    /// The first WATCH waits until `releaseWatch` or this time (`holdWatch`).
    private var holdUntil: Date?
    /// `reconnect` closed the stream: the reader's error on it is ours, not the server's.
    private var reconnecting = false
    private let done = DispatchSemaphore(value: 0)

    /// `path`: the collection (e.g. `/api/v1/namespaces/ns/pods`); `selector`: a field selector
    /// (e.g. `metadata.name=redis-0`).
    public init(path: String, selector: String, proxy: KubeProxy, requestTimeout: Double = 5, watchSeconds: Int = 300) {
        self.path = path
        self.selector = selector
        self.proxy = proxy
        self.requestTimeout = requestTimeout
        self.watchSeconds = watchSeconds
    }

    deinit { stop() }

    /// When the server last said anything on this watch (a list, an event, a bookmark).
    public var lastHeard: Date? { lock.withLock { _lastHeard } }
    /// True while a watch stream is open.
    public var connected: Bool { lock.withLock { _connected } }
    /// Why the last LIST or WATCH failed, as kubectl would have said it; nil once one succeeds
    /// (or `reconnect` is asked: the server answers again).
    public var lastFailure: KubectlError? { lock.withLock { _lastFailure } }
    /// When `lastFailure` happened.
    public var lastFailureAt: Date? { lock.withLock { _lastFailure == nil ? nil : _lastFailureAt } }
    /// Requests made, by verb ("LIST", "WATCH").
    public var requests: [String: Int] { lock.withLock { _requests } }
    /// The resourceVersion the next watch starts from.
    public var resourceVersion: String? { lock.withLock { _resourceVersion } }

    /// What arrived since the last call; starts the reader on first use.
    public func poll() -> [Delivery] {
        lock.lock(); defer { lock.unlock() }
        startLocked()
        let out = queue
        queue = []
        return out
    }

    /// Starts the reader (its LIST) now, without taking anything.
    public func start() { lock.withLock { startLocked() } }

    private func startLocked() {
        guard thread == nil && !stopped else { return }
        let t = Thread { [weak self] in self?.run(); self?.done.signal() }
        t.name = "watch \(selector)"
        thread = t
        t.start()
    }

    /// The first WATCH (after the LIST) waits until `releaseWatch`, at most `seconds`: the
    /// dashboard's first screen does not share the proxy's new TLS connections to the API server
    /// with streams it does not wait for. The watch then starts from the LIST's resourceVersion,
    /// so nothing that changed in between is missed.
    public func holdWatch(upTo seconds: Double) { lock.withLock { holdUntil = Date().addingTimeInterval(seconds) } }
    public func releaseWatch() { lock.withLock { holdUntil = nil } }

    /// Ends a back-off wait now (the API server answered again elsewhere).
    public func wake() { lock.withLock { woken = true } }

    /// Drops the open stream (one attached to a connection that hung may never deliver again)
    /// and watches again at once from the last resourceVersion; no new LIST. The last failure
    /// is history: the caller knows the server answers again.
    public func reconnect() {
        let c: UnixHTTP.Connection? = lock.withLock {
            woken = true
            _lastFailure = nil
            guard let c = conn else { return nil }
            reconnecting = true
            conn = nil; _connected = false
            return c
        }
        c?.interrupt()   // the reader sees the stream end, closes it and watches again
    }

    /// Ends the connection; the reader thread closes it and ends soon after (see `stopAndWait`).
    public func stop() {
        let c: UnixHTTP.Connection? = lock.withLock {
            stopped = true
            _connected = false
            defer { conn = nil }
            return conn
        }
        c?.interrupt()
    }

    /// `stop`, then waits up to `timeout` seconds for the reader thread to end; false if it did not.
    public func stopAndWait(timeout: Double = 5) -> Bool {
        stop()
        let started = lock.withLock { thread != nil }
        return !started || done.wait(timeout: .now() + timeout) == .success
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

    private func fail(_ f: KubectlError) { lock.withLock { _lastFailure = f; _lastFailureAt = Date(); _connected = false } }

    private func count(_ verb: String) { lock.withLock { _requests[verb, default: 0] += 1 } }

    /// Percent-encodes a path segment or query value.
    public static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    var listTarget: String { "\(path)?fieldSelector=\(Self.encode(selector))" }

    func watchTarget(from rv: String) -> String {
        "\(listTarget)&watch=1&allowWatchBookmarks=true&timeoutSeconds=\(watchSeconds)&resourceVersion=\(Self.encode(rv))"
    }

    private struct Meta: Decodable { var resourceVersion: String? }
    private struct ListHead: Decodable { var metadata: Meta? }
    private struct EventHead: Decodable {
        struct Object: Decodable { var metadata: Meta?; var code: Int?; var reason: String?; var message: String? }
        var type: String?
        var object: Object?
    }

    private func setVersion(_ rv: String?) { lock.withLock { _resourceVersion = rv } }

    private func run() {
        var backoff = 0.5
        // A wake (the server answers again) ends the wait at once and starts the back-off over.
        func pause() { if sleep(backoff) { backoff = 0.5 } else { backoff = min(backoff * 2, 10) } }
        while !isStopped {
            guard let sock = proxy.currentSocket() else {
                if proxy.lastFailure != nil { fail(APIClient(proxy: proxy).proxyFailure()) }
                // Starting: the first LIST goes out within 2 ms of the proxy serving; failing: 10 ms.
                sleep(proxy.lastFailure == nil ? 0.002 : 0.01); continue
            }
            if resourceVersion == nil {
                count("LIST")
                do {
                    let r = try UnixHTTP.get(socket: sock, target: listTarget, timeout: requestTimeout)
                    guard (200..<300).contains(r.status) else { fail(APIClient.failure(status: r.status, body: r.body)); pause(); continue }
                    let rv = (try? JSONDecoder().decode(ListHead.self, from: r.body))?.metadata?.resourceVersion
                    setVersion(rv?.isEmpty == false ? rv : "0")
                    deliver(.list(r.body))
                } catch let e as UnixHTTP.Failure {
                    if e.kind == .connect { proxy.notServing(e.message) }
                    fail(APIClient.failure(e)); pause(); continue
                } catch {
                    fail(KubectlError(kind: .failed, message: "\(error)", exitCode: 1)); pause(); continue
                }
            }
            while !isStopped, let until = lock.withLock({ holdUntil }), Date() < until { usleep(2_000) }
            lock.withLock { holdUntil = nil }
            count("WATCH")
            do {
                let c = try UnixHTTP.open(socket: sock, target: watchTarget(from: resourceVersion ?? "0"), timeout: requestTimeout)
                guard (200..<300).contains(c.status) else {
                    var body: [UInt8] = []
                    while body.count < 64 << 10, let part = try? c.next(timeout: requestTimeout) { body += part }
                    c.close()
                    if c.status == 410 { setVersion(nil); continue }   // too old: LIST again
                    fail(APIClient.failure(status: c.status, body: Data(body)))
                    pause(); continue
                }
                let keep = lock.withLock { () -> Bool in
                    guard !stopped else { return false }
                    conn = c; _connected = true; _lastHeard = Date(); _lastFailure = nil
                    return true
                }
                guard keep else { c.close(); break }
                backoff = 0.5
                try read(c)
                lock.withLock { if conn === c { conn = nil }; _connected = false; reconnecting = false }
                c.close()
            } catch let e as UnixHTTP.Failure {
                let ours = lock.withLock { () -> Bool in
                    _connected = false; conn = nil
                    defer { reconnecting = false }
                    return reconnecting
                }
                if isStopped { break }
                if ours { continue }
                if e.kind == .connect { proxy.notServing(e.message) }
                fail(APIClient.failure(e)); pause()
            } catch {
                fail(KubectlError(kind: .failed, message: "\(error)", exitCode: 1)); pause()
            }
        }
    }

    /// Reads watch events until the server ends the stream (or `stop`). A stream silent for
    /// longer than the server's own watch time plus a minute is given up.
    private func read(_ c: UnixHTTP.Connection) throws {
        var pending: [UInt8] = []
        while !isStopped {
            guard let part = try c.next(timeout: Double(watchSeconds) + 60) else { return }
            pending += part
            var start = 0
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                let line = Data(pending[start..<nl])
                start = nl + 1
                guard !line.isEmpty, let ev = try? JSONDecoder().decode(EventHead.self, from: line) else { continue }
                switch ev.type {
                case "ADDED", "MODIFIED", "DELETED", "BOOKMARK":
                    if let v = ev.object?.metadata?.resourceVersion, !v.isEmpty { setVersion(v) }
                    if ev.type == "BOOKMARK" { lock.withLock { _lastHeard = Date() } }
                    else { deliver(ev.type == "DELETED" ? .delete(line) : .upsert(line)) }
                case "ERROR":
                    if ev.object?.code == 410 { setVersion(nil) }   // Expired: LIST again
                    else {
                        let reason = ev.object?.reason.flatMap { $0.isEmpty ? nil : $0 } ?? APIClient.reasonName(ev.object?.code ?? 500)
                        fail(KubectlError.classify(stderr: "Error from server (\(reason)): \(ev.object?.message ?? "watch error")", exitCode: 1))
                    }
                    return
                default: continue
                }
            }
            pending.removeFirst(start)
        }
    }

    /// Sleeps in small steps so `stop` and `wake` are not held up.
    /// True when `wake` ended it: a wake that came while the reader was busy (mid-request) ends
    /// the next wait, so it is never lost.
    @discardableResult
    private func sleep(_ seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while !isStopped, Date() < end {
            if lock.withLock({ () -> Bool in defer { woken = false }; return woken }) { return true }
            usleep(useconds_t(max(1_000, min(50_000, end.timeIntervalSinceNow * 1_000_000))))
        }
        return false
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
