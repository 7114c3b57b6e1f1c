import Diagnosis
import MemoryAnalysis
import Foundation
import Runbooks

/// A failure of one data source, shown inline in the panel that uses it.
public struct SourceFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Why a runbook could not be opened.
public enum RunbookOpenFailure: Error, Sendable, Equatable {
    /// No runbook has that id; the ids there are.
    case unknown(known: [String])
    case failed(String)
}

/// Where the dashboard gets its data. Every call runs off the main loop; it must return (with
/// an error inside the result when needed) and bound its own time. The TUI never blocks on it.
public protocol DashboardDataSource: Sendable {
    /// The kubectl binary in use (shown in the header).
    var kubectlPath: String { get }
    /// One observation; failures of parts go into `Snapshot.errors`.
    func snapshot() async -> Snapshot
    func logs(container: String, previous: Bool) async -> Result<String, SourceFailure>
    /// Events of the pod, newest first.
    func events() async -> Result<[EventSummary], SourceFailure>
    /// A runbook by id (for the runbook screen).
    func runbook(id: String) async -> Result<Runbook, RunbookOpenFailure>
    /// Read-only keyspace analysis; `progress` is called once per batch; task cancellation stops it.
    func analyzeMemory(progress: @escaping @Sendable (MemoryProgress) -> Void) async -> AnalysisOutcome
}

extension DashboardDataSource {
    public func analyzeMemory(progress: @escaping @Sendable (MemoryProgress) -> Void) async -> AnalysisOutcome {
        AnalysisOutcome(text: "", complete: false, stopReason: "not connected")
    }
}

/// The placeholder source until a cluster is wired in: every source says "not connected".
public struct DisconnectedDataSource: DashboardDataSource {
    public let kubectlPath: String
    public let target: Target
    public init(kubectlPath: String, target: Target) {
        self.kubectlPath = kubectlPath; self.target = target
    }
    public func snapshot() async -> Snapshot {
        var s = Snapshot()
        s.takenAt = RFC3339.format()
        s.context = target.context
        s.namespace = target.namespace
        s.redisState = nil
        s.errors = ["pod", "redis", "exporter", "queues"].map { SourceError(source: $0, message: "not connected") }
        return s
    }
    public func logs(container: String, previous: Bool) async -> Result<String, SourceFailure> { .failure(SourceFailure("not connected")) }
    public func events() async -> Result<[EventSummary], SourceFailure> { .failure(SourceFailure("not connected")) }
    public func runbook(id: String) async -> Result<Runbook, RunbookOpenFailure> { .failure(.failed("runbooks are not wired in yet (\(id))")) }
}
