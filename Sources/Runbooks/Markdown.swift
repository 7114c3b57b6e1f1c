import Foundation

/// Markdown renderings: a runbook for a wiki, and an incident log as a timeline.
public enum RunbookMarkdown {
    static func code(_ s: String) -> String {
        let ticks = s.contains("`") ? "``" : "`"
        return "\(ticks)\(s.replacingOccurrences(of: "\n", with: " "))\(ticks)"
    }
    static func fence(_ s: String) -> String {
        var f = "```"
        while s.contains(f) { f += "`" }
        return "\(f)\n\(s)\n\(f)"
    }
    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// A readable runbook with every command (kubectl shown with `-n {{namespace}}`).
    public static func export(_ rb: Runbook) -> String {
        var o = "# \(rb.title)\n\n"
        o += "Runbook id: `\(rb.id)`"
        if !rb.when.isEmpty { o += " · answers findings: " + rb.when.map { "`\($0)`" }.joined(separator: ", ") }
        o += "\n\n\(rb.summary)\n\n"
        o += rb.isReadOnly
            ? "Read-only: no step changes anything (a user who may only get, list and watch can run it; steps through `kubectl exec` need `create pods/exec`).\n\n"
            : "Changes the cluster: needs write rights (\(rb.mutatingRights.map { "`\($0)`" }.joined(separator: ", "))); a user without them is refused before any step runs.\n\n"
        o += "Run it with `redis-runbook runbook run \(rb.id)` (add `--dry-run` to see every command without changing anything).\n\n"
        o += "## Variables\n\n| Name | Meaning | Source |\n|---|---|---|\n"
        for (n, d) in BuiltinVariables.names.sorted(by: { $0.key < $1.key }) { o += "| `{{\(n)}}` | \(cell(d)) | built in |\n" }
        for v in rb.variables {
            let src: String
            switch v.source {
            case .snapshot(let p): src = "live snapshot `\(p)`"
            case .option(let n): src = "command line (`--set \(v.name)=…` / `\(n)`)"
            case .ask(let q): src = "asked: “\(cell(q))”"
            case .capture: src = "captured from a step's output"
            }
            o += "| `{{\(v.name)}}` | \(cell(v.description)) | \(src)\(v.defaultValue.map { " (default `\($0)`)" } ?? "") |\n"
        }
        o += "\n## Steps\n\n"
        let total = rb.steps.count
        for (i, s) in rb.steps.enumerated() {
            var badges: [String] = []
            if s.mutates { badges.append("**changes state**") }
            if s.destructive { badges.append("**DESTRUCTIVE: type the pod name\(s.confirmPod.map { " (\($0.raw))" } ?? "") to confirm**") }
            o += "### \(i + 1). \(s.title)\(s.id.map { " {#\($0)}" } ?? "")\n\n"
            o += "_\(s.kind.name)\(s.id.map { " · id `\($0)`" } ?? "")_" + (badges.isEmpty ? "" : " · " + badges.joined(separator: " · ")) + "\n\n"
            if let t = s.text, !{ if case .manual = s.kind { return true }; return false }() { o += t.trimmingCharacters(in: .whitespacesAndNewlines) + "\n\n" }
            if let p = s.precheck { o += "Precheck: \(code(p.description))\n\n" }
            switch s.kind {
            case .explain: break
            case .check(let c, let e, let onPass, let onFail, let required):
                if let c { o += fence("$ " + display(c)) + "\n\n" }
                o += "Expect: \(code(e?.description ?? "exitCode == 0"))"
                if let onPass { o += " · if met go to `\(onPass)`" }
                if let onFail { o += " · if not met go to `\(onFail)`" } else if !required { o += " · informational" } else { o += " · if not met: stop (retry / skip / abort)" }
                o += "\n\n"
            case .command(let c, let allowFailure):
                o += fence("$ " + display(c)) + "\n\n"
                if let st = c.stdin { o += "Input sent to the command: \(code(st.raw.replacingOccurrences(of: "\n", with: "\\n")))\n\n" }
                if allowFailure { o += "A non-zero exit status is accepted.\n\n" }
                if let b = s.batches {
                    o += "Runs in batches: again with `{{\(b.cursor)}}` set to the cursor each batch returns (first line of its output) until it is 0, at most \(b.maxBatches) batches; `{{\(b.count)}}` counts the keys handled\(b.total.map { " (progress: N of \($0.raw) keys)" } ?? ""). Confirmed once, before the first batch.\n\n"
                }
            case .confirm(let q, let d, let y, let n):
                o += "Question: \(q) — default **\(d ? "yes" : "no")**"
                if let y { o += " · yes → `\(y)`" }
                if let n { o += " · no → `\(n)`" }
                o += "\n\n"
            case .choice(let q, let opts, let d):
                o += "Question: \(q)\n\n"
                for op in opts { o += "- `\(op.key)`\(op.key == d ? " (default)" : ""): \(op.label) → `\(op.goto)`\n" }
                o += "\n"
            case .waitUntil(let c, let cmd, let interval, let timeout):
                if let cmd { o += fence("$ " + display(cmd)) + "\n\n" }
                o += "Wait until \(code(c.description)), checking every \(fmt(interval)) s, for at most \(fmt(timeout)) s\(s.onTimeout.map { " · if not met by then go to `\($0)`" } ?? "")."
                o += "\n\n"
            case .manual(let instr):
                o += instr.trimmingCharacters(in: .whitespacesAndNewlines) + "\n\nConfirm when done.\n\n"
            case .keyspace(let top, let scanCount):
                o += fence("$ redis-runbook memory --top \(top) --scan-count \(scanCount)") + "\n\n"
                o += "The keyspace analysis of `redis-runbook memory` (read-only Lua batches of SCAN COUNT ≤ \(scanCount), never KEYS). Sets `{{top_pattern}}`, `{{top_pattern_glob}}`, `{{top_pattern_keys}}`, `{{top_pattern_bytes}}`, `{{top_pattern_human}}`, `{{top_pattern_ttl}}` (the biggest pattern outside BullMQ) and `{{keyspace_patterns}}` (the top five).\n\n"
            }
            if let p = s.postcheck { o += "Postcheck: \(code(p.description))\n\n" }
            if let n = s.next { o += "Then go to `\(n)`.\n\n" }
            _ = total
        }
        return o
    }

    static func fmt(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }

    public static func display(_ c: CommandTemplate) -> String {
        var argv = c.argv.map(\.raw)
        if argv.first == "kubectl" { argv.insert(contentsOf: Target(namespace: "{{namespace}}").kubectlGlobalFlags(), at: 1) }
        return argv.map(RenderedCommand.quote).joined(separator: " ")
    }

    // MARK: - Incident report

    public static func report(_ entries: [IncidentEntry], logPath: String) -> String {
        let start = entries.first { $0.type == .runStart }
        let end = entries.last { $0.type == .runEnd }
        let rbId = start?.runbook ?? entries.first?.runbook ?? "unknown"
        var o = "# Incident report: \(rbId)\n\n"
        o += "| | |\n|---|---|\n"
        o += "| Runbook | `\(rbId)`\(start?.message.map { " — \(cell($0))" } ?? "") |\n"
        o += "| Started | \(start?.ts ?? entries.first?.ts ?? "?") |\n"
        o += "| Ended | \(end?.ts ?? "— (no end record: the run was interrupted)") |\n"
        if let a = start?.ts.flatMap(parseISO), let b = (end?.ts ?? entries.last?.ts).flatMap(parseISO) {
            o += "| Duration | \(Int(b.timeIntervalSince(a))) s |\n"
        }
        o += "| Outcome | **\(end?.status ?? "interrupted")**\(end?.message.map { " — \(cell($0))" } ?? "") |\n"
        let account = entries.last { $0.type == .data }?.data
        if let account { o += "| Data | \(cell(account.line)) |\n" }
        o += "| Context / namespace | \(start?.context ?? "(current)") / \(start?.namespace ?? "?") |\n"
        if let opts = start?.options {
            var f: [String] = []
            if opts.yes { f.append("--yes") }
            if opts.yesDestructive { f.append("--yes-destructive") }
            if opts.dryRun { f.append("--dry-run") }
            if opts.readOnly { f.append("--read-only") }
            o += "| Options | \(f.isEmpty ? "interactive" : f.joined(separator: " ")) |\n"
        }
        o += "| Log | `\(logPath)` |\n\n"

        o += "## Timeline\n\n| Time (UTC) | Step | Event |\n|---|---|---|\n"
        for e in entries {
            let t = e.ts.map { String($0.dropFirst(11).prefix(12)) } ?? ""
            let stepLabel = e.stepIndex.map { "\($0 + 1)" } ?? ""
            let ev: String
            switch e.type {
            case .runStart: ev = "Run started\(e.message.map { ": \($0)" } ?? "")"
            case .runEnd: ev = "Run ended: **\(e.status ?? "?")**\(e.message.map { " — \($0)" } ?? "")"
            case .step: ev = "Step: \(e.stepTitle ?? "?") (\(e.message ?? ""))"
            case .stepDone: ev = "Step done"
            case .stepSkipped: ev = "**Skipped**: \(e.message ?? "")"
            case .command:
                let cmd = code((e.argv ?? []).map(RenderedCommand.quote).joined(separator: " "))
                if e.dryRun == true { ev = "Not run (dry run): \(cmd)" }
                else { ev = "\(e.mutates == true ? "**Changed state**: " : "Ran ")\(cmd) → \(e.termination ?? "?") in \(String(format: "%.1f", e.durationSeconds ?? 0)) s" }
            case .answer: ev = "Answer to “\(e.prompt ?? "")”: **\(e.answer ?? "")** (\(e.by ?? "?"))"
            case .check: ev = "\(e.message ?? "check") \(code(e.condition ?? "")): \(e.result ?? "?") (seen: \(e.seen ?? ""))"
            case .snapshot: ev = "Snapshot \(e.phase ?? "")"
            case .capture: ev = "Recorded \(code(e.name ?? "")) = \(code(String((e.value ?? "").prefix(80))))"
            case .note: ev = e.message ?? "note"
            case .refused: ev = "**Refused**: \(e.message ?? "") \(code((e.argv ?? []).joined(separator: " ")))"
            case .data: ev = "**\(e.data?.line ?? e.message ?? "Data: ?")**"
            }
            o += "| \(t) | \(stepLabel) | \(cell(ev)) |\n"
        }

        let commands = entries.filter { $0.type == .command }
        o += "\n## Commands\n\n"
        if commands.isEmpty { o += "No commands were run.\n" }
        for (i, c) in commands.enumerated() {
            o += "### \(i + 1). \(code((c.argv ?? []).map(RenderedCommand.quote).joined(separator: " ")))\n\n"
            o += "- At \(c.ts ?? "?"), step \(c.stepIndex.map { String($0 + 1) } ?? "?")\(c.stepTitle.map { " (\($0))" } ?? "")\n"
            if c.dryRun == true { o += "- Not run (dry run)\n\n"; continue }
            o += "- \(c.mutates == true ? "Changes state" : "Read-only"); \(c.termination ?? "?"); \(String(format: "%.2f", c.durationSeconds ?? 0)) s\n\n"
            let out = [c.stdout ?? "", c.stderr ?? ""].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
            if !out.isEmpty { o += fence(IncidentLog.excerpt(out, limit: 1500)) + "\n\n" }
        }

        let snaps = entries.filter { $0.type == .snapshot }
        if !snaps.isEmpty {
            o += "## Snapshots around changes\n\n"
            for s in snaps {
                o += "<details><summary>\(s.phase ?? "") step \(s.stepIndex.map { String($0 + 1) } ?? "?") at \(s.ts ?? "?")</summary>\n\n" + fence(IncidentLog.excerpt(s.text ?? "", limit: 3000)) + "\n\n</details>\n\n"
            }
        }

        o += "## Data accounting\n\n"
        if let a = account {
            o += "**\(a.line)**\n\n"
            o += "- Before: \(a.before.map { "\($0.totalKeys) keys at \($0.seenAt)" } ?? "unknown") (\(a.beforeSource))\n"
            o += "- After: \(a.after.map { "\($0.totalKeys) keys at \($0.seenAt)" } ?? "unknown (Redis did not answer at the end of the run)")\n"
            for c in a.aofCuts { o += "- AOF file \(code(c.file)): \(c.beforeBytes) → \(c.afterBytes) bytes (\(c.cutBytes) cut)\n" }
            o += "\n"
        }
        if let a = account, a.before?.adr != nil || a.after?.adr != nil {
            o += adrSection(before: a.before?.adr, after: a.after?.adr)
        }
        let caps = entries.filter { $0.type == .capture }
        var last: [String: String] = [:]
        for c in caps { if let n = c.name { last[n] = c.value ?? "" } }
        if let v = end?.variables { for (k, val) in v where k.hasPrefix("keys_") || k.hasSuffix("_keys") || k.hasPrefix("dbsize") { last[k] = last[k] ?? val } }
        if last.isEmpty {
            o += "No key counts were recorded by this runbook.\n"
        } else {
            for (k, v) in last.sorted(by: { $0.key < $1.key }) { o += "- \(code(k)): \(code(String(v.prefix(200))))\n" }
            if let b = last["keys_before"].flatMap(firstInt), let a = last["keys_after"].flatMap(firstInt) {
                let d = a - b
                o += "\nKeys before: **\(b)**, after: **\(a)** (\(d >= 0 ? "+" : "")\(d)\(d < 0 ? String(format: ", %.2f%% lost", Double(-d) * 100 / Double(max(b, 1))) : "")).\n"
            }
        }
        let skipped = entries.filter { $0.type == .stepSkipped }
        if !skipped.isEmpty {
            o += "\n## Skipped steps\n\n"
            for s in skipped { o += "- Step \(s.stepIndex.map { String($0 + 1) } ?? "?"): \(s.stepTitle ?? "") — \(s.message ?? "")\n" }
        }
        return o
    }

    static func firstInt(_ s: String) -> Int? {
        let digits = s.split(whereSeparator: { !$0.isNumber }).first
        return digits.flatMap { Int($0) }
    }

    /// ADR 0005 compliance before and after the run, the rows the dashboard and `check` show
    /// (judged by Diagnosis' rules table; rendered here, decided nowhere here).
    static func adrSection(before: [AdrRow]?, after: [AdrRow]?) -> String {
        func mark(_ r: AdrRow?) -> String {
            guard let r else { return "—" }
            return (r.status == "pass" ? "✓ pass" : r.status == "fail" ? "✗ fail" : "? unknown") + ": " + cell(r.detail)
        }
        var o = "## ADR 0005 compliance\n\n| check | before the run | after the run |\n|---|---|---|\n"
        var ids: [String] = []
        for r in (before ?? []) + (after ?? []) where !ids.contains(r.id) { ids.append(r.id) }
        for id in ids {
            let b = before?.first { $0.id == id }, a = after?.first { $0.id == id }
            o += "| \(cell((a ?? b)?.title ?? id)) | \(mark(b)) | \(mark(a)) |\n"
        }
        return o + "\n"
    }

    static func parseISO(_ s: String) -> Date? { RFC3339.parse(s) }
}
