import Common
import Diagnosis
import Foundation
import Render
import Runbooks
import Testing
@testable import App

/// The dashboard, `check` and `status --json` render one rules table: fed the same snapshot,
/// they say the same thing about every ADR check, row by row, and the memory bars take the
/// findings' colours (issue 15.1).
@Suite struct RulesAgreementTests {
    /// A snapshot as the builder finishes it: the ADR checks and findings from the rules.
    static func judged(_ edit: (inout Snapshot) -> Void) -> Snapshot {
        var s = sampleSnapshot(maxmemory: 700 << 20, used: 300 << 20)
        s.memory.aofLastCowBytes = 10 << 20
        edit(&s)
        s.adr = Findings.adrChecks(s)
        s.findings = Findings.causalOrder(Findings.evaluate(s))
        return s
    }

    static func exporterNotReady(_ s: inout Snapshot) {
        guard var pod = s.pod else { return }
        pod.containers = pod.containers.map { c in var c = c; if c.name == "redis-exporter" { c.ready = false; c.state = "running" }; return c }
        s.pod = pod
    }

    static var cases: [(String, (inout Snapshot) -> Void)] { [
        ("no container limit", { $0.memory.limitBytes = nil }),
        ("not-ready exporter", exporterNotReady),
        ("maxmemory unset", { $0.memory.maxmemoryBytes = 0; $0.config.maxmemory = 0 }),
        ("maxmemory above 75% of the limit", { $0.memory.maxmemoryBytes = 900 << 20; $0.config.maxmemory = 900 << 20 }),
        ("fork CoW equal to the room", { $0.memory.maxmemoryBytes = 700 << 20; $0.memory.aofLastCowBytes = (1 << 30) - (700 << 20) }),
        ("appendfsync always", { $0.config.appendfsync = "always"; $0.persistence.appendfsync = "always" }),
    ] }

    /// The ADR panel's rows on a screen wide enough for all six: (mark, title).
    static func screenRows(_ s: Snapshot) -> [(mark: String, title: String)] {
        var m = model(width: 200, height: 60)
        _ = App.update(&m, .snapshotArrived(s))
        let lines = App.render(m, width: 200, height: 60).lines()
        guard let top = lines.firstIndex(where: { $0.contains("┌ ADR compliance") }) else { return [] }
        let topChars = Array(lines[top])
        guard let col = topChars.indices.first(where: { String(topChars[$0...]).hasPrefix("┌ ADR compliance") }) else { return [] }
        var out: [(String, String)] = []
        for l in lines.dropFirst(top + 1) {
            let chars = Array(l)
            guard col < chars.count, chars[col] == "│" else { break }
            let row = String(chars[(col + 1)...].prefix { $0 != "│" }).trimmingCharacters(in: .whitespaces)
            if let first = row.first, ["✓", "✗", "?"].contains(first) {
                out.append((String(first), String(row.dropFirst(2)).trimmingCharacters(in: .whitespaces)))
            }
        }
        return out
    }

