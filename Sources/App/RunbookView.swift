import Diagnosis
import Foundation
import Render
import Runbooks

/// The runbook screen: a runbook as numbered steps (kind, title, what it checks, the exact
/// command, what it expects, its undo), not its Markdown. Variables on demand (`v`).
extension AppModel {
    /// Actions that would do nothing on the current screen now (left out of the status bar).
    public var unavailableActions: Set<Action> {
        guard screen == .runbook, runbook?.runbook == nil else { return [] }
        return [.startRunbook, .toggleVariables]
    }
}

extension App {
    /// Makes the runbook screen's preview from the runbook, the run target and the snapshot.
    static func preparePreview(_ m: inout AppModel) {
        let preview = m.runbook?.runbook.map { makePreview($0, m) }
        m.runbook?.preview = preview
    }

    static func makePreview(_ rb: Runbook, _ m: AppModel) -> RunbookPreview {
        RunbookPreview.make(rb, target: m.runTarget, snapshot: m.snapshot.map(SnapshotPaths.lookup) ?? { _ in nil })
    }

    /// The body a screen gets (under the header and the banner, above the status bar).
    static func bodyHeight(_ m: AppModel) -> Int {
        let banner = (m.snapshot?.cluster.map { !$0.isReachable } ?? false) || !(m.snapshot?.denied ?? []).isEmpty
        return m.height - 2 - (banner ? 1 : 0)
    }

    /// Rows of the runbook screen that fit at once (inside its box).
    static func runbookVisibleRows(_ m: AppModel) -> Int { max(1, bodyHeight(m) - 2) }

