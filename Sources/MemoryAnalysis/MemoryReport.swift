import Foundation

/// The result of a memory analysis: complete, or partial with the reason it stopped.
///
/// JSON (`redis-runbook memory --json`) is this type encoded with sorted keys; the field names
/// below are stable (schema `redis-runbook/memory/v1`). Byte counts are integers in bytes;
/// shares are fractions in 0...1; durations are seconds, latencies milliseconds. When
/// `sampling.estimated` is true, every key count and byte count except `topKeys` and
/// `totals.sizedBytes` is an estimate scaled up from the sized sample.
///
/// - `schema`, `complete`, `stopReason` (null when complete), `progressPercent`
/// - `server`: `redisVersion`, `usedMemory`, `usedMemoryRSS`, `usedMemoryDataset`,
///   `usedMemoryOverhead`, `fragmentationBytes`, `fragmentationRatio`, `maxmemory`,
///   `maxmemoryPolicy`, `dbSize` (keys in db0 at start), `otherDatabases` (other non-empty dbs)
/// - `totals`: `keyBytes` (sum of MEMORY USAGE, estimated when sampling), `sizedBytes`
///   (measured sum), `usedMemory`, `unattributedBytes` (= usedMemory − keyBytes: allocator
///   overhead, dict/expire tables, buffers, scripts), `unattributedShare`, `keyShare`
/// - `scan`: `keysScanned`, `keysSized`, `batches`, `durationSeconds`, `keysPerSecond`,
///   `maxBatchLatencyMs`, `medianBatchLatencyMs`, `maxScriptMs`, `medianScriptMs`, `pauses`, `pausedSeconds`,
///   `scanCount`, `lastScanCount`, `memorySamples`, `command`
/// - `sampling`: `fraction`, `estimated`, `scale`
/// - `patterns[]`: `pattern`, `keys`, `bytes`, `share`, `averageBytes`, `type`, `keysWithTTL`
/// - `otherPatterns`: `patterns`, `keys`, `bytes`, `share` (everything beyond `patterns[]`)
/// - `topKeys[]`: `key` (terminal-safe rendering), `keyHex` (only when the name is not clean
///   printable UTF-8), `type`, `bytes`, `pattern`
/// - `bullmq`: `prefix`, `queues[]`: `queue`, `keys`, `bytes`, `jobs`, `states[]`: `state`,
///   `structureKeys`, `structureBytes`, `jobs`, `jobKeys`, `jobBytes`, `bytes`
/// - `notes[]`: human sentences (sampling disclosure, fallbacks taken)
public struct MemoryReport: Sendable, Codable, Equatable {
    public static let schemaID = "redis-runbook/memory/v1"
    public var schema: String = MemoryReport.schemaID
    public var complete: Bool
    public var stopReason: String?
    public var progressPercent: Double
    public var server: ServerMemory
    public var totals: Totals
    public var scan: ScanStats
    public var sampling: Sampling
    public var patterns: [PatternRow]
    public var otherPatterns: OtherPatterns
    public var topKeys: [KeyRow]
    public var bullmq: BullReport
    public var notes: [String]

    public struct ServerMemory: Sendable, Codable, Equatable {
        public var redisVersion: String?
        public var usedMemory: Int?
        public var usedMemoryRSS: Int?
        public var usedMemoryDataset: Int?
        public var usedMemoryOverhead: Int?
        public var fragmentationBytes: Int?
        public var fragmentationRatio: Double?
        public var maxmemory: Int?
        public var maxmemoryPolicy: String?
        public var dbSize: Int?
        public var otherDatabases: [String]
    }

    public struct Totals: Sendable, Codable, Equatable {
        public var keyBytes: Int
        public var sizedBytes: Int
        public var usedMemory: Int?
        public var unattributedBytes: Int?
        public var unattributedShare: Double?
        public var keyShare: Double?
    }

    public struct ScanStats: Sendable, Codable, Equatable {
        public var keysScanned: Int
        public var keysSized: Int
        public var batches: Int
        public var durationSeconds: Double
        public var keysPerSecond: Double
        public var maxBatchLatencyMs: Double
        public var medianBatchLatencyMs: Double
        public var maxScriptMs: Double
        public var medianScriptMs: Double
        public var pauses: Int
        public var pausedSeconds: Double
        public var scanCount: Int
        public var lastScanCount: Int
        public var memorySamples: Int
        public var command: String
        /// Where the time went: the scripts' own time inside Redis, summed (their `TIME`); the
        /// time before the first batch was written (the session's start, `INFO`, `SCRIPT LOAD`);
        /// the time after the last batch's answer (the closing `INFO memory`).
        public var scriptSeconds: Double?
        public var startSeconds: Double?
        public var endSeconds: Double?
    }

