import Foundation

/// The three outcomes of a condition. `unknown` (a value could not be read) is never true.
public enum Truth: String, Codable, Sendable {
    case yes = "true"
    case no = "false"
    case unknown
}

/// A parsed condition: `path == value`, `!=`, `<`, `<=`, `>`, `>=` (numbers), `contains`,
/// `matches` (regular expression), `and` / `or` / `not`, parentheses, and a bare path
/// (meaning `path == true`). Left operands are snapshot paths (`persistence.aofLastWriteStatus`)
/// or the result of the step's command (`exitCode`, `stdout`, `stderr`). Right operands are
/// literals (bare words, numbers, "quoted strings") or `{{variable}}`.
public indirect enum Condition: Sendable, Equatable, CustomStringConvertible {
    case compare(Operand, CompareOp, Operand)
    case truthy(Operand)
    case and(Condition, Condition)
    case or(Condition, Condition)
    case not(Condition)

    public var description: String {
        switch self {
        case .compare(let l, let op, let r): return "\(l) \(op.rawValue) \(r)"
        case .truthy(let o): return o.description
        case .and(let a, let b): return "(\(a) and \(b))"
        case .or(let a, let b): return "(\(a) or \(b))"
        case .not(let c): return "not \(c)"
        }
    }

    /// Every operand used (for validation and for deciding what to fetch).
    public var operands: [Operand] {
        switch self {
        case .compare(let l, _, let r): return [l, r]
        case .truthy(let o): return [o]
        case .and(let a, let b), .or(let a, let b): return a.operands + b.operands
        case .not(let c): return c.operands
        }
    }
    public var usesSnapshot: Bool { operands.contains { if case .path = $0 { return true }; return false } }
    public var usesResult: Bool { operands.contains { if case .result = $0 { return true }; return false } }
    /// The condition looks at the command's exit status: the step says which status it expects
    /// (a failure may then be what it checks for).
    public var usesExitCode: Bool { operands.contains { if case .result(.exitCode) = $0 { return true }; return false } }
    /// Variables used: `{{v}}` operands and `{{v}}` inside quoted literals (`"name={{prefix}}:x "`).
    public var variables: [String] {
        operands.flatMap { o -> [String] in
            switch o {
            case .variable(let v): return [v]
            case .literal(let s) where s.contains("{{"): return (try? Template.parse(s))?.variables ?? []
            default: return []
            }
        }
    }
}

public enum CompareOp: String, Sendable, Equatable, CaseIterable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", contains, matches
}

public enum ResultField: String, Sendable, Equatable, CaseIterable {
    case exitCode, stdout, stderr
}

public enum Operand: Sendable, Equatable, CustomStringConvertible {
    case path(String)
    case result(ResultField)
    case literal(String)
    case variable(String)
    public var description: String {
        switch self {
        case .path(let p): return p
        case .result(let r): return r.rawValue
        case .literal(let s):
            if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "._-:/".contains($0) }) { return s }
            return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .variable(let v): return "{{\(v)}}"
        }
    }
}

/// A condition parse error with the column (0-based offset into the condition text).
public struct ConditionSyntaxError: Error, Sendable, Equatable {
    public var offset: Int
    public var message: String
    public var expected: String
}

/// What a condition evaluates against.
public struct EvaluationContext: Sendable {
    public var snapshot: @Sendable (String) -> String?
    public var result: CommandOutcome?
    public var variables: [String: String]
    public init(snapshot: @escaping @Sendable (String) -> String?, result: CommandOutcome? = nil, variables: [String: String] = [:]) {
        self.snapshot = snapshot; self.result = result; self.variables = variables
    }
}

/// The outcome of evaluating a condition, with what was seen (for "expected vs seen").
public struct Evaluation: Sendable, Equatable {
    public var truth: Truth
    /// e.g. `persistence.aofLastWriteStatus = "err"`, `memory.usedBytes = unknown`.
    public var seen: [String]
    public var seenDescription: String { seen.isEmpty ? "nothing" : seen.joined(separator: ", ") }
}

extension Condition {
    public static func parse(_ text: String) throws(ConditionSyntaxError) -> Condition {
        var p = ConditionParser(text)
        return try p.parseAll()
    }

