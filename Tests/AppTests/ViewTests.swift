import Common
import App
import Diagnosis
import Foundation
import Render
import Testing

@Suite struct ViewTests {
    func dashboard(_ s: Snapshot?, width: Int, height: Int, colors: Bool = true) -> Grid {
        var m = model(width: width, height: height)
        m.colors = colors
        if let s { _ = App.update(&m, .snapshotArrived(s)) }
        return App.render(m, width: width, height: height)
    }

    @Test func dashboardAt80x24ShowsEveryPanel() {
        let g = dashboard(sampleSnapshot(), width: 80, height: 24)
        let l = g.lines()
        #expect(l.count == 24 && l.allSatisfy { TextWidth.of($0) <= 80 })
        #expect(l[0] == " redis: up  ctx prod-eu │ ns jobs │ pod redis-0 │ kubectl …local/bin/kubectl 0s")
        for title in ["Pod health", "Memory", "Persistence / AOF", "Findings 1C 1W 1I", "Clients and traffic", "BullMQ queues (1)", "ADR compliance"] {
            #expect(g.text.contains(title), "missing panel \(title)")
        }
        #expect(g.text.contains("│ maxmemory unset: the container limit │"))
        #expect(g.text.contains("│ is the only limit                    │"))
        #expect(g.text.contains("│ redis-exporter running  ready ↻0     │"))
        #expect(l[23].hasPrefix(" ? help  : cmd  / filter  Esc back  q quit"))
        // Two columns of 40.
        #expect(l[1].hasPrefix("┌ Pod health") && Array(l[1])[40] == "┌")
    }

    @Test func symptomsFoldUnderTheirCauseAndEnterOpensTheCausesRunbook() {
        var s = sampleSnapshot()
        s.findings = [
            Finding(id: "pod-not-ready", severity: .critical, summary: "Pod redis-0 is not ready", evidence: "Ready=False", runbook: "pod-restart"),
            Finding(id: "aof-corruption", severity: .critical, summary: "Redis refused to load its AOF", evidence: "Bad file format", runbook: "aof-corruption"),
        ]
        var m = model(width: 200, height: 60)
        _ = App.update(&m, .snapshotArrived(s))
        let text = App.render(m, width: 200, height: 60).text
        #expect(text.contains("CRIT aof-corruption"))
        #expect(text.contains("CRIT ↳ pod-not-ready"))
        #expect(text.components(separatedBy: "→ aof-corruption").count == 3)
        _ = press(&m, .char("f"))
        #expect(App.render(m, width: 200, height: 60).text.contains("Pod redis-0 is not ready, because aof-corruption"))
        _ = press(&m, .char("d"))
        // The default selection is the cause, and the symptom also leads to the cause's runbook.
        #expect(press(&m, .enter) == [.openRunbook(id: "aof-corruption")])
        #expect(press(&m, .char("j"), .enter) == [.openRunbook(id: "aof-corruption")])
    }

    @Test func anUnreachableClusterIsOneBannerAndRedisIsUnknownNotDown() {
        var s = sampleSnapshot()
        s.cluster = ClusterAccess(state: .refused, message: "Cannot reach the API server: connection refused (127.0.0.1:6443)",
                                  since: RFC3339.format(t0.addingTimeInterval(-35)), findingsFrom: RFC3339.format(t0.addingTimeInterval(-40)))
        let l = dashboard(s, width: 120, height: 30).lines()
        #expect(l[0].contains("redis: unknown (no cluster)"))
        #expect(l[1].contains("⚠ cluster unreachable (connection refused) for 35s · findings are the last known, 40s old · Cannot reach the API"), "\(l[1])")
        #expect(l[1].contains("findings are the last known, 40s old"))
        #expect(l[2].hasPrefix("┌"))
        // Reachable: no banner, the panels start on line 1.
        #expect(dashboard(sampleSnapshot(), width: 120, height: 30).lines()[1].hasPrefix("┌"))
    }

