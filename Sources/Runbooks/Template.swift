import Foundation

/// A string with `{{name}}` placeholders. Substitution happens inside one argv element and
/// never through a shell: a value containing spaces, `;` or `$(...)` stays one argument.
public struct Template: Sendable, Equatable, CustomStringConvertible {
    public enum Part: Sendable, Equatable { case text(String), variable(String) }
    public var parts: [Part]
    public var raw: String

    public var description: String { raw }
    public var variables: [String] { parts.compactMap { if case .variable(let v) = $0 { return v }; return nil } }

    public static func isValidName(_ s: String) -> Bool {
        guard let f = s.first, f.isLetter || f == "_" else { return false }
        return s.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_") && $0.isASCII }
    }

    /// Parses `{{name}}` placeholders. Errors carry the 0-based character offset.
    public static func parse(_ s: String) throws(ConditionSyntaxError) -> Template {
        var parts: [Part] = []
        var text = ""
        let chars = Array(s)
        var i = 0
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" {
                var j = i + 2
                var name = ""
                while j < chars.count, !(chars[j] == "}" && j + 1 < chars.count && chars[j + 1] == "}") {
                    if chars[j] == "{" || chars[j] == "\n" { break }
                    name.append(chars[j]); j += 1
                }
                guard j + 1 < chars.count, chars[j] == "}", chars[j + 1] == "}" else {
                    throw .init(offset: i, message: "unterminated '{{'", expected: "'}}' closing the variable")
                }
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard isValidName(trimmed) else {
                    throw .init(offset: i, message: "variable name '\(clip(trimmed, 30))'", expected: "a name of letters, digits and _ (such as {{pod}})")
                }
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                parts.append(.variable(trimmed))
                i = j + 2
            } else {
                text.append(chars[i]); i += 1
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        return Template(parts: parts, raw: s)
    }

    public init(parts: [Part], raw: String) { self.parts = parts; self.raw = raw }
    public init(literal: String) { parts = literal.isEmpty ? [] : [.text(literal)]; raw = literal }

    /// Substitutes values; returns nil plus the missing names when a variable has no value.
    public func render(_ values: [String: String]) -> Result<String, MissingVariables> {
        var out = ""
        var missing: [String] = []
        for p in parts {
            switch p {
            case .text(let t): out += t
            case .variable(let v):
                if let val = values[v] { out += val } else { missing.append(v) }
            }
        }
        return missing.isEmpty ? .success(out) : .failure(MissingVariables(names: missing))
    }
}

public struct MissingVariables: Error, Sendable, Equatable {
    public var names: [String]
}

/// Memory sizes as operators type them: bytes (`805306368`), Kubernetes quantities (`1Gi`,
/// `512Mi`, `1G`, `1.5Gi`) and Redis units (`384mb`, `1gb`, `100kb`; `1m` = 10^6 as in
/// redis.conf). nil for anything else.
public enum SizeText {
    public static func bytes(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let end = t.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? t.endIndex
        guard let number = Double(t[..<end]), number >= 0 else { return nil }
        let unit = String(t[end...])
        let factor: Double
        switch unit {
        case "": factor = 1
        case "Ki": factor = 1024
        case "Mi": factor = 1024 * 1024
        case "Gi": factor = 1024 * 1024 * 1024
        case "Ti": factor = 1024 * 1024 * 1024 * 1024
        case "k", "K": factor = 1e3
        case "M": factor = 1e6
        case "G": factor = 1e9
        case "T": factor = 1e12
        default:
            switch unit.lowercased() {
            case "b": factor = 1
            case "kb": factor = 1024
            case "mb": factor = 1024 * 1024
            case "gb": factor = 1024 * 1024 * 1024
            case "m": factor = 1e6
            case "g": factor = 1e9
            default: return nil
            }
        }
        let v = number * factor
        guard v.isFinite, v < 9e18 else { return nil }
        return Int64(v.rounded(.down))
    }
}
