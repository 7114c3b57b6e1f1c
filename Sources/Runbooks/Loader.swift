import Foundation
import Yams

typealias YamsNode = Yams.Node

/// Loads and validates runbook YAML. Every problem becomes a `RunbookDiagnostic` with
/// `file:line:column`; loading never crashes on hostile input (see `RunbookLimits`).
public enum RunbookLoader {
    /// Reads and validates one file.
    public static func load(path: String, displayName: String? = nil) -> (Runbook?, [RunbookDiagnostic]) {
        let name = displayName ?? path
        let top = SourceLocation(file: name, line: 1, column: 1)
        let url = URL(fileURLWithPath: path)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else {
            return (nil, [.init(top, "cannot read the file", expected: "a readable runbook YAML file")])
        }
        if let size = attrs[.size] as? NSNumber, size.intValue > RunbookLimits.maxFileBytes {
            return (nil, [.init(top, "file is \(size.intValue) bytes", expected: "a runbook of at most \(RunbookLimits.maxFileBytes) bytes")])
        }
        guard let data = try? Data(contentsOf: url) else {
            return (nil, [.init(top, "cannot read the file", expected: "a readable runbook YAML file")])
        }
        return parse(data: data, file: name)
    }

    public static func parse(data: Data, file: String) -> (Runbook?, [RunbookDiagnostic]) {
        let top = SourceLocation(file: file, line: 1, column: 1)
        if data.count > RunbookLimits.maxFileBytes {
            return (nil, [.init(top, "file is \(data.count) bytes", expected: "a runbook of at most \(RunbookLimits.maxFileBytes) bytes")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            // Find the first invalid byte for the position.
            var line = 1, col = 1
            var i = data.startIndex
            while i < data.endIndex {
                let prefix = data[data.startIndex...i]
                if String(data: prefix, encoding: .utf8) == nil, String(data: data[data.startIndex..<min(i + 4, data.endIndex)], encoding: .utf8) == nil {
                    break
                }
                if data[i] == 0x0A { line += 1; col = 1 } else if data[i] & 0xC0 != 0x80 { col += 1 }
                i += 1
            }
            return (nil, [.init(.init(file: file, line: line, column: col), "the file is not valid UTF-8", expected: "UTF-8 text")])
        }
        return parse(text: text, file: file)
    }

    public static func parse(text: String, file: String) -> (Runbook?, [RunbookDiagnostic]) {
        let top = SourceLocation(file: file, line: 1, column: 1)
        if text.utf8.count > RunbookLimits.maxFileBytes {
            return (nil, [.init(top, "file is \(text.utf8.count) bytes", expected: "a runbook of at most \(RunbookLimits.maxFileBytes) bytes")])
        }
        let pre = Prescan.check(text, file: file)
        if !pre.isEmpty { return (nil, pre) }
        let root: YamsNode
        do {
            let parser = try Parser(yaml: text)
            guard let r = try parser.singleRoot() else {
                return (nil, [.init(top, "the file is empty", expected: "a runbook mapping with id, title, summary and steps")])
            }
            root = r
        } catch let e as YamlError {
            return (nil, [yamlDiagnostic(e, file: file, text: text)])
        } catch {
            return (nil, [.init(top, "YAML error: \(clip("\(error)", 120))", expected: "well-formed YAML")])
        }
        var budget = RunbookLimits.maxNodes
        if !Prescan.withinBudget(root, budget: &budget) {
            return (nil, [.init(top, "the document expands to more than \(RunbookLimits.maxNodes) nodes (YAML aliases?)",
                                expected: "a runbook of at most \(RunbookLimits.maxNodes) nodes after alias expansion")])
        }
        var b = Builder(file: file)
        let rb = b.runbook(root)
        return (b.diags.isEmpty ? rb : nil, b.diags)
    }

    static func yamlDiagnostic(_ e: YamlError, file: String, text: String) -> RunbookDiagnostic {
        func loc(_ m: Mark) -> SourceLocation { .init(file: file, line: max(1, m.line), column: max(1, m.column)) }
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return .init(loc(mark), "YAML syntax error: \(clip(problem, 120))", expected: "well-formed YAML")
        case .reader(let problem, let offset, _, _):
            var line = 1, col = 1
            if let offset {
                var n = 0
                for ch in text.unicodeScalars {
                    if n >= offset { break }
                    if ch == "\n" { line += 1; col = 1 } else { col += 1 }
                    n += String(ch).utf8.count
                }
            }
            return .init(.init(file: file, line: line, column: col), "unreadable input: \(clip(problem, 80))", expected: "printable UTF-8 text")
        case .duplicatedKeysInMapping(let dups, let context):
            return .init(loc(context.mark), "duplicate key '\(clip(dups.first ?? "?", 40))'", expected: "each key at most once in a mapping")
        default:
            return .init(.init(file: file, line: 1, column: 1), "YAML error: \(clip("\(e)", 120))", expected: "well-formed YAML")
        }
    }
}

/// Walks the node tree, building the model and collecting diagnostics.
struct Builder {
    let file: String
    var diags: [RunbookDiagnostic] = []

    init(file: String) { self.file = file }

    func loc(_ n: YamsNode?) -> SourceLocation {
        if let m = n?.mark { return .init(file: file, line: max(1, m.line), column: max(1, m.column)) }
        return .init(file: file, line: 1, column: 1)
    }
    /// Position of a character offset inside a scalar (exact for plain and quoted one-line scalars).
    func loc(_ n: YamsNode, offset: Int) -> SourceLocation {
        var l = loc(n)
        if case .scalar(let s) = n {
            switch s.style {
            case .plain: l.column += offset
            case .singleQuoted, .doubleQuoted: l.column += offset + 1
            default: break
            }
        }
        return l
    }
    mutating func error(_ n: YamsNode?, _ message: String, expected: String) {
        diags.append(.init(loc(n), message, expected: expected))
    }

    func typeName(_ n: YamsNode) -> String {
        switch n {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            if n.null != nil || (s.string.isEmpty && s.style == .plain) { return "an empty value" }
            if n.bool != nil, s.style == .plain { return "a boolean (\(s.string))" }
            if n.int != nil, s.style == .plain { return "a number (\(clip(s.string, 20)))" }
            return "text \"\(clip(s.string, 30))\""
        }
    }

    // MARK: typed accessors

    mutating func mapping(_ n: YamsNode, what: String) -> [(key: String, keyNode: YamsNode, value: YamsNode)]? {
        guard case .mapping(let m) = n else {
            error(n, "\(what) is \(typeName(n))", expected: "a mapping")
            return nil
        }
        var out: [(String, YamsNode, YamsNode)] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else { error(k, "a non-text key in \(what)", expected: "text keys"); continue }
            out.append((ks.string, k, v))
        }
        return out.map { (key: $0.0, keyNode: $0.1, value: $0.2) }
    }

