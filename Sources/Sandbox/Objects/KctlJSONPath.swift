import Foundation

/// The subset of kubectl's JSONPath templates runbooks use: text and `{...}` expressions with
/// `.field`, `['field.with.dots']`, `[n]`, `[*]`, `[?(@.f=="v")]`, `range ... end`, string literals.
public struct KctlJSONPath: Sendable {
    enum Node: Sendable {
        case text(String)
        case path([Step])
        case range([Step], [Node])
    }
    enum Step: Sendable {
        case field(String)
        case index(Int)
        case all
        case filter([Step], String, KctlJSON?)  // path relative to @, operator, literal (nil = exists)
        case recursive(String)
    }

    let nodes: [Node]

    public init(template: String) throws {
        var tokens: [(isExpr: Bool, text: String)] = []
        var cur = ""
        var depth = 0
        var inQuote: Character?
        for ch in template {
            if depth > 0 {
                if let q = inQuote {
                    if ch == q { inQuote = nil }
                    cur.append(ch); continue
                }
                if ch == "\"" || ch == "'" { inQuote = ch; cur.append(ch); continue }
                if ch == "}" {
                    depth -= 1
                    if depth == 0 { tokens.append((true, cur)); cur = ""; continue }
                }
                if ch == "{" { depth += 1 }
                cur.append(ch)
            } else if ch == "{" {
                if !cur.isEmpty { tokens.append((false, cur)) }
                cur = ""
                depth = 1
            } else {
                cur.append(ch)
            }
        }
        if depth > 0 { throw KubectlError("error: error parsing jsonpath \(template), unclosed action") }
        if !cur.isEmpty { tokens.append((false, cur)) }

        var stack: [([Step], [Node])] = []
        var top: [Node] = []
        for t in tokens {
            if !t.isExpr { top.append(.text(t.text)); continue }
            let e = t.text.trimmingCharacters(in: .whitespaces)
            if e.hasPrefix("range ") {
                stack.append((try KctlJSONPath.steps(String(e.dropFirst(6))), top))
                top = []
            } else if e == "end" {
                guard let (steps, outer) = stack.popLast() else { throw KubectlError("error: error parsing jsonpath \(template), not in range, nothing to end") }
                let body = top
                top = outer + [.range(steps, body)]
            } else if (e.hasPrefix("\"") && e.hasSuffix("\"") && e.count >= 2) || (e.hasPrefix("'") && e.hasSuffix("'") && e.count >= 2) {
                let inner = String(e.dropFirst().dropLast())
                top.append(.text(inner.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")))
            } else {
                top.append(.path(try KctlJSONPath.steps(e)))
            }
        }
        if !stack.isEmpty { throw KubectlError("error: error parsing jsonpath \(template), unclosed range") }
        nodes = top
    }

    static func steps(_ expr: String) throws -> [Step] {
        var s = Substring(expr.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("$") { s = s.dropFirst() }
        if s.hasPrefix("@") { s = s.dropFirst() }
        var steps: [Step] = []
        while !s.isEmpty {
            if s.hasPrefix("..") {
                s = s.dropFirst(2)
                let name = s.prefix { $0 != "." && $0 != "[" }
                s = s.dropFirst(name.count)
                steps.append(.recursive(String(name)))
            } else if s.hasPrefix(".") {
                s = s.dropFirst()
                let name = s.prefix { $0 != "." && $0 != "[" }
                s = s.dropFirst(name.count)
                if !name.isEmpty { steps.append(.field(String(name))) }
            } else if s.hasPrefix("[") {
                guard let close = KctlJSONPath.matchingBracket(s) else { throw KubectlError("error: error parsing jsonpath \(expr), unterminated array") }
                let inner = s[s.index(after: s.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                s = s[s.index(after: close)...]
                if inner == "*" {
                    steps.append(.all)
                } else if let n = Int(inner) {
                    steps.append(.index(n))
                } else if (inner.hasPrefix("'") || inner.hasPrefix("\"")) && inner.count >= 2 {
                    steps.append(.field(String(inner.dropFirst().dropLast())))
                } else if inner.hasPrefix("?(") && inner.hasSuffix(")") {
                    let cond = inner.dropFirst(2).dropLast().trimmingCharacters(in: .whitespaces)
                    var op = ""
                    for candidate in ["==", "!=", ">=", "<=", ">", "<"] where cond.contains(candidate) { op = candidate; break }
                    if op.isEmpty {
                        steps.append(.filter(try KctlJSONPath.steps(cond), "exists", nil))
                    } else {
                        let parts = cond.components(separatedBy: op)
                        let lhs = try KctlJSONPath.steps(parts[0])
                        let rhsText = parts.dropFirst().joined(separator: op).trimmingCharacters(in: .whitespaces)
                        let rhs: KctlJSON
                        if (rhsText.hasPrefix("\"") || rhsText.hasPrefix("'")) && rhsText.count >= 2 {
                            rhs = .string(String(rhsText.dropFirst().dropLast()))
                        } else {
                            rhs = (try? KctlJSON.parse(rhsText)) ?? .string(rhsText)
                        }
                        steps.append(.filter(lhs, op, rhs))
                    }
                } else if inner.contains(":") {
                    steps.append(.all)  // slices: treat as all
                } else {
                    throw KubectlError("error: error parsing jsonpath \(expr), unrecognized character in action: \(inner)")
                }
            } else {
                let name = s.prefix { $0 != "." && $0 != "[" }
                s = s.dropFirst(name.count)
                steps.append(.field(String(name)))
            }
        }
        return steps
    }

    static func matchingBracket(_ s: Substring) -> Substring.Index? {
        var depth = 0
        var quote: Character?
        var i = s.startIndex
        while i < s.endIndex {
            let ch = s[i]
            if let q = quote { if ch == q { quote = nil } } else if ch == "'" || ch == "\"" { quote = ch } else if ch == "[" { depth += 1 } else if ch == "]" {
                depth -= 1
                if depth == 0 { return i }
            }
            i = s.index(after: i)
        }
        return nil
    }

    static func apply(_ steps: [Step], to roots: [KctlJSON]) -> [KctlJSON] {
        var cur = roots
        for step in steps {
            var next: [KctlJSON] = []
            for v in cur {
                switch step {
                case .field(let f):
                    if let x = v[f] { next.append(x) }
                case .index(let n):
                    if let a = v.arrayValue {
                        let i = n < 0 ? a.count + n : n
                        if i >= 0 && i < a.count { next.append(a[i]) }
                    }
                case .all:
                    if let a = v.arrayValue { next += a } else if let o = v.objectValue { next += o.keys.sorted().map { o[$0]! } }
                case .filter(let lhs, let op, let rhs):
                    for item in v.arrayValue ?? [] {
                        let got = apply(lhs, to: [item]).first
                        if op == "exists" { if got != nil { next.append(item) }; continue }
                        guard let got, let rhs else { continue }
                        var ok = false
                        switch op {
                        case "==": ok = got == rhs || text(got) == text(rhs)
                        case "!=": ok = !(got == rhs || text(got) == text(rhs))
                        default:
                            if let a = Double(text(got)), let b = Double(text(rhs)) {
                                ok = op == ">" ? a > b : op == "<" ? a < b : op == ">=" ? a >= b : a <= b
                            }
                        }
                        if ok { next.append(item) }
                    }
                case .recursive(let name):
                    func walk(_ x: KctlJSON) {
                        if let o = x.objectValue {
                            if let hit = o[name] { next.append(hit) }
                            for k in o.keys.sorted() { walk(o[k]!) }
                        } else if let a = x.arrayValue { a.forEach(walk) }
                    }
                    walk(v)
                }
            }
            cur = next
        }
        return cur
    }

    /// The values the first path expression selects (for --sort-by, custom-columns, field selectors).
    public func values(_ input: KctlJSON) throws -> [KctlJSON] {
        for n in nodes { if case .path(let steps) = n { return KctlJSONPath.apply(steps, to: [input]) } }
        return []
    }

    /// How kubectl prints a selected value.
    public static func text(_ v: KctlJSON) -> String {
        switch v {
        case .string(let s): return s
        case .null: return ""
        case .int, .double, .bool: return v.compact()
        case .array, .object: return v.compact()
        }
    }

    public func render(_ input: KctlJSON) throws -> String {
        func run(_ nodes: [Node], _ ctx: KctlJSON) -> String {
            var out = ""
            for n in nodes {
                switch n {
                case .text(let t): out += t
                case .path(let steps): out += KctlJSONPath.apply(steps, to: [ctx]).map(KctlJSONPath.text).joined(separator: " ")
                case .range(let steps, let body):
                    for item in KctlJSONPath.apply(steps, to: [ctx]) { out += run(body, item) }
                }
            }
            return out
        }
        return run(nodes, input)
    }
}

/// YAML as kubectl prints it (sigs.k8s.io/yaml: sorted keys, 2-space indent, lists flush with their key).
public enum KctlYAML {
    public static func render(_ v: KctlJSON) -> String {
        var out = ""
        emit(v, indent: 0, into: &out, inList: false)
        return out
    }

    static func emit(_ v: KctlJSON, indent: Int, into out: inout String, inList: Bool) {
        let pad = String(repeating: " ", count: indent)
        switch v {
        case .object(let o):
            if o.isEmpty { out += "{}\n"; return }
            for (i, k) in o.keys.sorted(by: KctlJSON.goKeyOrder).enumerated() {
                let value = o[k]!
                let prefix = (inList && i == 0) ? "" : pad
                out += prefix + scalarText(.string(k)) + ":"
                switch value {
                case .object(let c) where !c.isEmpty:
                    out += "\n"; emit(value, indent: indent + 2, into: &out, inList: false)
                case .array(let a) where !a.isEmpty:
                    out += "\n"; emit(value, indent: indent, into: &out, inList: false)
                default:
                    out += " "; emit(value, indent: indent + 2, into: &out, inList: false)
                }
            }
        case .array(let a):
            if a.isEmpty { out += "[]\n"; return }
            for item in a {
                out += pad + "- "
                switch item {
                case .object(let c) where !c.isEmpty: emit(item, indent: indent + 2, into: &out, inList: true)
                case .array(let c) where !c.isEmpty:
                    out += "\n"; emit(item, indent: indent + 2, into: &out, inList: false)
                default: emit(item, indent: indent + 2, into: &out, inList: false)
                }
            }
        default:
            if case .string(let s) = v, s.contains("\n") {
                out += (s.hasSuffix("\n") ? "|\n" : "|-\n")
                for line in s.split(separator: "\n", omittingEmptySubsequences: false).dropLast(s.hasSuffix("\n") ? 1 : 0) {
                    out += (line.isEmpty ? "" : pad + line) + "\n"
                }
                return
            }
            out += scalarText(v) + "\n"
        }
    }

    static let reserved: Set<String> = ["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
                                        "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"]

    static func scalarText(_ v: KctlJSON) -> String {
        guard case .string(let s) = v else { return v.compact() }
        var needsQuote = reserved.contains(s) || Double(s) != nil || Int(s) != nil
        if let f = s.first, "?:,[]{}#&*!|>'\"%@` ".contains(f) { needsQuote = true }
        if s.hasSuffix(" ") || s.hasSuffix(":") || s.contains(": ") || s.contains(" #") { needsQuote = true }
        if KctlTime.parse(s) != nil || s.range(of: #"^\d{4}-\d{2}-\d{2}"#, options: .regularExpression) != nil { needsQuote = true }
        if s.hasPrefix("0x") || s.hasPrefix("0o") || s.hasPrefix(".") && Double("0" + s) != nil { needsQuote = true }
        if s == "-" || s.hasPrefix("- ") { needsQuote = true }
        if !needsQuote { return s }
        return s.contains("\"") || s.contains("\\") ? "'" + s.replacingOccurrences(of: "'", with: "''") + "'" : "\"" + s + "\""
    }
}
