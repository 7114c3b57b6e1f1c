import Foundation
import MemoryAnalysis
import Render
import Testing
@testable import App

/// The keyspace analysis screen: started with `a` from the memory chart, progress drawn as a
/// gauge, Esc stops it (partial report stays), available in read-only mode (it only reads).
@Suite struct AnalysisScreenTests {
    func progress(_ fraction: Double, scanned: Int, of db: Int) -> MemoryProgress {
        MemoryProgress(keysScanned: scanned, keysSized: scanned, dbSize: db, fraction: fraction, batches: 3,
                       elapsedSeconds: 1.5, sizedBytes: 1000, lastBatchLatencyMs: 2.5, pausing: false)
    }

    @Test func aFromTheMemoryChartStartsOneAnalysis() {
        var m = AppModel(readOnly: true, colors: false, now: Date(timeIntervalSince1970: 1000))
        _ = App.update(&m, .key(.char("m")))
        #expect(m.screen == .memory)
        let fx = App.update(&m, .key(.char("a")))
        #expect(fx == [.startMemoryAnalysis], "read-only mode still allows the read-only analysis")
        #expect(m.screen == .analysis && m.analysis.running)
        #expect(App.update(&m, .key(.char("a"))).isEmpty, "a second 'a' while running starts nothing")
    }

    @Test func progressIsDrawnAndTheReportReplacesIt() {
        var m = AppModel(colors: false, now: Date(timeIntervalSince1970: 1000))
        _ = App.update(&m, .key(.char("m")))
        _ = App.update(&m, .key(.char("a")))
        _ = App.update(&m, .analysisProgress(progress(0.42, scanned: 420, of: 1000)))
        var text = App.render(m, width: 100, height: 30).lines().joined(separator: "\n")
        #expect(text.contains("42%"))
        #expect(text.contains("420 keys of 1000"))
        #expect(text.contains("Esc stops"))
        _ = App.update(&m, .analysisFinished(AnalysisOutcome(text: "Top patterns by bytes\n  sess:{hash}  400  59 KiB", complete: true, stopReason: nil)))
        #expect(!m.analysis.running)
        text = App.render(m, width: 100, height: 30).lines().joined(separator: "\n")
        #expect(text.contains("sess:{hash}"))
        #expect(text.contains("complete"))
    }

    @Test func escStopsARunningAnalysisAndKeepsTheScreen() {
        var m = AppModel(colors: false, now: Date(timeIntervalSince1970: 1000))
        _ = App.update(&m, .key(.char("m")))
        _ = App.update(&m, .key(.char("a")))
        let fx = App.update(&m, .key(.escape))
        #expect(fx == [.cancelMemoryAnalysis])
        #expect(m.screen == .analysis, "the partial report is shown where the operator is")
        _ = App.update(&m, .analysisFinished(AnalysisOutcome(text: "PARTIAL RESULT: stopped at 42%", complete: false, stopReason: "cancelled")))
        let text = App.render(m, width: 100, height: 30).lines().joined(separator: "\n")
        #expect(text.contains("stopped: cancelled"))
        #expect(text.contains("PARTIAL RESULT"))
        _ = App.update(&m, .key(.escape))
        #expect(m.screen == .memory, "Esc after it stopped goes back")
    }
}