    public func evaluate(_ ctx: EvaluationContext) -> Evaluation {
        var seen: [String] = []
        let t = eval(ctx, &seen)
        var unique: [String] = []
        for s in seen where !unique.contains(s) { unique.append(s) }
        return Evaluation(truth: t, seen: unique)
    }

    private func eval(_ ctx: EvaluationContext, _ seen: inout [String]) -> Truth {
        switch self {
        case .and(let a, let b):
            let x = a.eval(ctx, &seen), y = b.eval(ctx, &seen)
            if x == .no || y == .no { return .no }
            if x == .unknown || y == .unknown { return .unknown }
            return .yes
        case .or(let a, let b):
            let x = a.eval(ctx, &seen), y = b.eval(ctx, &seen)
            if x == .yes || y == .yes { return .yes }
            if x == .unknown || y == .unknown { return .unknown }
            return .no
        case .not(let c):
            switch c.eval(ctx, &seen) { case .yes: return .no; case .no: return .yes; case .unknown: return .unknown }
        case .truthy(let o):
            return Condition.compare(o, .eq, .literal("true")).eval(ctx, &seen)
        case .compare(let l, let op, let r):
            let lv = Condition.value(l, ctx, &seen)
            var rv = Condition.value(r, ctx, &seen)
            // In a regular expression a variable's value is matched literally ("10.0.0.1" matches
            // only that address, not "10x0x0x1").
            if op == .matches, rv != nil, case .literal(let s) = r, s.contains("{{"), let t = try? Template.parse(s),
               case .success(let escaped) = t.render(ctx.variables.mapValues { NSRegularExpression.escapedPattern(for: $0) }) {
                rv = escaped
            }
            guard let a = lv, let b = rv else { return .unknown }
            switch op {
            case .eq, .ne:
                let equal: Bool
                // Numbers compare as numbers, a command's trailing newline ignored ("0\n" == 0).
                if let x = Double(a.trimmingCharacters(in: .whitespacesAndNewlines)), let y = Double(b.trimmingCharacters(in: .whitespacesAndNewlines)) { equal = x == y }
                else { equal = a == b || a.lowercased() == b.lowercased() && ["true", "false"].contains(b.lowercased()) }
                return (equal == (op == .eq)) ? .yes : .no
            case .lt, .le, .gt, .ge:
                guard let x = Double(a.trimmingCharacters(in: .whitespacesAndNewlines)),
                      let y = Double(b.trimmingCharacters(in: .whitespacesAndNewlines)) else { return .unknown }
                let r: Bool
                switch op { case .lt: r = x < y; case .le: r = x <= y; case .gt: r = x > y; default: r = x >= y }
                return r ? .yes : .no
            case .contains:
                return a.contains(b) ? .yes : .no
            case .matches:
                guard let re = try? NSRegularExpression(pattern: b) else { return .unknown }
                let found = re.firstMatch(in: a, range: NSRange(a.startIndex..., in: a)) != nil
                return found ? .yes : .no
            }
        }
    }

    private static func value(_ o: Operand, _ ctx: EvaluationContext, _ seen: inout [String]) -> String? {
        switch o {
        case .literal(let s):
            // A quoted literal may hold `{{variables}}`: rendered with the run's values.
            guard s.contains("{{"), let t = try? Template.parse(s), !t.variables.isEmpty else { return s }
            switch t.render(ctx.variables) {
            case .success(let r): return r
            case .failure:
                seen.append("\(Operand.literal(s)) = unknown (a variable has no value)")
                return nil
            }
        case .variable(let v):
            let val = ctx.variables[v]
            seen.append("{{\(v)}} = \(val.map { "\"\(clip($0, 40))\"" } ?? "unknown")")
            return val
        case .path(let p):
            let val = ctx.snapshot(p)
            seen.append("\(p) = \(val.map { "\"\(clip($0, 40))\"" } ?? "unknown")")
            return val
        case .result(let f):
            guard let r = ctx.result else { seen.append("\(f.rawValue) = unknown (no command result)"); return nil }
            switch f {
            case .exitCode:
                seen.append("exitCode = \(r.exitCode.map(String.init) ?? "none (\(r.termination))")")
                return r.exitCode.map(String.init)
            case .stdout:
                seen.append("stdout = \"\(clip(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), 60))\"")
                return r.stdout
            case .stderr:
                seen.append("stderr = \"\(clip(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines), 60))\"")
                return r.stderr
            }
        }
    }
}

