import Foundation

/// Whether the tool can read the cluster at all: one answer derived from every kubectl result of
/// a refresh (the pod, node and events reads, the exporter read through the API server's proxy,
/// the `kubectl exec` session). While it is not `reachable`, nothing is concluded about Redis or
/// the exporter from data that is missing only because the API server did not answer.
public struct ClusterAccess: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// The API server answers (RBAC may still deny single reads: see `errors`).
        case reachable
        /// TCP connection refused: the API server is down, or the kubeconfig points elsewhere.
        case refused
        /// No answer in time: a hung or overloaded API server, or a network problem.
        case timedOut = "timed-out"
        /// 401: the credentials are missing or expired.
        case unauthorized
        /// 403 on the pod itself: this user may not read the target at all.
        case forbidden
        /// The server's certificate is not trusted (wrong CA in the kubeconfig, a proxy in between).
        case tls
    }
    public var state: State
    /// kubectl's own message for the failure (nil when reachable).
    public var message: String?
    /// When the current state began (RFC 3339): the first snapshot that saw it.
    public var since: String?
    /// While not reachable: when the findings shown were last computed from live data (RFC 3339).
    public var findingsFrom: String?

    public init(state: State, message: String? = nil, since: String? = nil, findingsFrom: String? = nil) {
        self.state = state; self.message = message; self.since = since; self.findingsFrom = findingsFrom
    }

    public var isReachable: Bool { state == .reachable }

    public enum CodingKeys: String, CodingKey { case state, message, since, findingsFrom }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(message, forKey: .message)
        try c.encode(since, forKey: .since)
        try c.encode(findingsFrom, forKey: .findingsFrom)
    }

    /// The cluster state a failed kubectl call shows, from its classified kind; nil when the
    /// failure says nothing about reaching the cluster (a pod not found, a container waiting).
    public static func state(for kind: KubectlError.Kind) -> State? {
        switch kind {
        case .connectionRefused: .refused
        case .timeout, .tlsHandshakeTimeout, .serverTimeout: .timedOut
        case .unauthorized: .unauthorized
        case .certificate: .tls
        case .forbidden, .notFound, .containerNotFound, .podNotFound, .containerWaiting, .metricsNotAvailable, .failed, .serverError: nil
        }
    }

    /// One state for a refresh. A source error whose kind means the cluster could not be read
    /// decides it (the pod's own read first, as the one every panel depends on); a forbidden pod
    /// read is `forbidden`; otherwise `reachable`. `since` carries over from `previous` while the
    /// state stays the same. `redisAnswered`: Redis data came back this refresh through
    /// `kubectl exec`, i.e. through the API server: then it answers, whatever a slow read said.
    public static func derive(errors: [SourceError], previous: ClusterAccess?, now: String?, redisAnswered: Bool = false) -> ClusterAccess {
        let ordered = errors.filter { $0.source == "pod" } + errors.filter { $0.source != "pod" }
        var state = State.reachable
        var message: String?
        for e in ordered {
            guard let k = e.kind.flatMap(KubectlError.Kind.init(rawValue:)) else { continue }
            if let st = Self.state(for: k) {
                // A time-out on a read that goes through the API server to the pod (the exporter
                // behind the pod proxy, logs, the exec session) may be the pod's: a frozen pod on a
                // dead node times out while the API server answers. Only the API's own objects
                // (pod, node, events) tell a silent API server.
                if st == .timedOut && (redisAnswered || !Self.apiOnlySources.contains(e.source)) { continue }
                state = st; message = e.message; break
            }
            if k == .forbidden, e.source == "pod", state == .reachable { state = .forbidden; message = e.message }
        }
        let since = previous?.state == state ? (previous?.since ?? now) : now
        return ClusterAccess(state: state, message: message, since: state == .reachable ? nil : since)
    }

    /// Sources read from the API server alone (no pod behind the request).
    public static let apiOnlySources: Set<String> = ["pod", "node", "events"]

    /// True when this source error comes from not reaching the cluster, not from the thing read.
    public static func isClusterFailure(_ e: SourceError) -> Bool {
        guard let k = e.kind.flatMap(KubectlError.Kind.init(rawValue:)) else { return false }
        return state(for: k) != nil
    }
}
