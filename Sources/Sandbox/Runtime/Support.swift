import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