    mutating func string(_ n: YamsNode, field: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let s) = n else {
            error(n, "'\(field)' is \(typeName(n))", expected: "text")
            return nil
        }
        if s.style == .plain && (n.null != nil || ["~", "null", "Null", "NULL", ""].contains(s.string)) && !allowEmpty {
            error(n, "'\(field)' is empty", expected: "text")
            return nil
        }
        if s.string.count > RunbookLimits.maxScalarCharacters {
            error(n, "'\(field)' is \(s.string.count) characters long", expected: "at most \(RunbookLimits.maxScalarCharacters) characters")
            return nil
        }
        // Runbook text is printed as is in line mode: no terminal escapes (ESC, BEL, other C0
        // controls, DEL, C1). Tab, newline and carriage return stay allowed.
        if let bad = s.string.unicodeScalars.first(where: { u in
            (u.value < 0x20 && u != "\t" && u != "\n" && u != "\r") || (0x7F...0x9F).contains(u.value)
        }) {
            error(n, "'\(field)' contains the control character U+\(String(format: "%04X", bad.value))",
                  expected: "printable text (no terminal escape sequences)")
            return nil
        }
        return s.string
    }

    mutating func bool(_ n: YamsNode, field: String) -> Bool? {
        if case .scalar(let s) = n, s.style == .plain, let b = n.bool, ["true", "false", "True", "False", "TRUE", "FALSE"].contains(s.string) { return b }
        error(n, "'\(field)' is \(typeName(n))", expected: "true or false")
        return nil
    }

    mutating func seconds(_ n: YamsNode, field: String) -> Double? {
        if case .scalar(let s) = n, s.style == .plain {
            let t = s.string.trimmingCharacters(in: .whitespaces)
            var v: Double? = Double(t)
            if v == nil, let last = t.last, "smh".contains(last), let x = Double(t.dropLast()) {
                v = x * (last == "s" ? 1 : last == "m" ? 60 : 3600)
            }
            if let v, v > 0, v <= 86_400 { return v }
        }
        error(n, "'\(field)' is \(typeName(n))", expected: "a duration in seconds between 0 and 86400 (e.g. 5, 30s, 10m)")
        return nil
    }

    mutating func stringList(_ n: YamsNode, field: String) -> [(String, YamsNode)]? {
        guard case .sequence(let seq) = n else {
            error(n, "'\(field)' is \(typeName(n))", expected: "a list of text")
            return nil
        }
        var out: [(String, YamsNode)] = []
        for item in seq {
            if let s = string(item, field: "\(field) item", allowEmpty: true) { out.append((s, item)) }
        }
        return out
    }

    mutating func checkKeys(_ m: [(key: String, keyNode: YamsNode, value: YamsNode)], allowed: [String], what: String) {
        var seen: Set<String> = []
        for e in m {
            if !allowed.contains(e.key) {
                error(e.keyNode, "unknown key '\(clip(e.key, 40))' in \(what)", expected: "one of \(allowed.joined(separator: ", "))")
            }
            seen.insert(e.key)
        }
    }

    func value(_ m: [(key: String, keyNode: YamsNode, value: YamsNode)], _ key: String) -> YamsNode? {
        m.first { $0.key == key }?.value
    }

    mutating func require(_ m: [(key: String, keyNode: YamsNode, value: YamsNode)], _ key: String, at: YamsNode, what: String, expected: String) -> YamsNode? {
        if let v = value(m, key) { return v }
        error(at, "missing field '\(key)' in \(what)", expected: expected)
        return nil
    }

    mutating func condition(_ n: YamsNode, field: String) -> Condition? {
        guard let s = string(n, field: field) else { return nil }
        do {
            let c = try Condition.parse(s)
            for case .path(let p) in c.operands {
                if let (what, exp) = SnapshotPathCatalog.problem(with: p) {
                    let off = (s.range(of: p).map { s.distance(from: s.startIndex, to: $0.lowerBound) }) ?? 0
                    diags.append(.init(loc(n, offset: off), "\(what) in '\(field)'", expected: exp))
                }
            }
            return c
        } catch {
            diags.append(.init(loc(n, offset: error.offset), "bad condition in '\(field)': \(error.message)", expected: error.expected))
            return nil
        }
    }

    mutating func template(_ n: YamsNode, field: String, allowEmpty: Bool = false) -> Template? {
        guard let s = string(n, field: field, allowEmpty: allowEmpty) else { return nil }
        do { return try Template.parse(s) } catch {
            diags.append(.init(loc(n, offset: error.offset), "bad template in '\(field)': \(error.message)", expected: error.expected))
            return nil
        }
    }

    /// Collects the `{{name}}` references of a text shown to the operator (title, text,
    /// question, label, undo-reason...); a malformed placeholder is an error at its position.
    mutating func textRefs(_ n: YamsNode?, field: String, into refs: inout [(String, YamsNode)]) {
        guard let n, let s = n.string else { return }
        do {
            let t = try Template.parse(s)
            for v in t.variables { refs.append((v, n)) }
        } catch {
            diags.append(.init(loc(n, offset: error.offset), "bad template in '\(field)': \(error.message)", expected: error.expected))
        }
    }

    // MARK: runbook

    static let topKeys = ["id", "title", "summary", "when", "variables", "steps", "end-state"]
    static let variableKeys = ["name", "description", "from", "option", "ask", "capture", "default", "multiply", "size", "reserve"]
    static let commonStepKeys = ["id", "title", "kind", "text", "precheck", "postcheck", "next", "stop", "max-visits"]
    static let kindKeys: [String: [String]] = [
        "explain": [],
        "check": ["command", "stdin", "timeout", "expect", "on-pass", "on-fail", "required", "capture", "capture-match"],
        "command": ["command", "stdin", "timeout", "mutates", "destructive", "allow-failure", "capture", "capture-match", "undo", "undo-reason", "undoes", "batches", "confirm-pod"],
        "confirm": ["question", "default", "on-yes", "on-no", "destructive"],
        "choice": ["question", "options", "default"],
        "wait-until": ["condition", "command", "stdin", "interval", "timeout", "on-timeout"],
        "manual": [],
        "keyspace-analysis": ["top", "scan-count"],
    ]
    static let kindOrder = ["explain", "check", "command", "confirm", "choice", "wait-until", "manual", "keyspace-analysis"]
    static let batchKeys = ["cursor", "count", "total", "max"]
    static let optionNames = ["namespace", "context", "statefulset", "pod", "container", "exporter_container", "node", "aof_layout",
                              "aof_dir", "aof_manifest", "aof_file", "backup_path", "backup_dir", "memory_limit", "maxmemory", "queue", "kubeconfig"]

    struct StepRef { var name: String; var node: YamsNode }

    mutating func runbook(_ root: YamsNode) -> Runbook? {
        guard let m = mapping(root, what: "the runbook") else { return nil }
        checkKeys(m, allowed: Builder.topKeys, what: "the runbook")
        let idN = require(m, "id", at: root, what: "the runbook", expected: "an 'id' such as pod-restart")
        let titleN = require(m, "title", at: root, what: "the runbook", expected: "a 'title'")
        let summaryN = require(m, "summary", at: root, what: "the runbook", expected: "a one-paragraph 'summary'")
        let stepsN = require(m, "steps", at: root, what: "the runbook", expected: "a list of 'steps'")
        var id = ""
        if let idN, let s = string(idN, field: "id") {
            if s.range(of: "^[a-z0-9][a-z0-9-]{0,63}$", options: .regularExpression) == nil {
                error(idN, "id '\(clip(s, 40))'", expected: "lowercase letters, digits and '-' (at most 64)")
            }
            id = s
        }
        let title = titleN.flatMap { string($0, field: "title") } ?? ""
        var topRefs: [(String, YamsNode)] = []
        textRefs(titleN, field: "title", into: &topRefs)
        textRefs(summaryN, field: "summary", into: &topRefs)
        for (v, node) in topRefs where BuiltinVariables.names[v] == nil || v == "keys_at_start" || v == "replicas_at_start" {
            error(node, "'{{\(v)}}' in the runbook's title or summary", expected: "only the target's built-in variables there (namespace, pod, statefulset, ...: they are shown before anything else has a value)")
        }
        let summary = summaryN.flatMap { string($0, field: "summary") } ?? ""
        var when: [String] = []
        if let w = value(m, "when") { when = stringList(w, field: "when")?.map(\.0) ?? [] }

        // variables
        var vars: [VariableDecl] = []
        var varNames: Set<String> = []
        var askRefs: [(String, YamsNode)] = []
        if let vn = value(m, "variables") {
            if case .sequence(let seq) = vn {
                for item in seq {
                    guard let vm = mapping(item, what: "a variable") else { continue }
                    checkKeys(vm, allowed: Builder.variableKeys, what: "a variable")
                    guard let nameN = require(vm, "name", at: item, what: "a variable", expected: "a 'name'"),
                          let name = string(nameN, field: "name") else { continue }
                    if !Template.isValidName(name) { error(nameN, "variable name '\(clip(name, 40))'", expected: "letters, digits and _") ; continue }
                    if BuiltinVariables.names[name] != nil {
                        error(nameN, "variable '\(name)' is built in", expected: "a name other than \(BuiltinVariables.names.keys.sorted().joined(separator: ", "))")
                        continue
                    }
                    if varNames.contains(name) { error(nameN, "variable '\(name)' declared twice", expected: "each variable once") ; continue }
                    let desc = value(vm, "description").flatMap { string($0, field: "description") }
                    if value(vm, "description") == nil { error(item, "missing field 'description' in variable '\(name)'", expected: "a 'description' the operator can read") }
                    let sources = ["from", "option", "ask", "capture"].filter { value(vm, $0) != nil }
                    var source: VariableDecl.Source? = nil
                    if sources.count != 1 {
                        error(item, sources.isEmpty ? "variable '\(name)' has no source" : "variable '\(name)' has several sources (\(sources.joined(separator: ", ")))",
                              expected: "exactly one of from (snapshot path), option, ask, capture")
                    } else if let srcN = value(vm, sources[0]) {
                        switch sources[0] {
                        case "from":
                            if let p = string(srcN, field: "from") {
                                if !ConditionParser.isPath(p) { error(srcN, "'\(clip(p, 40))' is not a snapshot path", expected: "a dotted path such as pod.node") }
                                else if let (what, exp) = SnapshotPathCatalog.problem(with: p) { error(srcN, what, expected: exp) }
                                else { source = .snapshot(p) }
                            }
                        case "option":
                            if let o = string(srcN, field: "option") {
                                if Template.isValidName(o) { source = .option(o) }
                                else { error(srcN, "option name '\(clip(o, 40))'", expected: "a name of letters, digits and _ (set with --set \(name)=VALUE), e.g. \(Builder.optionNames.prefix(6).joined(separator: ", "))") }
                            }
                        case "ask":
                            if let q = string(srcN, field: "ask") { source = .ask(q); textRefs(srcN, field: "ask", into: &askRefs) }
                        default:
                            if let b = bool(srcN, field: "capture") {
                                if b { source = .capture } else { error(srcN, "'capture: false'", expected: "capture: true (or another source)") }
                            }
                        }
                    }
                    let def = value(vm, "default").flatMap { string($0, field: "default", allowEmpty: true) }
                    if let d = def, let t = try? Template.parse(d) {
                        for v in t.variables where !varNames.contains(v) && BuiltinVariables.names[v] == nil {
                            error(value(vm, "default"), "default of '\(name)' uses '{{\(v)}}', which is not declared before it", expected: "a built-in or a variable declared earlier")
                        }
                    }
                    let size = value(vm, "size").flatMap { bool($0, field: "size") } ?? false
                    var mult: Double? = nil
                    if let mn = value(vm, "multiply") {
                        if case .scalar(let ms) = mn, let x = Double(ms.string), x > 0 { mult = x }
                        else { error(mn, "'multiply' is \(typeName(mn))", expected: "a positive number") }
                        if case .snapshot = source {} else if case .ask = source, size {} else if source != nil {
                            error(mn, "'multiply' on a variable that is not from the snapshot", expected: "multiply only with 'from:' (or with 'ask:' and 'size: true')")
                        }
                    }
                    if size, let sn = value(vm, "size") {
                        if case .ask = source, def == nil { error(sn, "'size: true' on an asked variable without a 'default'", expected: "a 'default' size the prompt computes from") }
                        if case .option = source { error(sn, "'size: true' on an option", expected: "size only with 'from:' or 'ask:'") }
                        if case .capture = source { error(sn, "'size: true' on a captured variable", expected: "size only with 'from:' or 'ask:'") }
                    }
                    var reserve: [Template] = []
                    if let rn = value(vm, "reserve") {
                        if value(vm, "size") == nil || !size { error(rn, "'reserve' without 'size: true'", expected: "'size: true' with it") }
                        for (r, node) in stringList(rn, field: "reserve") ?? [] {
                            guard let t = try? Template.parse(r) else { error(node, "'reserve' item '\(clip(r, 40))'", expected: "a {{variable}} holding bytes"); continue }
                            for v in t.variables where !varNames.contains(v) && BuiltinVariables.names[v] == nil {
                                error(node, "reserve of '\(name)' uses '{{\(v)}}', which is not declared before it", expected: "a built-in or a variable declared earlier")
                            }
                            reserve.append(t)
                        }
                    }
                    varNames.insert(name)
                    if let source {
                        var d = VariableDecl(name: name, description: desc ?? "", source: source, defaultValue: def, multiply: mult, location: loc(item))
                        d.size = size; d.reserve = reserve
                        vars.append(d)
                    }
                }
            } else {
                error(vn, "'variables' is \(typeName(vn))", expected: "a list of variables")
            }
        }

        // steps
        var steps: [Step] = []
        var ids: [String: YamsNode] = [:]
        var branchRefs: [StepRef] = []
        var varRefs: [(String, YamsNode)] = askRefs
        var captureRefs: [(String, YamsNode)] = []
        if let stepsN {
            if case .sequence(let seq) = stepsN {
                if seq.isEmpty { error(stepsN, "'steps' is empty", expected: "at least one step") }
                if seq.count > RunbookLimits.maxSteps { error(stepsN, "\(seq.count) steps", expected: "at most \(RunbookLimits.maxSteps)") }
                for (i, item) in seq.prefix(RunbookLimits.maxSteps).enumerated() {
                    if let s = step(item, number: i + 1, ids: &ids, branches: &branchRefs, varRefs: &varRefs, captures: &captureRefs) { steps.append(s) }
                }
            } else {
                error(stepsN, "'steps' is \(typeName(stepsN))", expected: "a list of steps")
            }
        }
        // cross-references
        let known = ids.keys.sorted()
        for r in branchRefs where r.name != "end" && ids[r.name] == nil {
            error(r.node, "branch to unknown step '\(clip(r.name, 40))'", expected: "the id of a step in this runbook\(known.isEmpty ? "" : " (\(known.joined(separator: ", ")))") or 'end'")
        }
        let declared = varNames.union(BuiltinVariables.names.keys)
        for (name, node) in varRefs where !declared.contains(name) {
            var off = 0
            if let s = node.string, let r = s.range(of: "{{\(name)}}") ?? s.range(of: "{{ \(name) }}") {
                off = s.distance(from: s.startIndex, to: r.lowerBound)
            }
            diags.append(.init(loc(node, offset: off), "undeclared variable '{{\(name)}}'",
                               expected: "a variable declared under 'variables:' or a built-in (\(BuiltinVariables.names.keys.sorted().joined(separator: ", ")))"))
        }
        for (name, node) in captureRefs {
            if let d = vars.first(where: { $0.name == name }) {
                if d.source != .capture { error(node, "'capture: \(name)' names a variable whose source is not capture", expected: "a variable declared with 'capture: true'") }
            } else if !varNames.contains(name) {
                error(node, "'capture: \(clip(name, 40))' names an undeclared variable", expected: "a variable declared with 'capture: true'")
            }
        }
        // undo references and loops
        if diags.isEmpty {
            for (i, st) in steps.enumerated() {
                if case .undoes(let other)? = st.undo {
                    guard let j = steps.firstIndex(where: { $0.id == other }) else {
                        diags.append(.init(st.location, "'undoes: \(clip(other, 40))' names an unknown step", expected: "the id of a mutating step of this runbook"))
                        continue
                    }
                    if case .commands? = steps[j].undo {} else {
                        diags.append(.init(st.location, "'undoes: \(other)' names a step without undo commands", expected: "the id of a step with 'undo:' commands"))
                    }
                    _ = i
                }
            }
            diags += RunbookGraph.loopProblems(steps)
        }
        var endState = EndState()
        if let en = value(m, "end-state") {
            endState = self.endState(en, varNames: varNames.union(BuiltinVariables.names.keys))
        }
        guard diags.isEmpty else { return nil }
        var rb = Runbook(id: id, title: title, summary: summary, when: when, variables: vars, steps: steps, file: file, location: loc(root))
        rb.endState = endState
        return rb
    }

    static let endStateKeys = ["wait", "pod", "serving", "replicas", "no-pods", "keys", "checks", "aof-files"]

    /// The standard checks behind `serving: true`, as data (templates and conditions).
    /// `pod`: the pod they read (a template; the run's target pod unless `end-state: pod:` names
    /// another, e.g. the master a Sentinel runbook found).
    static func servingChecks(_ l: SourceLocation, pod: String = "{{pod}}") -> [EndState.Check] {
        func t(_ a: [String]) -> CommandTemplate { CommandTemplate(argv: a.map { try! Template.parse($0) }, timeoutSeconds: 20) }
        func c(_ s: String) -> Condition { try! Condition.parse(s) }
        let cli = ["kubectl", "exec", pod, "-c", "{{container}}", "--", "redis-cli"]
        return [
            .init(name: "pod \(pod) Ready", command: t(["kubectl", "get", "pod", pod, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]),
                  expect: c("stdout == True"), location: l),
            .init(name: "PING answers PONG", command: t(cli + ["PING"]), expect: c("stdout contains PONG"), location: l),
            .init(name: "role:master and aof_last_write_status:ok", command: t(cli + ["INFO", "replication", "persistence"]),
                  expect: c("stdout contains \"role:master\" and stdout contains \"aof_last_write_status:ok\" and not stdout contains \"loading:1\""), location: l),
            .init(name: "writes accepted", command: t(cli + ["EVAL", "redis.call('SET', KEYS[1], '1') redis.call('DEL', KEYS[1]) return 'WRITES-OK'", "1", "redis-runbook:end-state-write-probe"]),
                  expect: c("stdout contains WRITES-OK"), writes: true, location: l),
        ]
    }

    mutating func endState(_ n: YamsNode, varNames: Set<String>) -> EndState {
        var es = EndState()
        guard let m = mapping(n, what: "'end-state'") else { return es }
        checkKeys(m, allowed: Builder.endStateKeys, what: "'end-state'")
        if let w = value(m, "wait") { es.waitSeconds = seconds(w, field: "wait") ?? 120 }
        // The pod the serving checks and the key count read: the run's target unless named.
        var pod = "{{pod}}"
        if let pn = value(m, "pod"), let p = string(pn, field: "pod") {
            var refs: [(String, YamsNode)] = []
            textRefs(pn, field: "pod", into: &refs)
            for (v, node) in refs where !varNames.contains(v) && BuiltinVariables.names[v] == nil { error(node, "undeclared variable '{{\(v)}}'", expected: "a declared or built-in variable") }
            if (try? Template.parse(p)) != nil { pod = p }
        }
        if let sn = value(m, "serving"), bool(sn, field: "serving") == true { es.checks += Builder.servingChecks(loc(sn), pod: pod) }
        if let rn = value(m, "replicas"), bool(rn, field: "replicas") == true {
            es.needsReplicas = true
            es.checks.append(.init(name: "StatefulSet {{statefulset}} at {{replicas_at_start}} replica(s) as at the start",
                                   command: CommandTemplate(argv: ["kubectl", "get", "statefulset", "{{statefulset}}", "-o", "jsonpath={.spec.replicas}"].map { try! Template.parse($0) }, timeoutSeconds: 20),
                                   expect: try! Condition.parse("stdout == {{replicas_at_start}}"), location: loc(rn)))
        }
        if let pn = value(m, "no-pods") {
            for (name, node) in stringList(pn, field: "no-pods") ?? [] {
                guard name.range(of: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", options: .regularExpression) != nil else {
                    error(node, "pod name '\(clip(name, 40))'", expected: "a Kubernetes pod name"); continue
                }
                es.checks.append(.init(name: "no pod \(name) left", command: CommandTemplate(argv: ["kubectl", "get", "pod", name, "--ignore-not-found", "-o", "name"].map { try! Template.parse($0) }, timeoutSeconds: 20),
                                       expect: try! Condition.parse("exitCode == 0 and stdout == \"\""), location: loc(node)))
            }
        }
        if let kn = value(m, "keys"), let km = mapping(kn, what: "'keys' in 'end-state'") {
            checkKeys(km, allowed: ["max-loss", "before", "loss-label"], what: "'keys' in 'end-state'")
            var maxLoss: Int? = 0
            if let ml = value(km, "max-loss") {
                if ml.string == "any" { maxLoss = nil }
                else if let i = ml.int, i >= 0 { maxLoss = i }
                else { error(ml, "'max-loss' is \(typeName(ml))", expected: "a number of keys (0 = none may be lost) or 'any'") }
            }
            var fb: String? = nil
            if let bn = value(km, "before"), let b = string(bn, field: "before") {
                if varNames.contains(b) { fb = b } else { error(bn, "'before: \(clip(b, 40))' is not a declared variable", expected: "the variable with the key count before the incident (e.g. keys_before)") }
            }
            let label = value(km, "loss-label").flatMap { string($0, field: "loss-label") } ?? "keys lost"
            var lrefs: [(String, YamsNode)] = []
            textRefs(value(km, "loss-label"), field: "loss-label", into: &lrefs)
            for (v, node) in lrefs where !varNames.contains(v) { error(node, "undeclared variable '{{\(v)}}'", expected: "a declared or built-in variable") }
            let cmd = CommandTemplate(argv: ["kubectl", "exec", pod, "-c", "{{container}}", "--", "redis-cli", "DBSIZE"].map { try! Template.parse($0) }, timeoutSeconds: 20)
            es.keys = .init(command: cmd, fallbackBefore: fb, maxLoss: maxLoss, lossLabel: label, location: loc(kn))
        }
        if let an = value(m, "aof-files"), let am = mapping(an, what: "'aof-files' in 'end-state'") {
            checkKeys(am, allowed: ["before", "after"], what: "'aof-files' in 'end-state'")
            var names: [String] = []
            for key in ["before", "after"] {
                guard let vn = require(am, key, at: an, what: "'aof-files'", expected: "'\(key)': the capture variable with `ls -l` of the AOF files \(key) the repair"),
                      let v = string(vn, field: key) else { continue }
                if varNames.contains(v) && BuiltinVariables.names[v] == nil { names.append(v) }
                else { error(vn, "'\(key): \(clip(v, 40))' is not a declared variable", expected: "a variable declared with 'capture: true'") }
            }
            if names.count == 2 { es.aofFiles = .init(before: names[0], after: names[1]) }
        }
        if let cn = value(m, "checks") {
            guard case .sequence(let seq) = cn else { error(cn, "'checks' is \(typeName(cn))", expected: "a list of checks (name, command, expect)"); return es }
            for item in seq {
                guard let cm = mapping(item, what: "an end-state check") else { continue }
                checkKeys(cm, allowed: ["name", "command", "expect", "timeout"], what: "an end-state check")
                let nameN = require(cm, "name", at: item, what: "an end-state check", expected: "a 'name' shown in the verdict")
                let name = nameN.flatMap { string($0, field: "name") }
                var refs: [(String, YamsNode)] = []
                textRefs(nameN, field: "name", into: &refs)
                let cmd = require(cm, "command", at: item, what: "an end-state check", expected: "a read-only 'command'").flatMap { commandTemplate(cm, $0, kind: "check", varRefs: &refs) }
                let exN = require(cm, "expect", at: item, what: "an end-state check", expected: "an 'expect' condition")
                let ex = exN.flatMap { condition($0, field: "expect") }
                for v in ex?.variables ?? [] { refs.append((v, exN!)) }
                for (v, node) in refs where !varNames.contains(v) { error(node, "undeclared variable '{{\(v)}}'", expected: "a declared or built-in variable") }
                if let cmd, let why = MutationLint.looksMutating(cmd), let c = value(cm, "command") {
                    error(c, "an end-state check runs '\(why)', which changes state", expected: "a read-only command")
                }
                if let name, let cmd, let ex { es.checks.append(.init(name: name, command: cmd, expect: ex, location: loc(item))) }
            }
        }
        return es
    }

    mutating func commandTemplate(_ m: [(key: String, keyNode: YamsNode, value: YamsNode)], _ cmdN: YamsNode, kind: String, varRefs: inout [(String, YamsNode)]) -> CommandTemplate? {
        guard let list = stringList(cmdN, field: "command") else { return nil }
        if list.isEmpty { error(cmdN, "'command' is an empty list", expected: "an argv list such as [kubectl, get, pod, \"{{pod}}\"]"); return nil }
        var argv: [Template] = []
        for (s, n) in list {
            guard let t = template(n, field: "command", allowEmpty: true) else { continue }
            for v in t.variables { varRefs.append((v, n)) }
            argv.append(t)
            _ = s
        }
        guard argv.count == list.count else { return nil }
        let program = argv[0].raw
        let allowed = ["kubectl", "redis-cli", "redis-check-aof", "redis-check-rdb"]
        if !allowed.contains(program) {
            error(list[0].1, "program '\(clip(program, 40))'", expected: "one of \(allowed.joined(separator: ", ")) (argv only; never a shell)")
        }
        if ["sh", "bash", "/bin/sh", "/bin/bash", "zsh", "ash"].contains(where: { sh in argv.contains { $0.raw == sh } }) {
            if let n = list.first(where: { ["sh", "bash", "/bin/sh", "/bin/bash", "zsh", "ash"].contains($0.0) })?.1 {
                error(n, "a shell in the command", expected: "the program and its arguments directly (runbooks never go through a shell)")
            }
        }
        if program == "kubectl" {
            for (s, n) in list.dropFirst() {
                if Target.kubectlGlobalFlagNames.contains(where: { s == $0 || ($0.hasPrefix("--") && s.hasPrefix($0 + "=")) }) {
                    error(n, "kubectl flag '\(clip(s, 30))' in a runbook",
                          expected: "none of \(Target.kubectlGlobalFlagNames.joined(separator: " ")): the engine adds them from the command line")
                }
            }
        }
        var stdin: Template? = nil
        if let sn = value(m, "stdin") {
            stdin = template(sn, field: "stdin", allowEmpty: true)
            for v in stdin?.variables ?? [] { varRefs.append((v, sn)) }
        }
        var timeout = 30.0
        if let tn = value(m, "timeout"), kind != "wait-until" { timeout = seconds(tn, field: "timeout") ?? 30 }
        return CommandTemplate(argv: argv, stdin: stdin, timeoutSeconds: timeout)
    }

    mutating func step(_ item: YamsNode, number: Int, ids: inout [String: YamsNode], branches: inout [StepRef],
                       varRefs: inout [(String, YamsNode)], captures: inout [(String, YamsNode)]) -> Step? {
        let what = "step \(number)"
        guard let m = mapping(item, what: what) else { return nil }
        let before = diags.count
        guard let kindN = require(m, "kind", at: item, what: what, expected: "'kind: ' one of \(Builder.kindOrder.joined(separator: ", "))"),
              let kind = string(kindN, field: "kind") else { return nil }
        guard let extra = Builder.kindKeys[kind] else {
            error(kindN, "unknown step kind '\(clip(kind, 40))'", expected: "one of \(Builder.kindOrder.joined(separator: ", "))")
            return nil
        }
        checkKeys(m, allowed: Builder.commonStepKeys + extra, what: "a \(kind) step")
        var id: String? = nil
        if let idN = value(m, "id"), let s = string(idN, field: "id") {
            if s.range(of: "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", options: .regularExpression) == nil {
                error(idN, "step id '\(clip(s, 40))'", expected: "letters, digits, '-' and '_'")
            } else if s == "end" {
                error(idN, "step id 'end'", expected: "another id ('end' means the end of the runbook)")
            } else if let first = ids[s] {
                error(idN, "duplicate step id '\(s)' (first used at line \(first.mark?.line ?? 0))", expected: "a unique step id")
            } else { ids[s] = idN }
            id = s
        }
        let titleN = require(m, "title", at: item, what: what, expected: "a 'title' for the step")
        let title = titleN.flatMap { string($0, field: "title") } ?? ""
        textRefs(titleN, field: "title", into: &varRefs)
        textRefs(value(m, "question"), field: "question", into: &varRefs)
        textRefs(value(m, "undo-reason"), field: "undo-reason", into: &varRefs)
        var text: String? = nil
        if let tn = value(m, "text") {
            text = string(tn, field: "text")
            textRefs(tn, field: "text", into: &varRefs)
        }
        let pre = value(m, "precheck").flatMap { condition($0, field: "precheck") }
        let post = value(m, "postcheck").flatMap { condition($0, field: "postcheck") }
        for c in [pre, post].compactMap({ $0 }) {
            for v in c.variables { varRefs.append((v, value(m, c == pre ? "precheck" : "postcheck")!)) }
        }
        if let pc = pre, pc.usesResult, let n = value(m, "precheck") {
            error(n, "precheck uses the command result (exitCode/stdout/stderr), which does not exist before the step runs", expected: "a snapshot condition")
        }
        var next: String? = nil
        if let nn = value(m, "next"), let s = string(nn, field: "next") { next = s; branches.append(.init(name: s, node: nn)) }
        var capture: String? = nil
        if let cn = value(m, "capture"), let s = string(cn, field: "capture") { capture = s; captures.append((s, cn)) }
        var captureMatch: String? = nil
        if let mn = value(m, "capture-match"), let s = string(mn, field: "capture-match") {
            if capture == nil { error(mn, "'capture-match' without 'capture'", expected: "'capture: <variable>' receiving the match") }
            else if (try? NSRegularExpression(pattern: s, options: [.anchorsMatchLines])) == nil { error(mn, "'capture-match' is not a regular expression", expected: "a regular expression such as '^([0-9.]+)'") }
            else { captureMatch = s }
        }
        var confirmPod: Template? = nil
        if let pn = value(m, "confirm-pod"), let s = string(pn, field: "confirm-pod") {
            if let t = try? Template.parse(s) { confirmPod = t; for v in t.variables { varRefs.append((v, pn)) } }
            else { textRefs(pn, field: "confirm-pod", into: &varRefs) }
        }
        var stop: StopMode? = nil
        if let sn = value(m, "stop"), let s = string(sn, field: "stop") {
            if let mode = StopMode(rawValue: s) { stop = mode }
            else { error(sn, "'stop: \(clip(s, 30))'", expected: "'undo' (take back what this run changed) or 'keep' (leave it; the verdict lists the undo commands)") }
            if next != nil, let nn = value(m, "next") { error(nn, "'next' on a step that stops the run", expected: "no 'next' with 'stop'") }
        }
        var maxVisits: Int? = nil
        if let mn = value(m, "max-visits") {
            if let i = mn.int, i >= 1, i <= 100 { maxVisits = i } else { error(mn, "'max-visits' is \(typeName(mn))", expected: "a number from 1 to 100") }
        }
        var undo: UndoSpec? = nil
        var onTimeout: String? = nil

        var mutates = false, destructive = false
        let k: Step.Kind
        switch kind {
        case "explain":
            if text == nil, value(m, "text") == nil { error(item, "missing field 'text' in an explain step", expected: "the 'text' the operator reads") }
            k = .explain
        case "check":
            var cmd: CommandTemplate? = nil
            if let cn = value(m, "command") { cmd = commandTemplate(m, cn, kind: kind, varRefs: &varRefs) }
            let expect = value(m, "expect").flatMap { condition($0, field: "expect") }
            if value(m, "command") == nil && value(m, "expect") == nil {
                error(item, "a check step with neither 'command' nor 'expect'", expected: "a 'command', an 'expect' condition, or both")
            }
            if let e = expect, e.usesResult, cmd == nil, let en = value(m, "expect") {
                error(en, "'expect' uses the command result but the step has no 'command'", expected: "a 'command' or a snapshot condition")
            }
            for v in expect?.variables ?? [] { varRefs.append((v, value(m, "expect")!)) }
            if let cmd, let why = MutationLint.looksMutating(cmd), let cn = value(m, "command") {
                error(cn, "a check runs '\(why)', which changes state", expected: "a read-only command in a check (use a 'command' step with 'mutates: true')")
            }
            if capture != nil, cmd == nil, let cn = value(m, "capture") { error(cn, "'capture' on a check without a command", expected: "a 'command' whose stdout is captured") }
            var onPass: String? = nil, onFail: String? = nil
            if let n = value(m, "on-pass"), let s = string(n, field: "on-pass") { onPass = s; branches.append(.init(name: s, node: n)) }
            if let n = value(m, "on-fail"), let s = string(n, field: "on-fail") { onFail = s; branches.append(.init(name: s, node: n)) }
            let required = value(m, "required").flatMap { bool($0, field: "required") } ?? true
            k = .check(command: cmd, expect: expect, onPass: onPass, onFail: onFail, required: required)
        case "command":
            guard let cn = require(m, "command", at: item, what: "a command step", expected: "'command': an argv list") else { return nil }
            let cmd = commandTemplate(m, cn, kind: kind, varRefs: &varRefs)
            mutates = value(m, "mutates").flatMap { bool($0, field: "mutates") } ?? false
            destructive = value(m, "destructive").flatMap { bool($0, field: "destructive") } ?? false
            if destructive && !mutates, let dn = value(m, "destructive") {
                error(dn, "'destructive: true' without 'mutates: true'", expected: "'mutates: true' on every destructive step")
            }
            if let cmd, !mutates, let why = MutationLint.looksMutating(cmd) {
                error(cn, "'\(why)' changes state but the step does not say 'mutates: true'", expected: "'mutates: true' on every step that changes state")
            }
            if let cmd, !destructive, let why = MutationLint.looksDestructive(cmd) {
                error(cn, "'\(why)' is destructive but the step does not say 'destructive: true'", expected: "'destructive: true' (the operator then types the pod name)")
            }
            let allowFailure = value(m, "allow-failure").flatMap { bool($0, field: "allow-failure") } ?? false
            let undoN = value(m, "undo"), undoesN = value(m, "undoes"), reasonN = value(m, "undo-reason")
            if let undoN {
                if case .scalar = undoN, undoN.string == "none" {
                    if let reasonN, let r = string(reasonN, field: "undo-reason") { undo = .none(reason: r) }
                    else { error(undoN, "'undo: none' without 'undo-reason'", expected: "'undo-reason': why this change is not taken back"); undo = .none(reason: "") }
                } else if case .sequence(let seq) = undoN, !seq.isEmpty {
                    var cmds: [CommandTemplate] = []
                    for u in seq {
                        if case .sequence = u {
                            if let c = commandTemplate([], u, kind: "command", varRefs: &varRefs) { cmds.append(c) }
                        } else if let um = mapping(u, what: "an undo command") {
                            checkKeys(um, allowed: ["command", "stdin", "timeout"], what: "an undo command")
                            if let c = require(um, "command", at: u, what: "an undo command", expected: "'command': an argv list").flatMap({ commandTemplate(um, $0, kind: "command", varRefs: &varRefs) }) { cmds.append(c) }
                        }
                    }
                    undo = .commands(cmds)
                } else {
                    error(undoN, "'undo' is \(typeName(undoN))", expected: "a list of commands (argv lists) that take the change back, or 'none' with 'undo-reason'")
                }
                if let undoesN { error(undoesN, "both 'undo' and 'undoes'", expected: "one of them") }
            } else if let undoesN, let other = string(undoesN, field: "undoes") {
                undo = .undoes(other)
            }
            if reasonN != nil, undoN?.string != "none", let reasonN { error(reasonN, "'undo-reason' without 'undo: none'", expected: "'undo: none' with it") }
            if mutates && undo == nil {
                error(item, "step \(number) changes state (mutates: true) but declares no undo", expected: "'undo:' commands that take it back, 'undoes: <step id>', or 'undo: none' with 'undo-reason'")
            }
            if !mutates, let u = undoN ?? undoesN { error(u, "'undo' on a step that does not change state", expected: "undo only with 'mutates: true'") }
            guard let cmd else { return nil }
            k = .command(cmd, allowFailure: allowFailure)
        case "confirm":
            let q = value(m, "question").flatMap { string($0, field: "question") } ?? title
            var def = false
            if let dn = require(m, "default", at: item, what: "a confirm step", expected: "'default: false' or 'default: true' (the safe answer)") {
                def = bool(dn, field: "default") ?? false
            }
            var onYes: String? = nil, onNo: String? = nil
            if let n = value(m, "on-yes"), let s = string(n, field: "on-yes") { onYes = s; branches.append(.init(name: s, node: n)) }
            if let n = value(m, "on-no"), let s = string(n, field: "on-no") { onNo = s; branches.append(.init(name: s, node: n)) }
            if let dn = value(m, "destructive") {
                destructive = bool(dn, field: "destructive") ?? false
                if destructive && def { error(dn, "a destructive confirm whose default is yes", expected: "'default: false': --yes must never take a path that destroys data") }
            }
            k = .confirm(question: q, defaultYes: def, onYes: onYes, onNo: onNo)
        case "choice":
            let q = value(m, "question").flatMap { string($0, field: "question") } ?? title
            var options: [ChoiceOption] = []
            if let on = require(m, "options", at: item, what: "a choice step", expected: "a list of 'options' (key, label, goto)") {
                if case .sequence(let seq) = on, !seq.isEmpty {
                    for o in seq {
                        guard let om = mapping(o, what: "a choice option") else { continue }
                        checkKeys(om, allowed: ["key", "label", "goto"], what: "a choice option")
                        let key = require(om, "key", at: o, what: "a choice option", expected: "a short 'key' the operator types").flatMap { string($0, field: "key") }
                        let labelN = require(om, "label", at: o, what: "a choice option", expected: "a 'label'")
                        let label = labelN.flatMap { string($0, field: "label") }
                        textRefs(labelN, field: "label", into: &varRefs)
                        let gotoN = require(om, "goto", at: o, what: "a choice option", expected: "'goto': a step id or 'end'")
                        let gotoS = gotoN.flatMap { string($0, field: "goto") }
                        if let gotoN, let gotoS { branches.append(.init(name: gotoS, node: gotoN)) }
                        if let key, options.contains(where: { $0.key == key }), let kn = value(om, "key") {
                            error(kn, "duplicate option key '\(clip(key, 30))'", expected: "a unique key per option")
                        }
                        if let key, let label, let gotoS { options.append(.init(key: key, label: label, goto: gotoS, location: loc(o))) }
                    }
                } else {
                    error(on, "'options' is \(typeName(on))", expected: "a non-empty list of options")
                }
            }
            var defKey = ""
            if let dn = require(m, "default", at: item, what: "a choice step", expected: "'default': the key of the safe option") {
                if let d = string(dn, field: "default") {
                    defKey = d
                    if !options.isEmpty, !options.contains(where: { $0.key == d }) {
                        error(dn, "default '\(clip(d, 30))' is not an option", expected: "one of \(options.map(\.key).joined(separator: ", "))")
                    }
                }
            }
            k = .choice(question: q, options: options, defaultKey: defKey)
        case "wait-until":
            let condN = require(m, "condition", at: item, what: "a wait-until step", expected: "a 'condition' to wait for")
            let cond = condN.flatMap { condition($0, field: "condition") }
            for v in cond?.variables ?? [] { varRefs.append((v, condN!)) }
            var cmd: CommandTemplate? = nil
            if let cn = value(m, "command") {
                cmd = commandTemplate(m, cn, kind: kind, varRefs: &varRefs)
                if let c = cmd, let why = MutationLint.looksMutating(c) {
                    error(cn, "a wait-until runs '\(why)', which changes state", expected: "a read-only command in a wait-until")
                }
            }
            if let c = cond, c.usesResult, cmd == nil, let condN {
                error(condN, "the condition uses the command result but the step has no 'command'", expected: "a 'command' or a snapshot condition")
            }
            if let n = value(m, "on-timeout"), let t = string(n, field: "on-timeout") { onTimeout = t; branches.append(.init(name: t, node: n)) }
            let interval = value(m, "interval").flatMap { seconds($0, field: "interval") } ?? 2
            var timeout = 300.0
            if let tn = require(m, "timeout", at: item, what: "a wait-until step", expected: "a 'timeout' (seconds)") { timeout = seconds(tn, field: "timeout") ?? 300 }
            guard let cond else { return nil }
            k = .waitUntil(condition: cond, command: cmd.map { var c = $0; c.timeoutSeconds = min(30, max(5, interval * 5)); return c }, intervalSeconds: interval, timeoutSeconds: timeout)
        case "keyspace-analysis":
            var top = 10, scanCount = 500
            if let tn = value(m, "top") {
                if let i = tn.int, (1...100).contains(i) { top = i } else { error(tn, "'top' is \(typeName(tn))", expected: "a number from 1 to 100 (pattern rows)") }
            }
            if let cn = value(m, "scan-count") {
                if let i = cn.int, (10...1000).contains(i) { scanCount = i } else { error(cn, "'scan-count' is \(typeName(cn))", expected: "a number from 10 to 1000 (SCAN COUNT per batch)") }
            }
            if capture != nil, let cn = value(m, "capture") { error(cn, "'capture' on a keyspace-analysis step", expected: "the step's named values (top_pattern, ...) declared as capture variables") }
            k = .keyspace(top: top, scanCount: scanCount)
        default: // manual
            if text == nil, value(m, "text") == nil { error(item, "missing field 'text' in a manual step", expected: "the instructions in 'text'") }
            k = .manual(instructions: text ?? "")
        }
        var batches: BatchSpec? = nil
        if let bn = value(m, "batches"), let bm = mapping(bn, what: "'batches'") {
            checkKeys(bm, allowed: Builder.batchKeys, what: "'batches'")
            let cursorN = require(bm, "cursor", at: bn, what: "'batches'", expected: "'cursor': the capture variable holding the SCAN cursor")
            let countN = require(bm, "count", at: bn, what: "'batches'", expected: "'count': the capture variable holding the keys handled so far")
            let cursor = cursorN.flatMap { string($0, field: "cursor") }
            let count = countN.flatMap { string($0, field: "count") }
            if let cursor, let cursorN { captures.append((cursor, cursorN)) }
            if let count, let countN { captures.append((count, countN)) }
            var total: Template? = nil
            if let tn = value(bm, "total"), let t = string(tn, field: "total") {
                if let tpl = try? Template.parse(t) { total = tpl; for v in tpl.variables { varRefs.append((v, tn)) } }
                else { error(tn, "'total' '\(clip(t, 40))'", expected: "a number or {{variable}}") }
            }
            var maxBatches = 1000
            if let mn = value(bm, "max") {
                if let i = mn.int, (1...100_000).contains(i) { maxBatches = i } else { error(mn, "'max' is \(typeName(mn))", expected: "a number of batches from 1 to 100000") }
            }
            if capture != nil, let cn = value(m, "capture") { error(cn, "'capture' with 'batches'", expected: "the batch variables 'cursor' and 'count' instead") }
            if let cursor, let count { batches = BatchSpec(cursor: cursor, count: count, total: total, maxBatches: maxBatches) }
        }
        if post != nil, case .explain = k, let n = value(m, "postcheck") {
            error(n, "a postcheck on an explain step", expected: "postcheck only on steps that do something")
        }
        if let p = post, p.usesResult, { if case .command = k { return false }; if case .check(let c, _, _, _, _) = k, c != nil { return false }; return true }(), let n = value(m, "postcheck") {
            error(n, "the postcheck uses the command result but the step has no command", expected: "a snapshot condition")
        }
        guard diags.count == before else { return nil }
        var st = Step(id: id, title: title, text: text, kind: k, mutates: mutates, destructive: destructive,
                      precheck: pre, postcheck: post, next: next, capture: capture, location: loc(item))
        st.undo = undo; st.stop = stop; st.maxVisits = maxVisits; st.batches = batches; st.onTimeout = onTimeout
        st.captureMatch = captureMatch
        if let confirmPod, let pn = value(m, "confirm-pod") {
            if destructive { st.confirmPod = confirmPod }
            else { error(pn, "'confirm-pod' on a step that is not destructive", expected: "'destructive: true' (the operator types this name to run it)") }
        }
        return st
    }

}

