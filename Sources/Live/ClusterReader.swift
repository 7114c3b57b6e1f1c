import Diagnosis
import Foundation
import ProcessRunner

/// Everything the tool reads from the Kubernetes API, through one `kubectl proxy` (`KubeProxy`):
/// the pod, its node and its events (list-then-watch in the dashboard, single GETs for one-shot
/// commands), the exporter's metrics through the API server's pod proxy, and container logs.
///
/// Freshness is liveness, not a process being there: a watched object counts as current only
/// while its watch is open and the API server answered something recently (an event, a
/// bookmark, any request). When nothing else was heard for `livenessInterval`, one cheap
/// `GET /version` asks; a failed or timed-out answer makes every watched source stale at once,
/// with the failure's kind for `ClusterAccess`. When the API answers again, every source
/// resumes on the same refresh (the watches reconnect by themselves, their back-off capped).
///
/// Owns: the proxy, the watches, the objects last read and their ages. Must not: talk to Redis,
/// build snapshots or decide findings.
public actor ClusterReader {
    public struct Read: Sendable {
        public var pod: KubePod?
        public var node: KubeNode?
        public var events: [KubeEvent] = []
        public var podFailure: Failure?
        public var nodeFailure: Failure?
        public var eventsFailure: Failure?
        /// When each source ("pod", "node", "events") last had current data.
        public var lastGood: [String: Date] = [:]
    }

    public let target: LiveTarget
    public let useWatches: Bool
    public var requestTimeout: Double
    /// How long silence from the API server is trusted before `GET /version` checks it.
    public var livenessInterval: TimeInterval = 10
    public let proxy: KubeProxy
    private var api: APIClient { APIClient(proxy: proxy, requestTimeout: requestTimeout) }

    private var podWatch: APIWatch?
    private var nodeWatch: APIWatch?
    private var eventWatch: APIWatch?
    private var watchedNode: String?
    private var read = Read()
    private var events: [String: KubeEvent] = [:]
    /// Last time the API server answered anything, and the failure of the last liveness check.
    private var apiHeard: Date?
    private var livenessFailure: Failure?
    private var probeInFlight = false
    private var nodeNext = Date.distantPast
    private var eventsNext = Date.distantPast

    public init(target: LiveTarget, useWatches: Bool, requestTimeout: Double = 5, recorder: (any CommandRecorder)? = nil) {
        self.target = target
        self.useWatches = useWatches
        self.requestTimeout = requestTimeout
        // The proxy needs no namespace; everything else (context, kubeconfig, user) it takes.
        self.proxy = KubeProxy(kubectlArgv: [target.kubectl] + target.globalFlags, recorder: recorder)
    }

    public var spawns: Int { proxy.spawns }

    /// Requests made through the proxy by the watches, by verb.
    public var watchRequests: [String: Int] {
        [podWatch, nodeWatch, eventWatch].compactMap { $0?.requests }.reduce(into: [:]) { acc, r in acc.merge(r, uniquingKeysWith: +) }
    }

    public func shutdown() async {
        for w in [podWatch, nodeWatch, eventWatch] { w?.stop() }
        podWatch = nil; nodeWatch = nil; eventWatch = nil
        await proxy.stop()
    }

    // MARK: paths

    var ns: String { APIWatch.encode(target.namespace) }
    var podsPath: String { "/api/v1/namespaces/\(ns)/pods" }
    var eventsPath: String { "/api/v1/namespaces/\(ns)/events" }
    var podPath: String { "\(podsPath)/\(APIWatch.encode(target.pod))" }

    // MARK: one refresh

    /// The pod, node and events as of now. `withEvents`/`withNode` false: not asked this time
    /// (the dashboard's first frame waits only for the pod).
    public func refresh(now t: Date, withNode: Bool = true, withEvents: Bool = true) async -> Read {
        if useWatches { await refreshWatched(t, withNode: withNode, withEvents: withEvents) }
        else { await refreshOnce(t, withNode: withNode, withEvents: withEvents) }
        var out = read
        out.events = Array(events.values)
        return out
    }

    private func note(_ r: Result<Data, Failure>, _ t: Date) {
        // Any HTTP answer from the API server (even a 404) shows it is there.
        switch r {
        case .success: apiHeard = t
        case .failure(let f) where f.kind.flatMap(KubectlError.Kind.init(rawValue:)).flatMap(ClusterAccess.state(for:)) == nil: apiHeard = t
        default: break
        }
    }

    /// status, check, runbooks: single GETs, in parallel.
    private func refreshOnce(_ t: Date, withNode: Bool, withEvents: Bool) async {
        let api = self.api
        let podTarget = podPath
        let evTarget = "\(eventsPath)?fieldSelector=\(APIWatch.encode("involvedObject.name=\(target.pod)"))"
        async let podR = api.get(podTarget)
        async let evR: Result<Data, Failure>? = withEvents ? api.get(evTarget) : nil
        let pr = await podR
        note(pr, t)
        switch pr {
        case .success(let d):
            if let p = try? KubeJSON.pod(from: d) { read.pod = p; read.podFailure = nil; read.lastGood["pod"] = t }
            else { read.podFailure = Failure(message: "the API server's pod object is unreadable (\(d.count) bytes)", kind: nil) }
        case .failure(let f):
            read.podFailure = f
            if f.isNotFound { read.pod = nil }
        }
        if withNode, let name = read.pod?.spec?.nodeName {
            let nr = await api.get("/api/v1/nodes/\(APIWatch.encode(name))")
            note(nr, t)
            switch nr {
            case .success(let d): if let n = try? KubeJSON.node(from: d) { read.node = n; read.nodeFailure = nil; read.lastGood["node"] = t }
            case .failure(let f): read.nodeFailure = f
            }
        }
        if let er = await evR {
            note(er, t)
            switch er {
            case .success(let d):
                events = [:]
                for e in (try? KubeJSON.events(from: d)) ?? [] { add(e) }
                read.eventsFailure = nil; read.lastGood["events"] = t
            case .failure(let f): read.eventsFailure = f
            }
        }
    }

    /// The dashboard: watches, their deliveries applied, freshness from liveness.
    private func refreshWatched(_ t: Date, withNode: Bool, withEvents: Bool) async {
        let socket: @Sendable () -> String? = { [proxy] in proxy.currentSocket() }
        if podWatch == nil {
            podWatch = APIWatch(path: podsPath, selector: "metadata.name=\(target.pod)", requestTimeout: requestTimeout, socket: socket)
        }
        if withEvents, eventWatch == nil {
            eventWatch = APIWatch(path: eventsPath, selector: "involvedObject.name=\(target.pod)", requestTimeout: requestTimeout, socket: socket)
        }
        // The first frame: the proxy starts here, the pod arrives with the watch's LIST.
        if proxy.currentSocket(now: t) == nil { _ = await proxy.ready(timeout: min(requestTimeout, 5)) }
        apply(podWatch!, t, pod: true)
        if read.pod == nil && read.podFailure == nil && read.lastGood["pod"] == nil {
            // Not listed yet: wait briefly for the LIST rather than draw an empty first frame.
            let deadline = Date().addingTimeInterval(min(requestTimeout, 3))
            while Date() < deadline, podWatch!.lastHeard == nil, podWatch!.lastFailure == nil { try? await Task.sleep(for: .milliseconds(5)) }
            apply(podWatch!, t, pod: true)
        }
        if withNode, let name = read.pod?.spec?.nodeName {
            if name != watchedNode {
                nodeWatch?.stop()
                nodeWatch = APIWatch(path: "/api/v1/nodes", selector: "metadata.name=\(name)", requestTimeout: requestTimeout, socket: socket)
                watchedNode = name
                read.node = nil
            }
        }
        if let w = nodeWatch { apply(w, t, pod: false) }
        if let w = eventWatch { applyEvents(w, t) }
        for w in [podWatch, nodeWatch, eventWatch].compactMap({ $0 }) {
            if let h = w.lastHeard, h > (apiHeard ?? .distantPast) { apiHeard = h }
        }
        await checkLiveness(t)
        let alive = livenessFailure == nil && (apiHeard.map { t.timeIntervalSince($0) <= livenessInterval + requestTimeout } ?? false)
        func freshness(_ source: String, _ w: APIWatch?, _ failure: inout Failure?) {
            guard let w else { return }
            if alive, w.connected {
                read.lastGood[source] = t
                failure = nil
            } else {
                failure = livenessFailure ?? w.lastFailure ?? failure
            }
        }
        freshness("pod", podWatch, &read.podFailure)
        if read.pod == nil, read.podFailure == nil, alive, podWatch?.lastHeard != nil {
            read.podFailure = Failure(message: "Not found: pods \"\(target.pod)\" not found", kind: KubectlError.Kind.notFound.rawValue)
        }
        freshness("node", nodeWatch, &read.nodeFailure)
        freshness("events", eventWatch, &read.eventsFailure)
    }

    private func apply(_ w: APIWatch, _ t: Date, pod: Bool) {
        for d in w.poll() {
            switch d {
            case .list(let body):
                if pod {
                    let items = APIObjects.items(KubePod.self, list: body) ?? []
                    read.pod = items.first
                    read.podFailure = items.isEmpty ? Failure(message: "Not found: pods \"\(target.pod)\" not found", kind: KubectlError.Kind.notFound.rawValue) : nil
                } else {
                    read.node = APIObjects.items(KubeNode.self, list: body)?.first
                }
            case .upsert(let line):
                if pod { if let p = APIObjects.object(KubePod.self, event: line) { read.pod = p; read.podFailure = nil } }
                else if let n = APIObjects.object(KubeNode.self, event: line) { read.node = n }
            case .delete(let line):
                if pod {
                    let gone = APIObjects.object(KubePod.self, event: line)
                    if gone?.metadata?.uid == nil || gone?.metadata?.uid == read.pod?.metadata?.uid { read.pod = nil }
                } else { read.node = nil }
            }
        }
    }

    private func applyEvents(_ w: APIWatch, _ t: Date) {
        for d in w.poll() {
            switch d {
            case .list(let body):
                events = [:]
                for e in APIObjects.items(KubeEvent.self, list: body) ?? [] { add(e) }
            case .upsert(let line):
                if let e = APIObjects.object(KubeEvent.self, event: line) { add(e) }
            case .delete(let line):
                if let e = APIObjects.object(KubeEvent.self, event: line) { events[key(e)] = nil }
            }
        }
    }

    private func key(_ e: KubeEvent) -> String { e.metadata?.uid ?? e.metadata?.name ?? "\(e.reason ?? "")|\(e.message ?? "")" }

    private func add(_ e: KubeEvent) {
        events[key(e)] = e
        if events.count > 500 {
            let keep = events.sorted { ($0.value.when ?? "") > ($1.value.when ?? "") }.prefix(300)
            events = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }

    /// When the API server has been silent for `livenessInterval`, asks it one cheap question.
    private func checkLiveness(_ t: Date) async {
        if let h = apiHeard, t.timeIntervalSince(h) < livenessInterval, livenessFailure == nil { return }
        guard !probeInFlight else { return }
        probeInFlight = true
        defer { probeInFlight = false }
        let r = await api.get("/version")
        switch r {
        case .success: apiHeard = t; livenessFailure = nil
        case .failure(let f):
            let clusterDown = f.kind.flatMap(KubectlError.Kind.init(rawValue:)).flatMap(ClusterAccess.state(for:)) != nil
            if clusterDown { livenessFailure = f } else { apiHeard = t; livenessFailure = nil }
        }
    }

    // MARK: exporter and logs

    /// The exporter's `/metrics` through the API server's pod proxy.
    public func metrics(now t: Date) async -> Result<String, Failure> {
        let r = await api.get("\(podsPath)/\(APIWatch.encode(target.pod)):9121/proxy/metrics", accept: "text/plain")
        note(r, t)
        return r.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A container's log (the last `tail` lines), `previous` for the run before.
    public func logs(container: String, previous: Bool, tail: Int, now t: Date = Date()) async -> Result<String, Failure> {
        var q = "container=\(APIWatch.encode(container))&tailLines=\(tail)"
        if previous { q += "&previous=true" }
        let r = await api.get("\(podPath)/log?\(q)", accept: "text/plain")
        note(r, t)
        return r.map { String(decoding: $0, as: UTF8.self) }
    }
}
