import Foundation
import ProcessRunner
import Sandbox

/// Entry point when the binary runs as a sandbox's `kubectl`.
public enum KubectlPersonality {
    public static func main(arguments: [String]) async -> Int32 {
        let invoked = invokedPath(CommandLine.arguments.first ?? "kubectl")
        let dir = sandboxDirectory(invokedPath: invoked, environment: ProcessInfo.processInfo.environment)
        let kubectl = Kubectl(layout: SandboxLayout(root: URL(fileURLWithPath: dir)), selfPath: invoked)
        return await kubectl.run(arguments)
    }

    /// argv[0] made absolute (looked up in PATH when it has no slash), final symlink not followed.
    static func invokedPath(_ argv0: String) -> String {
        var path = argv0
        if !path.contains("/"), let found = resolveExecutable(path) { path = found }
        if !path.hasPrefix("/") {
            path = FileManager.default.currentDirectoryPath + "/" + path
        }
        return URL(fileURLWithPath: path).standardized.path
    }

    /// DIR for DIR/bin/kubectl, or $REDIS_RUNBOOK_SANDBOX_DIR.
    public static func sandboxDirectory(invokedPath: String, environment: [String: String]) -> String {
        Kubectl.sandboxDirectory(invokedPath: invokedPath, environment: environment)
    }
}