/// The step graph: every cycle must pass a question (confirm, choice, manual) or a step with
/// `max-visits`, so an unattended run can never loop for ever.
public enum RunbookGraph {
    public static func successors(_ steps: [Step], _ i: Int) -> [Int] {
        let s = steps[i]
        if s.stop != nil { return [] }
        func idx(_ t: String?) -> Int? {
            guard let t else { return nil }
            if t == "end" { return nil }
            return steps.firstIndex { $0.id == t }
        }
        let fall: Int? = i + 1 < steps.count ? i + 1 : nil
        var out: [Int?] = []
        switch s.kind {
        case .check(_, _, let p, let f, _):
            out = [p.map(idx) ?? (s.next.map(idx) ?? fall), f.map(idx) ?? (s.next.map(idx) ?? fall)]
        case .confirm(_, _, let y, let n):
            out = [y.map(idx) ?? (s.next.map(idx) ?? fall), n.map(idx) ?? nil]
        case .choice(_, let opts, _):
            out = opts.map { idx($0.goto) }
        default:
            out = [s.next.map(idx) ?? fall]
            if let t = s.onTimeout { out.append(idx(t)) }
        }
        return out.compactMap { $0 }
    }

    static func breaksLoops(_ s: Step) -> Bool {
        if s.maxVisits != nil { return true }
        switch s.kind { case .confirm, .choice, .manual: return true; default: return false }
    }

