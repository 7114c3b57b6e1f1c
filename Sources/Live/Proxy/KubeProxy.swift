import Common
import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// The one long-lived kubectl that reads the cluster: `kubectl [global flags] proxy
/// --unix-socket DIR/api.sock`, DIR a private directory (mode 0700, made by mkdtemp) so the
/// socket is never reachable by another user. kubectl keeps the credentials (tokens, client
/// certificates, exec plugins, OIDC); the tool speaks plain HTTP to the socket (`UnixHTTP`,
/// `APIClient`, `APIWatch`). The proxy refuses attach but allows exec (`--reject-paths`, whose
/// default also rejects `/exec`): the dashboard's Redis session is an exec through this socket
/// (`redis-runbook-exec-relay`), so the dashboard runs one kubectl process, not two. Allowing exec
/// opens nothing to anyone new: the socket is reachable only by this user (0700 directory), who
/// can `kubectl exec` with the same credentials anyway.
///
/// Started through ProcessRunner's `Child` (own process group, recorded like every command),
/// ready once kubectl prints `Starting to serve on PATH`; killed and started again (with
/// back-off) when it exits, when it does not serve within `serveTimeout`, or when its socket
/// stops answering (`notServing`). `stop` ends it and removes the directory.
///
/// Owns: the proxy process and its directory. Must not: speak HTTP, know Kubernetes objects.
public final class KubeProxy: @unchecked Sendable {
    /// The full argv, `kubectl [global flags] proxy --unix-socket SOCKET --reject-paths=ATTACH`.
    public var argv: [String] { lock.withLock { argvLocked } }
    private let kubectlAndFlags: [String]
    /// Seconds a started proxy may take to print `Starting to serve` before it is killed.
    public let serveTimeout: Double
    private let recorder: (any CommandRecorder)?
    private let lock = NSLock()
    private var child: Child?
    private var dirPath: String?
    private var nextStart = Date.distantPast
    private var backoff: TimeInterval = 0.5
    private var startedAt = Date.distantPast
    private var serving = false
    private var stopped = false
    private var _lastFailure: String?
    private var _spawns = 0
    /// `redis-runbook-watchdog`, when it is installed beside the tool: the proxy runs under it,
    /// and `watchdogStdin` is the write end of its stdin, held until the proxy is stopped.
    private let watchdog: String?
    private var watchdogStdin: Int32 = -1

    /// `kubectl` and the target's global flags (context, kubeconfig, --as); `--request-timeout`
    /// is left out as for a watch: the proxy is one long-lived process whose requests each have
    /// the tool's own deadline (see `APIClient`).
    public init(kubectl: String, target: Target, serveTimeout: Double = 8, recorder: (any CommandRecorder)? = nil,
                watchdog: String? = KubeProxy.installedWatchdog) {
        kubectlAndFlags = [kubectl] + target.kubectlGlobalFlags(watch: true)
        self.serveTimeout = serveTimeout
        self.recorder = recorder
        self.watchdog = watchdog
    }

    /// `redis-runbook-watchdog` beside this executable (the build folder), or in
    /// `../libexec/redis-runbook/` (`make install`); nil when neither exists: the proxy then runs
    /// directly, and a crash of the tool leaves it running.
    public static let installedWatchdog: String? = installedHelper("redis-runbook-watchdog")

    /// `redis-runbook-exec-relay` beside this executable or in `../libexec/redis-runbook/`, as
    /// the watchdog; nil when neither exists: the dashboard's Redis session is then a `kubectl exec -i`.
    public static let installedExecRelay: String? = installedHelper("redis-runbook-exec-relay")

