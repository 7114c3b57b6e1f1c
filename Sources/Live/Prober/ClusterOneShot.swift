import Diagnosis
import Foundation

// ClusterOneShot: the pod, its node and its events for one-shot commands (`status`, `check`, a
// runbook's data): a `Prober.read` of each (a kubectl process), the pod backed off on failure.
// It fills `ClusterState` (ClusterReader.swift) as the dashboard's watches do, and tells
// `APILiveness` what it saw; it must not touch the watches, Redis, the exporter or the logs.

extension Prober {
    // MARK: One-shot commands: a read each

    func refreshOnce(_ t: Date) async {
        if t >= cluster.podPollNext {
            switch await readObject(.pod, t, KubeJSON.pod(from:)) {
            case .success(let p):
                setPod(p, t)
                cluster.podBackoff = 0
                cluster.podPollNext = t
            case .failure(let failure):
                if failure.kind == KubectlError.Kind.notFound.rawValue || failure.message.contains("not found") { cluster.pod = nil }
                cluster.podError = failure
                cluster.podBackoff = min(max(cluster.podBackoff * 2, 1), 30)
                cluster.podPollNext = t.addingTimeInterval(cluster.podBackoff)
            }
        }
        guard let nodeName = cluster.pod?.spec?.nodeName, t >= cluster.nodePollNext else { return }
        switch await readObject(.node(nodeName), t, KubeJSON.node(from:)) {
        case .success(let n): cluster.node = n; cluster.nodeError = nil; lastGood["node"] = t; cluster.nodePollNext = t
        case .failure(let f): cluster.nodeError = f; cluster.nodePollNext = t.addingTimeInterval(15)
        }
    }

    func eventsOnce(_ t: Date) async {
        guard t >= cluster.eventsPollNext else { return }
        switch await readObject(.events, t, KubeJSON.events(from:)) {
        case .success(let list):
            cluster.events = [:]; list.forEach { cluster.addEvent($0) }
            cluster.eventsError = nil; lastGood["events"] = t
            cluster.eventsPollNext = t.addingTimeInterval(10)
        case .failure(let f):
            cluster.eventsError = f; cluster.eventsPollNext = t.addingTimeInterval(30)
        }
    }

    /// One read, decoded; tells `APILiveness` what it saw (an answer, or a failure to reach the
    /// server). A body that does not decode is the read's failure (`unreadable`).
    private func readObject<T>(_ r: APIRead, _ t: Date, _ decode: (Data) throws(KubeDecodeError) -> T) async -> Result<T, Failure> {
        switch await read(r) {
        case .success(let body):
            guard let value = try? decode(body) else { return .failure(unreadable(body)) }
            apiAnswered(t)
            return .success(value)
        case .failure(let f):
            apiUnreachable(f, t)
            return .failure(f)
        }
    }

    /// A read that succeeded but whose body is not the object (cut short, an HTML page, wrong types).
    func unreadable(_ body: Data) -> Failure {
        do { _ = try KubeJSON.pods(from: body) } catch {
            return Failure(message: "kubectl output unreadable (\(body.count) bytes): \(error.description)", kind: nil)
        }
        return Failure(message: "kubectl output is not the expected object (\(body.count) bytes)", kind: nil)
    }
}
