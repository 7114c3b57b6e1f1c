import Foundation

// ReplicationParse: the texts `redis-cli` prints without a terminal (one element a line, nested
// arrays flattened) for ROLE, INFO replication, CONFIG GET, and the Sentinel's
// get-master-addr-by-name, CKQUORUM, replicas and master, read into `ReplicaPodView` and
// `SentinelView` (Replication.swift). Never fails: an error reply or a kubectl message becomes the
// view's `error`. It must not decide anything (no thresholds, no severities) and stays pure.

public enum ReplicationParse {
    /// Role, links, offsets and failover state from `INFO replication` (or a full `INFO`).
    public static func apply(info text: String, to p: inout ReplicaPodView) {
        let info = RedisInfo.parse(text)
        guard let role = info.string("role") else {
            if p.role == nil { p.error = firstLine(text) ?? "no INFO replication" }
            return
        }
        p.error = nil
        p.role = role == "slave" ? "replica" : role
        p.failoverState = info.string("master_failover_state")
        p.goodReplicas = info.int("min_slaves_good_slaves").map { Int($0) }
        if role == "slave" {
            p.masterHost = info.string("master_host")
            p.masterPort = info.int("master_port").map { Int($0) }
            p.masterLinkStatus = info.string("master_link_status")
            p.masterLastIOSecondsAgo = info.int("master_last_io_seconds_ago")
            p.syncInProgress = info.int("master_sync_in_progress").map { $0 != 0 }
            p.replOffset = info.int("slave_repl_offset")
        } else {
            p.replOffset = info.int("master_repl_offset")
            p.connectedReplicas = info.int("connected_slaves").map { Int($0) }
            p.replicas = info.entries.filter { $0.key.hasPrefix("slave") && $0.key.dropFirst(5).allSatisfy(\.isNumber) && !$0.key.dropFirst(5).isEmpty }
                .compactMap { e in
                    let f = fields(e.value)
                    guard let ip = f["ip"] else { return nil }
                    return LinkedReplica(ip: ip, port: f["port"].flatMap { Int($0) }, state: f["state"],
                                         offset: f["offset"].flatMap { Int64($0) }, lag: f["lag"].flatMap { Int64($0) })
                }
        }
    }

    /// `ROLE`: the role when INFO did not say it (a replica's state "connect"/"connecting"/"sync"/
    /// "connected" says whether its link is up).
    public static func apply(role text: String, to p: inout ReplicaPodView) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first, ["master", "slave", "sentinel"].contains(first) else {
            if p.role == nil, p.error == nil { p.error = firstLine(text) }
            return
        }
        guard p.role == nil else { return }
        p.error = nil
        p.role = first == "slave" ? "replica" : first
        if first == "slave", lines.count >= 5 {
            p.masterHost = lines[1]; p.masterPort = Int(lines[2])
            p.masterLinkStatus = lines[3] == "connected" ? "up" : "down"
            p.replOffset = Int64(lines[4])
        } else if first == "master", lines.count >= 2 {
            p.replOffset = Int64(lines[1])
        }
    }

    /// CONFIG GET replies for `min-replicas-to-write` and `min-replicas-max-lag`.
    public static func apply(config: [String: String], to p: inout ReplicaPodView) {
        p.minReplicasToWrite = (config["min-replicas-to-write"] ?? config["min-slaves-to-write"]).flatMap { Int($0) }
        p.minReplicasMaxLag = (config["min-replicas-max-lag"] ?? config["min-slaves-max-lag"]).flatMap { Int($0) }
    }

    /// One Sentinel's answers; nil texts were not asked. `error`: the session failed.
    public static func sentinel(addr: String?, ckquorum: String?, replicas: String?, master: String?, error: String? = nil) -> SentinelView {
        var s = SentinelView()
        s.error = error
        if let a = addr {
            let l = lines(a)
            if l.count >= 2, Int(l[1]) != nil, !l[0].isEmpty { s.masterAddress = "\(l[0]):\(l[1])" }
            else if s.error == nil, let e = l.first, isErrorText(e) { s.error = e }
        }
        if let q = ckquorum, let line = lines(q).first {
            if line.hasPrefix("OK") { s.quorumOK = true; s.quorumText = line }
            else if line.hasPrefix("NOQUORUM") { s.quorumOK = false; s.quorumText = line }
            else if s.error == nil, isErrorText(line) { s.error = line }
        }
        if let r = replicas {
            var current: [String: String] = [:]
            func flush() {
                if let n = current["name"] {
                    s.replicas.append(SentinelReplica(name: n, flags: (current["flags"] ?? "").split(separator: ",").map(String.init)))
                }
                current = [:]
            }
            for (k, v) in pairs(r) {
                if k == "name" { flush() }
                current[k] = v
            }
            flush()
        }
        if let m = master {
            let kv = Dictionary(pairs(m), uniquingKeysWith: { a, _ in a })
            s.quorum = kv["quorum"].flatMap { Int($0) }
            s.otherSentinels = kv["num-other-sentinels"].flatMap { Int($0) }
            s.masterFlags = kv["flags"]
            s.failoverState = kv["failover-state"]
            let flags = (kv["flags"] ?? "").split(separator: ",")
            s.failoverInProgress = flags.contains("failover_in_progress") || (kv["failover-state"].map { $0 != "none" && !$0.isEmpty } ?? false)
        }
        return s
    }

    /// A flat reply of alternating keys and values (`SENTINEL master`, `SENTINEL replicas`).
    static func pairs(_ text: String) -> [(String, String)] {
        let l = lines(text)
        return stride(from: 0, to: l.count - 1, by: 2).map { (l[$0], l[$0 + 1]) }
    }

    /// The reply's lines without the blank lines around it (in a session redis-cli prints one
    /// after the previous marker's error reply). An empty element inside stays (an empty value).
    static func lines(_ text: String) -> [String] {
        let l = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .drop { $0.isEmpty }
        return Array(l.reversed().drop { $0.isEmpty }.reversed())
    }

    /// `a=1,b=2` sub-fields.
    static func fields(_ v: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in v.split(separator: ",") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            out[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return out
    }

    static func isErrorText(_ l: String) -> Bool {
        let first = l.split(separator: " ").first.map(String.init) ?? ""
        return first == first.uppercased() && first.count >= 3 && first.allSatisfy(\.isLetter) || l.hasPrefix("error:") || l.hasPrefix("Error")
    }

    static func firstLine(_ text: String) -> String? {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }
}
