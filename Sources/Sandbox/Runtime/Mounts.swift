import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Mount operations the sandbox does itself (root only): tmpfs volumes, the pod's /data bind.
public enum Mounts {
    public static func isMountPoint(_ path: String) -> Bool {
        var a = stat(), b = stat()
        guard stat(path, &a) == 0, stat(path + "/..", &b) == 0 else { return false }
        return a.st_dev != b.st_dev || a.st_ino == b.st_ino
    }

    public static func mountTmpfs(_ path: String, sizeBytes: Int64) -> Bool {
        mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), "size=\(sizeBytes),mode=0755") == 0
    }

    /// Changes a tmpfs' size in place (its data stays). Fails (EINVAL) below what it holds.
    public static func resizeTmpfs(_ path: String, sizeBytes: Int64) -> Bool {
        mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT | MS_NOSUID | MS_NODEV), "size=\(sizeBytes),mode=0755") == 0
    }

    public static func bind(_ source: String, to target: String) -> Bool {
        mount(source, target, nil, UInt(MS_BIND), nil) == 0
    }

    @discardableResult
    public static func unmount(_ path: String) -> Bool { umount2(path, Int32(MNT_DETACH)) == 0 }

    /// (total, used) bytes of the filesystem holding `path`.
    public static func usage(_ path: String) -> (total: Int64, used: Int64)? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        let bs = Int64(s.f_frsize)
        return (Int64(s.f_blocks) * bs, (Int64(s.f_blocks) - Int64(s.f_bfree)) * bs)
    }

    /// Copies a tmpfs volume's content to DIR/volumes/.persist/<name> before it is unmounted.
    public static func persist(volume: String, to persistRoot: String) {
        let fm = FileManager.default
        let dest = persistRoot + "/" + (volume as NSString).lastPathComponent
        try? fm.removeItem(atPath: dest)
        FS.mkdirs(dest)
        for item in (try? fm.contentsOfDirectory(atPath: volume)) ?? [] {
            try? fm.copyItem(atPath: volume + "/" + item, toPath: dest + "/" + item)
        }
    }

    /// Moves persisted content back into a freshly mounted volume.
    public static func restorePersisted(volume: String, from persistRoot: String) {
        let fm = FileManager.default
        let src = persistRoot + "/" + (volume as NSString).lastPathComponent
        guard fm.fileExists(atPath: src) else { return }
        for item in (try? fm.contentsOfDirectory(atPath: src)) ?? [] {
            try? fm.copyItem(atPath: src + "/" + item, toPath: volume + "/" + item)
        }
        try? fm.removeItem(atPath: src)
    }
}

/// The pod sandbox ("pause") process, run by the daemon as
/// `unshare --net --mount --propagation private -- <self> sandbox pause --volume V --ready-file F`:
/// brings up loopback in the new network namespace, bind-mounts the volume at /data in the new
/// mount namespace, writes F, and sleeps until killed. Its pid is the pod's `sandboxPid`.
public enum PauseProcess {
    public static func run(volume: String, readyFile: String, runner: (_ argv: [String]) async -> Bool) async -> Int32 {
        func fail(_ s: String) -> Int32 {
            FileHandle.standardError.write(Data("pause: \(s)\n".utf8))
            return 1
        }
        guard await runner(["ip", "link", "set", "lo", "up"]) else { return fail("cannot bring up loopback") }
        if !FS.exists("/data") && mkdir("/data", 0o755) != 0 {
            return fail("cannot create /data: \(String(cString: strerror(errno)))")
        }
        guard Mounts.bind(volume, to: "/data") else {
            return fail("cannot bind \(volume) on /data: \(String(cString: strerror(errno)))")
        }
        // Exec'd commands take this working directory (`nsenter --wd`): the pod's /data.
        guard chdir("/data") == 0 else { return fail("cannot chdir to /data") }
        FS.write("\(getpid())\n", to: readyFile)
        signal(SIGTERM, SIG_DFL)
        while true { pause() }
    }
}
