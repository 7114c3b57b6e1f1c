import Foundation

/// `redis-runbook check`: the snapshot as a Nagios plugin result.
public struct CheckReport: Sendable, Equatable {
    public enum Status: String, Sendable { case ok = "OK", warning = "WARNING", critical = "CRITICAL", unknown = "UNKNOWN" }
    public var status: Status
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    public var exitCode: Int32
    /// First line `REDIS <STATUS> - <summary>`, then one line per finding and failing ADR item.
    public var text: String

    /// CRITICAL if any critical finding; else UNKNOWN when neither the pod nor Redis could be read
    /// (or Redis could not be read and no finding explains why); else WARNING for any warning; else OK.
    /// Info findings never raise the status.
    public static func make(_ s: Snapshot) -> CheckReport {
        let findings = s.findings.isEmpty ? Findings.evaluate(s) : s.findings
        let crit = findings.filter { $0.severity == .critical }
        let warn = findings.filter { $0.severity == .warning }
        let redisRead = s.redisVersion != nil || s.redisState != nil
        let podRead = s.pod != nil
        let status: Status
        // A cluster that cannot be read is no evidence about Redis: UNKNOWN, never CRITICAL.
        let clusterDown = s.cluster.map { !$0.isReachable && $0.state != .forbidden } ?? false
        // Redis not read because this user may not exec into the pod: nothing is known about
        // Redis (never "Redis down"); what the pod itself shows may still be critical.
        let denied = s.redisDenied
        if clusterDown { status = .unknown }
        else if !crit.isEmpty { status = .critical }
        else if denied != nil && s.redisVersion == nil { status = .unknown }
        else if !redisRead && (!podRead || warn.isEmpty) { status = .unknown }
        else if !warn.isEmpty { status = .warning }
        else { status = .ok }

        var summary: String
        switch status {
        case .critical, .warning:
            let top = (crit.first ?? warn.first)!
            var counts: [String] = []
            if !crit.isEmpty { counts.append("\(crit.count) critical") }
            if !warn.isEmpty { counts.append("\(warn.count) warning") }
            summary = "\(top.summary) (\(counts.joined(separator: ", ")))"
        case .unknown where clusterDown:
            summary = "cannot read the cluster (\(s.cluster!.state.rawValue)): \(s.cluster!.message ?? "no answer")"
            if let since = s.cluster?.since { summary += " since \(since)" }
        case .unknown where denied != nil:
            summary = denied!.plain + "; kubectl: " + denied!.kubectlMessage
        case .unknown:
            let errs = s.errors.map { "\($0.source): \($0.message)" }
            summary = "could not read Redis" + (errs.isEmpty ? "" : ": " + errs.joined(separator: "; "))
        case .ok:
            var parts: [String] = []
            if let st = s.redisState { parts.append("redis \(st)") }
            if let u = s.memory.usedBytes { parts.append("used \(Fmt.size(u))") }
            if let m = s.memory.maxmemoryBytes, m > 0 { parts.append("maxmemory \(Fmt.size(m))") }
            if let l = s.memory.limitBytes { parts.append("limit \(Fmt.size(l))") }
            summary = parts.isEmpty ? "no problems found" : parts.joined(separator: ", ")
        }
        summary = summary.replacingOccurrences(of: "\n", with: " ")
        var lines = ["REDIS \(status.rawValue) - \(summary)"]
        if clusterDown, !findings.isEmpty {
            lines.append("STALE findings last computed from live data at \(s.cluster?.findingsFrom ?? "?")")
        }
        for f in findings {
            lines.append("\(f.severity.rawValue.uppercased()) \(f.id): \(f.summary) [\(f.evidence.replacingOccurrences(of: "\n", with: " "))]\(f.runbook.map { " runbook=\($0)" } ?? "")\(f.because.map { " because=\($0)" } ?? "")")
        }
        let adr = s.adr.isEmpty ? Findings.adrChecks(s) : s.adr
        for a in adr where a.status != .pass {
            lines.append("ADR \(a.status.rawValue) \(a.id): \(a.title) (\(a.detail))")
        }
        for e in s.errors { lines.append("ERROR \(e.source): \(e.message)") }
        let code: Int32 = switch status { case .ok: 0; case .warning: 1; case .critical: 2; case .unknown: 3 }
        return CheckReport(status: status, exitCode: code, text: lines.map(PrintSafe.line).joined(separator: "\n") + "\n")
    }
}

/// Text printed straight to a terminal (`status`, `check`) carries values from the cluster and
/// from Redis (pod reasons, INFO fields, error replies): every control character (C0 including
/// newline, DEL, C1) becomes a visible stand-in, so no escape sequence reaches the terminal.
enum PrintSafe {
    static func line(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            if u.value < 0x20 { out.append(Unicode.Scalar(0x2400 + u.value)!) }      // ␛ ␇ ␍ ...
            else if u.value == 0x7F { out.append("\u{2421}") }                       // ␡
            else if isControl(u) { out.append("\u{FFFD}") }                          // C1, bidi overrides
            else { out.append(u) }
        }
        return String(out)
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }
}