    @Test(arguments: 0..<6) func screenCheckAndJSONAgreeRowByRow(_ i: Int) throws {
        let (name, edit) = Self.cases[i]
        let s = Self.judged(edit)
        let rows = Self.screenRows(s)
        #expect(rows.count == Rules.adr.count, "\(name): \(rows)")
        let check = CheckReport.make(s).text
        let json = try JSONSerialization.jsonObject(with: Data(SnapshotJSON.encode(s).utf8)) as? [String: Any]
        let jsonADR = (json?["adr"] as? [[String: Any]]) ?? []
        for (n, rule) in Rules.adr.enumerated() {
            let verdict = try #require(s.adr.first { $0.id == rule.id }, "\(name): no verdict for \(rule.id)")
            let mark = ["pass": "✓", "fail": "✗", "unknown": "?"][verdict.status.rawValue]!
            #expect(n < rows.count && rows[n].title == rule.title && rows[n].mark == mark,
                    "\(name): screen row \(n) \(n < rows.count ? "\(rows[n])" : "missing") vs \(rule.id) \(verdict.status)")
            #expect(check.contains("ADR \(verdict.status.rawValue) \(rule.id): ") == (verdict.status != .pass), "\(name): check on \(rule.id):\n\(check)")
            #expect(jsonADR.first { $0["id"] as? String == rule.id }?["status"] as? String == verdict.status.rawValue, "\(name): JSON \(rule.id)")
        }
    }

    /// Verdicts where the copies used to disagree, now the table's.
    @Test func theTableDecidesWhereCopiesDisagreed() {
        // No container limit: maxmemory is the limit (pass), as `check` always said.
        #expect(Self.judged { $0.memory.limitBytes = nil }.adr.first { $0.id == "maxmemory-headroom" }?.status == .pass)
        // A not-ready exporter is not up, whatever its last metrics said.
        let notReady = Self.judged(Self.exporterNotReady)
        #expect(notReady.adr.first { $0.id == "exporter" }?.status == .fail)
        // A fork whose copy-on-write needs all the room does not fit: ADR fails and a finding says so.
        let full = Self.judged { $0.memory.maxmemoryBytes = 700 << 20; $0.memory.aofLastCowBytes = (1 << 30) - (700 << 20) }
        #expect(full.adr.first { $0.id == "maxmemory-headroom" }?.status == .fail)
        #expect(full.findings.contains { $0.id == "maxmemory-too-close-to-limit" })
    }

    /// The used/max bar is coloured by the memory-pressure rule: yellow exactly when the finding
    /// is a warning, red when it is critical, green when there is none.
    @Test func memoryBarsTakeTheFindingsColours() throws {
        for (used, expected) in [(Int64(500) << 20, Severity?.none), (Int64(650) << 20, .warning), (Int64(700) << 20, .critical)] {
            let s = Self.judged { $0.memory.usedBytes = used; $0.memory.rssBytes = used }
            let finding = s.findings.first { $0.id == "memory-pressure" }?.severity
            #expect(finding == expected, "used \(used >> 20)M of 700M")
            var m = model(width: 200, height: 60)
            _ = App.update(&m, .snapshotArrived(s))
            let g = App.render(m, width: 200, height: 60)
            let y = try #require(g.lines().firstIndex { $0.contains("used/max") })
            let x = try #require(Array(g.lines()[y]).firstIndex(of: "█"))
            let fg = g[x, y].style.fg
            let want: Color = expected == .critical ? .red : (expected == .warning ? .yellow : .green)
            #expect(fg == want, "used \(used >> 20)M: bar \(fg), finding \(String(describing: expected))")
        }
    }
}

/// The runbook loader's catalogue of snapshot paths knows every field of the `replication`
/// object `status --json` writes (so a runbook condition may name `replication.quorumOK`), and
/// no field the object does not have: read from the type itself, so a field added to one and not
/// the other fails here.
@Suite struct ReplicationPathCatalogTests {
    @Test func catalogNamesExactlyTheReplicationViewFields() {
        let view = ReplicationView(targetPod: "redis-0", pods: [ReplicaPodView(name: "redis-0", ip: "10.244.0.6")])
        let fields = Set(Mirror(reflecting: view).children.compactMap(\.label))
        #expect(!fields.isEmpty)
        #expect(SnapshotPathCatalog.sections["replication"] == fields, "catalog \(SnapshotPathCatalog.sections["replication"] ?? []) vs type \(fields)")
        for f in fields { #expect(SnapshotPathCatalog.problem(with: "replication.\(f)") == nil, "replication.\(f)") }
        #expect(SnapshotPathCatalog.problem(with: "replication.pods.redis-0.role") == nil)
        #expect(SnapshotPathCatalog.problem(with: "replication.quorum")?.0 == "unknown field 'quorum' in 'replication'")
        #expect(SnapshotPathCatalog.problem(with: "replication.quorumOK.x") != nil)
    }
}