    @Test func theDashboardFilterAppliesToEveryListAndSaysWhatItHides() {
        var m = model(width: 200, height: 60)
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        _ = press(&m, .char("/"))
        for c in "zzz" { _ = press(&m, .char(c)) }
        var text = App.render(m, width: 200, height: 60).text
        // Nothing matches: the findings are hidden, not gone ("no findings" would be a lie).
        #expect(!text.contains("no findings"))
        #expect(text.contains("Findings 1C 1W 1I · 3 hidden by filter"))
        #expect(text.contains("3 hidden by filter \"zzz\""))
        #expect(text.contains("BullMQ queues (0 of 1)"))
        // A queue name filters the queues panel too.
        _ = press(&m, .escape)
        _ = press(&m, .char("/"))
        for c in "emails" { _ = press(&m, .char(c)) }
        text = App.render(m, width: 200, height: 60).text
        #expect(text.contains("BullMQ queues (1)"))
        #expect(text.contains("queue-backlog"))   // its summary names the queue
    }

    /// Issue 19.8: at 80x24 with five findings and six unknown ADR checks, the first three findings
    /// (cause first), a "+2 more" line and the evidence stay on screen, and the ADR panel shows
    /// what is not passing, one row each, with how many more `check` lists. At 220x60 nothing
    /// is cut beside blank columns: the findings' summaries are whole.
    @Test func smallAndLargeScreensKeepTheImportantRows() throws {
        var s = sampleSnapshot()
        s.findings += [Finding(id: "crash-loop", severity: .warning, summary: "Container redis restarted recently", evidence: "4 restarts", runbook: "pod-restart", because: "oom-killed"),
                       Finding(id: "aof-rewrite-failing", severity: .warning, summary: "AOF rewrite failed", evidence: "x", runbook: "aof-corruption")]
        s.findings = Findings.causalOrder(s.findings)
        s.adr = s.adr.map { var c = $0; c.status = .unknown; c.detail = "unknown: not read"; return c }
        let small = dashboard(s, width: 80, height: 24)
        let fs = ScreenRows(small.lines(), panel: "Findings")
        #expect(fs.count >= 5, "\(fs)")
        #expect(fs.prefix(3).map { $0.contains("oom-killed") || $0.contains("crash-loop") || $0.contains("maxmemory-unset") } == [true, true, true], "\(fs)")
        #expect(fs.contains { $0.contains("+2 more") } && fs.contains { $0.contains("evidence: ") }, "\(fs)")
        let adr = ScreenRows(small.lines(), panel: "ADR compliance")
        #expect(adr.first?.contains("? appendonly yes: unknown: not read") == true, "\(adr)")
        #expect(adr.last?.contains("more: `check` lists them") == true, "\(adr)")
        let large = dashboard(s, width: 220, height: 60)
        // The findings' runbook column is as wide as its entries: a cut summary has no blank columns beside it.
        let row = try #require(large.lines().first { $0.contains("↳ crash-loop") })
        let findingsPart = String(row[row.range(of: "WARN ↳ crash-loop")!.lowerBound...])
        #expect(findingsPart.contains("Container redis restarted"), "\(findingsPart)")
        let summary = findingsPart[findingsPart.range(of: "Container")!.lowerBound...]
        #expect(!summary.contains("     "), "blank columns beside a cut text: \(findingsPart)")
        #expect(large.text.contains("  unknown: not read"), "the ADR details show in full on a large screen")
    }

    /// The rows inside the panel whose title starts with `panel` (right column of the 80-column layout).
    func ScreenRows(_ lines: [String], panel: String) -> [String] {
        guard let top = lines.firstIndex(where: { $0.contains("┌ " + panel) }) else { return [] }
        let col = lines[top].range(of: "┌ " + panel)!.lowerBound
        let x = lines[top].distance(from: lines[top].startIndex, to: col)
        var out: [String] = []
        for l in lines.dropFirst(top + 1) {
            let chars = Array(l)
            guard x < chars.count, chars[x] == "│" else { break }
            out.append(String(chars[(x + 1)...].prefix { $0 != "│" }))
        }
        return out
    }

