import Diagnosis
import Foundation
import ProcessRunner

// ClusterReader: the pod, its node and the pod's events, the Kubernetes objects of one refresh.
// It owns `ClusterState` (the three `KubeWatch`es, the last object of each, their errors and the
// one-shot gets' poll times and back-off) and the functions that fill it: a watch's newest
// document when the watch is healthy, else a rate-limited one-shot `kubectl get` that backs off
// on failure. It reports to the coordinator through `lastGood` (its own "pod", "node" and
// "events" entries only) and to `APILiveness` through `apiAnswered`/`apiUnreachable`. It must not
// touch the Redis session, the exporter, the logs or the liveness state itself, and it spawns
// nothing itself: processes start through `Runner` (`kubectl`) and `KubeWatch`.

/// What the cluster said last: the pod, its node and its events, with the watches that keep them.
struct ClusterState {
    var podWatch: KubeWatch?
    var nodeWatch: KubeWatch?
    var eventWatch: KubeWatch?
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

    var watches: [KubeWatch?] { [podWatch, nodeWatch, eventWatch] }

    mutating func stopWatches() {
        podWatch?.stop(); nodeWatch?.stop(); eventWatch?.stop()
        podWatch = nil; nodeWatch = nil; eventWatch = nil
    }

    /// The API server answers again: poll at once, and restart the watches (one attached to a
    /// hung connection may never deliver again).
    mutating func resume() {
        podPollNext = .distantPast; podBackoff = 0
        nodePollNext = .distantPast
        eventsPollNext = .distantPast
        for w in watches { w?.restartNow() }
    }

    mutating func addEvent(_ e: KubeEvent) {
        let key = e.metadata?.uid ?? e.metadata?.name ?? "\(e.reason ?? "")|\(e.message ?? "")"
        events[key] = e
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
        if useWatches { checkLiveness(t) }
        let apiUp = liveness.down == nil
        // The first frame comes from one-shot gets; the watches start with the second refresh
        // (starting them at once would only double the first refresh's process starts).
        if useWatches, snapshotsTaken > 0 { startWatchesIfNeeded() }
        // Pod: newest watch document, else a one-shot get (rate-limited, backed off on failure).
        var podFromWatch = false
        if let w = cluster.podWatch {
            for doc in w.poll(now: t, mayStart: apiUp) {
                if let p = try? KubeJSON.pod(from: doc) { cluster.pod = p; cluster.podStamp = t; cluster.podError = nil; lastGood["pod"] = t; podFromWatch = true }
            }
            // A live watch keeps the object current as long as the API server is known to answer:
            // its age is the API server's last answer, not the process's existence.
            if apiUp, w.isHealthy, cluster.podStamp != nil { podFromWatch = true; lastGood["pod"] = max(lastGood["pod"] ?? t, liveness.answeredAt ?? t) }
        }
        if let down = liveness.down {
            // Unreachable: the probe asks; the pod panel keeps its last object, stale.
            cluster.podError = down
        } else if !podFromWatch, t >= cluster.podPollNext {
            let r = await kubectl(["get", "pod", target.pod, "-o", "json"], label: "probe:pod")
            if r.succeeded, let p = try? KubeJSON.pod(from: r.stdout) {
                cluster.pod = p; cluster.podStamp = t; cluster.podError = nil; lastGood["pod"] = t; cluster.podBackoff = 0
                cluster.podPollNext = t
                apiAnswered(t)
            } else {
                let failure = failureMessage(r)
                cluster.podError = failure
                apiUnreachable(failure, t)
                if failure.kind == KubectlError.Kind.notFound.rawValue || failure.message.contains("not found") { cluster.pod = nil }
                cluster.podBackoff = min(max(cluster.podBackoff * 2, 1), 30)
                cluster.podPollNext = t.addingTimeInterval(cluster.podBackoff)
            }
        }
        // Node.
        let nodeName = cluster.pod?.spec?.nodeName
        if useWatches, snapshotsTaken > 0, let nodeName, nodeName != cluster.watchedNode {
            cluster.nodeWatch?.stop()
            cluster.nodeWatch = KubeWatch(argv: target.kubectlArgv(["get", "node", nodeName, "-o", "json", "--watch"]))
            cluster.watchedNode = nodeName
            cluster.node = nil
        }
        var nodeFromWatch = false
        if let w = cluster.nodeWatch {
            for doc in w.poll(now: t, mayStart: apiUp) {
                if let n = try? KubeJSON.node(from: doc) { cluster.node = n; cluster.nodeError = nil; lastGood["node"] = t; nodeFromWatch = true }
            }
            if apiUp, w.isHealthy, cluster.node != nil { nodeFromWatch = true; lastGood["node"] = max(lastGood["node"] ?? t, liveness.answeredAt ?? t) }
        }
        if let down = liveness.down {
            if cluster.node != nil || cluster.nodeError != nil { cluster.nodeError = down }
        } else if useWatches, snapshotsTaken == 0 {
            // First frame of the dashboard: not held for the node (it needs the pod first); it is
            // fetched right after the first snapshot (see `snapshot()`).
            cluster.nodePollNext = t.addingTimeInterval(5)
        } else if !nodeFromWatch, let nodeName, t >= cluster.nodePollNext {
            let r = await kubectl(["get", "node", nodeName, "-o", "json"], label: "probe:node")
            if r.succeeded, let n = try? KubeJSON.node(from: r.stdout) {
                cluster.node = n; cluster.nodeError = nil; lastGood["node"] = t; cluster.nodePollNext = t.addingTimeInterval(useWatches ? 5 : 0)
                apiAnswered(t)
            } else {
                cluster.nodeError = failureMessage(r); cluster.nodePollNext = t.addingTimeInterval(15)
                apiUnreachable(cluster.nodeError!, t)
            }
        }
    }