    static func installedHelper(_ name: String) -> String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let dir = (exe as NSString).deletingLastPathComponent
        for p in [dir + "/" + name, dir + "/../libexec/redis-runbook/" + name] where access(p, X_OK) == 0 {
            return (p as NSString).standardizingPath
        }
        return nil
    }

    /// What the proxy refuses: attach only (kubectl's default, `^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach`,
    /// also refuses exec, which the dashboard's Redis session needs).
    public static let rejectPaths = "^/api/.*/pods/.*/attach"

    /// Whether the proxy runs under the watchdog.
    public var watched: Bool { watchdog != nil }

    public convenience init(target: LiveTarget, serveTimeout: Double = 8, recorder: (any CommandRecorder)? = nil) {
        self.init(kubectl: target.kubectl, target: target.target, serveTimeout: serveTimeout, recorder: recorder)
    }

    deinit { stopNow() }

    /// The private directory (nil before the first start and after `stop`).
    public var directory: String? { lock.withLock { dirPath } }
    /// The socket's path (nil before the first start and after `stop`).
    public var socketPath: String? { lock.withLock { dirPath.map { $0 + "/api.sock" } } }
    /// The running proxy's pid, if one runs.
    public var pid: Int32? { lock.withLock { child?.pid } }
    /// Why the proxy is not serving (kubectl's own words when it said any), nil while it serves.
    public var lastFailure: String? { lock.withLock { _lastFailure } }
    /// Proxy processes started so far.
    public var spawns: Int { lock.withLock { _spawns } }

    private var argvLocked: [String] {
        kubectlAndFlags + ["proxy", "--unix-socket", (dirPath ?? "DIR") + "/api.sock", "--reject-paths=\(Self.rejectPaths)"]
    }

    /// The socket when the proxy serves, else nil, without waiting. Starts the proxy on first
    /// use, and again after it died or was killed (after its back-off).
    public func currentSocket(now: Date = Date()) -> String? {
        lock.withLock { checkLocked(now: now) }
    }

    /// While a started proxy has not served yet (and has not failed): the socket it will serve on
    /// and its process (the watchdog's, or kubectl's), for a client that waits for the socket
    /// itself as long as that process lives (`redis-runbook-exec-relay --wait`). Nil otherwise.
    public func starting(now: Date = Date()) -> (socket: String, pid: Int32)? {
        lock.withLock {
            _ = checkLocked(now: now)
            guard !stopped, !serving, _lastFailure == nil, let c = child, let dir = dirPath else { return nil }
            return (dir + "/api.sock", c.pid)
        }
    }

    /// The socket, waiting up to `timeout` seconds for a (re)started proxy to serve; nil (with
    /// `lastFailure` set) when it does not.
    public func ready(timeout: Double = 5) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let s = currentSocket() { return s }
            let (over, waitingOutBackoff) = lock.withLock { (stopped, child == nil && _lastFailure != nil && Date() < nextStart) }
            if over || waitingOutBackoff || Date() >= deadline { return nil }
            // Every read of the first frame waits here for the proxy: a 2 ms step (a stat of the
            // socket while it is not there) keeps that wait within 2 ms of its serving.
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The socket did not answer although the proxy was serving: kill it; the next
    /// `currentSocket` starts a new one.
    public func notServing(_ why: String) {
        let c: Child? = lock.withLock {
            guard let c = child else { return nil }
            _lastFailure = "kubectl proxy stopped serving: \(why)"
            serving = false
            return c
        }
        c?.signal(SIGKILL)
    }

    /// SIGTERM, a short grace, then SIGKILL; reaps it and removes the directory. No restart after.
    public func stop() async {
        let (c, dir): (Child?, String?) = lock.withLock {
            stopped = true
            defer { child = nil; dirPath = nil; serving = false }
            return (child, dirPath)
        }
        if let c { _ = await c.terminate(grace: .milliseconds(500)) }   // its whole group, leftovers included
        lock.withLock { closeWatchdogStdinLocked() }
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    private func closeWatchdogStdinLocked() {
        if watchdogStdin >= 0 { close(watchdogStdin); watchdogStdin = -1 }
    }

    private func stopNow() {
        let (c, dir): (Child?, String?) = lock.withLock {
            stopped = true
            defer { child = nil; dirPath = nil }
            return (child, dirPath)
        }
        if let c { c.signal(SIGKILL); _ = c.wait(); c.signalGroup(SIGKILL) }
        lock.withLock { closeWatchdogStdinLocked() }
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    private func checkLocked(now: Date) -> String? {
        guard !stopped else { return nil }
        if let c = child, let term = c.poll() {
            if _lastFailure == nil || serving { _lastFailure = readErrorsLocked() ?? "kubectl proxy ended: \(term)" }
            else if let e = readErrorsLocked() { _lastFailure = e }
            // Nothing of it left behind: a watchdog killed alone would leave its proxy in the group.
            c.signalGroup(SIGKILL)
            child = nil
            closeWatchdogStdinLocked()
            serving = false
            backoff = now.timeIntervalSince(startedAt) > 30 ? 0.5 : min(backoff * 2, 30)
            nextStart = now.addingTimeInterval(backoff)
        }
        guard let c = child else {
            if now >= nextStart { startLocked(now: now) }
            return nil
        }
        guard let dir = dirPath else { return nil }
        if !serving {
            // kubectl makes the socket just before it prints `Starting to serve`: no socket, no
            // file to read yet (the readers poll this every 2 ms while the proxy starts). The
            // socket alone is not enough: its file exists from bind(), before listen(), and a
            // connect in between is refused, which a reader takes for a proxy that stopped
            // serving, and kills it.
            guard access(dir + "/api.sock", F_OK) == 0, let out = FileManager.default.contents(atPath: dir + "/out.txt"),
                  String(decoding: out, as: UTF8.self).contains("Starting to serve") else {
                if now.timeIntervalSince(startedAt) > serveTimeout {
                    _lastFailure = readErrorsLocked() ?? "kubectl proxy did not serve within \(Int(serveTimeout)) s"
                    c.signal(SIGKILL)
                }
                return nil
            }
            // kubectl makes the socket srwx------; the directory is 0700 anyway.
            chmod(dir + "/api.sock", 0o600)
            serving = true
        }
        _lastFailure = nil
        return dir + "/api.sock"
    }

    private func startLocked(now: Date) {
        if dirPath == nil { dirPath = Self.makePrivateDirectory() }
        guard let dir = dirPath else {
            _lastFailure = "kubectl proxy: cannot create a private directory: \(String(cString: strerror(errno)))"
            nextStart = now.addingTimeInterval(5)
            return
        }
        for f in ["api.sock", "out.txt", "err.txt"] { unlink(dir + "/" + f) }
        startedAt = now
        serving = false
        _spawns += 1
        do {
            if let watchdog {
                closeWatchdogStdinLocked()
                let (c, fd) = try Child.spawnHoldingStdin([watchdog] + argvLocked, stdoutPath: dir + "/out.txt", stderrPath: dir + "/err.txt",
                                                          newProcessGroup: true, recorder: recorder, label: "kubectl proxy")
                child = c
                watchdogStdin = fd
            } else {
                child = try Child.spawn(argvLocked, stdoutPath: dir + "/out.txt", stderrPath: dir + "/err.txt",
                                        newProcessGroup: true, recorder: recorder, label: "kubectl proxy")
            }
        } catch {
            _lastFailure = "\(error)"
            backoff = min(backoff * 2, 30)
            nextStart = now.addingTimeInterval(backoff)
        }
    }

    /// mkdtemp: a new directory only this user can enter (0700), in TMPDIR when the socket path
    /// fits in sockaddr_un there, else in /tmp.
    static func makePrivateDirectory() -> String? {
        var base = NSTemporaryDirectory()
        if base.utf8.count > 60 { base = "/tmp/" }
        if !base.hasSuffix("/") { base += "/" }
        var template = Array((base + "redis-runbook-proxy-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
        let path = String(cString: p)
        chmod(path, 0o700)
        return path
    }

    private func readErrorsLocked() -> String? {
        guard let dir = dirPath, let d = FileManager.default.contents(atPath: dir + "/err.txt"), !d.isEmpty else { return nil }
        let s = String(decoding: d.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? nil : s
    }
}