struct ConditionParser {
    enum Tok: Equatable {
        case word(String)       // identifiers, dotted paths, numbers, bare words
        case string(String)
        case variable(String)
        case op(CompareOp)
        case and, or, not, lparen, rparen
    }
    struct Token { var tok: Tok; var offset: Int }

    let text: [Character]
    var tokens: [Token] = []
    var pos = 0

    init(_ s: String) { text = Array(s) }

    mutating func lex() throws(ConditionSyntaxError) {
        var i = 0
        func err(_ m: String, _ e: String, _ at: Int) -> ConditionSyntaxError { .init(offset: at, message: m, expected: e) }
        while i < text.count {
            let c = text[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            let start = i
            switch c {
            case "(": tokens.append(.init(tok: .lparen, offset: i)); i += 1
            case ")": tokens.append(.init(tok: .rparen, offset: i)); i += 1
            case "=":
                guard i + 1 < text.count, text[i + 1] == "=" else { throw err("'=' alone", "'==' for equality", i) }
                tokens.append(.init(tok: .op(.eq), offset: i)); i += 2
            case "!":
                guard i + 1 < text.count, text[i + 1] == "=" else { throw err("'!' alone", "'!=' or the word 'not'", i) }
                tokens.append(.init(tok: .op(.ne), offset: i)); i += 2
            case "<", ">":
                if i + 1 < text.count, text[i + 1] == "=" {
                    tokens.append(.init(tok: .op(c == "<" ? .le : .ge), offset: i)); i += 2
                } else {
                    tokens.append(.init(tok: .op(c == "<" ? .lt : .gt), offset: i)); i += 1
                }
            case "&", "|":
                guard i + 1 < text.count, text[i + 1] == c else { throw err("'\(c)' alone", "'and' / 'or'", i) }
                tokens.append(.init(tok: c == "&" ? .and : .or, offset: i)); i += 2
            case "\"", "'":
                var s = ""
                i += 1
                var closed = false
                while i < text.count {
                    let d = text[i]
                    if d == "\\", i + 1 < text.count { s.append(text[i + 1]); i += 2; continue }
                    if d == c { closed = true; i += 1; break }
                    s.append(d); i += 1
                }
                if !closed { throw err("unterminated string", "a closing \(c)", start) }
                tokens.append(.init(tok: .string(s), offset: start))
            case "{":
                guard i + 1 < text.count, text[i + 1] == "{" else { throw err("'{' alone", "'{{variable}}'", i) }
                var j = i + 2
                var name = ""
                while j < text.count, text[j] != "}" { name.append(text[j]); j += 1 }
                guard j + 1 < text.count, text[j + 1] == "}" else { throw err("unterminated '{{'", "'}}' closing the variable", i) }
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard Template.isValidName(trimmed) else { throw err("variable name '\(clip(trimmed, 30))'", "a name of letters, digits and _", i) }
                tokens.append(.init(tok: .variable(trimmed), offset: i)); i = j + 2
            default:
                var w = ""
                while i < text.count {
                    let d = text[i]
                    if d == " " || d == "\t" || d == "\n" || d == "\r" || "()=!<>\"'&|{".contains(d) { break }
                    w.append(d); i += 1
                }
                if w.isEmpty { throw err("unexpected character '\(c)'", "a path, a value or an operator", i) }
                switch w {
                case "and": tokens.append(.init(tok: .and, offset: start))
                case "or": tokens.append(.init(tok: .or, offset: start))
                case "not": tokens.append(.init(tok: .not, offset: start))
                case "contains": tokens.append(.init(tok: .op(.contains), offset: start))
                case "matches": tokens.append(.init(tok: .op(.matches), offset: start))
                default: tokens.append(.init(tok: .word(w), offset: start))
                }
            }
        }
    }

    mutating func parseAll() throws(ConditionSyntaxError) -> Condition {
        if text.allSatisfy({ $0.isWhitespace }) { throw .init(offset: 0, message: "empty condition", expected: "a condition such as 'exitCode == 0'") }
        if text.count > 4096 { throw .init(offset: 0, message: "condition of \(text.count) characters", expected: "at most 4096") }
        try lex()
        let c = try parseOr(depth: 0)
        if pos < tokens.count {
            throw .init(offset: tokens[pos].offset, message: "unexpected \(describe(tokens[pos].tok))", expected: "'and', 'or' or the end of the condition")
        }
        return c
    }

    func describe(_ t: Tok) -> String {
        switch t {
        case .word(let w): return "'\(clip(w, 30))'"
        case .string(let s): return "string \"\(clip(s, 30))\""
        case .variable(let v): return "{{\(v)}}"
        case .op(let o): return "operator '\(o.rawValue)'"
        case .and: return "'and'"
        case .or: return "'or'"
        case .not: return "'not'"
        case .lparen: return "'('"
        case .rparen: return "')'"
        }
    }
    var endOffset: Int { text.count }

    mutating func parseOr(depth: Int) throws(ConditionSyntaxError) -> Condition {
        if depth > 32 { throw .init(offset: tokens.indices.contains(pos) ? tokens[pos].offset : endOffset, message: "condition nested too deeply", expected: "at most 32 levels") }
        var l = try parseAnd(depth: depth)
        while pos < tokens.count, tokens[pos].tok == .or {
            pos += 1
            l = .or(l, try parseAnd(depth: depth))
        }
        return l
    }
    mutating func parseAnd(depth: Int) throws(ConditionSyntaxError) -> Condition {
        var l = try parseNot(depth: depth)
        while pos < tokens.count, tokens[pos].tok == .and {
            pos += 1
            l = .and(l, try parseNot(depth: depth))
        }
        return l
    }
    mutating func parseNot(depth: Int) throws(ConditionSyntaxError) -> Condition {
        if pos < tokens.count, tokens[pos].tok == .not {
            pos += 1
            if depth > 32 { throw .init(offset: tokens[pos - 1].offset, message: "condition nested too deeply", expected: "at most 32 levels") }
            return .not(try parseNot(depth: depth + 1))
        }
        return try parsePrimary(depth: depth)
    }
    mutating func parsePrimary(depth: Int) throws(ConditionSyntaxError) -> Condition {
        guard pos < tokens.count else { throw .init(offset: endOffset, message: "the condition ends too early", expected: "a path such as 'pod.ready' or 'exitCode'") }
        let t = tokens[pos]
        if t.tok == .lparen {
            pos += 1
            let c = try parseOr(depth: depth + 1)
            guard pos < tokens.count, tokens[pos].tok == .rparen else {
                throw .init(offset: pos < tokens.count ? tokens[pos].offset : endOffset, message: "missing ')'", expected: "')' closing the '(' at column \(t.offset + 1)")
            }
            pos += 1
            return c
        }
        guard case .word(let w) = t.tok else {
            throw .init(offset: t.offset, message: "unexpected \(describe(t.tok))", expected: "a path such as 'pod.ready' or 'exitCode'")
        }
        let left: Operand
        if let r = ResultField(rawValue: w) { left = .result(r) }
        else if ConditionParser.isPath(w) { left = .path(w) }
        else { throw .init(offset: t.offset, message: "'\(clip(w, 30))' is not a path", expected: "a dotted path such as 'persistence.aofLastWriteStatus', or exitCode/stdout/stderr") }
        pos += 1
        guard pos < tokens.count, case .op(let op) = tokens[pos].tok else {
            return .truthy(left)
        }
        let opTok = tokens[pos]
        pos += 1
        guard pos < tokens.count else { throw .init(offset: endOffset, message: "nothing after '\(op.rawValue)'", expected: "a value to compare with") }
        let rt = tokens[pos]
        let right: Operand
        switch rt.tok {
        case .word(let v): right = .literal(v)
        case .string(let v): right = .literal(v)
        case .variable(let v): right = .variable(v)
        default: throw .init(offset: rt.offset, message: "unexpected \(describe(rt.tok)) after '\(op.rawValue)'", expected: "a value to compare with")
        }
        pos += 1
        if [.lt, .le, .gt, .ge].contains(op), case .literal(let v) = right, Double(v) == nil {
            throw .init(offset: rt.offset, message: "'\(clip(v, 30))' is not a number for '\(op.rawValue)'", expected: "a number")
        }
        if op == .matches, case .literal(let v) = right,
           (try? NSRegularExpression(pattern: (try? Template.parse(v)).map { t in t.parts.map { if case .text(let x) = $0 { return x }; return "x" }.joined() } ?? v)) == nil {
            throw .init(offset: rt.offset, message: "invalid regular expression \"\(clip(v, 30))\"", expected: "a valid regular expression")
        }
        if case .result(.exitCode) = left, [.contains, .matches].contains(op) {
            throw .init(offset: opTok.offset, message: "'\(op.rawValue)' on exitCode", expected: "a numeric comparison such as 'exitCode == 0'")
        }
        return .compare(left, op, right)
    }

    static func isPath(_ w: String) -> Bool {
        let parts = w.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty else { return false }
        for (i, p) in parts.enumerated() {
            if i > 0, !p.isEmpty, p.allSatisfy(\.isNumber) { continue }
            guard let f = p.first, f.isLetter || f == "_" else { return false }
            guard p.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else { return false }
        }
        return true
    }
}

/// Top-level snapshot fields (and the fields of the fixed-shape sections) that conditions may
/// name. Deeper paths under `pod.containers`, `keyspace`, `queues`, `findings` are not checked.
public enum SnapshotPathCatalog {
    public static let sections: [String: Set<String>] = [
        "pod": ["name", "phase", "ready", "node", "nodeReady", "restarts", "reason", "terminating", "startTime", "containers", "redisMemoryLimitBytes", "warnings"],
        "memory": ["usedBytes", "rssBytes", "peakBytes", "maxmemoryBytes", "limitBytes", "policy", "oomRejections", "oomRejectionsPerSec", "evictedKeys", "fragmentationRatio", "aofLastCowBytes", "rdbLastCowBytes"],
        "persistence": ["aofEnabled", "appendfsync", "aofLastWriteStatus", "aofLastBgrewriteStatus", "aofRewriteInProgress", "aofRewriteScheduled", "aofDelayedFsync", "aofCurrentSizeBytes", "aofBaseSizeBytes", "rdbLastBgsaveStatus", "rdbLastSaveTime", "rdbBgsaveInProgress", "loading", "loadingPercent", "loadingEtaSeconds"],
        "clients": ["connected", "blocked", "opsPerSec", "rejectedConnections"],
        "exporter": ["up", "present"],
        "config": ["appendonly", "appendfsync", "maxmemoryPolicy", "maxmemory", "appenddirname", "appendfilename", "dir"],
        "manifest": ["maxmemory", "maxmemoryBytes", "maxmemoryPolicy", "appendonly", "appendfsync", "containerIndex", "maxmemoryArgIndex"],
        // ReplicationView (absent for a one-pod StatefulSet): per pod under `replication.pods.<name>`.
        "replication": ["masterSet", "targetPod", "pods", "masters", "sentinelMasters", "sentinelsAgree", "quorumOK", "quorumText", "failoverInProgress"],
    ]
    public static let scalars: Set<String> = ["schemaVersion", "takenAt", "context", "namespace", "redisState", "redisVersion", "redisError", "redisServer", "keyspaceLastKnownAt"]
    public static let openSections: Set<String> = ["keyspace", "keyspaceLastKnown", "queues", "findings", "errors"]
    /// Sub-collections whose children are not checked.
    public static let openFields: Set<String> = ["pod.containers", "pod.warnings", "replication.pods", "replication.masters", "replication.sentinelMasters"]

    /// nil when the path is acceptable, else what is wrong and what was expected.
    public static func problem(with path: String) -> (String, String)? {
        let parts = path.split(separator: ".").map(String.init)
        guard let root = parts.first else { return ("empty path", "a snapshot path") }
        if scalars.contains(root) {
            return parts.count == 1 ? nil : ("'\(root)' has no fields", "just '\(root)'")
        }
        if openSections.contains(root) { return nil }
        guard let fields = sections[root] else {
            let all = (Array(sections.keys) + Array(scalars) + Array(openSections)).sorted()
            return ("unknown snapshot path '\(clip(path, 40))'", "a path starting with one of \(all.joined(separator: ", "))")
        }
        guard parts.count >= 2 else { return ("'\(root)' is a section", "a field such as '\(root).\(fields.sorted().first!)'") }
        guard fields.contains(parts[1]) else {
            return ("unknown field '\(parts[1])' in '\(root)'", "one of \(fields.sorted().joined(separator: ", "))")
        }
        if parts.count > 2, !openFields.contains("\(root).\(parts[1])") {
            return ("'\(root).\(parts[1])' has no fields", "'\(root).\(parts[1])'")
        }
        return nil
    }
}
