import Foundation
import Testing
@testable import CLI
import Runbooks

/// docs/runbooks/ID.md: one page per runbook, generated, never stale.
@Suite struct RunbookPagesTests {
    static func library() -> RunbookLibrary { RunbookLibrary.load(folders: [repoPath("runbooks")]) }
    static func rules() throws -> (AlertRuleIndex, String) {
        let text = try String(contentsOfFile: repoPath("deploy/alerts/redis.rules.yaml"), encoding: .utf8)
        return (try AlertRuleIndex.parse(text), text)
    }

    @Test func everyPageIsUpToDateWithItsRunbook() throws {
        let lib = Self.library()
        #expect(lib.diagnostics.isEmpty, "\(lib.diagnostics)")
        let (rules, text) = try Self.rules()
        let pages = RunbookPages.render(library: lib, rules: rules, rulesText: text)
        #expect(pages.count == lib.runbooks.count && pages.count >= 10)
        for (id, want) in pages {
            let have = try? String(contentsOfFile: repoPath("docs/runbooks/\(id).md"), encoding: .utf8)
            #expect(have == want, "docs/runbooks/\(id).md is \(have == nil ? "missing" : "stale"): run `make runbook-pages`")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: repoPath("docs/runbooks")).filter { $0.hasSuffix(".md") }
        #expect(Set(files) == Set(pages.keys.map { "\($0).md" }), "pages without a runbook: \(Set(files).subtracting(pages.keys.map { "\($0).md" }))")
    }

    /// A change in a runbook's YAML makes its page stale: the comparison above can fail.
    @Test func aChangedRunbookChangesItsPage() throws {
        let lib = Self.library()
        var rb = try #require(lib.runbook(id: "memory-pressure"))
        let before = RunbookPage.render(rb)
        rb.summary += " One more sentence."
        rb.steps[0].title = "A renamed first step"
        let after = RunbookPage.render(rb)
        #expect(before != after && after.contains("One more sentence.") && after.contains("A renamed first step"))
    }

    /// The prometheus-operator runbook shape, each step under Diagnosis or Mitigation, every command kept.
    @Test func pagesHaveMeaningImpactDiagnosisMitigation() throws {
        let lib = Self.library()
        let (rules, text) = try Self.rules()
        let pages = RunbookPages.render(library: lib, rules: rules, rulesText: text)
        for rb in lib.runbooks {
            let page = try #require(pages[rb.id])
            let heads = ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation", "## Variables"].map { page.range(of: "\n\($0)\n")?.lowerBound }
            #expect(heads.allSatisfy { $0 != nil }, "\(rb.id): missing a section")
            let found = heads.compactMap { $0 }
            #expect(found == found.sorted(), "\(rb.id): sections out of order")
            for (i, s) in rb.steps.enumerated() { #expect(page.contains("### \(i + 1). \(s.title)"), "\(rb.id): step \(i + 1) missing") }
            for s in rb.steps { if let c = s.command { #expect(page.contains(RunbookMarkdown.display(c)), "\(rb.id): command missing") } }
            // The first mutating step is under Mitigation, not Diagnosis.
            if let m = rb.steps.firstIndex(where: \.mutates), let mit = page.range(of: "\n## Mitigation\n") {
                let at = try #require(page.range(of: "### \(m + 1). \(rb.steps[m].title)"))
                #expect(at.lowerBound > mit.lowerBound, "\(rb.id): mutating step \(m + 1) listed under Diagnosis")
            }
        }
        // The alerts pointing at a runbook are listed on its page.
        let mp = try #require(pages["memory-pressure"])
        #expect(mp.contains("**RedisWritesRejectedOOM** (critical)") && mp.contains("**RedisMemoryNearMaxmemory** (warning)"))
    }

    /// The tool writes the pages and its --check finds a stale or left-over one.
    @Test func pagesCommandWritesAndChecks() async throws {
        let dir = try tempDir("pages")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = await run([builtBinary, "runbook", "pages", dir.path], environment: toolEnvironment)
        #expect(w.succeeded, "\(w.stderrText)")
        for id in Self.library().runbooks.map(\.id) {
            let written = try String(contentsOf: dir.appendingPathComponent("\(id).md"), encoding: .utf8)
            #expect(written == (try String(contentsOfFile: repoPath("docs/runbooks/\(id).md"), encoding: .utf8)), "\(id)")
        }
        #expect((await run([builtBinary, "runbook", "pages", "--check", dir.path], environment: toolEnvironment)).succeeded)
        try "edited by hand\n".write(to: dir.appendingPathComponent("backup.md"), atomically: true, encoding: .utf8)
        try "old\n".write(to: dir.appendingPathComponent("gone.md"), atomically: true, encoding: .utf8)
        let c = await run([builtBinary, "runbook", "pages", "--check", dir.path], environment: toolEnvironment)
        #expect(c.exitCode == 1)
        #expect(c.stdoutText.contains("backup.md: out of date with runbooks/backup.yaml") && c.stdoutText.contains("gone.md: no runbook gone (left over)"), "\(c.stdoutText)")
    }
}
