import Foundation

/// One rule of the tool's judgement: what it asks, how it is measured, where it passes, warns and
/// fails, and the runbook that fixes it. `Rules.table` is the one declared table; the findings,
/// the ADR checks, the dashboard's colours, `status --json`, `check` and the reports all come
/// from it (through `Findings` and `Rules`' verdict functions) and decide nothing themselves.
public struct Rule: Sendable, Equatable {
    public enum Kind: String, Sendable { case adr, finding }
    public let id: String
    public let kind: Kind
    /// What the rule asks, e.g. "appendonly yes".
    public let title: String
    /// How it is measured, e.g. "CONFIG GET appendonly (else INFO aof_enabled)".
    public let measure: String
    public let pass: String
    public let warn: String?
    public let fail: String
    /// The runbook that fixes a failure.
    public let runbook: String
}

public enum Rules {
    public static let table: [Rule] = adr + findings + replication

    /// ADR 0005 (StatefulSet for Redis): the configuration it decided.
    public static let adr: [Rule] = [
        Rule(id: "appendonly", kind: .adr, title: "appendonly yes", measure: "CONFIG GET appendonly (else INFO aof_enabled)",
             pass: "yes", warn: nil, fail: "no", runbook: "config-drift"),
        Rule(id: "appendfsync", kind: .adr, title: "appendfsync everysec", measure: "CONFIG GET appendfsync",
             pass: "everysec", warn: nil, fail: "always or no", runbook: "config-drift"),
        Rule(id: "maxmemory-policy", kind: .adr, title: "maxmemory-policy noeviction", measure: "CONFIG GET maxmemory-policy (else INFO maxmemory_policy)",
             pass: "noeviction (BullMQ needs every key)", warn: nil, fail: "any eviction policy", runbook: "config-drift"),
        Rule(id: "maxmemory-set", kind: .adr, title: "maxmemory set", measure: "INFO maxmemory (else CONFIG GET maxmemory)",
             pass: "> 0", warn: nil, fail: "0 (unset: the container limit is the only limit)", runbook: "memory-pressure"),
        Rule(id: "maxmemory-headroom", kind: .adr, title: "maxmemory <= \(Fmt.pct(FindingRules.maxmemoryOfLimit)) of the container limit",
             measure: "maxmemory / the redis container's memory limit, and the room left against the last fork's copy-on-write",
             pass: "<= \(Fmt.pct(FindingRules.maxmemoryOfLimit)) and the room holds the last fork's CoW; no limit: maxmemory is the limit",
             warn: nil, fail: "above \(Fmt.pct(FindingRules.maxmemoryOfLimit)), the CoW does not fit, or maxmemory unset", runbook: "memory-pressure"),
        Rule(id: "exporter", kind: .adr, title: "exporter sidecar present and up", measure: "the exporter container's readiness and its redis_up",
             pass: "ready and redis_up 1", warn: nil, fail: "missing, not ready or redis_up 0", runbook: "exporter-down"),
    ]

    /// The thresholds of the memory findings (the others are states, not numbers: see `Findings`).
    public static let findings: [Rule] = [
        Rule(id: "memory-pressure", kind: .finding, title: "used_memory under maxmemory", measure: "INFO used_memory / maxmemory",
             pass: "< \(Fmt.pct(FindingRules.usedOfMaxmemoryWarning))", warn: ">= \(Fmt.pct(FindingRules.usedOfMaxmemoryWarning))",
             fail: ">= 100% (writes refused with OOM under noeviction)", runbook: "memory-pressure"),
        Rule(id: "memory-pressure-rss", kind: .finding, title: "RSS under the container limit", measure: "INFO used_memory_rss / the container's memory limit",
             pass: "< \(Fmt.pct(FindingRules.rssOfLimitCritical))", warn: nil,
             fail: ">= \(Fmt.pct(FindingRules.rssOfLimitCritical)) (the kernel OOMKills next)", runbook: "memory-pressure"),
        Rule(id: "maxmemory-too-close-to-limit", kind: .finding, title: "room for a fork under the limit", measure: "maxmemory / limit; last fork CoW vs limit − maxmemory",
             pass: "<= \(Fmt.pct(FindingRules.maxmemoryOfLimit)) and the CoW fits", warn: "above \(Fmt.pct(FindingRules.maxmemoryOfLimit)) or the CoW does not fit",
             fail: "maxmemory >= the limit", runbook: "memory-pressure"),
    ]