    /// One diagnostic per cycle made only of steps that do not break loops.
    public static func loopProblems(_ steps: [Step]) -> [RunbookDiagnostic] {
        // Cycles in the subgraph of non-breaking steps (Tarjan-free: DFS with colours).
        var colour = [Int](repeating: 0, count: steps.count)
        var out: [RunbookDiagnostic] = []
        var reported: Set<Int> = []
        func dfs(_ i: Int, _ path: [Int]) {
            colour[i] = 1
            for j in successors(steps, i) where !breaksLoops(steps[j]) {
                if colour[j] == 1 {
                    if !reported.contains(j) {
                        reported.insert(j)
                        let cyc = path.drop { $0 != j } + [i]
                        let names = Array(Set(cyc)).sorted().map { steps[$0].id ?? "step \($0 + 1)" }
                        out.append(.init(steps[j].location, "the steps \(names.joined(separator: ", ")) can loop without a question or a bounded retry",
                                         expected: "a confirm, choice or manual step on the loop, or 'max-visits: N' on one of its steps"))
                    }
                } else if colour[j] == 0 { dfs(j, path + [j]) }
            }
            colour[i] = 2
        }
        for i in steps.indices where colour[i] == 0 && !breaksLoops(steps[i]) { dfs(i, [i]) }
        return out
    }
}

