// Widgets: each draws into a rect of a Grid and never outside it.

/// A run of text in one style; a line is a list of spans.
public struct Span: Sendable, Hashable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .plain) { self.text = text; self.style = style }
}

public typealias Line = [Span]

extension Grid {
    /// Writes spans on one row, clipped to `rect`; the last visible span is cut with "…".
    @discardableResult
    public mutating func write(line: Line, x: Int, y: Int, clip: Rect) -> Int {
        let total = line.reduce(0) { $0 + TextWidth.of(Sanitize.line($1.text)) }
        let room = clip.maxX - x
        var cx = x
        if total <= room {
            for s in line { cx = write(s.text, x: cx, y: y, style: s.style, clip: clip) }
            return cx
        }
        // Too long: keep spans until the room minus the ellipsis is used.
        var left = room - 1
        for s in line {
            let t = Sanitize.line(s.text)
            let w = TextWidth.of(t)
            if w <= left { cx = write(t, x: cx, y: y, style: s.style, clip: clip); left -= w; continue }
            var cut = ""
            var cw = 0
            for c in t { let c1 = TextWidth.of(c); if cw + c1 > left { break }; cut.append(c); cw += c1 }
            cx = write(cut + "…", x: cx, y: y, style: s.style, clip: clip)
            break
        }
        return cx
    }
}

// MARK: - Text block

public struct TextBlock: Sendable {
    public enum Overflow: Sendable { case wrap, truncate }
    public var lines: [Line]
    public var overflow: Overflow
    /// First line shown (for scrolling).
    public var offset: Int
    public init(_ lines: [Line], overflow: Overflow = .truncate, offset: Int = 0) {
        self.lines = lines; self.overflow = overflow; self.offset = offset
    }
    public init(text: String, style: Style = .plain, overflow: Overflow = .wrap, offset: Int = 0) {
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { [Span(String($0), style)] }
        self.overflow = overflow; self.offset = offset
    }

    /// Visual rows at a width (wrapping applied).
    public func rows(width: Int) -> [Line] {
        guard overflow == .wrap else { return lines }
        var out: [Line] = []
        for l in lines {
            // Wrapping works on the plain text; a wrapped line keeps the style of its first span.
            let text = l.map(\.text).joined()
            let style = l.first?.style ?? .plain
            if TextWidth.of(Sanitize.line(text)) <= width { out.append(l); continue }
            for w in TextLayout.wrap(Sanitize.line(text), width: width) { out.append([Span(w, style)]) }
        }
        return out
    }

    public func render(into g: inout Grid, rect: Rect) {
        guard !rect.isEmpty else { return }
        let rows = rows(width: rect.width)
        var y = rect.y
        for l in rows.dropFirst(max(0, offset)) {
            if y >= rect.maxY { break }
            g.write(line: l, x: rect.x, y: y, clip: rect)
            y += 1
        }
    }
}

// MARK: - Table

public struct Column: Sendable {
    public enum Width: Sendable { case fixed(Int), flex(min: Int, weight: Int) }
    public var title: String
    public var width: Width
    public var align: Alignment
    public init(_ title: String, _ width: Width = .flex(min: 4, weight: 1), align: Alignment = .left) {
        self.title = title; self.width = width; self.align = align
    }
}

public struct Table: Sendable {
    public var columns: [Column]
    public var rows: [[Span]]
    public var selected: Int?
    public var offset: Int
    public var showHeader: Bool
    public var headerStyle: Style
    public var selectedStyle: Style
    public var spacing: Int
    public init(columns: [Column], rows: [[Span]], selected: Int? = nil, offset: Int = 0, showHeader: Bool = true,
                headerStyle: Style = Style(bold: true, underline: false), selectedStyle: Style = .reverse, spacing: Int = 1) {
        self.columns = columns; self.rows = rows; self.selected = selected; self.offset = offset
        self.showHeader = showHeader; self.headerStyle = headerStyle; self.selectedStyle = selectedStyle; self.spacing = spacing
    }

    /// Column widths for a total width: fixed first, then flex shares by weight; columns that do
    /// not fit even at their minimum are dropped from the right (width 0).
    public func widths(for total: Int) -> [Int] {
        var widths = Array(repeating: 0, count: columns.count)
        var room = total
        var flex: [Int] = []
        var dropped = false
        for (i, c) in columns.enumerated() where !dropped {
            let sep = i == 0 ? 0 : spacing
            switch c.width {
            case .fixed(let w):
                // A column is shown whole (at least its minimum) or not at all, and then none after it.
                if room - sep >= w { widths[i] = w; room -= w + sep } else { dropped = true }
            case .flex(let m, _):
                if room - sep >= m { widths[i] = m; room -= m + sep; flex.append(i) } else { dropped = true }
            }
        }
        let weights = flex.reduce(0) { sum, i in if case .flex(_, let w) = columns[i].width { return sum + w }; return sum }
        if weights > 0, room > 0 {
            var given = 0
            for (n, i) in flex.enumerated() {
                guard case .flex(_, let w) = columns[i].width else { continue }
                let extra = n == flex.count - 1 ? room - given : room * w / weights
                widths[i] += extra; given += extra
            }
        }
        return widths
    }

