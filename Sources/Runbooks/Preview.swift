import Foundation

/// A runbook as the dashboard shows it before any run: its steps in order, each with what it
/// checks and expects in plain words and the exact command it would run (kubectl's global
/// flags of the run target included, secrets masked), filled in with the values known now (the
/// target and the live snapshot) and `<name>` for a value only the run itself will know.
public struct RunbookPreview: Sendable, Equatable {
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var meaning: String
        /// "built in", "live snapshot memory.usedBytes", "asked: …", "captured by a step", "command line".
        public var source: String
        /// The value now, nil when only the run will know it.
        public var value: String?
    }

    /// One line of a step's description.
    public struct Detail: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Free text of the step (explanations, instructions, questions).
            case text
            /// A condition: what the step checks or expects, in plain words.
            case condition
            /// An exact command line (already quoted and redacted).
            case command
            /// Where the run goes next, what the step saves, how it ends.
            case flow
            /// How the step's change is taken back.
            case undo
        }
        public var kind: Kind
        /// Short label ("expects", "runs only if", "$", "undo"), may be empty.
        public var label: String
        public var text: String
        public init(_ kind: Kind, _ label: String, _ text: String) { self.kind = kind; self.label = label; self.text = text }
    }

    public struct StepView: Sendable, Equatable {
        public var number: Int
        public var id: String?
        public var kind: String
        public var title: String
        public var mutates: Bool
        public var destructive: Bool
        public var details: [Detail]
    }

    public var id: String
    public var title: String
    public var summary: String
    public var when: [String]
    /// "read-only" or the rights its changes need.
    public var access: String
    /// The end state, one sentence.
    public var endState: String
    public var steps: [StepView]
    public var variables: [Variable]

    // MARK: - Values

    /// The built-in variables a run sets from its target before the first step (`timestamp`,
    /// `replicas_at_start` and `keys_at_start` are only known once a run starts).
    public static func builtinValues(_ t: RunTarget) -> [String: String] {
        var v = ["namespace": t.namespace, "context": t.context ?? "", "statefulset": t.statefulset, "pod": t.pod,
                 "container": t.container, "exporter_container": t.exporterContainer, "pvc": "data-\(t.pod)"]
        if let b = t.backupDir, !b.isEmpty { v["backup_dir"] = b }
        return v
    }

    /// The values known before a run: built-ins, command-line options (or their defaults) and
    /// live snapshot values. Asked and captured variables are left out.
    public static func values(_ rb: Runbook, target: RunTarget, snapshot: (String) -> String?) -> [String: String] {
        var v = builtinValues(target)
        for d in rb.variables {
            switch d.source {
            case .option(let name):
                if let val = target.options[name] ?? target.options[d.name], !val.isEmpty { v[d.name] = val }
                else if let def = d.defaultValue { v[d.name] = fill(def, v) }
            case .snapshot(let path):
                if let val = d.snapshotValue(snapshot(path)) { v[d.name] = val }
            case .ask, .capture:
                break
            }
        }
        return v
    }

    /// `{{name}}` replaced by its value, or by `<name>` when it has none.
    public static func fill(_ text: String, _ values: [String: String]) -> String {
        guard text.contains("{{"), let t = try? Template.parse(text) else { return text }
        return t.parts.map { p -> String in
            switch p {
            case .text(let s): return s
            case .variable(let n): return values[n] ?? "<\(n)>"
            }
        }.joined()
    }

    /// The command line a run would show for `c`, shell-quoted for reading, secrets masked.
    public static func commandLine(_ c: CommandTemplate, values: [String: String], target: RunTarget) -> String {
        var argv = c.argv.map { fill($0.raw, values) }
        if argv.first == "kubectl" { argv.insert(contentsOf: target.target.kubectlGlobalFlags(), at: 1) }
        let redacted = Redactor().redact(argv: argv)
        return redacted.map(quoteKeepingPlaceholders).joined(separator: " ")
    }

    /// `RenderedCommand.quote`, reading a `<name>` placeholder as a plain word (it is shown as is).
    static func quoteKeepingPlaceholders(_ arg: String) -> String {
        let plain = arg.contains("<") ? arg.replacingOccurrences(of: "<[A-Za-z_][A-Za-z0-9_]*>", with: "x", options: .regularExpression) : arg
        return RenderedCommand.quote(plain) == plain ? arg : "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    // MARK: - Conditions in plain words

    /// `persistence.aofLastWriteStatus is ok (now err)`, `output contains "noeviction"`.
    public static func words(_ c: Condition, values: [String: String], snapshot: (String) -> String?) -> String {
        func operand(_ o: Operand) -> String {
            switch o {
            case .path(let p): return snapshot(p).map { "\(p) (now \($0))" } ?? p
            case .result(.exitCode): return "exit status"
            case .result(.stdout): return "output"
            case .result(.stderr): return "error output"
            case .literal(let s):
                let f = fill(s, values)
                return Operand.literal(f).description
            case .variable(let v): return values[v] ?? "<\(v)>"
            }
        }
        func op(_ o: CompareOp, negated: Bool) -> String {
            switch o {
            case .eq: return negated ? "is not" : "is"
            case .ne: return negated ? "is" : "is not"
            case .lt: return negated ? "is not below" : "is below"
            case .le: return negated ? "is above" : "is at most"
            case .gt: return negated ? "is at most" : "is above"
            case .ge: return negated ? "is below" : "is at least"
            case .contains: return negated ? "does not contain" : "contains"
            case .matches: return negated ? "does not match" : "matches"
            }
        }
        func go(_ c: Condition, nested: Bool) -> String {
            switch c {
            case .compare(let l, let o, let r): return "\(operand(l)) \(op(o, negated: false)) \(operand(r))"
            case .truthy(let o): return "\(operand(o)) is true"
            case .not(.compare(let l, let o, let r)): return "\(operand(l)) \(op(o, negated: true)) \(operand(r))"
            case .not(.truthy(let o)): return "\(operand(o)) is not true"
            case .not(let inner): return "not (\(go(inner, nested: false)))"
            case .and(let a, let b):
                let s = "\(go(a, nested: true)) and \(go(b, nested: true))"
                return s
            case .or(let a, let b):
                let s = "\(go(a, nested: true)) or \(go(b, nested: true))"
                return nested ? "(\(s))" : s
            }
        }
        return go(c, nested: false)
    }

    // MARK: - The preview

    public static func make(_ rb: Runbook, target: RunTarget, snapshot: @escaping (String) -> String?) -> RunbookPreview {
        let values = values(rb, target: target, snapshot: snapshot)
        func cmd(_ c: CommandTemplate) -> String { commandLine(c, values: values, target: target) }
        func cond(_ c: Condition) -> String { words(c, values: values, snapshot: snapshot) }
        func stepRef(_ id: String) -> String {
            if id == "end" { return "the end" }
            return rb.stepIndex(id: id).map { "step \($0 + 1) (\(id))" } ?? id
        }

        var steps: [StepView] = []
        for (i, s) in rb.steps.enumerated() {
            var d: [Detail] = []
            if let t = s.text?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty, !{ if case .manual = s.kind { return true }; return false }() {
                d.append(Detail(.text, "", fill(t, values)))
            }
            if let p = s.precheck { d.append(Detail(.condition, "runs only if", cond(p))) }
            switch s.kind {
            case .explain:
                break
            case .check(let c, let e, let onPass, let onFail, let required):
                if let c { d.append(Detail(.command, "$", cmd(c))) }
                d.append(Detail(.condition, "expects", e.map(cond) ?? "exit status is 0"))
                var flow: [String] = []
                if let onPass { flow.append("if met → \(stepRef(onPass))") }
                if let onFail { flow.append("if not → \(stepRef(onFail))") }
                else if !required { flow.append("informational: the run goes on either way") }
                else { flow.append("if not: stop (retry / skip / abort)") }
                d.append(Detail(.flow, "", flow.joined(separator: " · ")))
            case .command(let c, let allowFailure):
                d.append(Detail(.command, "$", cmd(c)))
                if let st = c.stdin { d.append(Detail(.text, "stdin", Redactor().redact(fill(st.raw, values)).replacingOccurrences(of: "\n", with: "\\n"))) }
                if allowFailure { d.append(Detail(.flow, "", "a non-zero exit status is accepted")) }
            case .confirm(let q, let def, let y, let n):
                d.append(Detail(.text, "asks", fill(q, values) + " [default \(def ? "yes" : "no")]"))
                var flow: [String] = []
                if let y { flow.append("yes → \(stepRef(y))") }
                if let n { flow.append("no → \(stepRef(n))") }
                if !flow.isEmpty { d.append(Detail(.flow, "", flow.joined(separator: " · "))) }
            case .choice(let q, let opts, let def):
                d.append(Detail(.text, "asks", fill(q, values)))
                for o in opts {
                    d.append(Detail(.flow, o.key + (o.key == def ? " (default)" : ""), "\(fill(o.label, values)) → \(stepRef(o.goto))"))
                }
            case .waitUntil(let c, let command, let interval, let timeout):
                if let command { d.append(Detail(.command, "$", cmd(command))) }
                d.append(Detail(.condition, "waits until", cond(c) + " (every \(RunbookMarkdown.fmt(interval)) s, at most \(RunbookMarkdown.fmt(timeout)) s)"))
                if let t = s.onTimeout { d.append(Detail(.flow, "", "if not met by then → \(stepRef(t))")) }
            case .manual(let instructions):
                d.append(Detail(.text, "by hand", fill(instructions.trimmingCharacters(in: .whitespacesAndNewlines), values)))
                d.append(Detail(.flow, "", "confirm when done (--yes never does)"))
            case .keyspace(let top, let scanCount):
                d.append(Detail(.text, "analyses", "the keyspace as `redis-runbook memory` does: SCAN COUNT \(scanCount) in bounded batches, MEMORY USAGE and PTTL per key, read-only; the top \(top) patterns by bytes"))
                d.append(Detail(.flow, "", "saves top_pattern, top_pattern_glob, top_pattern_keys, top_pattern_bytes, top_pattern_ttl"))
            }
            if let b = s.batches {
                d.append(Detail(.flow, "", "repeats in batches until the SCAN cursor (\(b.cursor)) is 0 (at most \(b.maxBatches)), counting in \(b.count)"))
            }
            if let p = s.postcheck { d.append(Detail(.condition, "afterwards", cond(p))) }
            if let c = s.capture { d.append(Detail(.flow, "", "saves its output as \(c)")) }
            switch s.undo {
            case .commands(let cs)?: for c in cs { d.append(Detail(.undo, "undo $", cmd(c))) }
            case .none(let reason)?: d.append(Detail(.undo, "undo", "none: \(fill(reason, values))"))
            case .undoes(let id)?: d.append(Detail(.undo, "undo", "takes back \(stepRef(id))"))
            case nil: break
            }
            if let n = s.next { d.append(Detail(.flow, "", "then → \(stepRef(n))")) }
            switch s.stop {
            case .undo?: d.append(Detail(.flow, "", "ends the run: every change is undone, then the end state is checked"))
            case .keep?: d.append(Detail(.flow, "", "ends the run: changes are left in place (the verdict lists their undo)"))
            case nil: break
            }
            steps.append(StepView(number: i + 1, id: s.id, kind: s.kind.name, title: fill(s.title, values),
                                  mutates: s.mutates, destructive: s.destructive, details: d))
        }

        var vars: [Variable] = BuiltinVariables.names.sorted { $0.key < $1.key }.map {
            Variable(name: $0.key, meaning: $0.value, source: "built in", value: values[$0.key])
        }
        for v in rb.variables {
            let source: String
            switch v.source {
            case .snapshot(let p): source = "live snapshot \(p)" + (v.multiply.map { " × \(RunbookMarkdown.fmt($0))" } ?? "")
            case .option(let n): source = "command line (--set \(v.name)=… / \(n))"
            case .ask(let q): source = "asked: \(fill(q, values))"
            case .capture: source = "captured from a step's output"
            }
            let def = v.defaultValue.map { " (default \(fill($0, values).isEmpty ? "empty" : fill($0, values)))" } ?? ""
            vars.append(Variable(name: v.name, meaning: v.description, source: source + def, value: values[v.name]))
        }

        var end: [String] = rb.endState.checks.map { fill($0.name, values) }
        if let k = rb.endState.keys {
            end.append(k.maxLoss.map { $0 == 0 ? "no key lost" : "at most \($0) keys lost" } ?? "keys counted (\(fill(k.lossLabel, values)) reported)")
        }
        let access = rb.isReadOnly ? "read-only: no step changes anything"
            : "changes the cluster (\(rb.steps.filter(\.mutates).count) of \(rb.steps.count) steps\(rb.steps.contains(where: \.destructive) ? ", \(rb.steps.filter(\.destructive).count) destructive" : "")); needs " + rb.mutatingRights.map(\.description).joined(separator: ", ")
        return RunbookPreview(id: rb.id, title: rb.title, summary: fill(rb.summary.trimmingCharacters(in: .whitespacesAndNewlines), values),
                              when: rb.when, access: access,
                              endState: end.isEmpty ? "no end-state checks" : end.joined(separator: "; "),
                              steps: steps, variables: vars)
    }

    /// Known ids, the closest to `id` first (edit distance, then a shared prefix, then name).
    public static func closestFirst(to id: String, in known: [String]) -> [String] {
        func distance(_ a: String, _ b: String) -> Int {
            let x = Array(a.lowercased()), y = Array(b.lowercased())
            if x.isEmpty { return y.count }
            if y.isEmpty { return x.count }
            var prev = Array(0...y.count)
            for i in 1...x.count {
                var cur = [i] + Array(repeating: 0, count: y.count)
                for j in 1...y.count {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return prev[y.count]
        }
        // A name that contains the typed text (or the reverse) is closer than any distance says.
        func score(_ k: String) -> Int {
            let d = distance(id, k)
            return k.contains(id.lowercased()) || id.lowercased().contains(k) ? min(d, 1) : d
        }
        return known.sorted { (score($0), $0) < (score($1), $1) }
    }
}

extension VariableDecl {
    /// The value of a `from:` variable for a snapshot value (`multiply` applied), nil when none.
    public func snapshotValue(_ raw: String?, variables: [String: String] = [:]) -> String? {
        guard let raw, !raw.isEmpty else { return nil }
        guard multiply != nil || size || !reserve.isEmpty else { return raw }
        let c = computedValue(raw, variables: variables)
        return Int64(c) != nil ? c : nil
    }

    /// A computed size (`size`, `multiply`, `reserve`): the base value (bytes, or a size text
    /// such as 1Gi with `size`), times `multiply`, at most the base minus the largest `reserve`;
    /// the value as given when it cannot be computed.
    public func computedValue(_ value: String, variables: [String: String]) -> String {
        guard multiply != nil || size || !reserve.isEmpty else { return value }
        guard let base = size ? SizeText.bytes(value) : Double(value).map({ Int64($0) }), base > 0 else { return value }
        var result = multiply.map { Int64((Double(base) * $0).rounded(.down)) } ?? base
        let r = reserve.compactMap { t -> Int64? in
            guard case .success(let s) = t.render(variables) else { return nil }
            return SizeText.bytes(s)
        }.max() ?? 0
        if r > 0 { result = min(result, base - r) }
        return result > 0 ? String(result) : value
    }
}