/// `redis-runbook status` without `--json`: a compact human summary.
public enum StatusText {
    public static func render(_ s: Snapshot) -> String {
        var out: [String] = []
        let check = CheckReport.make(s)
        out.append("Redis \(check.status.rawValue)" + (s.takenAt.map { " at \($0)" } ?? "") + (s.namespace.map { "  namespace \($0)" } ?? "") + (s.context.map { "  context \($0)" } ?? ""))
        if let p = s.pod {
            var l = "Pod     \(p.name): \(p.phase ?? "?"), ready \(yn(p.ready)), restarts \(p.restarts.map(String.init) ?? "?"), node \(p.node ?? "?") (\(p.nodeReady == nil ? "?" : p.nodeReady! ? "Ready" : "NotReady"))"
            if let r = p.reason { l += ", reason \(r)" }
            out.append(l)
            for c in p.containers {
                var cl = "  \(c.name): \(c.state ?? "?")\(c.reason.map { " \($0)" } ?? ""), ready \(yn(c.ready)), restarts \(c.restarts.map(String.init) ?? "?")"
                if let t = c.lastTermination { cl += ", last exit \(t.exitCode.map(String.init) ?? "?") \(t.reason ?? "")\(t.finishedAt.map { " at \($0)" } ?? "")" }
                out.append(cl)
            }
        } else {
            out.append("Pod     unknown")
        }
        var r = "Redis   \(s.redisState ?? "unknown")"
        if let v = s.redisVersion { r += ", version \(v)" }
        if let sv = s.redisServer { r += " (\(sv))" }
        if let e = s.redisError, s.redisState != "ok" { r += ": \(e)" }
        if s.redisState == nil, let d = s.redisDenied { r = "Redis   not readable: \(d.plain)" }
        out.append(r)
        let m = s.memory
        var ml = "Memory  used \(m.usedBytes.map(Fmt.size) ?? "?"), rss \(m.rssBytes.map(Fmt.size) ?? "?"), peak \(m.peakBytes.map(Fmt.size) ?? "?")"
        if let mx = m.maxmemoryBytes { ml += ", maxmemory \(mx == 0 ? "unset: the container limit is the only limit" : Fmt.size(mx))" } else { ml += ", maxmemory ?" }
        ml += ", limit \(m.limitBytes.map(Fmt.size) ?? "none/unknown"), policy \(m.policy ?? "?")"
        if let o = m.oomRejections { ml += ", OOM rejections \(o)" }
        out.append(ml)
        let p = s.persistence
        var pl = "Persist AOF \(p.aofEnabled == nil ? "?" : p.aofEnabled! ? "on" : "off"), fsync \(p.appendfsync ?? "?"), write \(p.aofLastWriteStatus ?? "?"), rewrite \(p.aofLastBgrewriteStatus ?? "?"), bgsave \(p.rdbLastBgsaveStatus ?? "?")"
        if p.loading == true { pl += ", LOADING \(p.loadingPercent.map { Fmt.num($0) + "%" } ?? "")" }
        out.append(pl)
        let c = s.clients
        out.append("Clients connected \(c.connected.map(String.init) ?? "?"), blocked \(c.blocked.map(String.init) ?? "?"), ops/s \(c.opsPerSec.map(String.init) ?? "?"), keys \(s.keyspace.isEmpty ? "?" : s.keyspace.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        if s.exporter.up == nil, let d = s.denied.first(where: { $0.source == "exporter" }) {
            out.append("Export  not readable: \(d.plain)")
        } else {
            out.append("Export  \(s.exporter.present == false ? "no exporter container" : s.exporter.up == nil ? "unknown" : s.exporter.up! ? "redis_up 1" : "redis_up 0")")
        }
        for q in s.queues {
            func v(_ x: Int64?) -> String { x.map(String.init) ?? "?" }
            out.append("Queue   \(q.prefix):\(q.name) waiting \(v(q.waiting))\(q.waitingDelta.map { " (\($0 >= 0 ? "+" : "")\($0))" } ?? "") active \(v(q.active)) delayed \(v(q.delayed)) prioritized \(v(q.prioritized)) failed \(v(q.failed)) completed \(v(q.completed)) paused \(v(q.paused)) waiting-children \(v(q.waitingChildren))")
        }
        if let r = s.replication {
            out.append("Replic  \(r.masterSet): master \(r.masters.isEmpty ? "none" : r.masters.joined(separator: " + ")), quorum \(r.quorumOK.map { $0 ? "OK" : "NOQUORUM" } ?? "?"), Sentinels name \(r.sentinelMasters.isEmpty ? "?" : r.sentinelMasters.joined(separator: " / "))\(r.failoverInProgress ? ", failover in progress" : "")")
            for p in r.pods {
                var l = "  \(p.name): \(p.role ?? "down\(p.error.map { " (\($0))" } ?? "")"), offset \(p.replOffset.map(String.init) ?? "?")"
                if p.role == "replica" { l += ", link \(p.masterLinkStatus ?? "?") to \(p.masterPod ?? p.masterHost ?? "?"), lag \(p.lagBytes.map(String.init) ?? "?") bytes \(p.lagSeconds.map(String.init) ?? "?") s" }
                if let sv = p.sentinel { l += "; Sentinel: " + (sv.error.map { "no answer (\($0))" } ?? "\(sv.masterAddress ?? "?")\(sv.masterPod.map { " (\($0))" } ?? ""), \(sv.quorumOK.map { $0 ? "quorum OK" : "NOQUORUM" } ?? "quorum ?")") }
                out.append(l)
            }
        }
        let findings = s.findings
        if findings.isEmpty {
            out.append("Findings: none")
        } else {
            out.append("Findings:")
            for f in findings { out.append("  \(f.severity.rawValue.uppercased()) \(f.id): \(f.summary) [\(f.evidence)]\(f.runbook.map { " -> runbook \($0)" } ?? "")") }
        }
        let failing = s.adr.filter { $0.status != .pass }
        if !s.adr.isEmpty {
            out.append("ADR 0005: \(s.adr.filter { $0.status == .pass }.count)/\(s.adr.count) pass" + (failing.isEmpty ? "" : "; " + failing.map { "\($0.id) \($0.status.rawValue) (\($0.detail))" }.joined(separator: "; ")))
        }
        for e in s.errors { out.append("Error   \(e.source): \(e.message)\(e.staleSeconds.map { " (stale \($0)s)" } ?? "")") }
        return out.map(PrintSafe.line).joined(separator: "\n") + "\n"
    }

