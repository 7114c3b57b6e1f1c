import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// cgroup v1 memory controller: one directory per sandbox under our own cgroup, one child per
/// container with `memory.limit_in_bytes`, so the kernel's OOM killer enforces the limit.
public enum MemoryCgroup {
    static let mount = "/sys/fs/cgroup/memory"

    /// Our own memory cgroup directory (from /proc/self/cgroup), when it is writable.
    public static func ownDirectory() -> String? {
        guard let text = FS.read("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1].split(separator: ",").contains("memory") else { continue }
            let dir = mount + (parts[2] == "/" ? "" : String(parts[2]))
            if access(dir, W_OK) == 0, FS.exists(dir + "/memory.limit_in_bytes") { return dir }
        }
        return nil
    }

    /// Creates DIR's sandbox cgroup ("redis-runbook-<hash of DIR>"), or nil when impossible.
    public static func createSandboxRoot(for sandboxDir: String) -> String? {
        guard let own = ownDirectory() else { return nil }
        var h: UInt64 = 1469598103934665603
        for b in sandboxDir.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        let dir = own + "/redis-runbook-" + String(h, radix: 16)
        if !FS.exists(dir) && mkdir(dir, 0o755) != 0 { return nil }
        return FS.exists(dir + "/memory.limit_in_bytes") ? dir : nil
    }

    /// A child cgroup (created if needed) with the given limit (nil = unlimited).
    public static func child(_ root: String, name: String, limitBytes: Int64?) -> String? {
        let dir = root + "/" + name
        if !FS.exists(dir) && mkdir(dir, 0o755) != 0 { return nil }
        _ = write(dir + "/memory.limit_in_bytes", limitBytes.map(String.init) ?? "-1")
        return dir
    }

    @discardableResult
    public static func write(_ path: String, _ value: String) -> Bool {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }

    public static func addProcess(_ pid: Int32, to dir: String) -> Bool {
        write(dir + "/cgroup.procs", String(pid))
    }

    /// The kernel's count of OOM kills in this cgroup (memory.oom_control `oom_kill`).
    public static func oomKills(_ dir: String) -> Int {
        guard let t = FS.read(dir + "/memory.oom_control") else { return 0 }
        for line in t.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.split(separator: " ").last ?? "0") ?? 0
        }
        return 0
    }

    /// A field of memory.stat (bytes), e.g. "shmem", "rss", "cache".
    public static func stat(_ dir: String, _ field: String) -> Int64? {
        guard let t = FS.read(dir + "/memory.stat") else { return nil }
        for line in t.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == field { return Int64(parts[1]) }
        }
        return nil
    }

    /// The kernel limit for a container whose volume is a tmpfs: tmpfs pages the container
    /// wrote (its AOF) are charged to its cgroup and cannot be reclaimed, unlike the page cache
    /// of a real disk. So the kernel's limit is the container's limit plus what the volume holds
    /// for it, plus room for what a burst of writes puts on the volume between two daemon ticks
    /// (a pipeline can append tens of MiB to the AOF in 200 ms). Redis' own memory is held to
    /// the container's limit by `overLimit`, checked every tick; the kernel is the backstop.
    public static func effectiveLimit(_ limit: Int64, shmem: Int64) -> Int64 {
        limit + shmem + burstSlack
    }

    public static let burstSlack: Int64 = 96 << 20

    /// The cgroup's memory that is not on the tmpfs volume (anonymous memory, mapped files),
    /// when it is above `limit`: what the kernel would count against the limit on a node whose
    /// volume is a real disk (page cache reclaimable, anonymous memory not).
    public static func overLimit(_ dir: String, limit: Int64) -> Int64? {
        guard let rss = stat(dir, "rss") else { return nil }
        let mapped = stat(dir, "mapped_file") ?? 0
        let used = rss + mapped
        return used > limit ? used : nil
    }

    /// Keeps memory.limit_in_bytes at `effectiveLimit` (called every daemon tick).
    public static func adjustForShmem(_ dir: String, limit: Int64) {
        let shmem = stat(dir, "shmem") ?? 0
        let want = effectiveLimit(limit, shmem: shmem)
        let current = FS.read(dir + "/memory.limit_in_bytes").flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        if abs(current - want) >= (1 << 20) { _ = write(dir + "/memory.limit_in_bytes", String(want)) }
    }

    public static func usageBytes(_ dir: String) -> Int64? {
        FS.read(dir + "/memory.usage_in_bytes").flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public static func procs(_ dir: String) -> [Int32] {
        (FS.read(dir + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// Every process in `root` and its children.
    public static func allProcs(_ root: String) -> [Int32] {
        var out = procs(root)
        for sub in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + sub, isDirectory: &isDir), isDir.boolValue {
                out += procs(root + "/" + sub)
            }
        }
        return out
    }

    /// SIGKILLs every process in the tree and removes the directories. True when all are gone.
    @discardableResult
    public static func destroy(_ root: String, timeout: TimeInterval = 5) -> Bool {
        guard FS.exists(root) else { return true }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let pids = allProcs(root)
            if pids.isEmpty { break }
            for p in pids { kill(p, SIGCONT); kill(p, SIGKILL) }
            if Date() > deadline { return false }
            usleep(20_000)
        }
        for sub in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + sub, isDirectory: &isDir), isDir.boolValue {
                rmdir(root + "/" + sub)
            }
        }
        return rmdir(root) == 0 || !FS.exists(root)
    }
}