/// Recognises commands that change state, so a runbook cannot mislabel them (which would let
/// them run under --read-only or --dry-run).
public enum MutationLint {
    static let kubectlMutating: Set<String> = ["delete", "scale", "patch", "apply", "create", "run", "replace", "edit", "set", "label",
                                               "annotate", "rollout", "drain", "cordon", "uncordon", "taint", "expose", "autoscale"]
    static let redisWrites: Set<String> = ["config", "bgsave", "save", "bgrewriteaof", "shutdown", "del", "unlink", "zpopmin", "zpopmax",
                                           "zremrangebyscore", "zremrangebyrank", "ltrim", "flushall", "flushdb", "debug", "set", "xtrim",
                                           "expire", "lpop", "rpop", "hdel", "srem", "zrem", "restore", "rename", "acl", "client", "replicaof", "slaveof",
                                           "eval", "evalsha", "fcall", "script", "function", "hset", "lpush", "rpush", "incr", "setex", "migrate", "swapdb", "move"]
    static let sentinelWrites: Set<String> = ["failover", "reset", "remove", "monitor", "set", "flushconfig", "simulate-failure"]
    static let fileWriters: Set<String> = ["cp", "mv", "rm", "truncate", "tee", "dd", "mkdir", "chmod", "chown", "ln", "touch", "sh", "bash"]

