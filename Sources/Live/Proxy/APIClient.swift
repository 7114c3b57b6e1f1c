import Diagnosis
import Foundation

/// Reads the API through the proxy: GETs with a deadline, and every failure turned into the
/// `KubectlError` a kubectl process would have given for the same failure: the answer is first
/// rewritten as the stderr kubectl prints for it (`kubectlStderr`), then classified by the one
/// classifier (`KubectlError.classify`), so `ClusterAccess` reads the same whichever path a
/// failure took.
///
/// Owns: request deadlines and error mapping. Must not: keep state about objects.
public struct APIClient: Sendable {
    public let proxy: KubeProxy
    /// Seconds a request may take before the API server counts as not answering.
    public var requestTimeout: Double

    public init(proxy: KubeProxy, requestTimeout: Double = 5) {
        self.proxy = proxy
        self.requestTimeout = requestTimeout
    }

    /// The body of a 2xx answer, or the failure as kubectl's.
    public func get(_ target: String, accept: String = "application/json", timeout: Double? = nil) async -> Result<Data, KubectlError> {
        await request(target, accept: accept, timeout: timeout).mapError(\.error)
    }

    /// A failed request: kubectl's failure for it, and whether it failed before reaching the
    /// cluster (the proxy was not serving, or its socket broke): such a failure says nothing
    /// about the API server either way.
    public struct Failed: Error, Sendable {
        public var error: KubectlError
        public var proxyOnly: Bool
    }

    /// As `get`, telling a failure of the proxy from an answer (or a silence) of the cluster.
    public func request(_ target: String, accept: String = "application/json", timeout: Double? = nil) async -> Result<Data, Failed> {
        let t = timeout ?? requestTimeout
        guard let socket = await proxy.ready(timeout: min(5, t)) else {
            let f = proxyFailure()
            return .failure(Failed(error: f, proxyOnly: f.kind == .failed))
        }
        switch await AsyncUnixHTTP.get(socket: socket, target: target, accept: accept, timeout: t) {
        case .success(let r) where (200..<300).contains(r.status): return .success(r.body)
        case .success(let r): return .failure(Failed(error: Self.failure(status: r.status, body: r.body), proxyOnly: false))
        case .failure(let e):
            if e.kind == .connect { proxy.notServing(e.message) }
            return .failure(Failed(error: Self.failure(e), proxyOnly: e.kind != .timeout))
        }
    }

    /// The proxy is not serving: kubectl's own words when it said why (a bad kubeconfig or
    /// context fails the same for the proxy as for any kubectl call), else a failure that says
    /// nothing about the cluster.
    func proxyFailure() -> KubectlError {
        let text = proxy.lastFailure ?? "kubectl proxy is not serving yet"
        let k = KubectlError.classify(stderr: text, exitCode: 1)
        guard k.kind == .failed else { return k }
        let last = text.split(whereSeparator: \.isNewline).last.map(String.init) ?? text
        return KubectlError(kind: .failed, message: "kubectl proxy is not serving: \(last.prefix(200))", exitCode: 1)
    }

    /// A request that failed below HTTP: a deadline hit reads as kubectl's own time-out
    /// (`--request-timeout`); a socket that is not there is the proxy's failure, not the cluster's.
    public static func failure(_ e: UnixHTTP.Failure) -> KubectlError {
        switch e.kind {
        case .timeout:
            // kubectl 1.33's words for its --request-timeout (Go's http.Client.Timeout).
            let stderr = e.headersRead
                ? "Unable to connect to the server: context deadline exceeded (Client.Timeout or context cancellation while reading body)"
                : "Unable to connect to the server: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            return KubectlError.classify(stderr: stderr, exitCode: 1)
        case .connect, .closed, .protocolError:
            return KubectlError(kind: .failed, message: "kubectl proxy: \(e.message)", exitCode: 1)
        }
    }

    /// A non-2xx answer, classified as kubectl's failure for it.
    public static func failure(status: Int, body: Data) -> KubectlError {
        KubectlError.classify(stderr: kubectlStderr(status: status, body: body), exitCode: 1)
    }

    /// What kubectl prints for this answer: a Kubernetes `Status` from the API server (passed
    /// through by the proxy) as `Error from server (REASON): MESSAGE`; 401 as kubectl's own
    /// sentence; the proxy's own `500 text/plain` (it could not reach the API server: the Go
    /// error) as `Unable to connect to the server: ...`, a refused dial as kubectl's
    /// `The connection to the server HOST was refused ...`.
    public static func kubectlStderr(status: Int, body: Data) -> String {
        struct Status: Decodable { var kind: String?; var message: String?; var reason: String? }
        let text = String(decoding: body.prefix(4000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if status == 401 { return "error: You must be logged in to the server (Unauthorized)" }
        if let s = try? JSONDecoder().decode(Status.self, from: body), s.kind == "Status" {
            let reason = (s.reason?.isEmpty == false ? s.reason : nil) ?? reasonName(status)
            return "Error from server (\(reason)): \(s.message ?? text)"
        }
        if status == 500, !text.isEmpty {
            if let host = refusedDial(text) {
                return "The connection to the server \(host) was refused - did you specify the right host or port?"
            }
            return "Unable to connect to the server: \(text)"
        }
        return "Error from server (\(reasonName(status))): \(text.isEmpty ? "the server answered HTTP \(status)" : text)"
    }

    /// `dial tcp 127.0.0.1:6443: connect: connection refused` → `127.0.0.1:6443`.
    static func refusedDial(_ text: String) -> String? {
        guard text.contains("connection refused"), let r = text.range(of: "dial tcp ") else { return nil }
        let rest = text[r.upperBound...]
        guard let end = rest.range(of: ": connect:") else { return nil }
        let host = rest[..<end.lowerBound]
        return host.isEmpty || host.contains(" ") ? nil : String(host)
    }

    /// The API's reason name for a status code (Kubernetes' `StatusReason`).
    static func reasonName(_ code: Int) -> String {
        switch code {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 406: "NotAcceptable"
        case 409: "Conflict"
        case 410: "Expired"
        case 415: "UnsupportedMediaType"
        case 422: "Invalid"
        case 429: "TooManyRequests"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        case 504: "Timeout"
        default: "Unknown"
        }
    }
}
