import Foundation
import Testing
@testable import Runbooks

/// The repository's runbooks/ folder (found from this source file's path).
func bundledRunbooksDir() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("runbooks").path
}

@Suite struct BundledRunbooksTests {
    static let ids = ["pod-restart", "node-failure", "aof-corruption", "memory-pressure", "backup", "restore",
                      "config-drift", "loading", "exporter-down", "disk-full", "queue-backlog", "split-brain", "migrate-to-sentinel"]

    @Test func everyBundledRunbookValidates() {
        let lib = RunbookLibrary.load(folders: [bundledRunbooksDir()])
        #expect(lib.diagnostics.isEmpty, "\(lib.diagnostics.map(\.description).joined(separator: "\n"))")
        for id in Self.ids { #expect(lib.runbook(id: id) != nil, "missing runbook \(id)") }
    }
}