    /// A short description of the state-changing part, or nil when it looks read-only.
    public static func looksMutating(_ c: CommandTemplate) -> String? {
        let a = c.argv.map(\.raw)
        guard let prog = a.first else { return nil }
        if prog == "kubectl" {
            let verb = a.dropFirst().first { !$0.hasPrefix("-") } ?? ""
            if verb == "rollout" {
                // `rollout status` and `rollout history` only read; restart/undo/pause/resume change state.
                let sub = a.drop { $0 != "rollout" }.dropFirst().first { !$0.hasPrefix("-") } ?? ""
                return ["status", "history"].contains(sub) ? nil : "kubectl rollout \(sub)"
            }
            // `--dry-run=server|client`: the API server validates (or kubectl prints) and stores nothing.
            if kubectlMutating.contains(verb), a.contains("--dry-run=server") || a.contains("--dry-run=client") { return nil }
            if kubectlMutating.contains(verb) { return "kubectl \(verb)" }
            if verb == "cp", let dest = a.last, dest.contains(":") { return "kubectl cp into a pod" }
            if verb == "exec", let dd = a.firstIndex(of: "--") { return inner(Array(a[(dd + 1)...])) }
            return nil
        }
        return inner(a)
    }

    static func inner(_ a: [String]) -> String? {
        guard let prog = a.first else { return nil }
        let base = URL(fileURLWithPath: prog).lastPathComponent
        if fileWriters.contains(base) { return base }
        if base == "redis-check-aof", a.contains("--fix") || a.contains(where: { $0.hasPrefix("--truncate-to-timestamp") }) { return "redis-check-aof --fix" }
        if base == "redis-cli" {
            var i = 1
            // skip redis-cli options (those with a value take the next element)
            let withValue: Set<String> = ["-h", "-p", "-s", "-a", "-u", "-n", "--user", "--pass", "-r", "-i", "-d", "--eval"]
            while i < a.count, a[i].hasPrefix("-") { i += withValue.contains(a[i]) ? 2 : 1 }
            if i < a.count {
                let cmd = a[i].lowercased()
                if cmd == "sentinel", i + 1 < a.count {
                    // SENTINEL FAILOVER / RESET / REMOVE / MONITOR / SET / FLUSHCONFIG / CONFIG SET change what a Sentinel does.
                    let sub = a[i + 1].lowercased()
                    if sentinelWrites.contains(sub) || (sub == "config" && !(i + 2 < a.count && a[i + 2].lowercased() == "get")) {
                        return "redis-cli \(a[i]) \(a[i + 1])"
                    }
                }
                if redisWrites.contains(cmd) {
                    if cmd == "config", i + 1 < a.count, a[i + 1].lowercased() == "get" { return nil }
                    if cmd == "client", i + 1 < a.count, ["list", "info", "getname"].contains(a[i + 1].lowercased()) { return nil }
                    if cmd == "acl", i + 1 < a.count, ["list", "whoami", "users", "cat"].contains(a[i + 1].lowercased()) { return nil }
                    return "redis-cli \(a[i])" + (i + 1 < a.count && cmd == "config" ? " \(a[i + 1])" : "")
                }
            }
        }
        return nil
    }

