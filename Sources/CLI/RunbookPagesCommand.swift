import ArgumentParser
import Foundation
import Runbooks

/// `redis-runbook runbook pages DIR`: one Markdown page per runbook (docs/runbooks/ID.md).
struct RunbookPages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pages",
        abstract: "Write one page per runbook (Meaning / Impact / Diagnosis / Mitigation) into a folder, e.g. docs/runbooks.",
        discussion: "The pages are what the alerts' runbook_url annotations point to. `--check` writes nothing and exits 1 when a page is missing, stale or left over.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Output folder.") var directory: String
    @Flag(name: .long, help: "Compare instead of writing; exit 1 on any difference.") var check = false

    func run() async throws {
        let lib = loadLibrary(global)
        guard !lib.runbooks.isEmpty else { throw ValidationError("no runbooks found") }
        let pages = RunbookPages.render(library: lib, rules: AlertRuleIndex.load(), rulesText: AlertRuleIndex.locate().flatMap { try? String(contentsOfFile: $0, encoding: .utf8) })
        let dir = URL(fileURLWithPath: directory)
        var problems: [String] = []
        if !check { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (id, text) in pages.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent("\(id).md")
            let current = try? String(contentsOf: url, encoding: .utf8)
            if current == text { continue }
            if check { problems.append("\(url.path): \(current == nil ? "missing" : "out of date with runbooks/\(id).yaml")") }
            else { try text.write(to: url, atomically: true, encoding: .utf8); print("wrote \(url.path)") }
        }
        let extra = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".md") && pages[String($0.dropLast(3))] == nil }
        for e in extra.sorted() { problems.append("\(dir.appendingPathComponent(e).path): no runbook \(e.dropLast(3)) (left over)") }
        for p in problems { print(p) }
        if !problems.isEmpty {
            if check { print("run `make runbook-pages` to regenerate") }
            throw ExitCode(1)
        }
    }

    /// id → page text, with the alerts of the rules file that point at each runbook.
    static func render(library: RunbookLibrary, rules: AlertRuleIndex, rulesText: String?) -> [String: String] {
        let summaries = rulesText.map(alertSummaries) ?? [:]
        var out: [String: String] = [:]
        for rb in library.runbooks {
            let refs = rules.rules.filter { $0.runbookId == rb.id }.map {
                RunbookPage.AlertRef(alert: $0.alert, severity: $0.severity, summary: summaries[$0.alert] ?? "")
            }
            out[rb.id] = RunbookPage.render(rb, alerts: refs)
        }
        return out
    }

    /// alert → its summary annotation, with Prometheus template parts shown as `…`.
    static func alertSummaries(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        guard let idx = try? AlertRuleIndex.parseSummaries(text) else { return out }
        for (k, v) in idx { out[k] = v.replacingOccurrences(of: #"\{\{[^}]*\}\}"#, with: "…", options: .regularExpression) }
        return out
    }
}
