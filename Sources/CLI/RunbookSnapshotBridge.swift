import Foundation
import ProcessRunner
import Runbooks

/// Supplies the live-snapshot lookup that runbook conditions read (`pod.ready`,
/// `persistence.aofLastWriteStatus`, ...). The lead wires the real prober in here.
public protocol SnapshotSource: Sendable {
    /// A fresh lookup: dotted snapshot path -> value ("true"/"false", decimal numbers, text),
    /// nil when unknown.
    func lookup() async -> @Sendable (String) -> String?
    /// Text recorded in the incident log before and after each mutating step (INFO output).
    func infoText() async -> String
}

/// TEMPORARY bridge until the live prober is wired in: asks kubectl for the pod JSON and
/// `redis-cli INFO` itself and answers the common paths (pod.*, persistence.*, memory.*,
/// config.dir, keyspace.dbN, redisState). Replace with Diagnosis' SnapshotPaths over the
/// live snapshot.
public struct TemporaryKubectlSnapshotSource: SnapshotSource {
    public let runner: Runner
    public let kubectl: String
    public let globalArgs: [String]
    public let pod: String
    public let container: String

    public init(runner: Runner, kubectl: String, globalArgs: [String], pod: String, container: String) {
        self.runner = runner; self.kubectl = kubectl; self.globalArgs = globalArgs; self.pod = pod; self.container = container
    }

    public func infoText() async -> String {
        let r = await runner.run(CommandSpec([kubectl] + globalArgs + ["exec", pod, "-c", container, "--", "redis-cli", "INFO"],
                                             timeout: .seconds(10), label: "runbook:snapshot"))
        return r.succeeded ? r.stdoutText : "INFO unavailable: \(r.termination) \(r.stderrText.prefix(300))"
    }

