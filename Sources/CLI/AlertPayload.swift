import Common
import Foundation
import Live

/// A bad Alertmanager payload, naming the field (`alerts[2].labels.namespace`) and what it
/// should have been.
public struct AlertPayloadError: Error, CustomStringConvertible, Equatable {
    public var field: String
    public var problem: String
    public var description: String { "alert payload: \(field): \(problem)" }
    public init(_ field: String, _ problem: String) { self.field = field; self.problem = problem }
}

/// One alert of an Alertmanager webhook payload (version 4), the fields this tool reads.
public struct ReceivedAlert: Sendable, Equatable {
    public var index: Int
    public var status: String
    public var labels: [String: String]
    public var annotations: [String: String]
    public var alertname: String { labels["alertname"] ?? "" }
    public var severity: String { labels["severity"] ?? "" }
}

/// The Alertmanager webhook payload, version 4
/// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
public struct AlertmanagerPayload: Sendable, Equatable {
    public var receiver: String?
    public var status: String?
    public var alerts: [ReceivedAlert]

    /// Severity order, most urgent first; anything else ranks after these.
    public static let severityOrder = ["critical", "error", "warning", "info", "none"]

    public static func parse(_ data: Data) throws -> AlertmanagerPayload {
        guard !data.isEmpty, !String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw AlertPayloadError("(input)", "empty; expected an Alertmanager webhook payload (JSON, version 4) on standard input")
        }
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw AlertPayloadError("(input)", "not JSON (\(Self.jsonMessage(error))); expected an Alertmanager webhook payload (version 4)")
        }
        guard let top = obj as? [String: Any] else { throw AlertPayloadError("(top level)", "expected a JSON object, got \(kind(obj))") }
        guard let v = top["version"] else { throw AlertPayloadError("version", "missing; expected \"4\" (Alertmanager webhook payload version)") }
        guard let vs = v as? String else { throw AlertPayloadError("version", "expected the string \"4\", got \(kind(v))") }
        guard vs == "4" else { throw AlertPayloadError("version", "\(String(reflecting: vs)) is not supported; expected \"4\"") }
        guard let a = top["alerts"] else { throw AlertPayloadError("alerts", "missing; expected an array of alerts") }
        guard let list = a as? [Any] else { throw AlertPayloadError("alerts", "expected an array, got \(kind(a))") }
        guard !list.isEmpty else { throw AlertPayloadError("alerts", "empty; expected at least one alert") }
        var alerts: [ReceivedAlert] = []
        for (i, item) in list.enumerated() {
            let f = "alerts[\(i)]"
            guard let o = item as? [String: Any] else { throw AlertPayloadError(f, "expected an object, got \(kind(item))") }
            guard let st = o["status"] else { throw AlertPayloadError("\(f).status", "missing; expected \"firing\" or \"resolved\"") }
            guard let status = st as? String, status == "firing" || status == "resolved" else {
                throw AlertPayloadError("\(f).status", "expected \"firing\" or \"resolved\", got \(describe(st))")
            }
            guard let l = o["labels"] else { throw AlertPayloadError("\(f).labels", "missing; expected an object of label names to strings") }
            let labels = try stringMap(l, "\(f).labels")
            guard let name = labels["alertname"], !name.isEmpty else { throw AlertPayloadError("\(f).labels.alertname", "missing; every Prometheus alert has one") }
            let annotations = try o["annotations"].map { try stringMap($0, "\(f).annotations") } ?? [:]
            alerts.append(ReceivedAlert(index: i, status: status, labels: labels, annotations: annotations))
        }
        return AlertmanagerPayload(receiver: top["receiver"] as? String, status: top["status"] as? String, alerts: alerts)
    }

    /// The firing alert to open: the highest severity, then the first in the payload.
    public func mostSevereFiring() throws -> ReceivedAlert {
        let firing = alerts.filter { $0.status == "firing" }
        guard !firing.isEmpty else {
            throw AlertPayloadError("alerts[].status", "no alert is firing (\(alerts.count) resolved); nothing to open")
        }
        func rank(_ a: ReceivedAlert) -> Int { Self.severityOrder.firstIndex(of: a.severity.lowercased()) ?? Self.severityOrder.count }
        return firing.min { (rank($0), $0.index) < (rank($1), $1.index) }!
    }

    static func stringMap(_ v: Any, _ field: String) throws -> [String: String] {
        guard let o = v as? [String: Any] else { throw AlertPayloadError(field, "expected an object, got \(kind(v))") }
        var out: [String: String] = [:]
        for (k, val) in o {
            guard let s = val as? String else { throw AlertPayloadError("\(field).\(k)", "expected a string, got \(kind(val))") }
            out[k] = s
        }
        return out
    }

    static func kind(_ v: Any) -> String {
        switch v {
        case is String: return "a string"
        case is NSNull: return "null"
        case let n as NSNumber: return String(cString: n.objCType) == "c" ? "a boolean" : "a number"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "\(type(of: v))"
        }
    }
    static func describe(_ v: Any) -> String { (v as? String).map { String(reflecting: $0) } ?? kind(v) }
    static func jsonMessage(_ e: Error) -> String {
        let ns = e as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}