    /// Adjusts `offset` so `selected` is visible in `height` data rows.
    public static func scrolled(offset: Int, selected: Int?, visible: Int) -> Int {
        guard let s = selected, visible > 0 else { return max(0, offset) }
        if s < offset { return s }
        if s >= offset + visible { return s - visible + 1 }
        return max(0, offset)
    }

    public func render(into g: inout Grid, rect: Rect) {
        guard !rect.isEmpty else { return }
        let widths = widths(for: rect.width)
        var y = rect.y
        func drawRow(_ cells: [Span], style override: Style?) {
            var x = rect.x
            for (i, c) in columns.enumerated() where widths[i] > 0 {
                if i > 0 { x += spacing }
                let span = i < cells.count ? cells[i] : Span("")
                let text = TextLayout.fit(Sanitize.line(span.text), to: widths[i], align: c.align)
                g.write(text, x: x, y: y, style: override ?? span.style, clip: rect)
                x += widths[i]
            }
        }
        if showHeader {
            drawRow(columns.map { Span($0.title, headerStyle) }, style: headerStyle)
            y += 1
        }
        let visible = rect.maxY - y
        let off = Table.scrolled(offset: offset, selected: selected, visible: visible)
        for (i, r) in rows.enumerated().dropFirst(off) {
            if y >= rect.maxY { break }
            if i == selected {
                g.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: selectedStyle)
                drawRow(r.map { Span($0.text, selectedStyle) }, style: nil)
            } else {
                drawRow(r, style: nil)
            }
            y += 1
        }
    }
}

// MARK: - Gauge

public struct Gauge: Sendable {
    public var label: String
    public var value: Double?
    public var limit: Double?
    /// Text after the bar (e.g. "612M / 1.0G 60%"); computed by the caller.
    public var detail: String
    public var labelWidth: Int
    public var style: Style
    public init(label: String, value: Double?, limit: Double?, detail: String, labelWidth: Int = 9, style: Style = .plain) {
        self.label = label; self.value = value; self.limit = limit; self.detail = detail; self.labelWidth = labelWidth; self.style = style
    }
    public var ratio: Double? {
        guard let v = value, let l = limit, l > 0 else { return nil }
        return max(0, v / l)
    }

    /// `label [█████░░░░░] detail` on one row; the bar takes what the label and detail leave.
    public func render(into g: inout Grid, rect: Rect) {
        guard !rect.isEmpty else { return }
        let y = rect.y
        var x = g.write(TextLayout.fit(label, to: min(labelWidth, rect.width)), x: rect.x, y: y, style: .bold, clip: rect)
        let detailW = TextWidth.of(detail)
        let barW = rect.maxX - x - 4 - detailW
        if barW >= 4 {
            x = g.write(" [", x: x, y: y, clip: rect)
            let filled = ratio.map { Int((min($0, 1) * Double(barW)).rounded()) } ?? 0
            x = g.write(String(repeating: "█", count: filled), x: x, y: y, style: style, clip: rect)
            x = g.write(String(repeating: ratio == nil ? "·" : "░", count: barW - filled), x: x, y: y, style: .dim, clip: rect)
            x = g.write("]", x: x, y: y, clip: rect)
            g.write(" " + detail, x: x, y: y, style: style, clip: rect)
        } else {
            g.write(" " + detail, x: x, y: y, style: style, clip: rect)
        }
    }
}

// MARK: - Sparkline and line chart

public struct Sparkline: Sendable {
    public static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    public var values: [Double]
    /// Top of the scale; defaults to the largest value.
    public var max: Double?
    public var style: Style
    public init(values: [Double], max: Double? = nil, style: Style = .plain) { self.values = values; self.max = max; self.style = style }

    /// The newest `width` values as block characters.
    public func string(width: Int) -> String {
        let vals = values.suffix(width)
        guard let top = self.max ?? vals.max(), top > 0 else { return String(repeating: "▁", count: vals.count) }
        return String(vals.map { v -> Character in
            let r = Swift.max(0, Swift.min(1, v / top))
            return Sparkline.blocks[Int((r * Double(Sparkline.blocks.count - 1)).rounded())]
        })
    }

