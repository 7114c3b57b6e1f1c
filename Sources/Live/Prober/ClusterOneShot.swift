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
            switch await read(.pod) {
            case .success(let body) where (try? KubeJSON.pod(from: body)) != nil:
                setPod(try! KubeJSON.pod(from: body), t)
                cluster.podBackoff = 0
                cluster.podPollNext = t
                apiAnswered(t)
            case .success(let body):
                failPod(unreadable(body), t)
            case .failure(let failure):
                failPod(failure, t)
            }
        }
        guard let nodeName = cluster.pod?.spec?.nodeName, t >= cluster.nodePollNext else { return }
        switch await read(.node(nodeName)) {
        case .success(let body) where (try? KubeJSON.node(from: body)) != nil:
            cluster.node = try! KubeJSON.node(from: body); cluster.nodeError = nil; lastGood["node"] = t; cluster.nodePollNext = t
            apiAnswered(t)
        case .success(let body):
            cluster.nodeError = unreadable(body); cluster.nodePollNext = t.addingTimeInterval(15)
        case .failure(let f):
            cluster.nodeError = f; cluster.nodePollNext = t.addingTimeInterval(15)
            apiUnreachable(f, t)
        }
    }

    private func failPod(_ failure: Failure, _ t: Date) {
        cluster.podError = failure
        apiUnreachable(failure, t)
        if failure.kind == KubectlError.Kind.notFound.rawValue || failure.message.contains("not found") { cluster.pod = nil }
        cluster.podBackoff = min(max(cluster.podBackoff * 2, 1), 30)
        cluster.podPollNext = t.addingTimeInterval(cluster.podBackoff)
    }

    func eventsOnce(_ t: Date) async {
        guard t >= cluster.eventsPollNext else { return }
        switch await read(.events) {
        case .success(let body) where (try? KubeJSON.events(from: body)) != nil:
            cluster.events = [:]; (try! KubeJSON.events(from: body)).forEach { cluster.addEvent($0) }
            cluster.eventsError = nil; lastGood["events"] = t
            cluster.eventsPollNext = t.addingTimeInterval(10)
            apiAnswered(t)
        case .success(let body):
            cluster.eventsError = unreadable(body); cluster.eventsPollNext = t.addingTimeInterval(30)
        case .failure(let f):
            cluster.eventsError = f; cluster.eventsPollNext = t.addingTimeInterval(30)
            apiUnreachable(f, t)
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