    /// Every row of the runbook screen at the model's width, and where the variables start.
    static func runbookRows(_ m: AppModel) -> (rows: [Line], variablesStart: Int) {
        let width = max(10, m.width - 4)
        guard let state = m.runbook else { return ([[Span("no runbook opened: :runbook <id>", .dim)]], 0) }
        var rows: [Line] = []
        switch state.content {
        case .unknown(let known):
            rows += wrapped([Span("✗ ", badStyle)], "No runbook '\(state.id)'.", badStyle, width: width)
            rows += wrapped([Span("Known runbooks, the closest first: ", .dim)], known.isEmpty ? "none loaded" : known.joined(separator: ", "), .bold, width: width)
            rows += wrapped([], "Open one with :runbook <id>. Nothing here can be run.", .dim, width: width)
            return (rows, 0)
        case .failed(let message):
            rows += wrapped([Span("✗ ", badStyle)], "Runbook '\(state.id)' could not be opened: \(message)", badStyle, width: width)
            return (rows, 0)
        case .loaded(let rb):
            let p = state.preview ?? makePreview(rb, m)
            rows += wrapped([], p.title, Style(bold: true), width: width)
            rows += wrapped([Span("id ", .dim), Span(p.id, .bold)] + (p.when.isEmpty ? [] : [Span(" · answers ", .dim)]),
                            p.when.joined(separator: ", "), .plain, width: width, indent: 3)
            rows += wrapped([], reflow(p.summary), .plain, width: width)
            rows += wrapped([Span("access: ", .dim)], p.access, rb.isReadOnly ? okStyle : warnStyle, width: width)
            rows += wrapped([Span("done when: ", .dim)], p.endState, .plain, width: width)
            rows += wrapped([], (state.showVariables ? "v hides the variables" : "v shows the variables and their values now")
                            + (m.readOnly ? "" : " · X runs it (line mode; asks before every change)"), .dim, width: width)
            rows.append([])
            let variablesStart = rows.count
            if state.showVariables {
                rows.append([Span("Variables (\(p.variables.count)): the value now, or how a run gets it", Style(bold: true, underline: true))])
                for v in p.variables {
                    let value = v.value.map { $0.isEmpty ? "(empty)" : $0 } ?? "<\(v.name)>"
                    rows += wrapped([Span("  \(v.name) ", .bold), Span("= ", .dim), Span(value, v.value == nil ? .dim : okStyle), Span("  ")],
                                    "\(v.meaning) · \(v.source)", .dim, width: width, indent: 6)
                }
                rows.append([])
            }
            rows.append([Span("Steps (\(p.steps.count))", Style(bold: true, underline: true))])
            let numberWidth = String(p.steps.count).count
            for s in p.steps {
                let number = String(repeating: " ", count: numberWidth - String(s.number).count) + "\(s.number). "
                let head: [Span] = [Span(number, .bold), Span(s.kind + " ", Style(fg: .cyan))]
                var marks = ""
                if s.destructive { marks += "  [DESTRUCTIVE: type the pod name]" } else if s.mutates { marks += "  [changes state]" }
                let titleStyle = s.destructive ? badStyle : (s.mutates ? warnStyle : Style(bold: true))
                rows += wrapped(head, s.title + marks, titleStyle, width: width, indent: numberWidth + 2)
                let indent = numberWidth + 4
                let pad = String(repeating: " ", count: indent)
                for d in s.details {
                    let text = d.kind == .text ? reflow(d.text) : d.text
                    for (i, para) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                        let label = i == 0 && !d.label.isEmpty ? d.label + (d.label.hasSuffix("$") ? " " : ": ") : ""
                        let (labelStyle, textStyle): (Style, Style) = switch d.kind {
                        case .command: (Style(bold: true), Style(fg: .green))
                        case .undo: (Style(fg: .magenta), Style(fg: .magenta))
                        case .condition: (.dim, .plain)
                        case .flow: (.dim, .dim)
                        case .text: (.dim, .plain)
                        }
                        // Continuation rows: a command under its first argument, labelled text a
                        // little in, plain text under itself.
                        let labelIndent = d.kind == .command || d.kind == .undo ? TextWidth.of(label) : (label.isEmpty ? 0 : 2)
                        rows += wrapped([Span(pad), Span(label, labelStyle)], String(para), textStyle, width: width,
                                        indent: indent + (i == 0 ? labelIndent : 0))
                    }
                }
            }
            return (rows, variablesStart)
        }
    }

    /// Text as its author wrapped it in the YAML, joined into paragraphs that wrap at the
    /// screen's width: a line break stays before a blank line and before a list item.
    static func reflow(_ text: String) -> String {
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            let item = t.hasPrefix("- ") || t.hasPrefix("* ") || t.first.map(\.isNumber) == true && t.contains(". ")
            if out.isEmpty { out = t; continue }
            if t.isEmpty || item || out.hasSuffix("\n") { out += "\n" + t } else { out += " " + t }
        }
        return out
    }

    /// `prefix` then `text` word-wrapped to `width`; continuation rows start at `indent`
    /// (default: under the text), each paragraph of `text` on a row of its own. A long command
    /// is wrapped, never cut.
    static func wrapped(_ prefix: [Span], _ text: String, _ style: Style, width: Int, indent: Int? = nil) -> [Line] {
        let pw = prefix.reduce(0) { $0 + TextWidth.of($1.text) }
        let cont = min(indent ?? pw, max(0, width / 2))
        let pad = Span(String(repeating: " ", count: cont))
        var out: [Line] = []
        for (i, para) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let clean = Sanitize.line(String(para))
            if i == 0, pw < width {
                let ls = TextLayout.wrap(clean, width: max(1, width - cont), firstWidth: width - pw)
                out.append(prefix + [Span(ls.first ?? "", style)])
                out += ls.dropFirst().map { [pad, Span($0, style)] }
            } else {
                if i == 0 { out.append(prefix) }
                out += TextLayout.wrap(clean, width: max(1, width - cont)).map { [pad, Span($0, style)] }
            }
        }
        return out
    }

    static func drawRunbook(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let (rows, _) = runbookRows(m)
        let visible = max(1, body.height - 2)
        let top = max(0, min(m.selection[.runbook] ?? 0, rows.count - visible))
        var status: String?
        if rows.count > visible {
            status = "rows \(top + 1)–\(min(rows.count, top + visible)) of \(rows.count) · j/k PgDn PgUp"
        }
        let title: String
        switch m.runbook?.content {
        case .unknown?, .failed?: title = "Runbook \(m.runbook?.id ?? ""): not found"
        default: title = "Runbook \(m.runbook?.id ?? "")"
        }
        let inner = Panel(title: title, status: status, statusStyle: .dim).render(into: &g, rect: body).inset(dx: 1, dy: 0)
        for (i, l) in rows.dropFirst(top).prefix(inner.height).enumerated() {
            g.write(line: l, x: inner.x, y: inner.y + i, clip: inner)
        }
    }
}
