import Render
import Testing

@Suite struct SanitizeTests {
    @Test func escapeSequencesBecomeVisibleSymbols() {
        #expect(Sanitize.line("a\u{1b}[31mb") == "a␛[31mb")
        #expect(Sanitize.line("ding\u{07}") == "ding␇")
        #expect(Sanitize.line("x\u{9b}2Jy") == "x\u{FFFD}2Jy")   // C1 CSI
        #expect(Sanitize.line("del\u{7f}") == "del␡")
        #expect(Sanitize.line("tab\tnl\ncr\r") == "tab␉nl␊cr␍")
        #expect(Sanitize.line("\u{202E}evil") == "\u{FFFD}evil")
        #expect(Sanitize.line("plain ünïcode 漢字") == "plain ünïcode 漢字")
    }

    @Test func invalidUTF8IsReplaced() {
        let s = Sanitize.bytes([0x61, 0xFF, 0xFE, 0x1B, 0x62])
        #expect(s == "a\u{FFFD}\u{FFFD}␛b")
    }

    @Test func oscTitleInjectionInAQueueNameIsHarmless() {
        var g = Grid(width: 30, height: 1)
        g.write("queue \u{1b}]0;pwned\u{07} x", x: 0, y: 0)
        #expect(g.lines() == ["queue ␛]0;pwned␇ x"])
        for c in g.cells {
            for s in c.text.unicodeScalars { #expect(s.value >= 0x20 && s.value != 0x7F && !(0x80...0x9F).contains(s.value)) }
        }
        // The diff sent to the terminal carries no control character either.
        for run in g.diff(from: nil) { #expect(!run.text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }) }
    }
}

@Suite struct GridTests {
    @Test func writeClipsToGridAndRect() {
        var g = Grid(width: 10, height: 2)
        let end = g.write("hello world", x: 2, y: 0)
        #expect(end == 10)
        #expect(g.lines() == ["  hello wo", ""])
        g.write("abcdef", x: 0, y: 1, clip: Rect(x: 1, y: 1, width: 3, height: 1))
        #expect(g.lines()[1] == " bcd")
        g.write("out", x: 0, y: 5)   // below the grid: ignored
        #expect(g.lines().count == 2)
    }

    @Test func wideCharactersTakeTwoCells() {
        var g = Grid(width: 6, height: 1)
        g.write("漢字x", x: 0, y: 0)
        #expect(g.lines() == ["漢字x"])
        #expect(g[0, 0].width == 2 && g[1, 0].isContinuation)
        // A wide char that does not fit at the right edge is not split.
        var h = Grid(width: 3, height: 1)
        h.write("a漢字", x: 0, y: 0)
        #expect(h.lines() == ["a漢"])
        var k = Grid(width: 4, height: 1)
        k.write("ab漢", x: 1, y: 0)
        #expect(k.lines() == [" ab"])
    }

    @Test func overwritingHalfAWideCharBlanksTheOtherHalf() {
        var g = Grid(width: 4, height: 1)
        g.write("漢", x: 0, y: 0)
        g.write("x", x: 1, y: 0)
        #expect(g.lines() == [" x"])
        #expect(!g[0, 0].isContinuation && g[0, 0].width == 1)
    }

    @Test func combiningMarksAttachToThePreviousCell() {
        var g = Grid(width: 4, height: 1)
        g.write("e\u{301}x", x: 0, y: 0)
        #expect(g.lines() == ["e\u{301}x"])
        #expect(g[1, 0].text == "x")
    }

    @Test func diffListsOnlyChangedRuns() {
        var a = Grid(width: 10, height: 3)
        a.write("hello", x: 0, y: 0)
        a.write("world", x: 0, y: 2)
        #expect(a.diff(from: nil).count == 3)   // full paint: one run per row
        var b = a
        b.write("J", x: 0, y: 0)
        b.write("Y", x: 4, y: 2, style: .bold)
        let runs = b.diff(from: a)
        #expect(runs == [Run(x: 0, y: 0, text: "J", style: .plain, width: 1), Run(x: 4, y: 2, text: "Y", style: .bold, width: 1)])
        #expect(b.diff(from: b).isEmpty)
        // Size change: everything again.
        #expect(Grid(width: 5, height: 1).diff(from: a).count == 1)
    }

    @Test func diffIncludesWholeWideCharacter() {
        var a = Grid(width: 6, height: 1)
        a.write("ab", x: 0, y: 0)
        var b = a
        b.write("漢", x: 0, y: 0)
        let runs = b.diff(from: a)
        #expect(runs.count == 1)
        #expect(runs[0].text == "漢" && runs[0].width == 2 && runs[0].x == 0)
    }

    @Test func monochromeDropsColoursKeepsAttributes() {
        var g = Grid(width: 3, height: 1)
        g.write("x", x: 0, y: 0, style: Style(fg: .red, bold: true))
        let m = g.mapStyles { $0.monochrome }
        #expect(m[0, 0].style == Style(bold: true))
    }

    @Test func rectSplits() {
        let r = Rect(x: 0, y: 0, width: 80, height: 22)
        #expect(r.columns(3).map(\.width) == [26, 27, 27])
        #expect(r.columns(3).last!.maxX == 80)
        #expect(r.rows([5, 10, 20]).map(\.height) == [5, 10, 7])
        #expect(r.centered(width: 10, height: 4) == Rect(x: 35, y: 9, width: 10, height: 4))
    }
}

@Suite struct TextTests {
    @Test func widths() {
        #expect(TextWidth.of("abc") == 3)
        #expect(TextWidth.of("漢字") == 4)
        #expect(TextWidth.of("e\u{301}") == 1)
        #expect(TextWidth.of("█▁─│") == 4)
    }

    @Test func truncateAddsEllipsis() {
        #expect(TextLayout.truncate("redis-exporter", to: 8) == "redis-e…")
        #expect(TextLayout.truncate("short", to: 8) == "short")
        #expect(TextLayout.truncate("漢字漢字", to: 5) == "漢字…")
        #expect(TextLayout.truncate("abc", to: 0) == "")
        #expect(TextLayout.fit("ab", to: 5, align: .right) == "   ab")
        #expect(TextLayout.fit("ab", to: 6, align: .center) == "  ab  ")
    }

    @Test func wrapBreaksOnWordsAndSplitsLongWords() {
        #expect(TextLayout.wrap("the quick brown fox", width: 10) == ["the quick", "brown fox"])
        #expect(TextLayout.wrap("abcdefghijkl", width: 5) == ["abcde", "fghij", "kl"])
        #expect(TextLayout.wrap("a\nb", width: 5) == ["a", "b"])
    }
}

@Suite struct RingBufferTests {
    @Test func keepsTheNewestCapacityElements() {
        var r = RingBuffer<Double>(capacity: 3)
        #expect(r.isEmpty && r.last == nil)
        for v in 1...5 { r.append(Double(v)) }
        #expect(r.elements == [3, 4, 5])
        #expect(r.count == 3 && r.last == 5)
        #expect(r.suffix(2) == [4, 5])
    }
}
