import Diagnosis
import Foundation
import Runbooks
import Synchronization

/// The "last seen" record of a target (issue 19.6): written by the dashboard, `status`, `check`
/// and runbook runs whenever Redis answered in full, read by a runbook run as its "before"
/// when Redis is down at its start. Under `Paths.stateHome()/last-seen/`.
enum LastSeen {
    static func store(environment: [String: String] = ProcessInfo.processInfo.environment) -> LastSeenStore {
        LastSeenStore(directory: Paths.stateHome(environment: environment).appendingPathComponent("last-seen"))
    }

    /// The target of the global options. Without --context the record is keyed by the
    /// kubeconfig whose current context kubectl uses.
    static func target(_ global: GlobalOptions, environment: [String: String] = ProcessInfo.processInfo.environment) -> DataTarget {
        let context: String
        if let c = global.context { context = c }
        else {
            let kc = global.resolvedKubeconfig ?? environment["KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? "~/.kube/config"
            context = "current-context of \(kc)"
        }
        return DataTarget(context: context, namespace: global.namespace, statefulset: global.statefulset, pod: global.podName)
    }

    /// The data of a snapshot in which Redis answered in full (INFO with its keyspace, not
    /// loading, the queue list complete); nil otherwise.
    static func point(_ s: Snapshot) -> DataPoint? {
        guard s.redisState == "ok", !s.keyspace.isEmpty, s.queuesSearching != true, s.persistence.loading != true else { return nil }
        var jobs: [String: [String: Int64]] = [:]
        for q in s.queues {
            var c: [String: Int64] = [:]
            for (k, v) in [("waiting", q.waiting), ("active", q.active), ("delayed", q.delayed), ("prioritized", q.prioritized),
                           ("paused", q.paused), ("waiting-children", q.waitingChildren), ("completed", q.completed), ("failed", q.failed)] {
                if let v { c[k] = v }
            }
            jobs["\(q.prefix):\(q.name)"] = c
        }
        return DataPoint(seenAt: s.takenAt ?? Timestamps.iso(Date()), keys: s.keyspace, usedMemoryBytes: s.memory.usedBytes,
                         aofEnabled: s.persistence.aofEnabled, aofCurrentBytes: s.persistence.aofCurrentSizeBytes,
                         aofBaseBytes: s.persistence.aofBaseSizeBytes, aofDir: s.config.appenddirname, aofFileName: s.config.appendfilename,
                         jobs: jobs,
                         adr: s.adr.isEmpty ? nil : s.adr.map { AdrRow(id: $0.id, title: $0.title, status: $0.status.rawValue, detail: $0.detail) })
    }

    /// Writes the record when the snapshot is a full answer. Returns the error text of a failed write.
    @discardableResult
    static func record(_ s: Snapshot, target: DataTarget, by: String, store: LastSeenStore = LastSeen.store()) -> String? {
        guard let p = point(s) else { return nil }
        do { try store.save(LastSeenRecord(target: target, by: by, data: p)); return nil } catch {
            return "could not write the last-seen record in \(store.directory.path): \(error.localizedDescription)"
        }
    }

    /// The record of `target`, or nil (a bad file is reported on stderr and kept aside).
    static func load(_ target: DataTarget, store: LastSeenStore = LastSeen.store()) -> LastSeenRecord? {
        do { return try store.load(target) } catch {
            FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
            return nil
        }
    }

    /// Seconds between two RFC 3339 times (nil when either does not parse).
    static func seconds(from a: String, to b: String) -> TimeInterval? {
        guard let x = RFC3339.parse(a) ?? Timestamps.parse(a), let y = RFC3339.parse(b) ?? Timestamps.parse(b) else { return nil }
        return y.timeIntervalSince(x)
    }
}

/// The dashboard writes the record at most every 10 s (each write is fsync'd).
final class LastSeenThrottle: Sendable {
    let target: DataTarget
    let store: LastSeenStore
    private let last = Mutex<Date>(.distantPast)
    init(target: DataTarget, store: LastSeenStore = LastSeen.store()) { self.target = target; self.store = store }
    /// True when a record of `s` is due (a full answer, 10 s or more after the last one), and
    /// then counts it as written: cheap, so the dashboard asks on each refresh and hands only
    /// the due write to another task.
    func take(_ s: Snapshot, now: Date = Date()) -> Bool {
        guard LastSeen.point(s) != nil else { return false }
        return last.withLock { l -> Bool in
            if now.timeIntervalSince(l) < 10 { return false }
            l = now
            return true
        }
    }
    /// Writes the record of `s` (JSON, fsync'd).
    func write(_ s: Snapshot) { LastSeen.record(s, target: target, by: "dashboard", store: store) }
}
