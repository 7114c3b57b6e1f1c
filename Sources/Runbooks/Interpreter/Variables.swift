import Foundation

// Variables: the start of a run and the values of its variables. It owns `startRun` (built-ins,
// `option:`, `capture:` and `snapshot:` sources, the run-start log entry), resolving snapshot
// variables, asking for variables without a value (`--yes` takes a stated default or stops), the
// computed defaults (`size`, `multiply`, `reserve`), which variables a step uses, and rendering:
// `render` (never a raw {{name}} on screen) and `renderCommand` (kubectl's global flags after
// argv[0]). It must not run steps or decide gating; asking a step's own `ask:` variables is Steps'.

extension RunbookRun {
    mutating func startRun() -> [RunbookEffect] {
        if !resumed {
            // built-ins (first: the title and summary may use them)
            state.variables.merge(RunbookPreview.builtinValues(state.target)) { _, new in new }
            state.variables["timestamp"] = Timestamps.compact(startDate)
        }
        var fx: [RunbookEffect] = [.show(.init(.heading, "\(render(runbook.title))  (\(runbook.id))"))]
        var start = IncidentEntry(type: .runStart, runbook: runbook.id)
        start.message = resumed ? "resumed at step \(state.stepIndex + 1)" : runbook.title
        start.options = options
        start.context = state.target.context
        start.namespace = state.target.namespace
        if options.dryRun { fx.append(.show(.init(.dryRun, "Dry run: every command is shown; none that change anything will run."))) }
        if options.readOnly { fx.append(.show(.init(.warning, "Read-only: steps that change anything will be refused."))) }
        if resumed {
            start.variables = state.variables
            fx.append(.log(start))
            fx.append(.show(.init(.warning, "Resuming at step \(state.stepIndex + 1) of \(runbook.steps.count).")))
            if let f = state.inFlightStep {
                fx.append(.show(.init(.warning, "Step \(f + 1) was running a command that changes state when the previous run stopped; it may or may not have taken effect. Its checks will tell.")))
            }
            return fx + beginStep()
        }
        fx.append(.show(.init(.text, render(runbook.summary))))
        fx.append(.log(start))
        let t = state.target
        for v in runbook.variables {
            switch v.source {
            case .option(let name):
                if let val = t.options[name] ?? t.options[v.name], !val.isEmpty { state.variables[v.name] = val }
                else if let d = v.defaultValue { state.variables[v.name] = render(d) }
            case .capture:
                if let d = v.defaultValue { state.variables[v.name] = render(d) }
            case .snapshot, .ask:
                if let val = t.options[v.name] { state.variables[v.name] = val }
            }
        }
        if runbook.variables.contains(where: { if case .snapshot = $0.source { return state.variables[$0.name] == nil }; return false }) {
            phase = .varsSnapshot
            return fx + [.fetchSnapshot]
        }
        return fx + askNextVariable(from: 0)
    }

    mutating func resolveSnapshotVariables(_ lookup: @Sendable (String) -> String?) -> [RunbookEffect] {
        for v in runbook.variables {
            if case .snapshot(let path) = v.source, state.variables[v.name] == nil {
                if let val = v.snapshotValue(lookup(path), variables: state.variables) { state.variables[v.name] = val }
            }
        }
        return askNextVariable(from: 0)
    }

    /// Asks for `ask:` variables and for any variable still without a value.
    mutating func askNextVariable(from i: Int) -> [RunbookEffect] {
        var idx = i
        while idx < runbook.variables.count {
            let v = runbook.variables[idx]
            let needsAsk: Bool
            switch v.source {
            case .ask: needsAsk = false   // asked when a step first needs it
            case .capture: needsAsk = false
            case .snapshot, .option: needsAsk = state.variables[v.name] == nil && v.defaultValue == nil
            }
            if case .snapshot = v.source, state.variables[v.name] == nil, let d = v.defaultValue { state.variables[v.name] = render(d) }
            if case .ask = v.source, state.target.options[v.name] != nil { idx += 1; continue }
            if needsAsk {
                let def: String? = state.variables[v.name] ?? v.defaultValue
                let question: String
                if case .ask(let q) = v.source { question = q } else { question = "\(v.description) (\(v.name))" }
                if options.yes {
                    if let def {
                        state.variables[v.name] = def
                        var e = answerEntry(prompt: question, answer: def, by: "--yes")
                        e.name = v.name
                        idx += 1
                        return [.show(.init(.text, "\(question): \(def)  (--yes: default)")), .log(e)] + askNextVariable(from: idx)
                    }
                    return abort("The variable '\(v.name)' (\(v.description)) has no value and no default; pass --set \(v.name)=VALUE.", status: .aborted)
                }
                phase = .varsAsk(idx)
                return [.ask(.init(kind: .text(defaultValue: def), text: question, stepIndex: nil))]
            }
            idx += 1
        }
        return [.saveState(state)] + startProbes()
    }