    private static func yn(_ b: Bool?) -> String { b == nil ? "?" : b! ? "yes" : "no" }
}

/// `redis-runbook status --json`.
public enum SnapshotJSON {
    /// Pretty, sorted-keys JSON; unknown values are `null`.
    public static func encode(_ s: Snapshot) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? e.encode(s), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }
    public static func decode(_ text: String) throws -> Snapshot {
        try JSONDecoder().decode(Snapshot.self, from: Data(text.utf8))
    }
}

/// Dotted-path access to a snapshot's JSON for runbook conditions.
public enum SnapshotPaths {
    indirect enum JSONValue: Decodable, Sendable {
        case null, bool(Bool), int(Int64), double(Double), string(String), array([JSONValue]), object([String: JSONValue])
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int64.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
            else { self = .object(try c.decode([String: JSONValue].self)) }
        }
        var scalar: String? {
            switch self {
            case .null, .array, .object: return nil
            case .bool(let b): return b ? "true" : "false"
            case .int(let i): return String(i)
            case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
            case .string(let s): return s
            }
        }
    }

    /// The value at a dotted path, e.g. `persistence.aofLastWriteStatus`, `pod.containers.redis.state`
    /// (array elements by index or by their `name`, else `id`), `keyspace.db0`. Booleans are
    /// "true"/"false", numbers decimal strings; nil for null, missing paths, objects and arrays.
    public static func value(at path: String, in s: Snapshot) -> String? {
        guard let root = tree(s) else { return nil }
        return value(at: path, in: root)
    }

    /// `value(at:in:)` for many paths of one snapshot: the snapshot is encoded once.
    public static func lookup(_ s: Snapshot) -> @Sendable (String) -> String? {
        guard let root = tree(s) else { return { _ in nil } }
        return { value(at: $0, in: root) }
    }

    static func value(at path: String, in root: JSONValue) -> String? {
        var cur = root
        for seg in path.split(separator: ".").map(String.init) {
            switch cur {
            case .object(let o):
                guard let n = o[seg] else { return nil }
                cur = n
            case .array(let a):
                if let i = Int(seg), a.indices.contains(i) { cur = a[i]; continue }
                guard let hit = a.first(where: { el in
                    if case .object(let o) = el { return o["name"]?.scalar == seg || (o["name"] == nil && o["id"]?.scalar == seg) }
                    return false
                }) ?? a.first(where: { el in
                    if case .object(let o) = el { return o["id"]?.scalar == seg }
                    return false
                }) else { return nil }
                cur = hit
            default:
                return nil
            }
        }
        return cur.scalar
    }

    /// Every scalar path and its value (arrays of named elements by name, others by index).
    public static func flatten(_ s: Snapshot) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ v: JSONValue, _ prefix: String) {
            switch v {
            case .object(let o): for (k, x) in o { walk(x, prefix.isEmpty ? k : "\(prefix).\(k)") }
            case .array(let a):
                for (i, x) in a.enumerated() {
                    var key = String(i)
                    if case .object(let o) = x, let n = o["name"]?.scalar ?? o["id"]?.scalar { key = n }
                    walk(x, "\(prefix).\(key)")
                }
            case .null: break
            default: if let sc = v.scalar { out[prefix] = sc }
            }
        }
        if let t = tree(s) { walk(t, "") }
        return out
    }

    static func tree(_ s: Snapshot) -> JSONValue? {
        guard let data = try? JSONEncoder().encode(s) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }
}
