import Foundation
import Synchronization

/// How the binary was started: as `redis-runbook`, or as the kubectl plugin
/// `kubectl-redis_runbook` (kubectl finds `kubectl-redis_runbook` on PATH and runs it for
/// `kubectl redis-runbook ...`). The plugin name changes what help and usage say, and kubectl's
/// global flags may come right after the plugin name, before the subcommand.
public enum Invocation {
    /// The executable name kubectl looks for: `kubectl redis-runbook` → `kubectl-redis_runbook`
    /// (kubectl maps `-` in a command name to `_` in the file name).
    public static let pluginExecutable = "kubectl-redis_runbook"
    public static let pluginCommand = "kubectl redis-runbook"
    public static let plainCommand = "redis-runbook"

    private static let current = Mutex<String>(plainCommand)

    /// The command name shown in help and usage.
    public static var commandName: String { current.withLock { $0 } }

    /// True when argv[0]'s file name is the plugin's.
    public static func isPlugin(argv0: String?) -> Bool {
        guard let a = argv0 else { return false }
        return URL(fileURLWithPath: a).lastPathComponent == pluginExecutable
    }

    /// Sets the command name from argv[0] (called once, before parsing).
    public static func configure(argv0: String?) {
        let name = isPlugin(argv0: argv0) ? pluginCommand : plainCommand
        current.withLock { $0 = name }
    }
}

/// kubectl's global flags, accepted in kubectl's places: `kubectl redis-runbook --context prod
/// -n queues status` puts them before the subcommand, where swift-argument-parser expects
/// only the subcommand. They are moved after the subcommand path (before any `--`), where every
/// command that talks to the cluster reads them (GlobalOptions).
public enum KubectlGlobalFlags {
    /// Long names that take a value, and their short forms.
    static let withValue: Set<String> = ["--kubeconfig", "--context", "--namespace", "-n", "--request-timeout", "--as", "--kubectl"]

    /// The leading global flags moved after the subcommand words. Anything else is left as it is
    /// (and parsed, or refused with the parser's own message).
    public static func normalize(_ args: [String], subcommandNames: Set<String>) -> [String] {
        var moved: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if withValue.contains(a), i + 1 < args.count {
                moved += [a, args[i + 1]]; i += 2; continue
            }
            if let eq = a.firstIndex(of: "="), withValue.contains(String(a[..<eq])) {
                moved.append(a); i += 1; continue
            }
            break
        }
        guard !moved.isEmpty else { return args }
        var rest = Array(args[i...])
        // Keep the subcommand path first: `runbook show ID`, `sandbox up` ...
        var path: [String] = []
        while let first = rest.first, subcommandNames.contains(first) { path.append(first); rest.removeFirst() }
        if let dash = rest.firstIndex(of: "--") {
            return path + Array(rest[..<dash]) + moved + Array(rest[dash...])
        }
        return path + rest + moved
    }
}
