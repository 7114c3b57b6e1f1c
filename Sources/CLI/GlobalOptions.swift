import ArgumentParser
import Foundation
import Sandbox
import Live

/// Options every subcommand shares. Names follow kubectl where kubectl has them.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "kubeconfig context to use.")
    public var context: String?

    @Option(name: [.short, .long], help: "Namespace of the Redis StatefulSet.")
    public var namespace: String = "default"

    @Option(name: .long, help: "Path to the kubeconfig file.")
    public var kubeconfig: String?

    @Option(name: .long, help: "kubectl binary (default: kubectl found on PATH, never the current directory).")
    public var kubectl: String?

    @Option(name: .long, help: "Name of the Redis StatefulSet.")
    public var statefulset: String = "redis"

    @Option(name: .long, help: "Redis pod (default: <statefulset>-0).")
    public var pod: String?

    @Option(name: .long, help: "Redis container in the pod.")
    public var container: String = "redis"

    @Option(name: .customLong("exporter-container"), help: "redis_exporter sidecar container.")
    public var exporterContainer: String = "redis-exporter"

    @Option(name: .long, help: "Refresh interval in seconds.")
    public var refresh: Double = 2

    @Flag(name: .customLong("read-only"), help: "Never run anything that changes the cluster or Redis.")
    public var readOnly: Bool = false

    @Flag(name: .customLong("dry-run"), help: "Show every command; run none that mutate.")
    public var dryRun: Bool = false

    @Flag(name: .customLong("no-color"), help: "No colours (NO_COLOR is respected too).")
    public var noColor: Bool = false

    @Option(name: .customLong("bullmq-prefix"), help: "BullMQ key prefix.")
    public var bullmqPrefix: String = "bull"

    @Option(name: .customLong("redis-password-env"), help: "Env var of the redis container that holds the Redis password (read in the pod with printenv when Redis answers NOAUTH; never on a command line).")
    public var redisPasswordEnv: String = "REDIS_PASSWORD"

    @Option(name: .customLong("runbooks"), help: "A folder of your own runbooks, added to the bundled ones (same id overrides).")
    public var runbooksDir: String?

    @Option(name: .customLong("audit-log"), help: "Incident log path (default under $XDG_STATE_HOME/redis-runbook/incidents/).")
    public var auditLog: String?

    @Flag(name: .long, help: "Use the local sandbox cluster (started if needed).")
    public var sandbox: Bool = false

    @Option(name: .customLong("sandbox-dir"), help: "Sandbox directory (default $XDG_STATE_HOME/redis-runbook/sandbox).")
    public var sandboxDir: String?

    public init() {}

    public var podName: String { pod ?? "\(statefulset)-0" }

    public mutating func validate() throws {
        guard refresh >= 0.2, refresh <= 3600 else {
            throw ValidationError("--refresh must be between 0.2 and 3600 seconds, got \(refresh)")
        }
        if let k = kubectl, k.isEmpty { throw ValidationError("--kubectl must not be empty") }
        // Names end up inside values such as `--field-selector involvedObject.name=POD`: only
        // what Kubernetes itself accepts goes through.
        for (flag, value, label) in [("--namespace", namespace, true), ("--statefulset", statefulset, false), ("--pod", podName, false),
                                     ("--container", container, true), ("--exporter-container", exporterContainer, true)] {
            guard label ? LiveTarget.isDNSLabel(value) : LiveTarget.isDNSSubdomain(value) else {
                let rule = label ? "a DNS-1123 label: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit"
                                 : "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
                throw ValidationError("\(flag) must be \(rule), as Kubernetes requires; got \(String(reflecting: value))")
            }
        }
        guard LiveTarget.isEnvName(redisPasswordEnv) else {
            throw ValidationError("--redis-password-env must be an environment variable name (letters, digits, _), got \(String(reflecting: redisPasswordEnv))")
        }
    }

    /// Colours are off with --no-color or a non-empty NO_COLOR (https://no-color.org).
    public func colorEnabled(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if noColor { return false }
        if let v = environment["NO_COLOR"], !v.isEmpty { return false }
        return true
    }
}

public enum Paths {
    /// ${XDG_STATE_HOME:-~/.local/state}/redis-runbook
    public static func stateHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty {
            return URL(fileURLWithPath: x).appendingPathComponent("redis-runbook")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/state/redis-runbook")
    }
    public static func defaultSandboxDir(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        SandboxLayout.defaultRoot(environment: environment)
    }
    public static func incidentsDir(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        stateHome(environment: environment).appendingPathComponent("incidents")
    }
}
