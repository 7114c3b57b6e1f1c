import App
import Diagnosis
import Foundation
import Render
import Runbooks
import Testing

/// The runbook screen: steps, not Markdown; variables on demand; each runbook opens at its top;
/// an unknown id is an error with nothing to run; the end of a run returns to the dashboard.
@Suite struct RunbookScreenTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A bundled runbook, loaded as the tool loads it.
    static func bundled(_ id: String) throws -> Runbook {
        let (rb, diags) = RunbookLoader.load(path: repo.appendingPathComponent("runbooks/\(id).yaml").path)
        guard let rb else { throw RunbookScreenFailure("runbooks/\(id).yaml: \(diags.map(\.description))") }
        return rb
    }

    func opened(_ id: String, width: Int, height: Int) throws -> AppModel {
        var m = model(width: width, height: height)
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        _ = App.update(&m, .runbookArrived(id: id, .success(try Self.bundled(id))))
        return m
    }

    /// Every page of the screen, paging down with PgDn until the last row shows.
    func pages(_ m: inout AppModel) -> [[String]] {
        var out: [[String]] = []
        for _ in 0..<60 {
            let l = App.render(m, width: m.width, height: m.height).lines()
            out.append(l)
            let before = m.selection[.runbook]
            _ = press(&m, .pageDown)
            if m.selection[.runbook] == before { break }
        }
        return out
    }

    /// The box's rows of a page, without the borders.
    func inner(_ page: [String]) -> [String] {
        page.dropFirst(2).dropLast(2).map { row in
            var r = Substring(row)
            if r.hasPrefix("│") { r = r.dropFirst() }
            if r.hasSuffix("│") { r = r.dropLast() }
            return r.trimmingCharacters(in: .whitespaces)
        }
    }

    @Test(arguments: [(80, 24), (200, 60)]) func stepsNotMarkdown(width: Int, height: Int) throws {
        var m = try opened("memory-pressure", width: width, height: height)
        let first = App.render(m, width: width, height: height).lines()
        #expect(first.count == height && first.allSatisfy { TextWidth.of($0) <= width })
        #expect(first[1].contains("Runbook memory-pressure"))
        #expect(first.contains { $0.contains("Redis is running out of memory") })
        #expect(first.contains { $0.contains("done when:") && $0.contains("pod redis-0 Ready") })

        let all = pages(&m)
        let rows = all.flatMap(inner)
        let text = all.flatMap { $0 }.joined(separator: "\n")
        // No raw Markdown, no unfilled template.
        #expect(!text.contains("{{"), "a raw placeholder on screen")
        #expect(!text.contains("|---|") && !text.contains("## ") && !text.contains("```"))
        // Step titles, numbered, with their kind.
        #expect(rows.contains { $0.hasPrefix("2. check") && $0.contains("Key count now") }, "\(rows.prefix(40))")
        #expect(rows.contains { $0.contains("choice") && $0.contains("Remedy") })
        // The exact command, as the run would show it (kubectl's flags of the target), whole:
        // a row of its own at 200 columns, wrapped (never cut) at 80.
        let dbsize = "$ kubectl --context prod-eu -n jobs exec redis-0 -c redis -- redis-cli DBSIZE"
        if width >= 200 {
            #expect(rows.contains(dbsize), "\(rows.filter { $0.contains("DBSIZE") })")
        } else {
            #expect(rows.joined(separator: " ").contains(dbsize), "\(rows.filter { $0.contains("kubectl") }.prefix(4))")
            #expect(!rows.joined().contains("…"), "something was cut at 80 columns")
        }
        // Values the snapshot knows are filled in; what only the run knows says so.
        #expect(rows.joined(separator: " ").contains("used_memory 734003200 bytes"))
        #expect(rows.joined(separator: " ").contains("<queue>"))
        // What a check expects, in plain words; a destructive step is marked.
        #expect(rows.contains { $0.contains("expects: output contains noeviction") })
        #expect(rows.contains { $0.contains("[DESTRUCTIVE: type the pod name]") })
        // The undo, with the value the snapshot knows now (maxmemory 0).
        #expect(rows.joined(separator: " ").contains("undo $ kubectl --context prod-eu -n jobs exec redis-0 -c redis -- redis-cli CONFIG SET maxmemory 0 "))
        // The last page ends with the last row, and says where it is.
        #expect(all.count > 1)
        let status = all.last?[1] ?? ""
        let m2 = status.firstMatch(of: /rows (\d+)–(\d+) of (\d+)/)
        #expect(m2 != nil && m2?.output.2 == m2?.output.3, "\(status)")
        #expect(inner(all.last ?? []).last?.isEmpty == false, "the last page ends with a blank row")
    }

    @Test func variablesOnDemand() throws {
        var m = try opened("memory-pressure", width: 80, height: 24)
        let hidden = pages(&m).flatMap { $0 }.joined(separator: "\n")
        #expect(!hidden.contains("Variables ("))
        _ = press(&m, .home)
        #expect(App.render(m, width: 80, height: 24).lines()[23].contains("v variables"))
        _ = press(&m, .char("v"))
        let shown = App.render(m, width: 80, height: 24).text
        #expect(shown.contains("Variables ("), "\(shown)")
        #expect(!shown.contains("{{"))
        let all = pages(&m).flatMap { $0 }.joined(separator: "\n")
        #expect(all.contains("used_bytes = 734003200"))
        #expect(all.contains("pod = redis-0"))
        #expect(all.contains("queue = <queue>"))
        _ = press(&m, .char("v"))
        #expect(m.selection[.runbook] == 0)
        #expect(!App.render(m, width: 80, height: 24).text.contains("Variables ("))
        // `v` is this screen's key only.
        #expect(!Keymap.hints(for: .dashboard, readOnly: false).contains { $0.key == "v" })
        #expect(Keymap.hints(for: .runbook, readOnly: false).prefix(2).map(\.key) == ["X", "v"])
    }

    @Test func eachRunbookOpensAtItsTop() throws {
        var m = try opened("memory-pressure", width: 80, height: 24)
        _ = press(&m, .pageDown, .pageDown)
        #expect((m.selection[.runbook] ?? 0) > 0)
        _ = press(&m, .char("v"))
        _ = App.update(&m, .runbookArrived(id: "pod-restart", .success(try Self.bundled("pod-restart"))))
        #expect(m.selection[.runbook] == 0)
        #expect(m.runbook?.showVariables == false)
        let l = App.render(m, width: 80, height: 24).lines()
        #expect(l[1].contains("Runbook pod-restart"))
        #expect(l[2].contains(try Self.bundled("pod-restart").title))
        // Scrolling stops at the last page (no scrolling into emptiness).
        _ = press(&m, .end)
        let last = App.render(m, width: 80, height: 24).lines()
        #expect(!last[21].trimmingCharacters(in: CharacterSet(charactersIn: "│ ")).isEmpty, "scrolled past the last row:\n\(last.joined(separator: "\n"))")
        #expect(last[1].firstMatch(of: /rows \d+–(\d+) of (\d+)/).map { $0.output.1 == $0.output.2 } == true, "\(last[1])")
        _ = press(&m, .pageDown, .down)
        #expect(App.render(m, width: 80, height: 24).lines() == last, "moved past the last page")
    }

    @Test func unknownIdIsAnErrorWithNothingToRun() {
        var m = model(width: 80, height: 24)
        _ = App.update(&m, .snapshotArrived(sampleSnapshot()))
        let fx = press(&m, .char(":"), .char("r"), .char("u"), .char("n"), .char("b"), .char("o"), .char("o"), .char("k"), .char(" "),
                       .char("o"), .char("o"), .char("m"), .char("-"), .char("k"), .char("i"), .char("l"), .char("l"), .enter)
        #expect(fx == [.openRunbook(id: "oom-kill")])
        _ = App.update(&m, .runbookArrived(id: "oom-kill", .failure(.unknown(known: ["pod-restart", "memory-pressure", "oom-killed-twice", "loading"]))))
        #expect(m.screen == .runbook)
        let g = App.render(m, width: 80, height: 24)
        let text = g.text
        #expect(text.contains("No runbook 'oom-kill'."))
        #expect(text.contains("Known runbooks, the closest first: "))
        // Closest first: the id that contains what was typed, then by edit distance.
        let known = g.lines().first { $0.contains("closest first") } ?? ""
        #expect(known.contains("closest first: oom-killed-twice, loading, "), "\(known)")
        // No X offered, and X does nothing.
        #expect(!g.lines()[23].contains("X run") && !g.lines()[23].contains("v variables"), "\(g.lines()[23])")
        #expect(press(&m, .char("X")) == [])
        #expect(m.mode == .normal)
        #expect(m.flash == "no runbook 'oom-kill': nothing to run")
        #expect(press(&m, .char("v")) == [])
    }

    /// The values on screen are the last snapshot's; the preview is made once per snapshot,
    /// not once per frame (a frame comes every tick and on every key).
    @Test func valuesFollowTheSnapshot() throws {
        var m = try opened("memory-pressure", width: 200, height: 60)
        #expect(m.runbook?.preview != nil)
        #expect(App.render(m, width: 200, height: 60).text.contains("used_memory 734003200 bytes"))
        _ = App.update(&m, .snapshotArrived(sampleSnapshot(used: 800 << 20)))
        #expect(App.render(m, width: 200, height: 60).text.contains("used_memory 838860800 bytes"))
        // Elsewhere the preview is dropped and made again when the runbook screen is drawn.
        _ = press(&m, .char("d"))
        _ = App.update(&m, .snapshotArrived(sampleSnapshot(used: 900 << 20)))
        #expect(m.runbook?.preview == nil)
        _ = press(&m, .escape)
        #expect(m.screen == .runbook)
        #expect(App.render(m, width: 200, height: 60).text.contains("used_memory 943718400 bytes"))
    }

    @Test func closestFirst() {
        #expect(RunbookPreview.closestFirst(to: "pod-restrat", in: ["loading", "pod-restart", "backup"]).first == "pod-restart")
        #expect(RunbookPreview.closestFirst(to: "memory", in: ["loading", "memory-pressure", "backup"]).first == "memory-pressure")
    }

    @Test func theEndOfARunReturnsToTheDashboard() throws {
        var m = try opened("pod-restart", width: 80, height: 24)
        _ = press(&m, .char("X"))
        for c in "pod-restart" { _ = press(&m, .char(c)) }
        #expect(press(&m, .enter) == [.startRunbook(id: "pod-restart")])
        #expect(App.update(&m, .runbookRunEnded("runbook pod-restart: finished (exit 0)")) == [.refresh])
        #expect(m.screen == .dashboard)
        #expect(App.render(m, width: 80, height: 24).lines()[23].contains("runbook pod-restart: finished"))
        // Esc goes back to the runbook it was started from.
        _ = press(&m, .escape)
        #expect(m.screen == .runbook)
    }
}

struct RunbookScreenFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
