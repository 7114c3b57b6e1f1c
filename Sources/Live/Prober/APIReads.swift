import Diagnosis
import Foundation
import ProcessRunner

// APIReads: every one-shot read of the API the sources make, named once (`APIRead`), and the one
// function that makes it (`Prober.read`) by either of the two ways the tool reads the cluster:
// - the dashboard (`useWatches`): a request on the socket of the one long-lived `kubectl proxy`
//   (`KubeProxy`, `APIClient`): no process, a few milliseconds, kubectl still holding the
//   credentials;
// - one-shot commands (`status`, `check`, a runbook's data): a `kubectl` process per read, as
//   one proxy process would cost as much as the read itself.
// Either way a failure comes back as the same `Failure` (kubectl's classified words), so no
// source knows which way it was read. It owns no state and must not touch any source's fields.

/// One read of the API a source makes.
enum APIRead: Sendable {
    case pod
    case node(String)
    case events
    /// The exporter's metrics through the API server's pod proxy.
    case exporterMetrics
    case logs(container: String, previous: Bool, tail: Int)
    /// The liveness question: `/version`, answered at once by a live server.
    case version
    /// The pods of the target's StatefulSet, by label selector (ReplicationReader.swift).
    case pods(labelSelector: String)

    var label: String {
        switch self {
        case .pod: "probe:pod"
        case .node: "probe:node"
        case .events: "probe:events"
        case .exporterMetrics: "probe:exporter"
        case .logs(_, let previous, _): previous ? "probe:logs" : "probe:logs-current"
        case .version: "probe:liveness"
        case .pods: "probe:pods"
        }
    }

    /// kubectl's arguments for this read (after the global flags).
    func kubectlArgs(_ t: LiveTarget) -> [String] {
        switch self {
        case .pod: return ["get", "pod", t.pod, "-o", "json"]
        case .node(let name): return ["get", "node", name, "-o", "json"]
        case .events: return ["get", "events", "--field-selector", "involvedObject.name=\(t.pod)", "-o", "json"]
        case .exporterMetrics: return ["get", "--raw", Self.exporterPath(t)]
        case .logs(let c, let previous, let tail):
            return ["logs", t.pod, "-c", c, "--tail", String(tail)] + (previous ? ["--previous"] : [])
        case .version: return ["get", "--raw", "/version"]
        case .pods(let selector): return ["get", "pods", "-l", selector, "-o", "json"]
        }
    }

    /// The same read as an API path (what kubectl itself requests for it).
    func apiPath(_ t: LiveTarget) -> (path: String, accept: String) {
        let ns = APIWatch.encode(t.namespace), pod = APIWatch.encode(t.pod)
        switch self {
        case .pod: return ("/api/v1/namespaces/\(ns)/pods/\(pod)", "application/json")
        case .node(let name): return ("/api/v1/nodes/\(APIWatch.encode(name))", "application/json")
        case .events:
            return ("/api/v1/namespaces/\(ns)/events?fieldSelector=\(APIWatch.encode("involvedObject.name=\(t.pod)"))", "application/json")
        case .exporterMetrics: return (Self.exporterPath(t), "text/plain")
        case .logs(let c, let previous, let tail):
            return ("/api/v1/namespaces/\(ns)/pods/\(pod)/log?container=\(APIWatch.encode(c))&tailLines=\(tail)\(previous ? "&previous=true" : "")", "text/plain")
        case .version: return ("/version", "application/json")
        case .pods(let selector): return ("/api/v1/namespaces/\(ns)/pods?labelSelector=\(APIWatch.encode(selector))", "application/json")
        }
    }

    static func exporterPath(_ t: LiveTarget) -> String {
        "/api/v1/namespaces/\(t.namespace)/pods/\(t.pod):9121/proxy/metrics"
    }
}

extension Prober {
    /// Makes `read` through the proxy (dashboard) or a kubectl process (one-shot commands).
    /// `timeout`: the request's own deadline in seconds (default: the one-shot request time-out).
    func read(_ r: APIRead, timeout: Double? = nil) async -> Result<Data, Failure> {
        if let client = apiClient() {
            let (path, accept) = r.apiPath(target)
            switch await client.request(path, accept: accept, timeout: timeout) {
            case .success(let body): return .success(body)
            case .failure(let f):
                // The proxy not serving says nothing about the cluster: like a kubectl we killed.
                return .failure(Failure(message: f.error.description, kind: f.proxyOnly ? nil : f.error.kind.rawValue, killed: f.proxyOnly))
            }
        }
        let own = timeout.map { ["--request-timeout=\(Self.kubectlDuration($0))"] } ?? []
        let result = await kubectl(r.kubectlArgs(target) + own, label: r.label, bounded: timeout == nil)
        return result.succeeded ? .success(result.stdout) : .failure(failureMessage(result))
    }

    /// The dashboard's one `kubectl proxy` (started on first use); nil in one-shot mode.
    func apiProxy() -> KubeProxy? {
        guard useWatches else { return nil }
        if proxy == nil { proxy = KubeProxy(target: target) }
        return proxy
    }

    /// The dashboard's client of that proxy; nil in one-shot mode.
    func apiClient() -> APIClient? {
        apiProxy().map { APIClient(proxy: $0, requestTimeout: apiRequestSeconds) }
    }

    /// A request's deadline: the user's --request-timeout, else the one-shot reads' 5 s.
    var apiRequestSeconds: Double { Self.seconds(target.requestTimeout) ?? Self.oneShotRequestSeconds }

    /// "2s", "1m", "500ms" or a bare number of seconds (kubectl's --request-timeout forms).
    static func seconds(_ text: String?) -> Double? {
        guard var s = text?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
        var unit = 1.0
        if s.hasSuffix("ms") { unit = 0.001; s.removeLast(2) }
        else if s.hasSuffix("s") { s.removeLast() }
        else if s.hasSuffix("m") { unit = 60; s.removeLast() }
        else if s.hasSuffix("h") { unit = 3600; s.removeLast() }
        guard let v = Double(s), v > 0 else { return nil }
        return v * unit
    }

    static func kubectlDuration(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(Int(seconds * 1000))ms"
    }
}
