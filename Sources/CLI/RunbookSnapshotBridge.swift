import Foundation
import ProcessRunner
import Runbooks
import Diagnosis
import Live

/// Supplies the live-snapshot lookup that runbook conditions read (`pod.ready`,
/// `persistence.aofLastWriteStatus`, ...). The lead wires the real prober in here.
public protocol SnapshotSource: Sendable {
    /// A fresh lookup: dotted snapshot path -> value ("true"/"false", decimal numbers, text),
    /// nil when unknown.
    func lookup() async -> @Sendable (String) -> String?
    /// Text recorded in the incident log before and after each mutating step (INFO output).
    func infoText() async -> String
    /// The data now (keys, memory, AOF sizes, job counts) when Redis answers in full, else nil:
    /// the "before" at the start of a run and the "after" at its end.
    func data() async -> DataPoint?
}

extension SnapshotSource {
    public func data() async -> DataPoint? { nil }
}

/// Runbook conditions read the same live snapshot as the dashboard, through the prober
/// (one persistent redis-cli session; INFO for the log goes through it too).
public struct ProberSnapshotSource: SnapshotSource {
    public let prober: Prober
    /// The target's last-seen record, read at the start of the run: `keyspaceLastKnown.*` answers
    /// from it when this process has not seen Redis answer (a run started while Redis is down).
    let lastSeen: LastSeenRecord?
    /// Where full answers are recorded as the target's last-seen data (nil: not recorded).
    let recordAs: (DataTarget, String)?
    /// A one-shot prober for `data()` when the run's own prober has no full answer (after a
    /// restart of Redis its session may still be in its back-off).
    let fresh: (@Sendable () -> Prober)?
    public init(prober: Prober) { self.prober = prober; self.lastSeen = nil; self.recordAs = nil; self.fresh = nil }
    init(prober: Prober, lastSeen: LastSeenRecord?, recordAs: (DataTarget, String)?, fresh: (@Sendable () -> Prober)? = nil) {
        self.prober = prober; self.lastSeen = lastSeen; self.recordAs = recordAs; self.fresh = fresh
    }

    public func lookup() async -> @Sendable (String) -> String? {
        var snap = await prober.snapshot()
        if snap.keyspaceLastKnown.isEmpty, let r = lastSeen {
            snap.keyspaceLastKnown = r.data.keys
            snap.keyspaceLastKnownAt = r.data.seenAt
        }
        let s = snap
        return { SnapshotPaths.value(at: $0, in: s) }
    }

    public func data() async -> DataPoint? {
        var snap = await prober.snapshot()
        // Asked again with a fresh session when the cluster answered (the pod was read) and
        // Redis did not answer quickly (a session in its back-off after a restart of Redis, a
        // container starting): not when it was silent until the session's time-out (a frozen
        // node), which would only be waited for twice, at the start and at the end of the run.
        let silent = snap.errors.contains { $0.source == "redis" && $0.kind == SourceError.redisTimedOut }
        if LastSeen.point(snap) == nil, !silent, !snap.errors.contains(where: { $0.source == "pod" }), let make = fresh {
            let p = make()
            snap = await p.snapshot()
            await p.shutdown()
        }
        if let (t, by) = recordAs { LastSeen.record(snap, target: t, by: by) }
        return LastSeen.point(snap)
    }

    public func infoText() async -> String {
        do {
            return try await prober.redisSend(["INFO"]).first ?? ""
        } catch {
            return "INFO unavailable: \(error)"
        }
    }
}
