import Foundation
import Testing
@testable import Diagnosis

enum Fixture {
    static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }
    static func url(_ rel: String) -> URL { root.appendingPathComponent(rel) }
    static func text(_ rel: String) throws -> String { try String(contentsOf: url(rel), encoding: .utf8) }
    static func data(_ rel: String) throws -> Data { try Data(contentsOf: url(rel)) }
    static func list(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(dir).path).sorted()
    }
    /// Blocks of a "=== source: URL | note" file: (header line, body).
    static func blocks(_ rel: String) throws -> [(header: String, body: String)] {
        var out: [(String, String)] = []
        var header: String?
        var body: [String] = []
        for line in try text(rel).components(separatedBy: "\n") {
            if line.hasPrefix("=== source:") {
                if let h = header { out.append((h, body.joined(separator: "\n"))) }
                header = line; body = []
            } else if header != nil { body.append(line) }
        }
        if let h = header { out.append((h, body.joined(separator: "\n"))) }
        return out
    }
}

/// Spawns a program with posix_spawn (stdin/stdout from/to files, stderr to /dev/null or merged) and
/// waits for it with a bound. Used instead of Foundation.Process, whose Linux exit detection
/// hung under Swift Testing's parallel runner.
enum Spawn {
    static func start(_ path: String, _ args: [String], stdin: String = "/dev/null", stdout: String = "/dev/null", mergeStderr: Bool = false) throws -> pid_t {
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if mergeStderr { posix_spawn_file_actions_adddup2(&fa, 1, 2) } else { posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &fa, nil, argv, environ)
        guard rc == 0 else { throw NSError(domain: "Spawn", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "posix_spawn \(path) failed: \(rc)"]) }
        return pid
    }

    /// Waits up to `timeout` seconds; kills with SIGKILL after that. Returns true if it exited by itself.
    @discardableResult
    static func wait(_ pid: pid_t, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < deadline {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || r < 0 { return true }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return false
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }
}

/// A real redis-server on a random free port in a temp dir, stopped by `stop()`.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let dir: URL
    private let pid: pid_t

    init(args: [String] = []) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("diag-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for _ in 0..<5 {
            let p = Int.random(in: 20000...60000)
            let child = try Spawn.start("/usr/bin/redis-server", ["--port", String(p), "--bind", "127.0.0.1", "--dir", dir.path, "--save", "",
                                                                  "--logfile", dir.appendingPathComponent("redis.log").path] + args)
            if Self.waitForPing(port: p, dir: dir, pid: child) {
                port = p; pid = child
                return
            }
            kill(child, SIGKILL)
            Spawn.wait(child, timeout: 5)
        }
        try? FileManager.default.removeItem(at: dir)
        throw NSError(domain: "RedisServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "redis-server did not start"])
    }

    private static func waitForPing(port: Int, dir: URL, pid: pid_t) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            guard Spawn.isAlive(pid) else { return false }
            if let out = try? cli(port: port, dir: dir, args: ["PING"]), (out.contains("PONG") || out.contains("NOAUTH")) { return true }
            usleep(20_000)
        }
        return false
    }

    /// Runs redis-cli (stdin/stdout through files, bounded by a 10 s timeout) and returns its
    /// stdout and stderr, merged as a line session sees them.
    static func cli(port: Int, dir: URL, args: [String], stdin: String? = nil) throws -> String {
        let id = UUID().uuidString
        let outURL = dir.appendingPathComponent("cli-\(id).out")
        let inURL = dir.appendingPathComponent("cli-\(id).in")
        try (stdin ?? "").write(to: inURL, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: inURL) }
        let pid = try Spawn.start("/usr/bin/redis-cli", ["-p", String(port)] + args, stdin: inURL.path, stdout: outURL.path, mergeStderr: true)
        Spawn.wait(pid, timeout: 10)
        return (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    }

    func cli(_ args: String..., stdin: String? = nil) throws -> String {
        try Self.cli(port: port, dir: dir, args: args, stdin: stdin)
    }

    func stop() {
        kill(pid, SIGTERM)
        Spawn.wait(pid, timeout: 5)
        try? FileManager.default.removeItem(at: dir)
    }
}

/// Builders for realistic pod JSON (the ADR 0005 StatefulSet pod: redis + redis-exporter).
enum PodJSON {
    static func container(_ name: String, ready: Bool = true, restarts: Int = 0, state: String = #"{"running":{"startedAt":"2025-10-05T10:00:00Z"}}"#,
                          lastState: String = "{}") -> String {
        #"{"name":"\#(name)","ready":\#(ready),"restartCount":\#(restarts),"state":\#(state),"lastState":\#(lastState)}"#
    }

