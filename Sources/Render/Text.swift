// Display width and sanitising of text before it reaches the grid (and so the terminal).

public enum TextWidth {
    /// Terminal columns taken by one Unicode scalar: 0 (combining, zero-width), 1 or 2 (wide).
    public static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v == 0 { return 0 }
        if v < 0x300 { return 1 }
        // Combining marks and zero-width characters.
        if (0x0300...0x036F).contains(v) || (0x0483...0x0489).contains(v) || (0x0591...0x05BD).contains(v)
            || (0x0610...0x061A).contains(v) || (0x064B...0x065F).contains(v) || (0x1AB0...0x1AFF).contains(v)
            || (0x1DC0...0x1DFF).contains(v) || (0x200B...0x200F).contains(v) || (0x20D0...0x20FF).contains(v)
            || (0xFE00...0xFE0F).contains(v) || (0xFE20...0xFE2F).contains(v) || v == 0xFEFF
            || (0xE0100...0xE01EF).contains(v) {
            return 0
        }
        // East Asian Wide / Fullwidth and emoji presentation ranges.
        if (0x1100...0x115F).contains(v) || (0x231A...0x231B).contains(v) || (0x2329...0x232A).contains(v)
            || (0x23E9...0x23EC).contains(v) || v == 0x23F0 || v == 0x23F3 || (0x25FD...0x25FE).contains(v)
            || (0x2614...0x2615).contains(v) || (0x2648...0x2653).contains(v) || v == 0x267F || v == 0x2693
            || v == 0x26A1 || (0x26AA...0x26AB).contains(v) || (0x26BD...0x26BE).contains(v)
            || (0x26C4...0x26C5).contains(v) || v == 0x26CE || v == 0x26D4 || v == 0x26EA
            || (0x26F2...0x26F3).contains(v) || v == 0x26F5 || v == 0x26FA || v == 0x26FD || v == 0x2705
            || (0x270A...0x270B).contains(v) || v == 0x2728 || v == 0x274C || v == 0x274E
            || (0x2753...0x2755).contains(v) || v == 0x2757 || (0x2795...0x2797).contains(v) || v == 0x27B0
            || v == 0x27BF || (0x2B1B...0x2B1C).contains(v) || v == 0x2B50 || v == 0x2B55
            || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v) || (0x3400...0x4DBF).contains(v)
            || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v) || (0xA960...0xA97F).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE10...0xFE19).contains(v)
            || (0xFE30...0xFE6F).contains(v) || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v)
            || (0x1F300...0x1F64F).contains(v) || (0x1F900...0x1F9FF).contains(v) || (0x1F680...0x1F6FF).contains(v)
            || (0x1FA70...0x1FAFF).contains(v) || (0x20000...0x2FFFD).contains(v) || (0x30000...0x3FFFD).contains(v) {
            return 2
        }
        return 1
    }

    /// Columns of a grapheme cluster (width of its first non-zero-width scalar, at most 2).
    public static func of(_ c: Character) -> Int {
        var w = 0
        for s in c.unicodeScalars {
            let sw = of(s)
            if sw > 0 { w = max(w, sw); break }
        }
        return min(w, 2)
    }

    public static func of(_ s: String) -> Int { s.reduce(0) { $0 + of($1) } }
}

public enum Sanitize {
    /// The visible stand-in for one unsafe scalar, or nil when the scalar is safe to draw.
    /// C0 controls become their Control Pictures (ESC -> ␛, BEL -> ␇, TAB -> ␉), DEL -> ␡,
    /// C1 controls, bidi overrides, line/paragraph separators and U+FFFD -> �.
    public static func replacement(for s: Unicode.Scalar) -> String? {
        let v = s.value
        if v < 0x20 { return String(Unicode.Scalar(0x2400 + v)!) }
        if v == 0x7F { return "\u{2421}" }
        if (0x80...0x9F).contains(v) { return "\u{FFFD}" }
        if (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x2028 || v == 0x2029 {
            return "\u{FFFD}"
        }
        return nil
    }

    /// A single-line string that is safe to hand to the terminal: every control character and
    /// escape sequence introducer is replaced by a visible symbol.
    public static func line(_ text: String) -> String {
        var needs = false
        for s in text.unicodeScalars where replacement(for: s) != nil { needs = true; break }
        if !needs { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if let r = replacement(for: s) { out.append(contentsOf: r.unicodeScalars) } else { out.append(s) }
        }
        return String(out)
    }

    /// Decodes bytes as UTF-8 (invalid sequences become U+FFFD) and sanitises the result.
    public static func bytes(_ data: some Sequence<UInt8>) -> String {
        line(String(decoding: Array(data), as: UTF8.self))
    }
}

public enum TextLayout {
    /// Cuts `text` to at most `width` columns; adds "…" when something was cut.
    public static func truncate(_ text: String, to width: Int, ellipsis: String = "…") -> String {
        if width <= 0 { return "" }
        if TextWidth.of(text) <= width { return text }
        let ew = TextWidth.of(ellipsis)
        if width <= ew { return width == ew ? ellipsis : "" }
        var out = ""
        var w = 0
        for c in text {
            let cw = TextWidth.of(c)
            if w + cw > width - ew { break }
            out.append(c); w += cw
        }
        return out + ellipsis
    }

    /// Pads (or truncates) to exactly `width` columns.
    public static func fit(_ text: String, to width: Int, align: Alignment = .left) -> String {
        let t = truncate(text, to: width)
        let pad = max(0, width - TextWidth.of(t))
        switch align {
        case .left: return t + String(repeating: " ", count: pad)
        case .right: return String(repeating: " ", count: pad) + t
        case .center:
            let l = pad / 2
            return String(repeating: " ", count: l) + t + String(repeating: " ", count: pad - l)
        }
    }

    /// Word-wraps one paragraph to `width` columns; words longer than the width are split.
    /// `firstWidth`: the first row's own width (a row that starts after a label).
    public static func wrap(_ text: String, width: Int, firstWidth: Int? = nil) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        let width0 = max(1, firstWidth ?? width)
        func limit() -> Int { lines.isEmpty ? width0 : width }
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineW = 0
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                var w = String(word)
                var ww = TextWidth.of(w)
                let sep = line.isEmpty ? 0 : 1
                if lineW + sep + ww <= limit() {
                    if sep == 1 { line += " " }
                    line += w; lineW += sep + ww
                    continue
                }
                if !line.isEmpty { lines.append(line); line = ""; lineW = 0 }
                while ww > limit() {
                    var head = ""
                    var hw = 0
                    var rest = Substring(w)
                    while let c = rest.first, hw + TextWidth.of(c) <= limit() { head.append(c); hw += TextWidth.of(c); rest = rest.dropFirst() }
                    if head.isEmpty { head = String(rest.prefix(1)); rest = rest.dropFirst() }
                    lines.append(head)
                    w = String(rest); ww = TextWidth.of(w)
                }
                line = w; lineW = ww
            }
            lines.append(line)
        }
        return lines
    }
}

public enum Alignment: Sendable, Equatable { case left, right, center }
