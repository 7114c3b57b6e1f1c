import Diagnosis
import Foundation
import ProcessRunner

// APILiveness (dashboard mode): whether the API server answers. A watch process that runs proves
// nothing (a hung API server keeps it alive and silent), so the API server's answers are tracked,
// and when it has said nothing for `livenessInterval` a cheap `GET /version` (`APIRead.version`)
// asks it. While that fails, the watches' objects are stale, nothing else is requested (no watch
// restarts, no one-shot gets, so an outage costs one probe every few seconds), and when it
// answers again every source resumes at once. It owns `APILivenessState` and the probe; the
// other sources tell it what they saw (`apiAnswered`, `apiUnreachable`) and read `liveness.down`.
// It must not touch another source's fields: `resumeAll` asks each source to `resume()` itself.

struct APILivenessState {
    /// Last time the API server answered a request (a one-shot read, the probe). A watch that
    /// delivers proves its own stream, not that the server answers new requests (a server that
    /// hangs on new requests may keep old streams going).
    var answeredAt: Date?
    /// The probe's failure while the API server is unreachable (nil: reachable, or not known otherwise).
    var down: Failure?
    var downSince: Date?
    var inFlight = 0
    var next = Date.distantPast
    var backoff: TimeInterval = 0
    /// Liveness probes run so far (tests and the spawn budget).
    var probes = 0
    /// Reads of the API in flight that answer the liveness question when they land (the
    /// exporter's scrape), by token: when each started.
    var standIns: [Int: Date] = [:]
    var standInTokens = 0
    /// A check is already scheduled for when the oldest stand-in's grace ends.
    var recheckScheduled = false
}

extension Prober {
    /// A read of the API's own objects failed for not reaching the API server (refused,
    /// unauthorized, TLS, no answer in time): it is known down now, without waiting for the
    /// probe; from here only the probe asks, until it answers.
    func apiUnreachable(_ f: Failure, _ t: Date) {
        guard useWatches, liveness.down == nil, !f.killed, let k = f.kind.flatMap(KubectlError.Kind.init(rawValue:)), ClusterAccess.state(for: k) != nil else { return }
        liveness.down = f
        liveness.downSince = t
        liveness.backoff = 1
        liveness.next = t.addingTimeInterval(liveness.backoff)
        let wait = liveness.backoff
        Task {
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            await self.checkLiveness(self.now())
        }
    }

    func apiAnswered(_ t: Date) {
        if liveness.answeredAt.map({ $0 < t }) ?? true { liveness.answeredAt = t }
    }

    /// A read that counts as an answer when it lands (`apiAnswered`) has started: while it is
    /// younger than `livenessStandInSeconds` it stands for the probe (figure 2: the exporter's
    /// scrape every 15 s fell due in the same refresh as the probe, and the probe went out beside
    /// it). Returns the token for `apiReadEnded`.
    func apiReadStarted(_ t: Date) -> Int {
        liveness.standInTokens += 1
        liveness.standIns[liveness.standInTokens] = t
        return liveness.standInTokens
    }

    func apiReadEnded(_ token: Int) {
        liveness.standIns[token] = nil
    }

    /// Starts the liveness probe when the API server has been silent for `livenessInterval` (or is
    /// known down and its back-off has passed). Runs beside the refreshes: a hung server holds it
    /// for its --request-timeout, not the frame. While the server is known down a second probe
    /// may start before the first has timed out, so a hung server that comes back is seen within
    /// the back-off, not the back-off plus a time-out.
    func checkLiveness(_ t: Date, now asap: Bool = false) {
        guard t >= liveness.next || asap, liveness.inFlight < (liveness.down == nil ? 1 : 2) else { return }
        if !asap, liveness.down == nil, let a = liveness.answeredAt, t.timeIntervalSince(a) < livenessInterval { return }
        if liveness.down == nil, liveness.answeredAt == nil, snapshotsTaken == 0 { return }  // the first refresh's reads answer that
        // A read in flight that answers too (the exporter's scrape) stands for the probe while it
        // is younger than `livenessStandInSeconds`: a live server answers it well within that.
        // Past it without an answer the probe goes out, so a hung server is seen at most that
        // much later than with the probe started at once (the exporter's own answer may be slow
        // while the server is fine: Redis hung behind it, so it cannot be the verdict itself).
        if !asap, liveness.down == nil, let since = liveness.standIns.values.min() {
            let left = livenessStandInSeconds - t.timeIntervalSince(since)
            if left > 0 {
                if !liveness.recheckScheduled {
                    liveness.recheckScheduled = true
                    Task {
                        try? await Task.sleep(for: .milliseconds(Int((left * 1000).rounded(.up)) + 1))
                        self.recheckLiveness()
                    }
                }
                return
            }
        }
        liveness.inFlight += 1
        liveness.probes += 1
        liveness.next = t.addingTimeInterval(liveness.down == nil ? livenessInterval : max(liveness.backoff, 1))
        Task { await self.runLiveness(started: t) }
    }

    /// The stand-in's grace has ended: the probe goes out if the server is still silent.
    func recheckLiveness() {
        liveness.recheckScheduled = false
        checkLiveness(now())
    }

    func runLiveness(started: Date) async {
        let answer = await read(.version, timeout: livenessRequestSeconds)
        let t = now()
        liveness.inFlight -= 1
        guard case .failure(let f) = answer else {
            apiAnswered(t)
            liveness.backoff = 0
            liveness.next = t
            if liveness.down != nil { resumeAll(t) }
            return
        }
        // Killed at our limit, far past its own --request-timeout (kubectl is stuck), or the
        // proxy not serving: that says nothing either way; ask again soon.
        if f.killed { liveness.next = t.addingTimeInterval(min(livenessInterval, 2)); return }
        // An answer that is an error (a 500, a 429, a 404) still says the server answers.
        if let k = f.kind.flatMap(KubectlError.Kind.init(rawValue:)), ClusterAccess.state(for: k) == nil {
            apiAnswered(t); liveness.next = t; return
        }
        // The server answered something since this probe started (a later probe, a watch): this
        // failure is older news.
        if let a = liveness.answeredAt, a > started { return }
        if liveness.down == nil { liveness.downSince = t }
        liveness.down = f.kind == nil ? Failure(message: "API server not answering: \(f.message)", kind: KubectlError.Kind.timeout.rawValue) : f
        liveness.backoff = min(max(liveness.backoff * 2, 1), livenessMaxBackoff)
        liveness.next = max(liveness.next, t.addingTimeInterval(liveness.backoff))
        // The next probe does not wait for a refresh to notice its time has come.
        let wait = max(liveness.next.timeIntervalSince(t), 0.05)
        Task {
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            await self.checkLiveness(self.now())
        }
    }

    /// The API server answers again: every source at once (back-offs reset, watches restarted,
    /// since one attached to a hung connection may never deliver again).
    func resumeAll(_ t: Date) {
        liveness.down = nil
        liveness.downSince = nil
        cluster.resume()
        exporter.resume()
        redisState.resume()
        logReader.resume()
    }
}
