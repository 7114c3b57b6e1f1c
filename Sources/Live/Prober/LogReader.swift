import Diagnosis
import Foundation
import ProcessRunner

// LogReader: the redis container's logs as evidence for the snapshot. `logs --previous` once per
// container restart (why the last run ended), and the current run's log once per run, when Redis
// answers, scanned for an AOF that Redis truncated at load (a Redis that did so starts fine, so
// only its current log says so). It owns `LogReaderState`; it reads the pod (`cluster.pod`, the
// restart count) and `redisIdentity`, and must not touch any other source's fields. The on-demand
// `Prober.logs(container:previous:tail:)` for the log screen is the coordinator's, not this reader's.

struct LogReaderState {
    var previous: (restarts: Int, text: String)?
    /// Lines of the current container's log saying Redis truncated a damaged AOF at load.
    var currentScan: (identity: String, lines: [String])?
    var error: Failure?
    var scanInFlight = false

    /// The API server answers again: an error that was only the outage is history.
    mutating func resume() {
        if Failure.outageOnly(error) { error = nil }
    }

    /// The log evidence of one snapshot: the previous run's tail and the current run's AOF lines.
    var snapshotText: String? {
        let logText = [previous?.text, currentScan?.lines.joined(separator: "\n")].compactMap { $0 }.filter { !$0.isEmpty }
        return logText.isEmpty ? previous?.text : logText.joined(separator: "\n")
    }
}

extension Prober {
    /// The previous container's log, once per restart.
    func refreshPreviousLogs() async {
        guard let statuses = cluster.pod?.status?.containerStatuses,
              let redis = statuses.first(where: { $0.name == target.container }),
              let restarts = redis.restartCount, restarts > 0 else { logReader.previous = nil; logReader.error = nil; return }
        if logReader.previous?.restarts == restarts { return }
        switch await read(.logs(container: target.container, previous: true, tail: 200)) {
        case .success(let body):
            logReader.previous = (restarts, String(decoding: body, as: UTF8.self)); logReader.error = nil
        case .failure(let f):
            logReader.error = f
            logReader.previous = (restarts, "")
        }
    }

    /// Once per container run, when Redis answers: a Redis that truncated a damaged AOF at load
    /// starts fine, so only its *current* log says so (`--previous` is the run before).
    func refreshCurrentLogScan(redisUp: Bool) async {
        guard redisUp, !logReader.scanInFlight, let id = redisIdentity, logReader.currentScan?.identity != id else { return }
        logReader.scanInFlight = true
        defer { logReader.scanInFlight = false }
        guard case .success(let body) = await read(.logs(container: target.container, previous: false, tail: 500)) else { return }  // tried again on the next refresh
        logReader.currentScan = (id, LogScan.scan(String(decoding: body, as: UTF8.self)).filter { $0.kind == .aofTruncated }.map(\.line))
    }
}
