import Foundation
import Render
import Testing

/// The hostile input corpus (Tests/HostileInputTests/Corpus, copied as a resource).
enum Corpus {
    static var root: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Corpus")
    }

    /// File names of one class (kubectl, info, runbooks, keys), sorted.
    static func files(_ kind: String) -> [String] {
        let dir = root.appendingPathComponent(kind)
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    static func data(_ kind: String, _ name: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(kind).appendingPathComponent(name))
    }

    static func path(_ kind: String, _ name: String) -> String {
        root.appendingPathComponent(kind).appendingPathComponent(name).path
    }
}

/// What must never reach the terminal: C0 controls (ESC, BEL, CR, LF, NUL...), DEL and C1 controls
/// (U+0080–U+009F, e.g. the 8-bit CSI U+009B), plus the bidi overrides Sanitize removes.
enum TerminalSafety {
    /// A short description of the unsafe scalars of `s` ("" when there are none), for messages.
    static func report(_ s: String) -> String {
        let bad = unsafeScalars(s)
        return bad.isEmpty ? "" : "\(bad.count) control scalars, e.g. \(bad.prefix(4).map { "U+" + String($0.value, radix: 16) })"
    }

    static func unsafeScalars(_ s: String) -> [Unicode.Scalar] {
        s.unicodeScalars.filter { u in
            let v = u.value
            return v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
        }
    }

    /// Every text cell of the grid, concatenated per row (continuation cells included).
    static func cellText(_ g: Grid) -> [String] {
        (0..<g.height).map { y in (0..<g.width).map { g[$0, y].text }.joined() }
    }

    /// Draws `texts` (one per row, as the views do: Grid.write) into a grid and checks that no
    /// unsafe scalar is in any cell and that the rows are bounded by the grid width.
    static func expectSafeOnGrid(_ texts: [String], width: Int = 80, sourceLocation: SourceLocation = #_sourceLocation) {
        let rows = max(1, min(texts.count, 200))
        var g = Grid(width: width, height: rows)
        for (i, t) in texts.prefix(rows).enumerated() { g.write(t, x: 0, y: i) }
        for (y, row) in cellText(g).enumerated() {
            let bad = unsafeScalars(row)
            #expect(bad.isEmpty, "row \(y) carries \(bad.count) control scalars into the grid, e.g. \(bad.prefix(4).map { "U+" + String($0.value, radix: 16) })", sourceLocation: sourceLocation)
        }
        for (y, line) in g.lines().enumerated() {
            #expect(TextWidth.of(line) <= width, "row \(y) is wider than the grid", sourceLocation: sourceLocation)
        }
    }
}
