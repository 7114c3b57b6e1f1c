import Foundation

/// The runbooks available to a run: the bundled folder plus an optional team folder
/// (`--runbooks DIR`); a team runbook with the same id replaces the bundled one.
public struct RunbookLibrary: Sendable {
    public var runbooks: [Runbook]
    public var diagnostics: [RunbookDiagnostic]
    /// id -> file of a bundled runbook that a team runbook replaced.
    public var overridden: [String: String]

    public init(runbooks: [Runbook], diagnostics: [RunbookDiagnostic], overridden: [String: String] = [:]) {
        self.runbooks = runbooks; self.diagnostics = diagnostics; self.overridden = overridden
    }

    public func runbook(id: String) -> Runbook? { runbooks.first { $0.id == id } }
    public func runbooks(forFinding finding: String) -> [Runbook] { runbooks.filter { $0.when.contains(finding) } }

    /// YAML files of a directory, sorted by name (`*.yaml`, `*.yml`).
    public static func yamlFiles(in dir: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { (dir as NSString).appendingPathComponent($0) }
    }

    /// Loads files (directories are expanded to their YAML files). Later folders override
    /// earlier ones by id; within one folder a repeated id is an error.
    public static func load(folders: [String], files: [String] = []) -> RunbookLibrary {
        var byId: [String: Runbook] = [:]
        var order: [String] = []
        var diags: [RunbookDiagnostic] = []
        var overridden: [String: String] = [:]
        var groups: [[String]] = folders.map { yamlFiles(in: $0) }
        if !files.isEmpty { groups.append(files) }
        for (gi, group) in groups.enumerated() {
            var seenHere: [String: String] = [:]
            if gi < folders.count {
                var isDir: ObjCBool = false
                if !FileManager.default.fileExists(atPath: folders[gi], isDirectory: &isDir) || !isDir.boolValue {
                    diags.append(.init(.init(file: folders[gi], line: 1, column: 1), "runbook folder not found", expected: "a directory of *.yaml runbooks"))
                    continue
                }
            }
            for path in group {
                let (rb, d) = RunbookLoader.load(path: path)
                diags += d
                guard let rb else { continue }
                if let other = seenHere[rb.id] {
                    diags.append(.init(rb.location, "runbook id '\(rb.id)' is also used by \(other)", expected: "a unique id per runbook"))
                    continue
                }
                seenHere[rb.id] = path
                if let old = byId[rb.id] { overridden[rb.id] = old.file } else { order.append(rb.id) }
                byId[rb.id] = rb
            }
        }
        return RunbookLibrary(runbooks: order.compactMap { byId[$0] }, diagnostics: diags, overridden: overridden)
    }
}