    /// A StatefulSet of more than one replica with Sentinel (ReplicationFindings.swift). Runbooks
    /// `sentinel-reset`, `split-brain`, `replica-resync` and `sentinel-failover` are referenced here
    /// before they exist (issue 18, point 4).
    public static let replication: [Rule] = [
        Rule(id: "sentinel-no-quorum", kind: .finding, title: "the Sentinels reach quorum", measure: "SENTINEL CKQUORUM mymaster on every pod's Sentinel",
             pass: "OK on every Sentinel that answers", warn: nil, fail: "NOQUORUM from a Sentinel that answers (none answering: unknown, no finding)", runbook: "sentinel-reset"),
        Rule(id: "sentinel-disagree", kind: .finding, title: "every Sentinel names the same master", measure: "SENTINEL get-master-addr-by-name mymaster",
             pass: "one address", warn: nil, fail: "two or more addresses", runbook: "split-brain"),
        Rule(id: "split-brain", kind: .finding, title: "one master", measure: "INFO replication role on every pod",
             pass: "exactly one role:master", warn: nil, fail: "more than one role:master", runbook: "split-brain"),
        Rule(id: "replica-link-down", kind: .finding, title: "every replica's link is up", measure: "INFO replication master_link_status",
             pass: "up", warn: "down", fail: "down", runbook: "replica-resync"),
        Rule(id: "replica-lag", kind: .finding, title: "replicas within min-replicas-max-lag", measure: "the master's slaveN lag= (else master_last_io_seconds_ago) against CONFIG min-replicas-max-lag",
             pass: "<= min-replicas-max-lag (default \(ReplicationFindings.defaultMaxLagSeconds) s)", warn: "above it", fail: "above it", runbook: "replica-resync"),
        Rule(id: "writes-to-replica", kind: .finding, title: "the plain Service's pod is the master", measure: "role of the pod the tool is pointed at",
             pass: "master", warn: "replica (writes there fail with READONLY)", fail: "replica", runbook: "sentinel-failover"),
        Rule(id: "sentinel-stale-replica", kind: .finding, title: "Sentinels list no dead replica", measure: "SENTINEL replicas mymaster flags",
             pass: "no s_down/o_down replica", warn: "a replica flagged s_down or o_down", fail: "the same", runbook: "sentinel-reset"),
    ]

    public static func rule(_ id: String) -> Rule? { table.first { $0.id == id } }

    // MARK: - Verdicts (the only place these comparisons are made)

    /// used_memory / maxmemory: nil when fine, else the finding's severity.
    public static func usedOfMaxmemory(_ ratio: Double) -> Severity? {
        ratio >= 1 ? .critical : (ratio >= FindingRules.usedOfMaxmemoryWarning ? .warning : nil)
    }

    /// used_memory_rss (or used) / the container limit: nil when fine.
    public static func ofLimit(_ ratio: Double) -> Severity? {
        ratio >= FindingRules.rssOfLimitCritical ? .critical : (ratio > FindingRules.maxmemoryOfLimit ? .warning : nil)
    }

    /// The room under the limit that maxmemory leaves (what a fork's copy-on-write must fit in).
    public static func forkRoom(maxmemory: Int64, limit: Int64) -> Int64 { limit - maxmemory }

    /// The last fork's copy-on-write fits under the limit next to a full maxmemory.
    public static func forkFits(maxmemory: Int64, limit: Int64, cow: Int64) -> Bool { cow < forkRoom(maxmemory: maxmemory, limit: limit) }

    /// maxmemory low enough under the limit (ADR 0005's headroom rule).
    public static func headroomPasses(maxmemory: Int64, limit: Int64, cow: Int64) -> Bool {
        Double(maxmemory) / Double(limit) <= FindingRules.maxmemoryOfLimit && forkFits(maxmemory: maxmemory, limit: limit, cow: cow)
    }

    /// The title of an ADR check or finding rule, from the table.
    static func title(_ id: String) -> String { rule(id)?.title ?? id }
}