    public struct Sampling: Sendable, Codable, Equatable {
        public var fraction: Double
        public var estimated: Bool
        public var scale: Double
    }

    public struct PatternRow: Sendable, Codable, Equatable {
        public var pattern: String
        public var keys: Int
        public var bytes: Int
        public var share: Double
        public var averageBytes: Int
        public var type: String
        /// Keys of the pattern that have a TTL (PTTL >= 0).
        public var keysWithTTL: Int
        /// "none", "all" or "N of M keys" expire.
        public var ttlState: String {
            if keysWithTTL == 0 { return "no TTL" }
            if keysWithTTL >= keys { return "all expire" }
            return "\(keysWithTTL) of \(keys) expire"
        }
    }

    public struct OtherPatterns: Sendable, Codable, Equatable {
        public var patterns: Int
        public var keys: Int
        public var bytes: Int
        public var share: Double
    }

    public struct KeyRow: Sendable, Codable, Equatable {
        public var key: String
        public var keyHex: String?
        public var type: String
        public var bytes: Int
        public var pattern: String
    }

    public struct BullReport: Sendable, Codable, Equatable {
        public var prefix: String
        public var queues: [QueueRow]
    }

    public struct QueueRow: Sendable, Codable, Equatable {
        public var queue: String
        public var keys: Int
        public var bytes: Int
        public var jobs: Int
        public var states: [StateRow]
    }

    public struct StateRow: Sendable, Codable, Equatable {
        public var state: String
        public var structureKeys: Int
        public var structureBytes: Int
        public var jobs: Int
        public var jobKeys: Int
        public var jobBytes: Int
        public var bytes: Int
    }

    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(self)
    }
}

// MARK: - Text rendering

public enum ByteFormat {
    /// 1536 → "1.5 KiB"; 0 → "0 B".
    public static func human(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(abs(n))
        var u = 0
        while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
        let sign = n < 0 ? "-" : ""
        if u == 0 { return "\(sign)\(Int(v)) B" }
        return sign + String(format: v >= 100 ? "%.0f %@" : "%.1f %@", v, units[u])
    }

    public static func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
}

extension MemoryReport {
    /// A plain-text report for a terminal. Key names and patterns are already sanitised.
    public func renderText() -> String {
        var o = ""
        func line(_ s: String = "") { o += s + "\n" }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }

        if !complete {
            line("PARTIAL RESULT: stopped at \(String(format: "%.0f", progressPercent))% because \(stopReason ?? "unknown reason")")
            line()
        }
        let est = sampling.estimated ? " (estimated)" : ""
        line("Memory")
        if let used = server.usedMemory {
            line("  used_memory            \(lpad(ByteFormat.human(used), 10))")
            line("  in keys\(est)\(String(repeating: " ", count: max(1, 16 - est.count)))\(lpad(ByteFormat.human(totals.keyBytes), 10))  \(ByteFormat.percent(totals.keyShare ?? 0)) of used_memory")
            if let un = totals.unattributedBytes {
                line("  overhead (not in keys) \(lpad(ByteFormat.human(un), 10))  \(ByteFormat.percent(totals.unattributedShare ?? 0)) of used_memory: dict/expire tables, client buffers, scripts, allocator")
            }
        } else {
            line("  in keys\(est)  \(ByteFormat.human(totals.keyBytes))  (used_memory unknown)")
        }
        if let rss = server.usedMemoryRSS {
            var s = "  used_memory_rss        \(lpad(ByteFormat.human(rss), 10))"
            if let fb = server.fragmentationBytes, let fr = server.fragmentationRatio {
                s += String(format: "  fragmentation %@ (ratio %.2f)", ByteFormat.human(fb), fr)
            }
            line(s)
        }
        if let mm = server.maxmemory, mm > 0 {
            line("  maxmemory              \(lpad(ByteFormat.human(mm), 10))  policy \(server.maxmemoryPolicy ?? "?")")
        }
        line()
        var scanLine = "Scan: \(scan.keysScanned) keys in \(scan.batches) batches, \(String(format: "%.1f", scan.durationSeconds)) s"
        scanLine += String(format: " (%.0f keys/s), batch round trip median %.1f ms, max %.1f ms; time in Redis per batch median %.1f ms, max %.1f ms",
                           scan.keysPerSecond, scan.medianBatchLatencyMs, scan.maxBatchLatencyMs, scan.medianScriptMs, scan.maxScriptMs)
        if scan.pauses > 0 { scanLine += String(format: ", paused %d× (%.1f s) for latency", scan.pauses, scan.pausedSeconds) }
        line(scanLine)
        if sampling.estimated {
            line("Sampling: sized \(scan.keysSized) of \(scan.keysScanned) scanned keys (\(ByteFormat.percent(sampling.fraction)) by key hash); counts and bytes are scaled ×\(String(format: "%.2f", sampling.scale)) estimates")
        }
        line()

