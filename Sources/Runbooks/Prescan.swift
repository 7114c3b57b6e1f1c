import Foundation

/// Limits that keep hostile YAML (alias bombs, huge files, absurd nesting) from hanging or
/// crashing the loader. They are far above what any real runbook needs.
public enum RunbookLimits {
    public static let maxFileBytes = 2 << 20            // 2 MiB
    public static let maxScalarCharacters = 64 << 10     // 64 Ki characters per value
    public static let maxNodes = 100_000                 // after alias expansion
    public static let maxFlowDepth = 32
    public static let maxIndicatorsPerLine = 32
    public static let maxIndent = 256
    public static let maxSteps = 500
}

/// A cheap, linear, line-by-line lexical pass over the YAML text before it reaches libyaml.
/// It rejects what could make composition itself expensive: aliases used as mapping keys (Yams
/// hashes keys recursively, so an aliased key can cost exponential time), explicit complex keys,
/// very deep nesting. It is conservative: block scalar contents are skipped.
enum Prescan {
    static func check(_ text: String, file: String) -> [RunbookDiagnostic] {
        var diags: [RunbookDiagnostic] = []
        var flowDepth = 0
        var blockParentIndent: Int? = nil
        var inDouble = false
        var inSingle = false
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            if diags.count >= 20 { break }
            let scalars = Array(rawLine.unicodeScalars)
            var indent = 0
            while indent < scalars.count, scalars[indent] == " " { indent += 1 }
            let blank = indent >= scalars.count || scalars[indent] == "#" || (scalars.count - indent == 1 && scalars[indent] == "\r")
            if let parent = blockParentIndent {
                if blank || indent > parent { continue }
                blockParentIndent = nil
            }
            if !inDouble && !inSingle && flowDepth == 0 && indent > RunbookLimits.maxIndent {
                diags.append(.init(.init(file: file, line: lineNo, column: 1),
                                   "indentation of \(indent) columns", expected: "at most \(RunbookLimits.maxIndent)"))
                continue
            }
            var i = indent
            var tokenStart = true
            var indicators = 0
            var aliasOnLine = false
            func loc(_ at: Int) -> SourceLocation { .init(file: file, line: lineNo, column: at + 1) }
            func isBlankOrEnd(_ at: Int) -> Bool {
                at >= scalars.count || scalars[at] == " " || scalars[at] == "\t" || scalars[at] == "\r"
            }
            func isNameChar(_ s: Unicode.Scalar) -> Bool {
                (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-"
            }
            while i < scalars.count {
                let c = scalars[i]
                if inDouble {
                    if c == "\\" { i += 2; continue }
                    if c == "\"" { inDouble = false; tokenStart = false }
                    i += 1; continue
                }
                if inSingle {
                    if c == "'" {
                        if i + 1 < scalars.count, scalars[i + 1] == "'" { i += 2; continue }
                        inSingle = false; tokenStart = false
                    }
                    i += 1; continue
                }
                switch c {
                case " ", "\t", "\r":
                    i += 1; continue
                case "#" where i == 0 || scalars[i - 1] == " " || scalars[i - 1] == "\t":
                    i = scalars.count; continue
                case "\"" where tokenStart:
                    inDouble = true
                case "'" where tokenStart:
                    inSingle = true
                case "[", "{":
                    if tokenStart || flowDepth > 0 {
                        flowDepth += 1
                        if flowDepth > RunbookLimits.maxFlowDepth {
                            diags.append(.init(loc(i), "flow collections nested \(flowDepth) deep",
                                               expected: "at most \(RunbookLimits.maxFlowDepth) levels"))
                            return diags
                        }
                        tokenStart = true
                    }
                case "]", "}":
                    if flowDepth > 0 { flowDepth -= 1; tokenStart = false }
                case "," where flowDepth > 0:
                    tokenStart = true
                case "-" where tokenStart && isBlankOrEnd(i + 1),
                     "?" where tokenStart && isBlankOrEnd(i + 1):
                    if c == "?" {
                        diags.append(.init(loc(i), "explicit mapping key ('? ')",
                                           expected: "plain scalar keys (complex keys are not supported in runbooks)"))
                    }
                    indicators += 1
                    if indicators > RunbookLimits.maxIndicatorsPerLine {
                        diags.append(.init(loc(i), "more than \(RunbookLimits.maxIndicatorsPerLine) nested collections on one line",
                                           expected: "a runbook nested at most \(RunbookLimits.maxIndicatorsPerLine) levels per line"))
                        return diags
                    }
                    tokenStart = true
                case ":" where isBlankOrEnd(i + 1) || (flowDepth > 0 && i + 1 < scalars.count && ",]}".unicodeScalars.contains(scalars[i + 1])):
                    if aliasOnLine {
                        diags.append(.init(loc(i), "an alias used in a mapping key",
                                           expected: "plain scalar keys (aliases may only be used as values)"))
                        aliasOnLine = false
                    }
                    tokenStart = true
                case "*" where tokenStart:
                    var j = i + 1
                    while j < scalars.count, isNameChar(scalars[j]) { j += 1 }
                    aliasOnLine = true
                    tokenStart = false
                    i = j; continue
                case "&" where tokenStart, "!" where tokenStart:
                    var j = i + 1
                    while j < scalars.count, !isBlankOrEnd(j) { j += 1 }
                    i = j; continue   // still at a token start: the node follows
                case "|" where tokenStart && flowDepth == 0, ">" where tokenStart && flowDepth == 0:
                    blockParentIndent = indent
                    i = scalars.count; continue
                default:
                    tokenStart = false
                }
                i += 1
            }
        }
        return diags
    }

    /// Counts nodes as a consumer would see them (aliases expanded), stopping at `budget`.
    /// Returns false when the budget is exhausted.
    static func withinBudget(_ node: YamsNode, budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return false }
        switch node {
        case .scalar, .alias: return true
        case .sequence(let s):
            for n in s { if !withinBudget(n, budget: &budget) { return false } }
            return true
        case .mapping(let m):
            for (k, v) in m {
                if !withinBudget(k, budget: &budget) { return false }
                if !withinBudget(v, budget: &budget) { return false }
            }
            return true
        }
    }
}