    mutating func answerVariable(_ i: Int, _ a: RunAnswer) -> [RunbookEffect] {
        let v = runbook.variables[i]
        let (fx, taken) = takeAnswer(v, a, default: state.variables[v.name] ?? v.defaultValue, defaultBy: "default", missing: "stopped before doing anything")
        return taken ? fx + askNextVariable(from: i + 1) : fx
    }

    /// An asked variable's answer (typed, or its default for an empty answer and `--yes`),
    /// stored and logged; the run stops, saying `missing`, when there is none.
    mutating func takeAnswer(_ v: VariableDecl, _ a: RunAnswer, default def: String?, defaultBy: String, missing: String) -> (fx: [RunbookEffect], taken: Bool) {
        var value: String?
        var by = "operator"
        switch a {
        case .text(let t) where !t.trimmingCharacters(in: .whitespaces).isEmpty: value = t.trimmingCharacters(in: .whitespaces)
        case .text, .useDefault, .yes: value = def; by = defaultBy
        default: value = nil
        }
        guard let value else {
            return (abort("No value for '\(v.name)'; \(missing).", status: .aborted), false)
        }
        state.variables[v.name] = value
        var e = answerEntry(prompt: v.description, answer: value, by: by)
        e.name = v.name
        return ([.log(e)], true)
    }

    /// Variables a step uses (templates, texts, conditions).
    func variablesUsed(by s: Step) -> [String] {
        var names: [String] = []
        func add(_ text: String?) { if let t = text, let tpl = try? Template.parse(t) { names += tpl.variables } }
        add(s.text)
        add(s.title)
        if let c = s.command { names += c.variables }
        names += (s.precheck?.variables ?? []) + (s.postcheck?.variables ?? [])
        switch s.kind {
        case .check(_, let e, _, _, _): names += e?.variables ?? []
        case .waitUntil(let c, _, _, _): names += c.variables
        case .confirm(let q, _, _, _): add(q)
        case .choice(let q, let opts, _): add(q); opts.forEach { add($0.label) }
        case .manual(let i): add(i)
        default: break
        }
        return names
    }

    /// The default of a variable after `size`, `multiply` and `reserve`: e.g. 1Gi with multiply
    /// 0.75 and a reserve of 400 MiB gives min(768 MiB, 1 GiB − 400 MiB) = 624 MiB, in bytes.
    /// A value that is not a size is returned as it is.
    func computedDefault(_ v: VariableDecl, _ value: String) -> String { v.computedValue(value, variables: state.variables) }

    func render(_ text: String) -> String {
        guard let t = try? Template.parse(text) else { return text }
        var out = ""
        for p in t.parts {
            switch p {
            case .text(let s): out += s
            case .variable(let v):
                // Never a raw {{name}} on screen: the value, else the variable's stated default.
                if let val = state.variables[v] { out += val }
                else if let d = runbook.variables.first(where: { $0.name == v })?.defaultValue, !d.contains("{{") { out += d }
                else { out += "(no value for \(v))" }
            }
        }
        return out
    }

    /// argv from the template; kubectl gets --context / --kubeconfig / --request-timeout / --as / -n right after argv[0].
    public func renderCommand(_ c: CommandTemplate, mutates: Bool, destructive: Bool) -> RenderedCommand? {
        var argv: [String] = []
        for t in c.argv {
            guard case .success(let s) = t.render(state.variables) else { return nil }
            argv.append(s)
        }
        if argv.first == "kubectl" {
            argv.insert(contentsOf: state.target.target.kubectlGlobalFlags(), at: 1)
        }
        var stdin: String? = nil
        if let st = c.stdin {
            guard case .success(let s) = st.render(state.variables) else { return nil }
            stdin = s
        }
        return RenderedCommand(argv: argv, stdin: stdin, timeoutSeconds: c.timeoutSeconds, mutates: mutates, destructive: destructive)
    }

    mutating func missingVariables(_ c: CommandTemplate) -> [RunbookEffect] {
        let missing = Set(c.variables.filter { state.variables[$0] == nil }).sorted()
        return abort("Cannot build the command of step \(state.stepIndex + 1): no value for \(missing.map { "{{\($0)}}" }.joined(separator: ", ")). Nothing was run.", status: .aborted)
    }
}