    @Test func dashboardAt200x60UsesThreeColumns() {
        let g = dashboard(sampleSnapshot(maxmemory: 800 << 20), width: 200, height: 60)
        let l = g.lines()
        #expect(l.count == 60)
        let tops = l[1].enumerated().filter { $0.element == "┌" }.map(\.offset)
        #expect(tops == [0, 66, 133])
        #expect(g.text.contains("OOMKilled exit 137"))
        #expect(g.text.contains("emails"))
        #expect(g.text.contains("→ oom-killed"))
        #expect(g.text.contains("used/max"))
        #expect(dashboard(sampleSnapshot(), width: 200, height: 60).text.contains("maxmemory unset: the container limit is the only limit"))
        #expect(g.text.contains("700M/800M 88%"))
        // The ADR panel draws the snapshot's own checks (the rows check and status --json give).
        #expect(g.text.contains("✗ maxmemory <= 75% of the container limit"))
        #expect(g.text.contains("  maxmemory 800.0 MiB = 78.1% of limit 1.0 GiB"))
        #expect(g.text.contains("✓ appendfsync everysec"))
    }

    @Test func disconnectedDashboardSaysSo() async {
        let src = DisconnectedDataSource(kubectlPath: "/usr/bin/kubectl", target: Target())
        let g = dashboard(await src.snapshot(), width: 80, height: 24)
        #expect(g.lines()[0].contains("redis: not connected"))
        #expect(g.text.contains("error: not connected"))
        let wide = dashboard(await src.snapshot(), width: 160, height: 40)
        #expect(wide.lines()[0].contains("ctx prod-eu │ ns default │ pod redis-0 │ kubectl /usr/local/bin/kubectl"))
    }

    @Test func tooSmallScreen() {
        for (w, h) in [(60, 20), (79, 24), (80, 23), (20, 5)] {
            let g = dashboard(sampleSnapshot(), width: w, height: h)
            #expect(g.text.contains("terminal too small"), "\(w)x\(h)")
            #expect(g.text.replacingOccurrences(of: "\n", with: " ").contains("have \(w)x\(h)") || w < 40)
        }
        #expect(!dashboard(sampleSnapshot(), width: 80, height: 24).text.contains("too small"))
    }

    @Test func escapeSequencesInDataRenderHarmlessly() {
        var s = sampleSnapshot()
        s.queues[0].name = "\u{1b}]0;pwned\u{07}"
        s.findings[0].summary = "bad \u{1b}[2J\u{9b}31m"
        let g = dashboard(s, width: 200, height: 60)
        #expect(g.text.contains("␛]0;pwn…"))
        #expect(g.text.contains("bad ␛[2J\u{FFFD}31m") || g.text.contains("bad ␛[2J"))
        for run in g.diff(from: nil) {
            #expect(!run.text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        }
    }

    @Test func layoutHoldsAtSeveralSizes() {
        for (w, h) in [(80, 24), (100, 30), (120, 40), (159, 45), (160, 50), (200, 60), (300, 80)] {
            let g = dashboard(sampleSnapshot(), width: w, height: h)
            let l = g.lines(trimTrailing: false)
            #expect(l.count == h)
            #expect(l.allSatisfy { TextWidth.of($0) == w }, "\(w)x\(h)")
            #expect(g.text.contains("Findings") && g.text.contains("Memory"), "\(w)x\(h)")
            // Every panel box is closed: as many ┌ as └.
            #expect(g.text.filter { $0 == "┐" }.count == 7 && g.text.filter { $0 == "┘" }.count == 7, "\(w)x\(h)")
        }
    }

    @Test func memoryChartScreen() {
        var m = model()
        for i in 0..<30 { _ = App.update(&m, .snapshotArrived(sampleSnapshot(maxmemory: 900 << 20, used: Int64(500 + i * 10) << 20))) }
        _ = press(&m, .char("m"))
        let g = App.render(m, width: 120, height: 40)
        #expect(g.text.contains("Memory over this session (30 samples"))
        #expect(g.text.contains("━ limit") && g.text.contains("─ maxmemory") && g.text.contains("• used"))
        #expect(g.text.filter { $0 == "•" }.count >= 30)
    }

    @Test func noColorDropsColours() {
        let g = dashboard(sampleSnapshot(), width: 80, height: 24, colors: false)
        #expect(g.cells.allSatisfy { $0.style.fg == .default && $0.style.bg == .default })
        let c = dashboard(sampleSnapshot(), width: 80, height: 24, colors: true)
        #expect(c.cells.contains { $0.style.fg != .default })
    }
}
