import Foundation
import Yams

/// The shipped Prometheus rules (deploy/alerts/redis.rules.yaml), read for alert name → runbook.
public struct AlertRuleIndex: Sendable {
    public struct Rule: Sendable, Equatable {
        public var alert: String
        public var runbookId: String
        public var severity: String
    }
    public var rules: [Rule]
    public var file: String?

    public func rule(named name: String) -> Rule? { rules.first { $0.alert == name } }

    /// Parses a Prometheus rules file (groups[].rules[] with `alert`, `labels.runbook_id`).
    public static func parse(_ text: String, file: String? = nil) throws -> AlertRuleIndex {
        guard let top = try Yams.load(yaml: text) as? [String: Any], let groups = top["groups"] as? [[String: Any]] else {
            throw AlertPayloadError(file ?? "rules file", "expected a Prometheus rules file (groups:)")
        }
        var out: [Rule] = []
        for g in groups {
            for r in g["rules"] as? [[String: Any]] ?? [] {
                guard let name = r["alert"] as? String else { continue }
                let labels = r["labels"] as? [String: Any] ?? [:]
                guard let id = labels["runbook_id"] as? String else { continue }
                out.append(Rule(alert: name, runbookId: id, severity: labels["severity"] as? String ?? ""))
            }
        }
        return AlertRuleIndex(rules: out, file: file)
    }

    /// alert → summary annotation.
    public static func parseSummaries(_ text: String) throws -> [String: String] {
        guard let top = try Yams.load(yaml: text) as? [String: Any], let groups = top["groups"] as? [[String: Any]] else { return [:] }
        var out: [String: String] = [:]
        for g in groups {
            for r in g["rules"] as? [[String: Any]] ?? [] {
                if let n = r["alert"] as? String, let s = (r["annotations"] as? [String: Any])?["summary"] as? String { out[n] = s }
            }
        }
        return out
    }

    /// Where the rules are: $REDIS_RUNBOOK_ALERT_RULES, else `deploy/alerts/redis.rules.yaml`
    /// found walking up from the executable (the repo checkout), else
    /// `<prefix>/share/redis-runbook/alerts/redis.rules.yaml` (make install).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let e = environment["REDIS_RUNBOOK_ALERT_RULES"], !e.isEmpty { return e }
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            for rel in ["deploy/alerts/redis.rules.yaml", "share/redis-runbook/alerts/redis.rules.yaml"] {
                let p = dir.appendingPathComponent(rel).path
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return nil
    }

    /// The shipped rules, or none (an alert name then cannot be resolved; runbook ids still can).
    public static func load() -> AlertRuleIndex {
        guard let p = locate(), let text = try? String(contentsOfFile: p, encoding: .utf8), let idx = try? parse(text, file: p) else {
            return AlertRuleIndex(rules: [], file: nil)
        }
        return idx
    }
}