        line("Top patterns by bytes")
        let pw = min(60, max(20, (patterns.map { $0.pattern.count }.max() ?? 0)))
        line("  \(pad("pattern", pw))  \(lpad("keys", 9))  \(lpad("bytes", 10))  \(lpad("share", 6))  \(lpad("avg", 9))  \(pad("type", 6))  ttl")
        for p in patterns {
            let name = p.pattern.count > pw ? String(p.pattern.prefix(pw - 1)) + "…" : p.pattern
            line("  \(pad(name, pw))  \(lpad(String(p.keys), 9))  \(lpad(ByteFormat.human(p.bytes), 10))  \(lpad(ByteFormat.percent(p.share), 6))  \(lpad(ByteFormat.human(p.averageBytes), 9))  \(pad(p.type, 6))  \(p.ttlState)")
        }
        if otherPatterns.patterns > 0 {
            line("  \(pad("(\(otherPatterns.patterns) more patterns)", pw))  \(lpad(String(otherPatterns.keys), 9))  \(lpad(ByteFormat.human(otherPatterns.bytes), 10))  \(lpad(ByteFormat.percent(otherPatterns.share), 6))")
        }
        line()
        line("Top keys")
        for k in topKeys {
            line("  \(lpad(ByteFormat.human(k.bytes), 10))  \(pad(k.type, 6))  \(k.key)")
        }
        if !bullmq.queues.isEmpty {
            line()
            line("BullMQ (prefix \(bullmq.prefix)) per queue and state: structure bytes + bytes of the jobs in that state")
            for q in bullmq.queues {
                line("  queue \(q.queue): \(ByteFormat.human(q.bytes)) in \(q.keys) keys, \(q.jobs) jobs")
                line("    \(pad("state", 17))  \(lpad("structure", 10))  \(lpad("jobs", 8))  \(lpad("job bytes", 10))  \(lpad("total", 10))")
                for s in q.states {
                    line("    \(pad(s.state, 17))  \(lpad(ByteFormat.human(s.structureBytes), 10))  \(lpad(String(s.jobs), 8))  \(lpad(ByteFormat.human(s.jobBytes), 10))  \(lpad(ByteFormat.human(s.bytes), 10))")
                }
            }
        }
        if !notes.isEmpty {
            line()
            for n in notes { line("Note: \(n)") }
        }
        return o
    }
}

// MARK: - Values for a runbook

extension MemoryReport {
    /// The pattern a runbook offers to free: the biggest by bytes that is not under the BullMQ
    /// prefix (BullMQ data is trimmed per queue and state, never by pattern) and that has a
    /// SCAN MATCH glob (`KeyPattern.scanGlob`).
    public func topFreeablePattern() -> PatternRow? {
        let bull = bullmq.prefix.isEmpty ? nil : bullmq.prefix + ":"
        return patterns.first { p in
            if let bull, p.pattern.hasPrefix(bull) { return false }
            return KeyPattern.scanGlob(p.pattern) != nil
        }
    }

    /// Named values a runbook step captures from the analysis (`keyspace-analysis`):
    /// `top_pattern`, `top_pattern_glob`, `top_pattern_keys`, `top_pattern_bytes`,
    /// `top_pattern_human`, `top_pattern_ttl`, `top_pattern_type`, `top_pattern_share`,
    /// `keyspace_keys_scanned`, `keyspace_key_bytes`, `keyspace_complete`, `keyspace_patterns`
    /// (the top five, one line each). Empty strings when no freeable pattern was found.
    public func runbookValues() -> [String: String] {
        var v: [String: String] = [:]
        let top = topFreeablePattern()
        v["top_pattern"] = top?.pattern ?? ""
        v["top_pattern_glob"] = top.flatMap { KeyPattern.scanGlob($0.pattern) } ?? ""
        v["top_pattern_keys"] = top.map { String($0.keys) } ?? "0"
        v["top_pattern_bytes"] = top.map { String($0.bytes) } ?? "0"
        v["top_pattern_human"] = top.map { ByteFormat.human($0.bytes) } ?? "0 B"
        v["top_pattern_ttl"] = top?.ttlState ?? "unknown"
        v["top_pattern_type"] = top?.type ?? ""
        v["top_pattern_share"] = top.map { ByteFormat.percent($0.share) } ?? "0.0%"
        v["keyspace_keys_scanned"] = String(scan.keysScanned)
        v["keyspace_key_bytes"] = String(totals.keyBytes)
        v["keyspace_complete"] = complete ? "yes" : "no"
        v["keyspace_patterns"] = patterns.prefix(5).map {
            "\($0.pattern): \(ByteFormat.human($0.bytes)) in \($0.keys) keys (\(ByteFormat.percent($0.share))), \($0.ttlState)"
        }.joined(separator: "\n")
        return v
    }
}
