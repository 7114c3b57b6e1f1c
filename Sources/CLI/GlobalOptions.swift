import Common
import ArgumentParser
import Foundation
import Live

/// Options every subcommand shares. Names follow kubectl where kubectl has them.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "kubeconfig context to use.")
    public var context: String?

    @Option(name: [.short, .long], help: "Namespace of the Redis StatefulSet.")
    public var namespace: String = "default"

    @Option(name: .long, help: "Path to the kubeconfig file.")
    public var kubeconfig: String?

    @Option(name: .customLong("request-timeout"), help: ArgumentHelp("kubectl's --request-timeout for every kubectl call (e.g. 10s, 1m, 0 = none).", valueName: "duration"))
    public var requestTimeout: String?

    @Option(name: .customLong("as"), help: ArgumentHelp("kubectl's --as: impersonate this user for every kubectl call.", valueName: "user"))
    public var asUser: String?

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

    @Flag(name: .long, help: "Use the local sandbox cluster: its kubeconfig (DIR/kubeconfig), started if needed.")
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
        if let k = kubeconfig, k.isEmpty { throw ValidationError("--kubeconfig must not be empty") }
        if let c = context, c.isEmpty { throw ValidationError("--context must not be empty") }
        if let t = requestTimeout, !GlobalOptions.isKubectlDuration(t) {
            throw ValidationError("--request-timeout must be a duration as kubectl takes it: a number of seconds or a number with a unit (ns, us, ms, s, m, h), e.g. 10s or 1m30s; got \(String(reflecting: t))")
        }
        if let a = asUser, a.isEmpty || a.hasPrefix("-") {
            throw ValidationError("--as must be a user name (not empty, not starting with '-'); got \(String(reflecting: a))")
        }
        // Names end up inside values such as `--field-selector involvedObject.name=POD`: only
        // what Kubernetes itself accepts goes through.
        for (flag, value, label) in [("--namespace", namespace, true), ("--statefulset", statefulset, false), ("--pod", podName, false),
                                     ("--container", container, true), ("--exporter-container", exporterContainer, true)] {
            guard label ? Target.isDNSLabel(value) : Target.isDNSSubdomain(value) else {
                let rule = label ? "a DNS-1123 label: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit"
                                 : "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
                throw ValidationError("\(flag) must be \(rule), as Kubernetes requires; got \(String(reflecting: value))")
            }
        }
        guard Target.isEnvName(redisPasswordEnv) else {
            throw ValidationError("--redis-password-env must be an environment variable name (letters, digits, _), got \(String(reflecting: redisPasswordEnv))")
        }
    }

    /// kubectl's --request-timeout values: "0", "30" (seconds) or Go durations such as "1m30s", "500ms".
    public static func isKubectlDuration(_ s: String) -> Bool {
        if !s.isEmpty, s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber) { return true }
        var rest = Substring(s)
        guard !rest.isEmpty else { return false }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number.first != ".", number.last != "." else { return false }
            rest = rest.dropFirst(number.count)
            guard let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].first(where: { u in rest.hasPrefix(u) && !(u == "m" && rest.hasPrefix("ms")) }) else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
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
    /// The default sandbox directory (the same rule as `redis-runbook-sandbox --dir`'s default).
    public static func defaultSandboxDir(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        stateHome(environment: environment).appendingPathComponent("sandbox")
    }
    public static func incidentsDir(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        stateHome(environment: environment).appendingPathComponent("incidents")
    }
}
