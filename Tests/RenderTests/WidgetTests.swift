import Render
import Testing

@Suite struct WidgetTests {
    @Test func textBlockTruncatesOrWraps() {
        var g = Grid(width: 12, height: 3)
        TextBlock([[Span("a long line of text")], [Span("two")]]).render(into: &g, rect: g.bounds)
        #expect(g.lines() == ["a long line…", "two", ""])
        var w = Grid(width: 12, height: 3)
        TextBlock(text: "a long line of text that wraps", overflow: .wrap).render(into: &w, rect: w.bounds)
        #expect(w.lines() == ["a long line", "of text that", "wraps"])
        var s = Grid(width: 12, height: 2)
        TextBlock(text: "one\ntwo\nthree", overflow: .truncate, offset: 1).render(into: &s, rect: s.bounds)
        #expect(s.lines() == ["two", "three"])
    }

    @Test func spansAreCutWithEllipsisAtRectEdge() {
        var g = Grid(width: 10, height: 1)
        g.write(line: [Span("abc", .bold), Span("defghijkl")], x: 0, y: 0, clip: g.bounds)
        #expect(g.lines() == ["abcdefghi…"])
        #expect(g[0, 0].style == .bold && g[3, 0].style == .plain)
    }

    @Test func tableAlignsAndAllocates() {
        let t = Table(columns: [Column("name", .flex(min: 4, weight: 1)), Column("n", .fixed(4), align: .right)],
                      rows: [[Span("emails"), Span("12")], [Span("a-very-long-queue-name"), Span("3")]])
        var g = Grid(width: 16, height: 3)
        t.render(into: &g, rect: g.bounds)
        #expect(g.lines() == ["name           n", "emails        12", "a-very-lon…    3"])
        #expect(t.widths(for: 16) == [11, 4])
        // Too narrow for the fixed column: it is dropped whole, never cut.
        #expect(t.widths(for: 8) == [8, 0])
        var n = Grid(width: 8, height: 2)
        t.render(into: &n, rect: n.bounds)
        #expect(n.lines() == ["name", "emails"])
    }

    @Test func tableSelectionScrollsIntoView() {
        let rows = (0..<10).map { [Span("row\($0)")] }
        let t = Table(columns: [Column("c")], rows: rows, selected: 7, showHeader: false)
        var g = Grid(width: 6, height: 3)
        t.render(into: &g, rect: g.bounds)
        #expect(g.lines() == ["row5", "row6", "row7"])
        #expect(g[0, 2].style.reverse)
        #expect(Table.scrolled(offset: 5, selected: 2, visible: 3) == 2)
    }

    @Test func gaugeShowsBarAndDetail() {
        var g = Grid(width: 30, height: 1)
        Gauge(label: "used", value: 50, limit: 100, detail: "50/100", labelWidth: 5).render(into: &g, rect: g.bounds)
        #expect(g.lines() == ["used  [████████░░░░░░░] 50/100"])
        var u = Grid(width: 30, height: 1)
        Gauge(label: "used", value: 5, limit: nil, detail: "5/—", labelWidth: 5).render(into: &u, rect: u.bounds)
        #expect(u.lines() == ["used  [··················] 5/—"])
        var over = Grid(width: 20, height: 1)
        Gauge(label: "x", value: 300, limit: 100, detail: "300%", labelWidth: 2).render(into: &over, rect: over.bounds)
        #expect(over.lines() == ["x  [██████████] 300%"])
    }

    @Test func sparklineScalesToMax() {
        #expect(Sparkline(values: [0, 1, 2, 3, 4, 5, 6, 7], max: 7).string(width: 8) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline(values: [1, 2, 3, 4], max: 4).string(width: 2) == "▆█")   // newest at the right
        #expect(Sparkline(values: [0, 0]).string(width: 5) == "▁▁")
    }

    @Test func lineChartPlotsNewestAtTheRight() {
        var g = Grid(width: 20, height: 6)
        LineChart(series: [Series(name: "used", values: [0, 5, 10], mark: "•")], yMax: 10).render(into: &g, rect: g.bounds)
        let l = g.lines()
        #expect(l[0] == "• used")
        #expect(l[1] == "10 │               •")
        #expect(l[2] == " 5 │              •")
        #expect(l[3] == "   │")
        #expect(l[4] == " 0 │             •")
        #expect(l[5] == "   └────────────────")
    }

    @Test func panelDrawsBoxTitleAndStatus() {
        var g = Grid(width: 32, height: 4)
        let inner = Panel(title: "Memory", status: "stale 14s: timeout").render(into: &g, rect: g.bounds)
        #expect(inner == Rect(x: 1, y: 1, width: 30, height: 2))
        #expect(g.lines() == [
            "┌ Memory ── stale 14s: timeout ┐",
            "│                              │",
            "│                              │",
            "└──────────────────────────────┘",
        ])
        var t = Grid(width: 30, height: 3)
        Panel(title: "Memory", status: "stale 14s: timeout").render(into: &t, rect: t.bounds)
        #expect(t.lines()[0] == "┌ Memory ── stale 14s: timeo…┐")
        var n = Grid(width: 14, height: 3)
        Panel(title: "A long title here", status: "error").render(into: &n, rect: n.bounds)
        #expect(n.lines()[0] == "┌ A long t…──┐")
    }

    @Test func statusBarFitsWholeHints() {
        var g = Grid(width: 30, height: 1)
        StatusBar(hints: [KeyHint("?", "help"), KeyHint("q", "quit"), KeyHint("m", "memory"), KeyHint("l", "logs")], message: "RO").render(into: &g, rect: g.bounds)
        #expect(g.lines() == [" ? help  q quit  m memory  RO"])
        #expect(g[1, 0].style.bold && g[1, 0].style.reverse)
    }

    @Test func dialogWithTypedConfirmation() {
        var g = Grid(width: 40, height: 10)
        Dialog(title: "Confirm", body: "Type the id to go on.", buttons: ["OK", "Cancel"], prompt: ">", input: "oom").render(into: &g, area: g.bounds)
        #expect(g.lines() == [
            "",
            "  ┌ Confirm ─────────────────────────┐",
            "  │ Type the id to go on.            │",
            "  │                                  │",
            "  │ > oom█                           │",
            "  │                                  │",
            "  │        [ OK ] [ Cancel ]         │",
            "  └──────────────────────────────────┘",
            "",
            "",
        ])
    }
}