    /// Destructive: deleting pods/PVCs, scaling to 0, truncating an AOF, trimming keys.
    public static func looksDestructive(_ c: CommandTemplate) -> String? {
        let a = c.argv.map(\.raw)
        guard let prog = a.first else { return nil }
        if prog == "kubectl" {
            let verb = a.dropFirst().first { !$0.hasPrefix("-") } ?? ""
            if verb == "delete" {
                // Deleting the Redis pod ({{pod}}), a PVC/PV or the StatefulSet, or anything --all.
                let rest = a.dropFirst(2).map { $0.lowercased() }
                if rest.contains(where: { $0.hasPrefix("pvc") || $0.hasPrefix("persistentvolume") || $0.hasPrefix("statefulset") || $0.hasPrefix("sts") || $0 == "--all" }) {
                    return "kubectl delete"
                }
                if rest.contains(where: { $0.contains("{{pod}}") || $0.contains("{{statefulset}}") }) { return "kubectl delete" }
            }
            if verb == "scale", a.contains("--replicas=0") { return "kubectl scale --replicas=0" }
            if verb == "exec", let dd = a.firstIndex(of: "--") {
                let inner = Array(a[(dd + 1)...])
                if let p = inner.first {
                    let base = URL(fileURLWithPath: p).lastPathComponent
                    if base == "redis-check-aof", inner.contains("--fix") { return "redis-check-aof --fix" }
                    if base == "rm" || base == "truncate" { return base }
                    if base == "redis-cli", let w = self.inner(inner), ["redis-cli ZPOPMIN", "redis-cli ZPOPMAX", "redis-cli DEL", "redis-cli UNLINK", "redis-cli FLUSHALL", "redis-cli FLUSHDB", "redis-cli ZREMRANGEBYSCORE", "redis-cli ZREMRANGEBYRANK", "redis-cli LTRIM", "redis-cli XTRIM", "redis-cli SHUTDOWN"].contains(where: { w.uppercased().hasPrefix($0.uppercased()) }) {
                        return w
                    }
                }
            }
        }
        return nil
    }
}
