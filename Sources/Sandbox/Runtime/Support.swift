import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 UTC timestamps with second precision, as the API server prints them.
public enum KubeTime {
    public static func string(_ date: Date = Date()) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1,
                      Int(tmv.tm_mday), Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec))
    }

    public static func date(_ s: String) -> Date? {
        let p = s.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
        guard p.count == 6 else { return nil }
        var tmv = tm()
        tmv.tm_year = Int32(p[0] - 1900); tmv.tm_mon = Int32(p[1] - 1); tmv.tm_mday = Int32(p[2])
        tmv.tm_hour = Int32(p[3]); tmv.tm_min = Int32(p[4]); tmv.tm_sec = Int32(p[5])
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tmv)))
    }
}

/// Kubernetes resource quantities (memory): "512Mi", "1Gi", "384M", "1000000".
public enum Quantity {
    public static func bytes(_ s: String) -> Int64? {
        let t = s.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
                                        ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        for (suffix, mult) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0 else { return nil }
            return Int64(v * mult)
        }
        guard let v = Double(t), v >= 0 else { return nil }
        return Int64(v)
    }

    /// Redis' memory notation for `--maxmemory`: "384mb" when a whole number of MiB, else bytes.
    public static func redisMemory(_ bytes: Int64) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20)mb" : "\(bytes)"
    }
}

/// Small file helpers used by the runtime.
enum FS {
    static func write(_ text: String, to path: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }
    static func read(_ path: String) -> String? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: d, as: UTF8.self)
    }
    static func mkdirs(_ path: String) {
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

/// Facts about live processes, read from /proc.
public enum ProcFS {
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        // A zombie is dead for our purposes.
        if let stat = FS.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") {
            let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("Z") || rest.hasPrefix("X") { return false }
        }
        return true
    }

    public static func cmdline(_ pid: Int32) -> [String] {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return d.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }.filter { !$0.isEmpty }
    }

    /// Resident set size in bytes (VmRSS), nil when the process is gone.
    public static func rssBytes(_ pid: Int32) -> Int64? {
        guard let s = FS.read("/proc/\(pid)/status") else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let n = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int64($0) }
            return n.map { $0 * 1024 }
        }
        return nil
    }

    public static func allPids() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// Direct and indirect children of `pid` (from /proc/*/stat ppid).
    public static func descendants(of pid: Int32) -> [Int32] {
        var parent: [Int32: Int32] = [:]
        for p in allPids() {
            guard let stat = FS.read("/proc/\(p)/stat"), let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let pp = Int32(fields[1]) { parent[p] = pp }
        }
        var out: [Int32] = []
        var frontier = [pid]
        while let cur = frontier.popLast() {
            for (c, pp) in parent where pp == cur { out.append(c); frontier.append(c) }
        }
        return out
    }
}
