import ArgumentParser
import Foundation
import Runbooks

/// `redis-runbook alert NAME|RUNBOOK_ID|-`: from an alert to its runbook, on the Redis it names.
public struct AlertCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Open the dashboard on the runbook of an alert (alert name, runbook id, or - for an Alertmanager payload on stdin).",
        discussion: """
        NAME is an alert of deploy/alerts/redis.rules.yaml (e.g. RedisDown), a runbook id \
        (e.g. memory-pressure) or a dashboard finding id (e.g. oom-rejections). With -, an \
        Alertmanager webhook payload (version 4 JSON) is read from standard input: the \
        highest-severity firing alert is opened, its runbook_id label names the runbook, and its \
        namespace, pod and statefulset labels (and the cluster label, through \
        --cluster-context) choose the Redis, overriding -n, --pod, --statefulset and --context.
        """
    )
    @OptionGroup public var global: GlobalOptions

    @Argument(help: ArgumentHelp("Alert name, runbook id or finding id; - reads an Alertmanager webhook payload from stdin.", valueName: "name|runbook-id|-"))
    public var name: String

    @Option(name: .customLong("cluster-context"), help: ArgumentHelp("Map an alert's cluster label to a kubeconfig context (repeatable).", valueName: "cluster=context"))
    public var clusterContexts: [String] = []

    @Flag(name: .long, help: "Print the alert, the target and the runbook instead of opening the dashboard.")
    public var print = false

    public init() {}

    public func validate() throws {
        _ = try clusterContextMap()
    }

    func clusterContextMap() throws -> [String: String] {
        var m: [String: String] = [:]
        for s in clusterContexts {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex, s.index(after: eq) != s.endIndex else {
                throw ValidationError("--cluster-context expects CLUSTER=CONTEXT, got \(String(reflecting: s))")
            }
            m[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        return m
    }

    public func run() async throws {
        let lib = loadLibrary(global)
        let rules = AlertRuleIndex.load()
        var target: AlertTarget
        if name == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            do {
                let payload = try AlertmanagerPayload.parse(data)
                let alert = try payload.mostSevereFiring()
                target = try AlertTarget.from(alert, clusterContexts: try clusterContextMap(),
                                              findRunbook: { rules.rule(named: $0)?.runbookId },
                                              isRunbook: { lib.runbook(id: $0) != nil })
            } catch let e as AlertPayloadError {
                throw ValidationError(e.description)
            }
        } else {
            target = try AlertCommand.resolve(name, library: lib, rules: rules)
        }
        var g = global
        if let c = target.context { g.context = c }
        if let n = target.namespace { g.namespace = n }
        if let s = target.statefulset { g.statefulset = s }
        if let p = target.pod { g.pod = p }
        try g.validate()
        let rb = try requireRunbook(lib, target.runbookId)
        if print {
            Swift.print(AlertCommand.summary(target, runbook: rb, global: g))
            Swift.print("")
            Swift.print(RunbookMarkdown.export(rb))
            return
        }
        try await g.ensureSandboxIfRequested()
        if name == "-" && isatty(STDIN_FILENO) != 1 {
            // The payload came on stdin; the dashboard reads keys from the terminal.
            let fd = open("/dev/tty", O_RDWR)
            guard fd >= 0 else { throw ValidationError("the payload was read from stdin and there is no terminal (/dev/tty) for the dashboard; use --print") }
            dup2(fd, STDIN_FILENO)
            close(fd)
        }
        try await TUICommand.open(global: g, runbook: rb)
    }

    /// NAME → runbook: a runbook id, an alert of the shipped rules, or a finding id a runbook answers.
    static func resolve(_ name: String, library: RunbookLibrary, rules: AlertRuleIndex) throws -> AlertTarget {
        if library.runbook(id: name) != nil { return AlertTarget(runbookId: name) }
        if let r = rules.rule(named: name) { return AlertTarget(runbookId: r.runbookId, alertname: r.alert, severity: r.severity) }
        if let rb = library.runbooks.first(where: { $0.when.contains(name) }) { return AlertTarget(runbookId: rb.id) }
        var known = "runbooks: " + library.runbooks.map(\.id).joined(separator: ", ")
        if !rules.rules.isEmpty { known += "; alerts: " + rules.rules.map(\.alert).joined(separator: ", ") }
        else { known += "; no alert rules file found (set REDIS_RUNBOOK_ALERT_RULES)" }
        throw ValidationError("\(String(reflecting: name)) is neither a runbook id, an alert of the shipped rules nor a finding id. Known \(known)")
    }

    static func summary(_ t: AlertTarget, runbook rb: Runbook, global g: GlobalOptions) -> String {
        var lines: [String] = []
        if let a = t.alertname { lines.append("alert: \(a)\(t.severity.map { " (\($0))" } ?? "")") }
        lines.append("runbook: \(rb.id): \(rb.title)")
        lines.append("target: context \(g.context ?? "(current)"), namespace \(g.namespace), statefulset \(g.statefulset), pod \(g.podName)")
        return lines.joined(separator: "\n")
    }
}