    static func pod(name: String = "redis-0", phase: String = "Running", ready: Bool = true, limit: String? = "512Mi",
                    node: String = "node-1", exporter: Bool = true, redisStatus: String? = nil, exporterStatus: String? = nil,
                    reason: String? = nil) -> Data {
        let limits = limit.map { #","resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"cpu":"500m","memory":"\#($0)"}}"# } ?? ""
        var containers = [#"{"name":"redis","image":"redis:7-alpine","command":["redis-server","--appendonly yes","--appendfsync everysec","--maxmemory-policy noeviction"]\#(limits)}"#]
        var statuses = [redisStatus ?? container("redis", ready: ready)]
        if exporter {
            containers.append(#"{"name":"redis-exporter","image":"oliver006/redis_exporter:latest","resources":{"limits":{"cpu":"50m","memory":"64Mi"}}}"#)
            statuses.append(exporterStatus ?? container("redis-exporter"))
        }
        let json = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"\(name)","namespace":"default","labels":{"app":"redis"}},
         "spec":{"nodeName":"\(node)","containers":[\(containers.joined(separator: ","))]},
         "status":{"phase":"\(phase)"\(reason.map { #","reason":"\#($0)""# } ?? ""),"startTime":"2025-10-05T10:00:00Z",
           "conditions":[{"type":"Ready","status":"\(ready ? "True" : "False")"}],
           "containerStatuses":[\(statuses.joined(separator: ","))]}}
        """
        return Data(json.utf8)
    }

    static func node(name: String = "node-1", ready: String = "True") -> Data {
        Data(#"{"kind":"Node","metadata":{"name":"\#(name)"},"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"\#(ready)","reason":"KubeletReady"}]}}"#.utf8)
    }
}

/// A healthy ADR-compliant INFO (maxmemory 384 MiB = 75 % of 512 Mi).
enum InfoText {
    static func make(used: Int64 = 50_000_000, rss: Int64 = 60_000_000, maxmemory: Int64 = 402_653_184, policy: String = "noeviction",
                     aofEnabled: Int = 1, aofWrite: String = "ok", aofRewrite: String = "ok", bgsave: String = "ok",
                     loading: Bool = false, oom: Int64? = nil, evicted: Int64 = 0, aofCow: Int64 = 2_928_640) -> String {
        var s = """
        # Server\r
        redis_version:7.0.15\r
        redis_mode:standalone\r
        # Clients\r
        connected_clients:5\r
        blocked_clients:2\r
        # Memory\r
        used_memory:\(used)\r
        used_memory_rss:\(rss)\r
        used_memory_peak:\(used + 1000)\r
        maxmemory:\(maxmemory)\r
        maxmemory_policy:\(policy)\r
        mem_fragmentation_ratio:1.20\r
        # Persistence\r
        loading:\(loading ? 1 : 0)\r
        async_loading:0\r
        rdb_bgsave_in_progress:0\r
        rdb_last_save_time:1760000000\r
        rdb_last_bgsave_status:\(bgsave)\r
        rdb_last_cow_size:0\r
        aof_enabled:\(loading ? 0 : aofEnabled)\r
        aof_rewrite_in_progress:0\r
        aof_rewrite_scheduled:0\r
        aof_last_bgrewrite_status:\(aofRewrite)\r
        aof_last_write_status:\(aofWrite)\r
        aof_last_cow_size:\(aofCow)\r
        aof_current_size:6446811\r
        aof_base_size:6446811\r
        aof_delayed_fsync:0\r

        """
        if loading { s += "loading_loaded_perc:14.61\r\nloading_eta_seconds:5\r\n" }
        s += """
        # Stats\r
        instantaneous_ops_per_sec:120\r
        rejected_connections:0\r
        evicted_keys:\(evicted)\r
        # Errorstats\r

        """
        if let oom { s += "errorstat_OOM:count=\(oom)\r\n" }
        s += "# Keyspace\r\ndb0:keys=1234,expires=10,avg_ttl=0\r\n"
        return s
    }
}

enum Healthy {
    static let now = RFC3339.parse("2025-10-05T12:00:00Z")!
    static var config: [String: String] {
        ["appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction", "maxmemory": "402653184"]
    }
    static func inputs() throws -> SnapshotInputs {
        var i = SnapshotInputs(now: now)
        i.namespace = "default"
        i.context = "prod"
        i.pod = try KubeJSON.pod(from: PodJSON.pod())
        i.node = try KubeJSON.node(from: PodJSON.node())
        i.events = []
        i.infoText = InfoText.make()
        i.config = config
        i.metricsText = "# HELP redis_up Information about the Redis instance\n# TYPE redis_up gauge\nredis_up 1\n"
        i.previousLogText = nil
        var q = QueueCounts(prefix: "bull", name: "emails")
        q.waiting = 3; q.active = 2; q.delayed = 0; q.prioritized = 0; q.completed = 100; q.failed = 1; q.paused = 0; q.waitingChildren = 0
        i.queues = [q]
        return i
    }
}
