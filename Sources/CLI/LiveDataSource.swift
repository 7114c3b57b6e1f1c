import App
import Diagnosis
import Foundation
import Live
import MemoryAnalysis
import ProcessRunner
import Runbooks

/// The dashboard's data from a real (or sandbox) cluster, through the `Prober`.
struct LiveDataSource: DashboardDataSource {
    let prober: Prober
    let kubectlPath: String
    /// The runbook library (loaded on first use).
    let runbooks: @Sendable () -> RunbookLibrary
    /// Keeps the target's last-seen record (at most every 10 s, full answers only).
    var lastSeen: LastSeenThrottle? = nil

    func snapshot() async -> Snapshot {
        let s = await prober.snapshot()
        // A due record is written (and fsync'd) beside the frame, not before it: the first
        // frame waited on that write.
        if let lastSeen, lastSeen.take(s) { Task.detached(priority: .utility) { lastSeen.write(s) } }
        return s
    }

    func logs(container: String, previous: Bool) async -> Result<String, SourceFailure> {
        switch await prober.logs(container: container, previous: previous) {
        case .success(let text): return .success(text)
        case .failure(let f): return .failure(SourceFailure(f.message))
        }
    }

    func events() async -> Result<[EventSummary], SourceFailure> {
        let list = await prober.podEvents()
        return .success(list.map {
            EventSummary(type: $0.type ?? "", reason: $0.reason ?? "", message: $0.message ?? "",
                         lastTimestamp: $0.when, count: $0.count ?? $0.series?.count)
        })
    }

    /// Options of the keyspace analysis (scan count, BullMQ prefix) and how to open its session.
    let analysisOptions: MemoryAnalysisOptions
    let analysisSession: @Sendable () async -> LineSession

    /// The analysis gets its own session, so the dashboard's refreshes are not queued behind it.
    func analyzeMemory(progress: @escaping @Sendable (MemoryProgress) -> Void) async -> AnalysisOutcome {
        let session = await analysisSession()
        let report = await MemoryAnalyzer(channel: session, options: analysisOptions).run(progress: progress)
        await session.close()
        return AnalysisOutcome(text: report.renderText(), complete: report.complete, stopReason: report.stopReason)
    }

    func runbook(id: String) async -> Result<Runbook, RunbookOpenFailure> {
        let lib = runbooks()
        if let rb = lib.runbook(id: id) { return .success(rb) }
        return .failure(.unknown(known: lib.runbooks.map(\.id)))
    }
}
