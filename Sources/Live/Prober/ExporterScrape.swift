import Diagnosis
import Foundation
import ProcessRunner

// ExporterScrape: the redis_exporter's metrics, read through the API server's pod proxy
// (`/api/v1/namespaces/NS/pods/P:9121/proxy/metrics`, `APIRead.exporterMetrics`) at most every
// `metricsInterval`, backed off on failure (a 403 is asked again only after `forbiddenRetry`).
// In dashboard mode the read runs beside the refreshes (it can take up to the probe timeout while
// Redis is down) and a refresh uses the last text it got. It owns `ExporterState`; it writes only
// that and its own `lastGood["exporter"]` entry, and tells `APILiveness` when the API answered.
// It must not touch the cluster objects, the Redis session or the logs.

struct ExporterState {
    /// Dashboard mode: the read in flight beside the refreshes.
    var task: Task<Void, Never>?
    /// The exporter's `*_up` lines (`SnapshotBuilder.exporterUpLines`) from the last good read.
    var text: String?
    var error: Failure?
    var next = Date.distantPast
    var backoff: TimeInterval = 0

    /// The API server answers again: read at once; an error that was only the outage is history.
    mutating func resume() {
        next = .distantPast; backoff = 0
        if Failure.outageOnly(error) { error = nil }
    }
}

extension Prober {
    func metricsForRefresh(_ t: Date) async {
        guard redisWait != nil else { await refreshMetrics(t); return }
        guard exporter.task == nil, t >= exporter.next else { return }
        // Its answer is an answer of the API server: while it is on its way it stands for the
        // liveness probe (APILiveness.swift), so it is registered before this refresh's check.
        let token = liveness.down == nil ? apiReadStarted(t) : nil
        exporter.task = Task {
            await self.refreshMetrics(t)
            if let token { self.apiReadEnded(token) }
            self.exporter.task = nil
        }
    }

    func refreshMetrics(_ t: Date) async {
        guard t >= exporter.next, liveness.down == nil else { return }
        switch await read(.exporterMetrics) {
        case .success(let body):
            exporter.text = SnapshotBuilder.exporterUpLines(String(decoding: body, as: UTF8.self)); exporter.error = nil; lastGood["exporter"] = t; exporter.backoff = 0
            exporter.next = t.addingTimeInterval(metricsInterval)
            apiAnswered(t)
        case .failure(let f):
            // The API server's own error (a 500, a 429) says nothing about the exporter: keep its last text.
            if f.kind != KubectlError.Kind.serverError.rawValue { exporter.text = nil }
            exporter.error = f
            exporter.backoff = f.kind == KubectlError.Kind.forbidden.rawValue
                ? Self.forbiddenRetry : min(max(exporter.backoff * 2, metricsInterval), 120)
            exporter.next = t.addingTimeInterval(exporter.backoff)
        }
    }
}