    /// Events of the pod (independent of the pod object: runs beside it).
    func refreshEvents(_ t: Date) async {
        var eventsFromWatch = false
        let apiUp = liveness.down == nil
        if let w = cluster.eventWatch {
            for doc in w.poll(now: t, mayStart: apiUp) {
                if let e = try? JSONDecoder().decode(KubeEvent.self, from: doc) { cluster.addEvent(e) }
                else if let list = try? KubeJSON.events(from: doc) { list.forEach { cluster.addEvent($0) } }
                cluster.eventsError = nil; lastGood["events"] = t
            }
            if apiUp, w.isHealthy { eventsFromWatch = true; lastGood["events"] = max(lastGood["events"] ?? t, liveness.answeredAt ?? t); cluster.eventsError = nil }
        }
        if let down = liveness.down {
            cluster.eventsError = down
        } else if !eventsFromWatch, t >= cluster.eventsPollNext {
            let r = await kubectl(["get", "events", "--field-selector", "involvedObject.name=\(target.pod)", "-o", "json"], label: "probe:events")
            if r.succeeded, let list = try? KubeJSON.events(from: r.stdout) {
                cluster.events = [:]; list.forEach { cluster.addEvent($0) }; cluster.eventsError = nil; lastGood["events"] = t
                cluster.eventsPollNext = t.addingTimeInterval(useWatches ? 5 : 10)
                apiAnswered(t)
            } else {
                cluster.eventsError = failureMessage(r); cluster.eventsPollNext = t.addingTimeInterval(30)
                apiUnreachable(cluster.eventsError!, t)
            }
        }
    }

    func fetchNode(_ name: String, _ t: Date) async {
        let r = await kubectl(["get", "node", name, "-o", "json"], label: "probe:node")
        if r.succeeded, let n = try? KubeJSON.node(from: r.stdout) {
            if cluster.node == nil { cluster.node = n }
            cluster.nodeError = nil; lastGood["node"] = t
        } else {
            cluster.nodeError = failureMessage(r)
        }
    }

    func startWatchesIfNeeded() {
        if cluster.podWatch == nil {
            cluster.podWatch = KubeWatch(argv: target.kubectlArgv(["get", "pod", target.pod, "-o", "json", "--watch"]))
        }
        if cluster.eventWatch == nil {
            cluster.eventWatch = KubeWatch(argv: target.kubectlArgv(["get", "events", "--field-selector", "involvedObject.name=\(target.pod)", "-o", "json", "--watch"]))
        }
    }
}
