import Foundation
import Runbooks

/// Where the bundled runbooks are. Order: $REDIS_RUNBOOK_RUNBOOKS, then a `runbooks/` folder
/// found by walking up from the executable (the repo checkout: .build/debug/redis-runbook ->
/// ../../runbooks), then `<prefix>/share/redis-runbook/runbooks` next to an installed binary.
/// The runbooks are not embedded in the binary.
public enum RunbookFolders {
    public static func bundled(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let e = environment["REDIS_RUNBOOK_RUNBOOKS"], !e.isEmpty { return e }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("runbooks")
            if isRunbookDir(candidate.path) { return candidate.path }
            let share = dir.appendingPathComponent("share/redis-runbook/runbooks")
            if isRunbookDir(share.path) { return share.path }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return nil
    }

    static func isRunbookDir(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return false }
        return !RunbookLibrary.yamlFiles(in: path).isEmpty
    }

    /// Bundled folder plus the team folder (`--runbooks DIR`, same id overrides).
    public static func library(teamFolder: String?) -> RunbookLibrary {
        var folders: [String] = []
        if let b = bundled() { folders.append(b) }
        if let t = teamFolder { folders.append(t) }
        return RunbookLibrary.load(folders: folders)
    }
}