/// Where an alert points: the runbook and the Redis it is about.
public struct AlertTarget: Sendable, Equatable {
    public var runbookId: String
    public var alertname: String?
    public var severity: String?
    public var context: String?
    public var namespace: String?
    public var statefulset: String?
    public var pod: String?

    /// Target from a received alert's labels. `clusterContexts` maps a `cluster` label value to a
    /// kubeconfig context; `findRunbook` resolves an alert name to a runbook id (rules file)
    /// when the alert carries no `runbook_id` label; `isRunbook` says whether a runbook exists.
    public static func from(_ alert: ReceivedAlert, clusterContexts: [String: String],
                            findRunbook: (String) -> String?, isRunbook: (String) -> Bool) throws -> AlertTarget {
        let f = "alerts[\(alert.index)].labels"
        let rb: String
        if let id = alert.labels["runbook_id"] {
            guard isRunbook(id) else { throw AlertPayloadError("\(f).runbook_id", "\(String(reflecting: id)) is not a runbook this tool knows (see `redis-runbook runbook list`)") }
            rb = id
        } else if let id = findRunbook(alert.alertname) {
            rb = id
        } else {
            throw AlertPayloadError("\(f).runbook_id", "missing, and alert \(String(reflecting: alert.alertname)) is not in the shipped rules (deploy/alerts/redis.rules.yaml); add a runbook_id label to the rule")
        }
        var t = AlertTarget(runbookId: rb, alertname: alert.alertname, severity: alert.labels["severity"])
        if let ns = alert.labels["namespace"] {
            guard Target.isDNSLabel(ns) else { throw AlertPayloadError("\(f).namespace", "\(String(reflecting: ns)) is not a Kubernetes namespace name (DNS-1123 label)") }
            t.namespace = ns
        }
        if let p = alert.labels["pod"] {
            guard Target.isDNSSubdomain(p) else { throw AlertPayloadError("\(f).pod", "\(String(reflecting: p)) is not a Kubernetes pod name (DNS-1123 subdomain)") }
            t.pod = p
        }
        if let s = alert.labels["statefulset"] {
            guard Target.isDNSSubdomain(s) else { throw AlertPayloadError("\(f).statefulset", "\(String(reflecting: s)) is not a StatefulSet name (DNS-1123 subdomain)") }
            t.statefulset = s
        }
        if let c = alert.labels["cluster"] {
            guard let ctx = clusterContexts[c] else {
                let known = clusterContexts.keys.sorted()
                throw AlertPayloadError("\(f).cluster", "\(String(reflecting: c)) has no kubeconfig context: pass --cluster-context \(c)=CONTEXT" + (known.isEmpty ? "" : " (mapped: \(known.joined(separator: ", ")))"))
            }
            t.context = ctx
        }
        return t
    }
}