    public func lookup() async -> @Sendable (String) -> String? {
        var values: [String: String] = [:]
        let podRes = await runner.run(CommandSpec([kubectl] + globalArgs + ["get", "pod", pod, "-o", "json"], timeout: .seconds(10), label: "runbook:snapshot"))
        if podRes.succeeded, let obj = try? JSONSerialization.jsonObject(with: podRes.stdout) as? [String: Any] {
            let status = obj["status"] as? [String: Any] ?? [:]
            let spec = obj["spec"] as? [String: Any] ?? [:]
            values["pod.name"] = pod
            if let phase = status["phase"] as? String { values["pod.phase"] = phase }
            if let node = spec["nodeName"] as? String { values["pod.node"] = node }
            if let reason = status["reason"] as? String { values["pod.reason"] = reason }
            values["pod.terminating"] = ((obj["metadata"] as? [String: Any])?["deletionTimestamp"] != nil) ? "true" : "false"
            if let conds = status["conditions"] as? [[String: Any]], let ready = conds.first(where: { $0["type"] as? String == "Ready" }) {
                values["pod.ready"] = (ready["status"] as? String) == "True" ? "true" : "false"
            } else { values["pod.ready"] = "false" }
            var restarts = 0
            for cs in status["containerStatuses"] as? [[String: Any]] ?? [] {
                guard let name = cs["name"] as? String else { continue }
                let r = cs["restartCount"] as? Int ?? 0
                restarts += r
                values["pod.containers.\(name).ready"] = (cs["ready"] as? Bool ?? false) ? "true" : "false"
                values["pod.containers.\(name).restarts"] = String(r)
                if let st = cs["state"] as? [String: Any], let (k, v) = st.first {
                    values["pod.containers.\(name).state"] = k
                    if let reason = (v as? [String: Any])?["reason"] as? String { values["pod.containers.\(name).reason"] = reason }
                }
                if let t = (cs["lastState"] as? [String: Any])?["terminated"] as? [String: Any] {
                    if let reason = t["reason"] as? String { values["pod.containers.\(name).lastTermination.reason"] = reason }
                    if let code = t["exitCode"] as? Int { values["pod.containers.\(name).lastTermination.exitCode"] = String(code) }
                }
            }
            values["pod.restarts"] = String(restarts)
            for c in spec["containers"] as? [[String: Any]] ?? [] where c["name"] as? String == container {
                if let lim = ((c["resources"] as? [String: Any])?["limits"] as? [String: Any])?["memory"] as? String,
                   let bytes = Self.quantityBytes(lim) {
                    values["pod.redisMemoryLimitBytes"] = String(bytes)
                    values["memory.limitBytes"] = String(bytes)
                }
            }
        }
        let infoRes = await runner.run(CommandSpec([kubectl] + globalArgs + ["exec", pod, "-c", container, "--", "redis-cli", "INFO"],
                                                   timeout: .seconds(10), label: "runbook:snapshot"))
        if infoRes.succeeded {
            var info: [String: String] = [:]
            for line in infoRes.stdoutText.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
                guard let c = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
                info[String(line[..<c])] = String(line[line.index(after: c)...])
            }
            func bool(_ k: String) -> String? { info[k].map { $0 == "1" ? "true" : "false" } }
            let map: [(String, String?)] = [
                ("persistence.loading", bool("loading")),
                ("persistence.loadingPercent", info["loading_loaded_perc"]),
                ("persistence.loadingEtaSeconds", info["loading_eta_seconds"]),
                ("persistence.aofEnabled", bool("aof_enabled")),
                ("persistence.aofLastWriteStatus", info["aof_last_write_status"]),
                ("persistence.aofLastBgrewriteStatus", info["aof_last_bgrewrite_status"]),
                ("persistence.aofRewriteInProgress", bool("aof_rewrite_in_progress")),
                ("persistence.aofRewriteScheduled", bool("aof_rewrite_scheduled")),
                ("persistence.aofCurrentSizeBytes", info["aof_current_size"]),
                ("persistence.aofBaseSizeBytes", info["aof_base_size"]),
                ("persistence.rdbLastBgsaveStatus", info["rdb_last_bgsave_status"]),
                ("persistence.rdbBgsaveInProgress", bool("rdb_bgsave_in_progress")),
                ("persistence.rdbLastSaveTime", info["rdb_last_save_time"]),
                ("memory.usedBytes", info["used_memory"]),
                ("memory.rssBytes", info["used_memory_rss"]),
                ("memory.peakBytes", info["used_memory_peak"]),
                ("memory.maxmemoryBytes", info["maxmemory"]),
                ("memory.policy", info["maxmemory_policy"]),
                ("memory.fragmentationRatio", info["mem_fragmentation_ratio"]),
                ("memory.evictedKeys", info["evicted_keys"]),
                ("memory.oomRejections", info["errorstat_OOM"].flatMap { $0.split(separator: "=").last.map(String.init) } ?? "0"),
                ("redisVersion", info["redis_version"]),
            ]
            for (k, v) in map { if let v { values[k] = v } }
            for (k, v) in info where k.hasPrefix("db") {
                if let keys = v.split(separator: ",").first?.split(separator: "=").last { values["keyspace.\(k)"] = String(keys) }
            }
            if values["keyspace.db0"] == nil, info["redis_version"] != nil { values["keyspace.db0"] = "0" }
            values["redisState"] = info["loading"] == "1" ? "loading" : "ok"
        } else {
            let text = infoRes.stdoutText + infoRes.stderrText
            values["redisState"] = text.contains("LOADING") ? "loading" : "unreachable"
        }
        let cfg = await runner.run(CommandSpec([kubectl] + globalArgs + ["exec", pod, "-c", container, "--", "redis-cli", "CONFIG", "GET", "dir"],
                                               timeout: .seconds(10), label: "runbook:snapshot"))
        if cfg.succeeded {
            let lines = cfg.stdoutText.split(separator: "\n").map(String.init)
            if lines.count >= 2, lines[0] == "dir" { values["config.dir"] = lines[1] }
        }
        let frozen = values
        return { frozen[$0] }
    }

    /// Kubernetes quantity (e.g. 512Mi, 1Gi, 500M, 1073741824) to bytes.
    static func quantityBytes(_ q: String) -> Int64? {
        let units: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        for (u, m) in units where q.hasSuffix(u) {
            guard let v = Double(q.dropLast(u.count)) else { return nil }
            return Int64(v * m)
        }
        return Int64(q)
    }
}
