// The in-memory screen: a grid of styled cells. Views draw here; the terminal paints diffs.

public enum Color: UInt8, Sendable, Hashable, CaseIterable {
    case `default`, black, red, green, yellow, blue, magenta, cyan, white
}

public struct Style: Sendable, Hashable {
    public var fg: Color
    public var bg: Color
    public var bold: Bool
    public var dim: Bool
    public var reverse: Bool
    public var underline: Bool
    public init(fg: Color = .default, bg: Color = .default, bold: Bool = false, dim: Bool = false, reverse: Bool = false, underline: Bool = false) {
        self.fg = fg; self.bg = bg; self.bold = bold; self.dim = dim; self.reverse = reverse; self.underline = underline
    }
    public static let plain = Style()
    public static let bold = Style(bold: true)
    public static let dim = Style(dim: true)
    public static let reverse = Style(reverse: true)
    public static func fg(_ c: Color, bold: Bool = false) -> Style { Style(fg: c, bold: bold) }
    /// The same style without colours (for --no-color / NO_COLOR).
    public var monochrome: Style { Style(bold: bold, dim: dim, reverse: reverse, underline: underline) }
}

public struct Cell: Sendable, Hashable {
    /// One grapheme cluster; "" for the right half of a wide character.
    public var text: String
    /// 1 or 2 for a character; 0 for the continuation of a wide character.
    public var width: UInt8
    public var style: Style
    public init(_ text: String = " ", width: UInt8 = 1, style: Style = .plain) {
        self.text = text; self.width = width; self.style = style
    }
    public static let blank = Cell()
    public var isContinuation: Bool { width == 0 }
}

public struct Rect: Sendable, Hashable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var description: String { "(\(x),\(y) \(width)x\(height))" }
    public func inset(_ d: Int) -> Rect { Rect(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d) }
    public func inset(dx: Int, dy: Int) -> Rect { Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy) }
    /// Top `n` rows and the rest.
    public func splitTop(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: n), Rect(x: x, y: y + n, width: width, height: height - n))
    }
    public func splitBottom(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: height - n), Rect(x: x, y: y + height - n, width: width, height: n))
    }
    public func splitLeft(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), width)
        return (Rect(x: x, y: y, width: n, height: height), Rect(x: x + n, y: y, width: width - n, height: height))
    }
    /// `count` columns of (almost) equal width, covering the rect exactly.
    public func columns(_ count: Int) -> [Rect] {
        guard count > 0 else { return [] }
        var out: [Rect] = []
        var cx = x
        for i in 0..<count {
            let w = (width * (i + 1)) / count - (width * i) / count
            out.append(Rect(x: cx, y: y, width: w, height: height)); cx += w
        }
        return out
    }
    /// Rows of the given heights, from the top; the last one is clipped to the rect.
    public func rows(_ heights: [Int]) -> [Rect] {
        var out: [Rect] = []
        var cy = y
        for h in heights {
            let hh = max(0, min(h, maxY - cy))
            out.append(Rect(x: x, y: cy, width: width, height: hh)); cy += hh
        }
        return out
    }
    public func intersection(_ o: Rect) -> Rect {
        let nx = max(x, o.x), ny = max(y, o.y)
        return Rect(x: nx, y: ny, width: min(maxX, o.maxX) - nx, height: min(maxY, o.maxY) - ny)
    }
    /// A rect of at most `w`x`h` centred in this one.
    public func centered(width w: Int, height h: Int) -> Rect {
        let ww = min(w, width), hh = min(h, height)
        return Rect(x: x + (width - ww) / 2, y: y + (height - hh) / 2, width: ww, height: hh)
    }
}

/// One changed stretch of a row: paint `text` at (x, y) in `style`.
public struct Run: Sendable, Hashable {
    public var x: Int, y: Int
    public var text: String
    public var style: Style
    /// Columns covered.
    public var width: Int
    public init(x: Int, y: Int, text: String, style: Style, width: Int) {
        self.x = x; self.y = y; self.text = text; self.style = style; self.width = width
    }
}

