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
}

/// Runbook conditions read the same live snapshot as the dashboard, through the prober
/// (one persistent redis-cli session; INFO for the log goes through it too).
public struct ProberSnapshotSource: SnapshotSource {
    public let prober: Prober
    public init(prober: Prober) { self.prober = prober }

    public func lookup() async -> @Sendable (String) -> String? {
        let snap = await prober.snapshot()
        return { SnapshotPaths.value(at: $0, in: snap) }
    }

    public func infoText() async -> String {
        do {
            return try await prober.redisSend(["INFO"]).first ?? ""
        } catch {
            return "INFO unavailable: \(error)"
        }
    }
}
