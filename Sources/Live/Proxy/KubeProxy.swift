import Diagnosis
import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// The one long-lived kubectl that reads the cluster: `kubectl proxy --unix-socket DIR/api.sock`
/// in a private 0700 directory. Every get and watch of the API goes through it (one process,
/// one authenticated connection pool, whatever auth the kubeconfig uses: tokens, client
/// certificates, exec credential plugins, OIDC), instead of a kubectl process per object.
/// The proxy refuses exec and attach by default; the Redis session stays a `kubectl exec -i`.
///
/// Owns: the proxy process and its socket directory. Must not: speak HTTP (see `APIClient`).
public final class KubeProxy: @unchecked Sendable {
    /// kubectl and its global flags (context, kubeconfig, user); `proxy ...` is appended.
    public let kubectlArgv: [String]
    private let lock = NSLock()
    private var child: Child?
    private let dir: URL
    private var nextStart = Date.distantPast
    private var backoff: TimeInterval = 0.5
    private var startedAt = Date.distantPast
    private let recorder: (any CommandRecorder)?
    /// Why the proxy is not serving (kubectl's own words), nil while it serves.
    public private(set) var lastFailure: String?
    public private(set) var spawns = 0

    public init(kubectlArgv: [String], recorder: (any CommandRecorder)? = nil) {
        self.kubectlArgv = kubectlArgv
        self.recorder = recorder
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("redis-runbook-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    deinit { stopNow() }

    public var socketPath: String { dir.appendingPathComponent("api.sock").path }

    /// The socket when the proxy serves, else nil (without waiting). Restarts a proxy that died,
    /// with back-off.
    public func currentSocket(now: Date = Date()) -> String? {
        lock.lock(); defer { lock.unlock() }
        return checkLocked(now: now)
    }

    /// The socket, waiting up to `timeout` for a (re)started proxy to serve; nil with
    /// `lastFailure` set when it cannot.
    public func ready(timeout: Double = 5) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let s = currentSocket() { return s }
            if Date() >= deadline { return nil }
            let (exited, waitingToRestart) = lock.withLock { (child == nil, Date() < nextStart) }
            if exited, lastFailure != nil, waitingToRestart { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// SIGTERM, a short grace, then SIGKILL; waits for it and removes the directory.
    public func stop() async {
        let c: Child? = lock.withLock { let c = child; child = nil; return c }
        if let c { _ = await c.terminate(grace: .milliseconds(500)) }
        try? FileManager.default.removeItem(at: dir)
    }

    private func stopNow() {
        lock.lock(); let c = child; child = nil; lock.unlock()
        if let c { c.signal(SIGKILL); _ = c.wait() }
        try? FileManager.default.removeItem(at: dir)
    }

    private func checkLocked(now: Date) -> String? {
        if let c = child, let term = c.poll() {
            lastFailure = readErrors() ?? "kubectl proxy ended: \(term)"
            child = nil
            backoff = now.timeIntervalSince(startedAt) > 30 ? 0.5 : min(backoff * 2, 30)
            nextStart = now.addingTimeInterval(backoff)
        }
        if child == nil {
            guard now >= nextStart else { return nil }
            start(now: now)
            return nil
        }
        guard servingLocked() else { return nil }
        lastFailure = nil
        return socketPath
    }

    /// kubectl prints "Starting to serve on PATH" once its listener is up.
    private func servingLocked() -> Bool {
        guard let d = FileManager.default.contents(atPath: dir.appendingPathComponent("out.txt").path) else { return false }
        return String(decoding: d, as: UTF8.self).contains("Starting to serve")
    }

    private func start(now: Date) {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(dir.path, 0o700)
        for f in ["api.sock", "out.txt", "err.txt"] { try? FileManager.default.removeItem(at: dir.appendingPathComponent(f)) }
        startedAt = now
        spawns += 1
        do {
            child = try Child.spawn(kubectlArgv + ["proxy", "--unix-socket", socketPath],
                                    stdoutPath: dir.appendingPathComponent("out.txt").path,
                                    stderrPath: dir.appendingPathComponent("err.txt").path,
                                    newProcessGroup: true, recorder: recorder, label: "proxy")
        } catch {
            lastFailure = "\(error)"
            backoff = min(backoff * 2, 30)
            nextStart = now.addingTimeInterval(backoff)
        }
    }

    private func readErrors() -> String? {
        guard let d = FileManager.default.contents(atPath: dir.appendingPathComponent("err.txt").path), !d.isEmpty else { return nil }
        let s = String(decoding: d.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? nil : s
    }
}

/// Reads the API through the proxy: GETs with a deadline, answers turned into the same
/// classified failures as a failed kubectl call (`KubectlError`), so the cluster state
/// (`ClusterAccess`) reads the same whichever path a failure took.
///
/// Owns: request paths' error mapping. Must not: keep state about objects.
public struct APIClient: Sendable {
    public let proxy: KubeProxy
    /// Seconds a request may take before the API server counts as not answering.
    public var requestTimeout: Double

    public init(proxy: KubeProxy, requestTimeout: Double = 5) {
        self.proxy = proxy
        self.requestTimeout = requestTimeout
    }

    /// The body of a 2xx answer, or the failure.
    public func get(_ target: String, accept: String = "application/json", timeout: Double? = nil) async -> Result<Data, Failure> {
        guard let socket = await proxy.ready(timeout: min(5, timeout ?? requestTimeout)) else {
            return .failure(proxyFailure())
        }
        switch await AsyncUnixHTTP.get(socket: socket, target: target, accept: accept, timeout: timeout ?? requestTimeout) {
        case .success(let r) where (200..<300).contains(r.status): return .success(r.body)
        case .success(let r): return .failure(Self.failure(status: r.status, body: r.body, contentType: r.headers["content-type"]))
        case .failure(let e): return .failure(Self.failure(e, timeout: timeout ?? requestTimeout))
        }
    }

    func proxyFailure() -> Failure {
        let text = proxy.lastFailure ?? "kubectl proxy is starting"
        let k = KubectlError.classify(stderr: text, exitCode: 1)
        return Failure(message: k.kind == .failed ? "kubectl proxy: \(k.message)" : k.message, kind: k.kind == .failed ? nil : k.kind.rawValue)
    }

    static func failure(_ e: UnixHTTP.Failure, timeout: Double) -> Failure {
        switch e.kind {
        case .timeout:
            return Failure(message: "the API server did not answer within \(UnixHTTP.Connection.seconds(timeout))", kind: KubectlError.Kind.timeout.rawValue)
        default:
            return Failure(message: "kubectl proxy: \(e.message)", kind: nil)
        }
    }

    /// A non-2xx answer: a Kubernetes `Status` from the API server (passed through by the proxy),
    /// or the proxy's own plain-text error when it could not reach the server
    /// ("dial tcp 127.0.0.1:6443: connect: connection refused", a certificate error...).
    public static func failure(status: Int, body: Data, contentType: String?) -> Failure {
        struct Status: Decodable { var kind: String?; var message: String?; var reason: String? }
        let text = String(decoding: body.prefix(4000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let stderr: String
        if let s = try? JSONDecoder().decode(Status.self, from: body), s.kind == "Status" {
            // As kubectl prints it, so one classifier reads both paths.
            let reason = s.reason ?? HTTPStatusReason.name(status)
            stderr = status == 401 ? "error: You must be logged in to the server (Unauthorized)" : "Error from server (\(reason)): \(s.message ?? text)"
        } else if status == 401 {
            stderr = "error: You must be logged in to the server (Unauthorized)"
        } else if status == 500, !text.isEmpty {
            stderr = "Unable to connect to the server: \(text)"
        } else {
            stderr = "Error from server (\(HTTPStatusReason.name(status))): \(text.isEmpty ? "HTTP \(status)" : text)"
        }
        let k = KubectlError.classify(stderr: stderr, exitCode: 1)
        return Failure(message: k.message, kind: k.kind.rawValue)
    }
}

enum HTTPStatusReason {
    static func name(_ code: Int) -> String {
        switch code {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 410: "Gone"
        case 429: "TooManyRequests"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        case 504: "Timeout"
        default: "HTTP \(code)"
        }
    }
}