public struct Grid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width); self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
    }

    /// Sets one cell, keeping wide characters consistent (no orphaned halves).
    private mutating func set(_ x: Int, _ y: Int, _ cell: Cell) {
        let i = y * width + x
        // Overwriting half of a wide character blanks the other half.
        let old = cells[i]
        if old.width == 2, x + 1 < width { cells[i + 1] = Cell(" ", width: 1, style: cells[i + 1].style) }
        if old.width == 0, x > 0, cells[i - 1].width == 2 { cells[i - 1] = Cell(" ", width: 1, style: cells[i - 1].style) }
        cells[i] = cell
    }

    /// Writes `text` at (x, y), sanitised, clipped to `clip` (default: the grid) and to one row.
    /// Returns the column after the last character written.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let c = (clip ?? bounds).intersection(bounds)
        guard y >= c.y, y < c.maxY else { return x }
        var cx = x
        for ch in Sanitize.line(text) {
            let w = TextWidth.of(ch)
            if w == 0 {
                // Zero-width: attach to the previous cell when it is on screen.
                if cx - 1 >= c.x, cx - 1 < c.maxX, cx - 1 >= 0 {
                    var px = cx - 1
                    if self[px, y].isContinuation, px > 0 { px -= 1 }
                    var prev = self[px, y]; prev.text.append(ch); cells[y * width + px] = prev
                }
                continue
            }
            if cx >= c.maxX { break }
            if cx + w > c.maxX {
                // A wide character that does not fit: fill the rest with blanks.
                while cx < c.maxX { if cx >= c.x { set(cx, y, Cell(" ", style: style)) }; cx += 1 }
                break
            }
            if cx >= c.x {
                set(cx, y, Cell(String(ch), width: UInt8(w), style: style))
                if w == 2 { set(cx + 1, y, Cell("", width: 0, style: style)) }
            }
            cx += w
        }
        return cx
    }

    /// Fills a rect with a character (blank by default).
    public mutating func fill(_ r: Rect, char: Character = " ", style: Style = .plain) {
        let c = r.intersection(bounds)
        guard !c.isEmpty else { return }
        for y in c.y..<c.maxY { for x in c.x..<c.maxX { set(x, y, Cell(String(char), style: style)) } }
    }

    /// Changes the style of every cell in a rect, keeping its text (e.g. to highlight a row).
    public mutating func restyle(_ r: Rect, _ transform: (Style) -> Style) {
        let c = r.intersection(bounds)
        guard !c.isEmpty else { return }
        for y in c.y..<c.maxY { for x in c.x..<c.maxX { cells[y * width + x].style = transform(cells[y * width + x].style) } }
    }

    /// Plain text of each row (wide characters once); trailing blanks removed unless asked.
    public func lines(trimTrailing: Bool = true) -> [String] {
        (0..<height).map { y in
            var s = ""
            for x in 0..<width where !self[x, y].isContinuation { s += self[x, y].text }
            if trimTrailing { while s.hasSuffix(" ") { s.removeLast() } }
            return s
        }
    }

    public var text: String { lines().joined(separator: "\n") }

    /// Applies a style-level transform to the whole grid (used for monochrome output).
    public func mapStyles(_ t: (Style) -> Style) -> Grid {
        var g = self
        for i in g.cells.indices { g.cells[i].style = t(g.cells[i].style) }
        return g
    }

    /// The runs to paint to turn `previous` into this grid: only changed cells, grouped into
    /// same-style stretches. A different size (or nil) repaints everything.
    public func diff(from previous: Grid?) -> [Run] {
        let full = previous == nil || previous!.width != width || previous!.height != height
        var runs: [Run] = []
        for y in 0..<height {
            var x = 0
            while x < width {
                let i = y * width + x
                let changed = full || cells[i] != previous!.cells[i]
                    || (cells[i].width == 2 && x + 1 < width && cells[i + 1] != previous!.cells[i + 1])
                if !changed { x += 1; continue }
                var start = x
                if self[start, y].isContinuation && start > 0 { start -= 1 }
                let style = self[start, y].style
                var text = ""
                var cx = start
                while cx < width {
                    let j = y * width + cx
                    let cell = cells[j]
                    if cx > start {
                        let differs = full || cell != previous!.cells[j]
                            || (cell.width == 2 && cx + 1 < width && cells[j + 1] != previous!.cells[j + 1])
                        if !differs && !cell.isContinuation { break }
                        if cell.style != style && !cell.isContinuation { break }
                    }
                    if !cell.isContinuation { text += cell.text }
                    cx += 1
                }
                if let last = runs.last, last.y == y, last.x + last.width == start, last.style == style {
                    runs[runs.count - 1].text += text
                    runs[runs.count - 1].width += cx - start
                } else {
                    runs.append(Run(x: start, y: y, text: text, style: style, width: cx - start))
                }
                x = cx
            }
        }
        return runs
    }
}