    public func render(into g: inout Grid, rect: Rect) {
        guard !rect.isEmpty else { return }
        g.write(string(width: rect.width), x: rect.x, y: rect.y, style: style, clip: rect)
    }
}

public struct Series: Sendable {
    public var name: String
    public var values: [Double]
    public var style: Style
    public var mark: Character
    public init(name: String, values: [Double], style: Style = .plain, mark: Character = "•") {
        self.name = name; self.values = values; self.style = style; self.mark = mark
    }
}

/// A line chart: one column per sample (the newest at the right), a y axis with labels, a
/// legend on the first row. Later series are drawn over earlier ones.
public struct LineChart: Sendable {
    public var series: [Series]
    public var yMax: Double?
    public var formatY: @Sendable (Double) -> String
    public init(series: [Series], yMax: Double? = nil, formatY: @escaping @Sendable (Double) -> String = { String(Int($0)) }) {
        self.series = series; self.yMax = yMax; self.formatY = formatY
    }

    public func render(into g: inout Grid, rect: Rect) {
        guard rect.height >= 3, rect.width >= 10 else { return }
        // Legend.
        var lx = rect.x
        for s in series { lx = g.write("\(s.mark) \(s.name)  ", x: lx, y: rect.y, style: s.style, clip: rect) }
        let plot = Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1)
        let top = yMax ?? series.flatMap(\.values).max() ?? 0
        let labels = [formatY(top), formatY(top / 2), formatY(0)]
        let axisW = (labels.map { TextWidth.of($0) }.max() ?? 1) + 1
        let area = Rect(x: plot.x + axisW + 1, y: plot.y, width: plot.width - axisW - 1, height: plot.height - 1)
        guard area.width > 0, area.height > 0 else { return }
        // Axes.
        for y in area.y..<area.maxY { g.write("│", x: plot.x + axisW, y: y, style: .dim, clip: plot) }
        g.write("└" + String(repeating: "─", count: area.width), x: plot.x + axisW, y: area.maxY, style: .dim, clip: plot)
        g.write(TextLayout.fit(labels[0], to: axisW - 1, align: .right), x: plot.x, y: area.y, style: .dim, clip: plot)
        if area.height >= 3 {
            g.write(TextLayout.fit(labels[1], to: axisW - 1, align: .right), x: plot.x, y: area.y + (area.height - 1) / 2, style: .dim, clip: plot)
        }
        g.write(TextLayout.fit(labels[2], to: axisW - 1, align: .right), x: plot.x, y: area.maxY - 1, style: .dim, clip: plot)
        guard top > 0 else {
            g.write("no data yet", x: area.x + 1, y: area.y + area.height / 2, style: .dim, clip: area)
            return
        }
        for s in series {
            let vals = s.values.suffix(area.width)
            let startX = area.maxX - vals.count
            for (i, v) in vals.enumerated() {
                let r = max(0, min(1, v / top))
                let row = area.maxY - 1 - Int((r * Double(area.height - 1)).rounded())
                g.write(String(s.mark), x: startX + i, y: row, style: s.style, clip: area)
            }
        }
    }
}

// MARK: - Panel

public struct Panel: Sendable {
    public var title: String
    /// Shown at the right of the top border (e.g. "stale 14s: timeout").
    public var status: String?
    public var statusStyle: Style
    public var borderStyle: Style
    public var titleStyle: Style
    public init(title: String, status: String? = nil, statusStyle: Style = .fg(.yellow), borderStyle: Style = .dim, titleStyle: Style = .bold) {
        self.title = title; self.status = status; self.statusStyle = statusStyle; self.borderStyle = borderStyle; self.titleStyle = titleStyle
    }

    /// Draws the box and returns the inner rect.
    @discardableResult
    public func render(into g: inout Grid, rect: Rect) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        g.fill(rect)
        let inner = rect.inset(1)
        g.write("┌" + String(repeating: "─", count: rect.width - 2) + "┐", x: rect.x, y: rect.y, style: borderStyle, clip: rect)
        for y in (rect.y + 1)..<(rect.maxY - 1) {
            g.write("│", x: rect.x, y: y, style: borderStyle, clip: rect)
            g.write("│", x: rect.maxX - 1, y: y, style: borderStyle, clip: rect)
        }
        g.write("└" + String(repeating: "─", count: rect.width - 2) + "┘", x: rect.x, y: rect.maxY - 1, style: borderStyle, clip: rect)
        let titleRoom = rect.width - 4
        guard titleRoom > 0 else { return inner }
        let t = TextLayout.truncate(" " + Sanitize.line(title) + " ", to: titleRoom)
        let tEnd = g.write(t, x: rect.x + 1, y: rect.y, style: titleStyle, clip: rect)
        if let s = status, !s.isEmpty {
            let room = rect.maxX - 2 - tEnd - 1
            if room >= 5 {
                let st = TextLayout.truncate(" " + Sanitize.line(s) + " ", to: room)
                g.write(st, x: rect.maxX - 1 - TextWidth.of(st), y: rect.y, style: statusStyle, clip: rect)
            }
        }
        return inner
    }
}

