import Foundation

/// A runbook as a documentation page (docs/runbooks/ID.md) in the shape of prometheus-operator's
/// runbooks: Meaning, Impact, Diagnosis, Mitigation. Built from `RunbookMarkdown.export` (the
/// same step texts and commands), regrouped: Diagnosis holds the steps before the first one
/// that changes state or asks a decision, Mitigation the rest.
public enum RunbookPage {
    /// An alert rule that points at a runbook (from deploy/alerts/redis.rules.yaml).
    public struct AlertRef: Sendable, Equatable {
        public var alert: String
        public var severity: String
        public var summary: String
        public init(alert: String, severity: String, summary: String) { self.alert = alert; self.severity = severity; self.summary = summary }
    }

    public static func render(_ rb: Runbook, alerts: [AlertRef] = []) -> String {
        let export = RunbookMarkdown.export(rb)
        let (variables, steps) = split(export)
        let mitigationStart = rb.steps.firstIndex { s in
            if s.mutates { return true }
            switch s.kind {
            case .confirm, .choice, .manual: return true
            default: return false
            }
        } ?? rb.steps.count

        var o = "<!-- Generated from runbooks/\(rb.id).yaml by `make runbook-pages` (redis-runbook runbook pages docs/runbooks). Do not edit: a test fails when this page differs from the runbook. -->\n\n"
        o += "# \(rb.title)\n\n"
        o += "Runbook id: `\(rb.id)`"
        if !rb.when.isEmpty { o += " · answers the dashboard findings " + rb.when.map { "`\($0)`" }.joined(separator: ", ") }
        o += "\n\nOpen it on the live Redis: `redis-runbook alert \(rb.id)` (the dashboard on this runbook), or run it step by step: `redis-runbook runbook run \(rb.id)` (`--dry-run` shows every command and changes nothing).\n\n"
        o += "## Meaning\n\n\(rb.summary.trimmingCharacters(in: .whitespacesAndNewlines))\n\n"
        o += "## Impact\n\n"
        if alerts.isEmpty {
            o += "No shipped alert rule points here; the dashboard opens it for its findings.\n\n"
        } else {
            o += "Alerts that open this runbook (deploy/alerts/redis.rules.yaml):\n\n"
            for a in alerts { o += "- **\(a.alert)** (\(a.severity)): \(RunbookMarkdown.cell(a.summary))\n" }
            o += "\n"
        }
        let mutating = rb.steps.filter(\.mutates)
        let destructive = rb.steps.filter(\.destructive)
        if mutating.isEmpty {
            o += "Running the runbook changes nothing: all \(rb.steps.count) steps only read.\n\n"
        } else {
            o += "Running the runbook changes state in \(mutating.count) of its \(rb.steps.count) steps (each shows its command and asks first)"
            o += destructive.isEmpty ? ".\n\n" : "; \(destructive.count) destructive (the pod name must be typed): " + destructive.map { "“\($0.title)”" }.joined(separator: ", ") + ".\n\n"
        }
        o += "## Diagnosis\n\n"
        let diag = steps.prefix(mitigationStart)
        o += diag.isEmpty ? "The runbook starts with its mitigation below.\n\n" : diag.joined()
        o += "## Mitigation\n\n"
        let miti = steps.dropFirst(mitigationStart)
        o += miti.isEmpty ? "The runbook only diagnoses: every step above reads, none changes anything.\n\n" : miti.joined()
        o += "## Variables\n\n" + variables
        while o.hasSuffix("\n\n") { o.removeLast() }
        return o
    }

    /// (variables table, one text per step) from the export.
    static func split(_ export: String) -> (String, [String]) {
        let afterVars = export.components(separatedBy: "## Variables\n\n").dropFirst().joined(separator: "## Variables\n\n")
        let parts = afterVars.components(separatedBy: "\n## Steps\n\n")
        let variables = (parts.first ?? "") + "\n"
        let stepsText = parts.dropFirst().joined(separator: "\n## Steps\n\n")
        var steps: [String] = []
        var current = ""
        for line in stepsText.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### "), let dot = line.dropFirst(4).firstIndex(of: "."), Int(line[line.index(line.startIndex, offsetBy: 4)..<dot]) != nil {
                if !current.isEmpty { steps.append(current) }
                current = ""
            }
            current += line + "\n"
        }
        if !current.isEmpty { steps.append(current) }
        steps = steps.map { s in var s = s; while s.hasSuffix("\n\n\n") { s.removeLast() }; return s.hasSuffix("\n\n") ? s : s + "\n" }
        return (variables, steps)
    }
}
