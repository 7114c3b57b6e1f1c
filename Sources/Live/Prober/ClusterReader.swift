import Diagnosis
import Foundation
import ProcessRunner

// ClusterReader: the pod, its node and the pod's events, the Kubernetes objects of one refresh.
// It owns `ClusterState` (the last object of each, their errors, the dashboard's three
// `APIWatch`es, the one-shot reads' poll times and back-off) and the functions that fill it:
// - the dashboard: list-then-watch of each object through the one `kubectl proxy` (APIWatch:
//   one LIST at start, then watch events; no LIST after start-up unless the server expires the
//   version). An object's age is its last delivery, or the API server's last answer while its
//   watch stream is open (a stream proves itself, not that the server still answers);
// - one-shot commands: a `Prober.read` of each, backed off on failure (ClusterOneShot.swift).
// It reports to the coordinator through `lastGood` (its own "pod", "node" and "events" entries
// only) and to `APILiveness` through `apiAnswered`/`apiUnreachable`. It must not touch the Redis
// session, the exporter, the logs or the liveness state itself, and it spawns nothing.

/// What the cluster said last: the pod, its node and its events, with the watches that keep them.
struct ClusterState {
    var podWatch: APIWatch?
    var nodeWatch: APIWatch?
    var eventWatch: APIWatch?
    var watchedNode: String?

    var pod: KubePod?
    var podStamp: Date?
    var podError: Failure?
    var podPollNext = Date.distantPast
    var podBackoff: TimeInterval = 0

    var node: KubeNode?
    var nodeError: Failure?
    var nodePollNext = Date.distantPast

    var events: [String: KubeEvent] = [:]
    var eventsError: Failure?
    var eventsPollNext = Date.distantPast

    var watches: [APIWatch?] { [podWatch, nodeWatch, eventWatch] }

    mutating func stopWatches() {
        for w in watches { w?.stop() }
        podWatch = nil; nodeWatch = nil; eventWatch = nil; watchedNode = nil
    }

    /// The API server answers again: poll at once, and re-watch (a stream attached to a hung
    /// connection may never deliver again).
    mutating func resume() {
        podPollNext = .distantPast; podBackoff = 0
        nodePollNext = .distantPast
        eventsPollNext = .distantPast
        for w in watches { w?.reconnect() }
    }

    static func key(_ e: KubeEvent) -> String {
        e.metadata?.uid ?? e.metadata?.name ?? "\(e.reason ?? "")|\(e.message ?? "")"
    }

