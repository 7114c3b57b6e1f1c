import Foundation

/// A position in a runbook file (1-based line and column, columns counted in Unicode scalars).
public struct SourceLocation: Codable, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file; self.line = line; self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found while loading or validating a runbook.
/// Rendered as `file:line:column: error: <what was wrong>, expected <what>`.
public struct RunbookDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// What was wrong (no trailing punctuation).
    public var message: String
    /// What was expected instead.
    public var expected: String

    public init(_ location: SourceLocation, _ message: String, expected: String) {
        self.location = location; self.message = message; self.expected = expected
    }

    public var description: String { "\(location): error: \(message), expected \(expected)" }
}

/// Thrown when a runbook (or a set of them) has errors.
public struct RunbookLoadError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [RunbookDiagnostic]
    public init(_ diagnostics: [RunbookDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Shortens untrusted text for inclusion in a message (never echo a 1 MB line back).
func clip(_ s: String, _ max: Int = 60) -> String {
    let oneLine = s.replacingOccurrences(of: "\n", with: "\\n")
    let cleaned = String(oneLine.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
    if cleaned.count <= max { return cleaned }
    return String(cleaned.prefix(max)) + "…"
}
