import Foundation
import Render
import Runbooks
import Testing

/// Every runbook corpus file through the loader (from disk, as `runbook validate` reads it):
/// invalid ones give `file:line:column: error: ..., expected ...`, nothing crashes or hangs.
@Suite("Hostile runbooks")
struct RunbookHostileTests {
    static let files = Corpus.files("runbooks")

    /// What each file must be rejected for (a fragment of the message) and where (line, nil = any).
    static let expected: [String: (fragment: String, line: Int?)] = [
        "bad-condition.yaml": ("'=' alone", 8),
        "batches-without-cursor.yaml": ("'cursor'", nil),
        "branch-unknown.yaml": ("nowhere", nil),
        "deep-nesting.yaml": ("", nil),
        "empty.yaml": ("empty", 1),
        "escape-in-title.yaml": ("control character U+001B", 2),
        "invalid-utf8.yaml": ("UTF-8", 2),
        "list-top.yaml": ("", 1),
        "missing-id.yaml": ("id", nil),
        "not-yaml.yaml": ("", nil),
        "scalar-top.yaml": ("", 1),
        "shell-string-argv.yaml": ("'command' is text", 8),
        "tabs-indent.yaml": ("", nil),
        "undeclared-variable.yaml": ("victim", nil),
        "unknown-step-kind.yaml": ("teleport", nil),
        "yaml-bomb.yaml": ("", nil),
    ]

    @Test func corpusIsComplete() { #expect(Self.files.count >= 15) }

    /// `file:line:column: error: ` with positive numbers.
    static func hasPosition(_ d: RunbookDiagnostic, file: String) -> Bool {
        let prefix = "\(file):\(d.location.line):\(d.location.column): error: "
        return d.location.line >= 1 && d.location.column >= 1 && d.description.hasPrefix(prefix)
    }

    @Test("each runbook file is rejected with file:line:column", arguments: files)
    func load(_ name: String) throws {
        let display = "runbooks/\(name)"
        let (rb, diags) = RunbookLoader.load(path: Corpus.path("runbooks", name), displayName: display)
        #expect(rb == nil, "\(name) is hostile but loaded as a valid runbook")
        let first = try #require(diags.first, "\(name): rejected without a diagnostic")
        for d in diags {
            #expect(Self.hasPosition(d, file: display), "\(name): no file:line:column in \(d.description)")
            #expect(d.description.count < 600, "\(name): a \(d.description.count)-character message")
            #expect(TerminalSafety.report(d.description) == "", "\(name): control characters reach the terminal: \(d.description.debugDescription)")
        }
        if let e = Self.expected[name] {
            if !e.fragment.isEmpty {
                #expect(diags.contains { $0.description.contains(e.fragment) }, "\(name): no diagnostic mentions '\(e.fragment)': \(diags.map(\.description))")
            }
            if let line = e.line { #expect(first.location.line == line, "\(name): \(first.description)") }
        }
        TerminalSafety.expectSafeOnGrid(diags.map(\.description), width: 100)
    }

    @Test func oneMegabyteLine() {
        let text = "id: t\ntitle: " + String(repeating: "T", count: 1 << 20) + "\nsummary: s\nwhen: []\nsteps: []\n"
        let (rb, diags) = RunbookLoader.parse(text: text, file: "long.yaml")
        #expect(rb == nil)
        let d = diags.first
        #expect(d?.location.line == 2, "the long line is line 2: \(d?.description ?? "none")")
        #expect(d.map { Self.hasPosition($0, file: "long.yaml") } == true)
        #expect((d?.description.count ?? 0) < 600)
    }

    @Test func billionLaughsIsRefusedQuickly() {
        var y = "id: bomb\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<12 { y += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        y += "title: t\nsummary: s\nsteps: []\n"
        let (rb, diags) = RunbookLoader.parse(text: y, file: "bomb.yaml")
        #expect(rb == nil)
        #expect(diags.contains { $0.description.contains("nodes") }, "\(diags.map(\.description))")
    }

    @Test func aliasAsMappingKeyIsRefused() {
        let y = "id: k\na: &a {x: 1}\n? *a\n: v\ntitle: t\nsummary: s\nsteps: []\n"
        let (rb, diags) = RunbookLoader.parse(text: y, file: "k.yaml")
        #expect(rb == nil)
        #expect(!diags.isEmpty)
        #expect(diags.allSatisfy { Self.hasPosition($0, file: "k.yaml") })
    }

    @Test func tooBigAFileIsRefusedWithoutParsing() {
        let data = Data(repeating: 0x61, count: RunbookLimits.maxFileBytes + 1)
        let (rb, diags) = RunbookLoader.parse(data: data, file: "big.yaml")
        #expect(rb == nil)
        #expect(diags.first?.description.hasPrefix("big.yaml:1:1: error: file is") == true)
    }

    @Test("deep flow nesting is refused, not recursed", arguments: [100, 10_000, 500_000])
    func deepFlow(_ depth: Int) {
        let y = "id: d\nx: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        let (rb, diags) = RunbookLoader.parse(text: y, file: "d.yaml")
        #expect(rb == nil)
        #expect(diags.first.map { Self.hasPosition($0, file: "d.yaml") } == true)
    }

    @Test func deepBlockIndentIsRefused() {
        var y = "id: d\n"
        for i in 0..<400 { y += String(repeating: " ", count: i) + "k\(i):\n" }
        let (rb, diags) = RunbookLoader.parse(text: y, file: "i.yaml")
        #expect(rb == nil)
        #expect(diags.first.map { Self.hasPosition($0, file: "i.yaml") } == true)
    }
}