    mutating func addEvent(_ e: KubeEvent) {
        events[Self.key(e)] = e
        if events.count > 500 {
            // Keep the newest 300.
            let keep = events.sorted { KubeEvent.newestFirst($0.value, $1.value) }.prefix(300)
            events = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}

extension Prober {
    // MARK: - Kubernetes objects

    func refreshKubernetes(_ t: Date) async {
        if useWatches { await refreshFromWatches(t) } else { await refreshOnce(t) }
    }

    /// Events of the pod (independent of the pod object: runs beside it).
    func refreshEvents(_ t: Date) async {
        if useWatches { await eventsFromWatch(t) } else { await eventsOnce(t) }
    }

    // MARK: The dashboard: watches through the proxy

    /// The pod and its node from their watches. The first refresh waits (bounded) for the pod's
    /// and the node's first LIST, so the first frame has them.
    func refreshFromWatches(_ t: Date) async {
        checkLiveness(t)
        guard let proxy = startWatches() else { return }
        let first = snapshotsTaken == 0
        var podDeliveries = cluster.podWatch!.poll()
        if first, podDeliveries.isEmpty {
            podDeliveries = await firstDeliveries(cluster.podWatch!, within: probeTimeout)
        }
        applyPod(podDeliveries, t)
        cluster.eventWatch?.start()
        if let nodeName = cluster.pod?.spec?.nodeName, nodeName != cluster.watchedNode {
            cluster.nodeWatch?.stop()
            cluster.nodeWatch = APIWatch(path: "/api/v1/nodes", selector: "metadata.name=\(nodeName)", proxy: proxy, requestTimeout: apiRequestSeconds)
            if first { cluster.nodeWatch?.holdWatch(upTo: Self.firstScreenWatchHold) }
            cluster.watchedNode = nodeName
            cluster.node = nil
        }
        if let w = cluster.nodeWatch {
            var nodeDeliveries = w.poll()
            if first, nodeDeliveries.isEmpty { nodeDeliveries = await firstDeliveries(w, within: .seconds(2)) }
            applyNode(nodeDeliveries, t)
        }
    }

    /// The proxy, and the pod's and events' watches started (their first LIST on its way).
    @discardableResult
    func startWatches() -> KubeProxy? {
        guard let proxy = apiProxy() else { return nil }
        _ = proxy.currentSocket()   // starts the proxy process now
        if cluster.podWatch == nil {
            cluster.podWatch = APIWatch(path: "/api/v1/namespaces/\(APIWatch.encode(target.namespace))/pods",
                                        selector: "metadata.name=\(target.pod)", proxy: proxy, requestTimeout: apiRequestSeconds)
            if snapshotsTaken == 0 { cluster.podWatch?.holdWatch(upTo: Self.firstScreenWatchHold) }
            cluster.podWatch?.start()
        }
        if cluster.eventWatch == nil {
            cluster.eventWatch = APIWatch(path: "/api/v1/namespaces/\(APIWatch.encode(target.namespace))/events",
                                          selector: "involvedObject.name=\(target.pod)", proxy: proxy, requestTimeout: apiRequestSeconds)
            // Before the first screen the events' LIST follows the pod's (`refreshKubernetes`):
            // one TLS connection fewer opened at once when the proxy starts to serve.
            if snapshotsTaken == 0 { cluster.eventWatch?.holdWatch(upTo: Self.firstScreenWatchHold) } else { cluster.eventWatch?.start() }
        }
        return proxy
    }

    /// How long the first screen may hold the watches' streams (`APIWatch.holdWatch`): they are
    /// released once the first snapshot is out (`releaseFirstScreenWatches`).
    static let firstScreenWatchHold: Double = 3

    func releaseFirstScreenWatches() {
        for w in cluster.watches { w?.releaseWatch() }
    }

    /// Waits until `w` delivered something or failed (or `within` passed), polling every 2 ms (a
    /// lock and an array: the node's LIST, which needs the pod's, goes out within 2 ms of it).
    private func firstDeliveries(_ w: APIWatch, within: Duration) async -> [APIWatch.Delivery] {
        let deadline = ContinuousClock.now + within
        var got: [APIWatch.Delivery] = []
        while got.isEmpty, w.lastFailure == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
            got = w.poll()
        }
        return got
    }

    private func applyPod(_ deliveries: [APIWatch.Delivery], _ t: Date) {
        guard let w = cluster.podWatch else { return }
        for d in deliveries {
            switch d {
            case .list(let body):
                apiAnswered(t)
                if let p = (try? KubeJSON.pods(from: body))?.first { setPod(p, t) } else { podGone(t) }
            case .upsert(let line):
                if let p = APIObjects.object(KubePod.self, event: line) { setPod(p, t) }
            case .delete:
                podGone(t)
            }
        }
        if let down = liveness.down {
            // Unreachable: the probe asks; the pod panel keeps its last object, stale.
            cluster.podError = down
        } else if w.connected, cluster.podStamp != nil {
            // An open stream keeps the object current as long as the API server is known to
            // answer: its age is the server's last answer, not the stream's existence.
            lastGood["pod"] = max(lastGood["pod"] ?? t, liveness.answeredAt ?? t)
            if cluster.podError.map({ $0.kind != KubectlError.Kind.notFound.rawValue }) ?? false { cluster.podError = nil }
        } else if let failure = currentFailure(w) {
            cluster.podError = failure
            apiUnreachable(failure, t)
        }
    }

    /// The watch's failure when it is news: newer than the API server's last answer (an older
    /// one was before the server answered again).
    private func currentFailure(_ w: APIWatch) -> Failure? {
        guard !w.connected, let f = w.lastFailure, let at = w.lastFailureAt else { return nil }
        if let a = liveness.answeredAt, a > at { return nil }
        return Failure(message: f.description, kind: f.kind.rawValue)
    }

    func setPod(_ p: KubePod, _ t: Date) {
        cluster.pod = p; cluster.podStamp = t; cluster.podError = nil; lastGood["pod"] = t
    }

    /// The pod is not there (deleted, or not created yet): kubectl's own words for it.
    private func podGone(_ t: Date) {
        let e = KubectlError.classify(stderr: "Error from server (NotFound): pods \"\(target.pod)\" not found", exitCode: 1)
        cluster.pod = nil; cluster.podStamp = t
        cluster.podError = Failure(message: e.description, kind: e.kind.rawValue)
    }

    private func applyNode(_ deliveries: [APIWatch.Delivery], _ t: Date) {
        guard let w = cluster.nodeWatch else { return }
        for d in deliveries {
            switch d {
            case .list(let body):
                apiAnswered(t)
                if let n = (try? KubeJSON.nodes(from: body))?.first { cluster.node = n; cluster.nodeError = nil; lastGood["node"] = t }
                else { nodeGone() }
            case .upsert(let line):
                if let n = APIObjects.object(KubeNode.self, event: line) { cluster.node = n; cluster.nodeError = nil; lastGood["node"] = t }
            case .delete:
                nodeGone()
            }
        }
        if let down = liveness.down {
            if cluster.node != nil || cluster.nodeError != nil { cluster.nodeError = down }
        } else if w.connected, cluster.node != nil {
            lastGood["node"] = max(lastGood["node"] ?? t, liveness.answeredAt ?? t)
            cluster.nodeError = nil
        } else if let failure = currentFailure(w) {
            cluster.nodeError = failure
            apiUnreachable(failure, t)
        }
    }

    private func nodeGone() {
        let name = cluster.watchedNode ?? ""
        let e = KubectlError.classify(stderr: "Error from server (NotFound): nodes \"\(name)\" not found", exitCode: 1)
        cluster.node = nil
        cluster.nodeError = Failure(message: e.description, kind: e.kind.rawValue)
    }

    private func eventsFromWatch(_ t: Date) async {
        guard let w = cluster.eventWatch else { return }
        var deliveries = w.poll()
        // The first screen waits (bounded) for the events' LIST, which now follows the pod's.
        if snapshotsTaken == 0, deliveries.isEmpty, lastGood["events"] == nil {
            deliveries = await firstDeliveries(w, within: .seconds(1))
        }
        for d in deliveries {
            switch d {
            case .list(let body):
                apiAnswered(t)
                cluster.events = [:]
                ((try? KubeJSON.events(from: body)) ?? []).forEach { cluster.addEvent($0) }
            case .upsert(let line):
                if let e = APIObjects.object(KubeEvent.self, event: line) { cluster.addEvent(e) }
            case .delete(let line):
                if let e = APIObjects.object(KubeEvent.self, event: line) { cluster.events[ClusterState.key(e)] = nil }
            }
            cluster.eventsError = nil; lastGood["events"] = t
        }
        if let down = liveness.down {
            cluster.eventsError = down
        } else if w.connected {
            lastGood["events"] = max(lastGood["events"] ?? t, liveness.answeredAt ?? t)
            cluster.eventsError = nil
        } else if let failure = currentFailure(w) {
            cluster.eventsError = failure
            apiUnreachable(failure, t)
        }
    }
}
