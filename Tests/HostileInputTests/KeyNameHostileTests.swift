import Foundation
import MemoryAnalysis
import Render
import Testing

/// Key names are bytes chosen by whoever writes to Redis. MemoryAnalysis shows them through
/// KeyDisplay (escaped text) and KeyPattern; the views draw them with Grid.write. A key named
/// `\e]0;pwned\a` must never reach the terminal as an escape.
@Suite("Hostile key names")
struct KeyNameHostileTests {
    static let files = Corpus.files("keys")

    @Test func corpusIsComplete() { #expect(Self.files.count >= 10) }

    static func check(_ bytes: [UInt8], _ name: String) {
        let shown = KeyDisplay.render(bytes)
        // KeyDisplay itself is terminal-safe (it is also printed by `memory` in text mode).
        #expect(TerminalSafety.report(shown) == "", "\(name): KeyDisplay leaves control scalars: \(shown.debugDescription.prefix(200))")
        let pattern = KeyPattern.pattern(bytes)
        #expect(TerminalSafety.report(pattern) == "", "\(name): KeyPattern leaves control scalars: \(pattern.debugDescription.prefix(200))")
        // Drawn as-is (a view that forgot KeyDisplay) and escaped: the grid stays clean either way.
        let raw = String(decoding: bytes, as: UTF8.self)
        TerminalSafety.expectSafeOnGrid([shown, pattern, raw, "key \(raw) (\(shown))"], width: 60)
        // Distinct keys stay distinguishable: the escaping is reversible enough that a key with a
        // control byte never renders the same as the key without it.
        let stripped = bytes.filter { $0 >= 0x20 && $0 != 0x7F }
        if stripped.count != bytes.count { #expect(KeyDisplay.render(stripped) != shown, "\(name): escaping hides the control byte") }
    }

    @Test("each key name renders without control bytes", arguments: files)
    func key(_ name: String) throws {
        let bytes = [UInt8](try Corpus.data("keys", name))
        Self.check(bytes, name)
    }

    @Test func oscTitleKeyIsVisiblyEscaped() throws {
        let bytes = [UInt8](try Corpus.data("keys", "osc-title.key"))
        #expect(bytes.first == 0x1B)
        #expect(KeyDisplay.render(bytes) == "\\e]0;pwned\\x07")
        var g = Grid(width: 30, height: 1)
        g.write(KeyDisplay.render(bytes), x: 0, y: 0)
        #expect(g.lines()[0] == "\\e]0;pwned\\x07")
    }

    @Test func everySingleByteAndC1Scalar() {
        for b in 0...255 { Self.check([0x6B, UInt8(b), 0x6B], "byte \(b)") }
        for v in 0x80...0x9F { Self.check(Array("k\(Character(Unicode.Scalar(v)!))k".utf8), "U+\(String(v, radix: 16))") }
        for v in [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029, 0x200B, 0xFEFF] {
            Self.check(Array("k\(Character(Unicode.Scalar(v)!))k".utf8), "U+\(String(v, radix: 16))")
        }
    }

    @Test func hugeAndPathologicalKeys() {
        Self.check(Array(repeating: 0x1B, count: 100_000), "100k ESC")
        Self.check(Array(repeating: 0x9B, count: 100_000), "100k 0x9B")
        Self.check(Array(String(repeating: "\u{1B}]0;x\u{07}", count: 10_000).utf8), "10k OSC")
        Self.check([0xF4, 0x90, 0x80, 0x80, 0xED, 0xA0, 0x80, 0xC0, 0xAF, 0xE0, 0x80, 0x9B], "overlong and surrogate UTF-8")
    }
}