// MARK: - Status bar

public struct KeyHint: Sendable, Hashable {
    public var key: String
    public var label: String
    public init(_ key: String, _ label: String) { self.key = key; self.label = label }
}

public struct StatusBar: Sendable {
    public var hints: [KeyHint]
    /// Right-aligned message (e.g. the last error or "read-only").
    public var message: String
    public var messageStyle: Style
    public init(hints: [KeyHint], message: String = "", messageStyle: Style = .bold) {
        self.hints = hints; self.message = message; self.messageStyle = messageStyle
    }

    /// `<key> label` pairs, as many as fit before the message; the rest are left out whole.
    public func render(into g: inout Grid, rect: Rect) {
        guard !rect.isEmpty else { return }
        let row = Rect(x: rect.x, y: rect.y, width: rect.width, height: 1)
        g.fill(row, style: .reverse)
        let msg = TextLayout.truncate(Sanitize.line(message), to: max(0, rect.width / 2))
        let msgW = TextWidth.of(msg)
        let limit = rect.maxX - (msgW > 0 ? msgW + 2 : 0)
        var x = rect.x + 1
        for h in hints {
            let w = TextWidth.of(h.key) + 1 + TextWidth.of(h.label) + 2
            if x + w > limit + 1 { break }
            x = g.write(h.key, x: x, y: rect.y, style: Style(bold: true, reverse: true), clip: row)
            x = g.write(" " + h.label + "  ", x: x, y: rect.y, style: .reverse, clip: row)
        }
        if msgW > 0 {
            g.write(msg, x: rect.maxX - msgW - 1, y: rect.y, style: Style(fg: messageStyle.fg, bold: messageStyle.bold, reverse: true), clip: row)
        }
    }
}

// MARK: - Modal dialog

public struct Dialog: Sendable {
    public var title: String
    public var body: String
    public var buttons: [String]
    public var selectedButton: Int
    /// A prompt and the typed input (typed confirmation); nil for a plain dialog.
    public var prompt: String?
    public var input: String
    public init(title: String, body: String, buttons: [String] = ["OK"], selectedButton: Int = 0, prompt: String? = nil, input: String = "") {
        self.title = title; self.body = body; self.buttons = buttons; self.selectedButton = selectedButton; self.prompt = prompt; self.input = input
    }

    /// Draws centred in `area` (at most 64 columns wide) and returns the rect it used.
    @discardableResult
    public func render(into g: inout Grid, area: Rect) -> Rect {
        let w = min(64, area.width - 4)
        guard w >= 12 else { return Rect(x: 0, y: 0, width: 0, height: 0) }
        let bodyRows = TextLayout.wrap(Sanitize.line(body.replacingNewlines()), width: w - 4)
        let h = min(area.height - 2, bodyRows.count + (prompt == nil ? 0 : 2) + (buttons.isEmpty ? 0 : 2) + 2)
        let r = area.centered(width: w, height: h)
        let inner = Panel(title: title, borderStyle: .bold).render(into: &g, rect: r).inset(dx: 1, dy: 0)
        var y = inner.y
        for l in bodyRows where y < inner.maxY { g.write(l, x: inner.x, y: y, clip: inner); y += 1 }
        if let p = prompt, y + 1 < inner.maxY {
            y += 1
            let x = g.write(p + " ", x: inner.x, y: y, style: .bold, clip: inner)
            let room = inner.maxX - x - 1
            var shown = Sanitize.line(input)
            while TextWidth.of(shown) > room, !shown.isEmpty { shown.removeFirst() }
            let ex = g.write(shown, x: x, y: y, style: Style(underline: true), clip: inner)
            g.write("█", x: ex, y: y, clip: inner)
            y += 1
        }
        if !buttons.isEmpty, y + 1 < inner.maxY + 1 {
            y = inner.maxY - 1
            let labels = buttons.enumerated().map { "[ \($0.element) ]" }
            let total = labels.reduce(0) { $0 + TextWidth.of($1) + 1 } - 1
            var x = inner.x + max(0, (inner.width - total) / 2)
            for (i, l) in labels.enumerated() {
                x = g.write(l, x: x, y: y, style: i == selectedButton ? Style(bold: true, reverse: true) : .plain, clip: inner) + 1
            }
        }
        return r
    }
}

extension String {
    /// Newlines as spaces; a dialog body wraps by itself.
    func replacingNewlines() -> String { String(map { $0 == "\n" ? " " : $0 }) }
}
