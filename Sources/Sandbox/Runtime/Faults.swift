import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// `sandbox fault NAME` and `sandbox heal`. Each fault produces a real cause (a killed process,
/// bytes changed on disk, a full filesystem, a frozen node); the daemon only observes.
public enum Fault: String, CaseIterable, Sendable {
    case crash, oomKill = "oom-kill", memoryPressure = "memory-pressure", aofCorruption = "aof-corruption"
    case aofTruncated = "aof-truncated", diskFull = "disk-full", nodeDown = "node-down", exporterDown = "exporter-down"
    case configDrift = "config-drift", slowLoading = "slow-loading", queueBacklog = "queue-backlog"
    case queuePaused = "queue-paused", queueRateLimited = "queue-rate-limited", queueStalled = "queue-stalled"
    // Faults of the API server (redis-runbook-sandbox apiserver), not of the pods.
    case apiDown = "api-down", apiSlow = "api-slow", apiErrors = "api-errors", watchDrop = "watch-drop", tokenExpired = "token-expired"
    // Faults of the Sentinel topology (up --topology sentinel; SentinelFaults.swift).
    case masterKill = "master-kill", masterReturnsNewIP = "master-returns-new-ip", sentinelDown = "sentinel-down"
    case partition, replicaLag = "replica-lag", allRestart = "all-restart", staleSentinelConfig = "stale-sentinel-config"

    /// The faults that act on the API server.
    public var isAPIFault: Bool { [.apiDown, .apiSlow, .apiErrors, .watchDrop, .tokenExpired].contains(self) }

    public var summary: String {
        switch self {
        case .crash: return "SIGKILL redis-server; the kubelet restarts it"
        case .oomKill: return "a runaway transaction grows Redis past its container memory limit: OOMKilled, exit 137"
        case .memoryPressure: return "data grows to maxmemory; writes are rejected with OOM (noeviction); automatic AOF rewrites held off until Redis restarts"
        case .aofCorruption: return "bytes overwritten mid-file in the last AOF, restart: Bad file format, CrashLoopBackOff"
        case .aofTruncated: return "the AOF tail is cut mid-command, restart: Redis loads with a warning and truncates"
        case .diskFull: return "the data volume fills up: MISCONF, aof_last_write_status:err"
        case .nodeDown: return "the node stops (kubelet, pods frozen): NotReady/Unknown, then eviction; it reboots after --duration"
        case .exporterDown: return "the exporter is killed and restarts with a bad listen address: CrashLoopBackOff"
        case .configDrift: return "CONFIG SET maxmemory-policy allkeys-lru at runtime"
        case .slowLoading: return "a dataset large enough that a restart shows LOADING for several seconds, then restart"
        case .queueBacklog: return "the BullMQ worker stops (its running jobs finish, its connections close); the producer goes on, wait grows"
        case .queuePaused: return "the first queue is paused by the client's Queue.pause() (meta paused=1); its wait grows"
        case .queueRateLimited: return "the first queue is rate-limited as Worker.rateLimit does (limiter = max, PX --duration s, default 600)"
        case .queueStalled: return "the BullMQ worker process freezes (SIGSTOP): connected, its active jobs' locks expire (stalled), nothing moves"
        case .apiDown: return "the API server closes its listener and connections (connection refused); back after heal"
        case .apiSlow: return "every API response is delayed by --delay seconds (default 5; 60 acts as a hung server)"
        case .apiErrors: return "a share of API requests get 500 InternalError or 429 TooManyRequests with Retry-After"
        case .watchDrop: return "watches are closed every few seconds, sometimes with a 410 Gone event"
        case .tokenExpired: return "every bearer token is refused: 401 Unauthorized"
        case .masterKill: return "sentinel: SIGKILL the redis-server that says role:master, restart held --duration s (10): Sentinel fails over"
        case .masterReturnsNewIP: return "sentinel: the master's pod is deleted and comes back with a new IP no Sentinel knows, still a master"
        case .sentinelDown: return "sentinel: one Sentinel stopped (SIGSTOP); given again, a second: no quorum"
        case .partition: return "sentinel: `partition POD` cuts POD from the other pods (blackhole routes in its network namespace)"
        case .replicaLag: return "sentinel: a replica's link throttled to 64 kbit/s (tbf); its offset falls behind under writes"
        case .allRestart: return "sentinel: every pod killed at once and re-created together"
        case .staleSentinelConfig: return "sentinel: a Sentinel restarts on a config naming an address no pod has as the master"
        }
    }
}

extension SandboxControl {
    public func inject(_ fault: Fault, duration: Int? = nil, delay: Double? = nil, target: String? = nil) async throws {
        defer { if fault.isAPIFault { waitForAPIServerState() } }
        switch fault {
        case .masterKill, .masterReturnsNewIP, .sentinelDown, .partition, .replicaLag, .allRestart, .staleSentinelConfig:
            try await injectSentinel(fault, target: target, duration: duration)
        case .apiDown:
            try store.update { $0.runtime.faults.apiDown = true }
            print("the API server stops listening (kubectl: connection refused) until `heal`")
        case .apiSlow:
            let d = max(0, delay ?? 5)
            try store.update { $0.runtime.faults.apiSlowSeconds = d }
            print("every API response is delayed by \(d) s until `heal`")
        case .apiErrors:
            try store.update { $0.runtime.faults.apiErrors = true }
            print("a share of API requests now fail with 500 or 429 (Retry-After) until `heal`")
        case .watchDrop:
            try store.update { $0.runtime.faults.watchDrop = true }
            print("watches are dropped every few seconds (sometimes 410 Gone) until `heal`")
        case .tokenExpired:
            try store.update { $0.runtime.faults.tokenExpired = true }
            print("every bearer token is now refused with 401 Unauthorized until `heal`")
        case .crash:
            let pid = try containerPid("redis")
            kill(pid, SIGKILL)
            print("killed redis-server (pid \(pid)) with SIGKILL")
        case .oomKill: try await oomKill()
        case .memoryPressure: try await memoryPressure()
        case .aofCorruption: try await corruptAOF(truncate: false)
        case .aofTruncated: try await corruptAOF(truncate: true)
        case .diskFull: try await diskFull()
        case .nodeDown:
            let s = try store.read()
            let secs = duration ?? s.runtime.timings.nodeOutageSeconds
            try store.update { s in
                s.runtime.faults.nodeDownSince = RFC3339.format()
                s.runtime.faults.nodeDownUntil = RFC3339.format(Date().addingTimeInterval(Double(secs)))
            }
            print("node \(s.node.name) goes down for \(secs) s (kubelet stops, pod processes frozen); `sandbox heal` brings it back now")
        case .exporterDown:
            try store.update { $0.runtime.faults.exporterExtraArgs = ["--web.listen-address=:99121"] }
            let pid = try containerPid("redis-exporter")
            kill(pid, SIGKILL)
            print("killed the exporter (pid \(pid)); it now restarts with --web.listen-address=:99121 and exits at once")
        case .configDrift:
            let out = try await redisCLI(["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
            guard out.contains("OK") else { throw SandboxError("CONFIG SET failed: \(out)") }
            print("maxmemory-policy set to allkeys-lru at runtime (the manifest says noeviction)")
        case .slowLoading: try await slowLoading()
        case .queueBacklog:
            try store.update { $0.runtime.faults.workerStopped = true }
            print("BullMQ worker stopped: producers go on, jobs pile up in wait")
        case .queuePaused:
            let q = try firstQueue()
            // Queue.pause() of the real client (its pause script: meta paused=1, the marker
            // deleted, a `paused` event).
            _ = try await runApp("pause", queues: [q], what: "pause \(q)")
            print("queue \(q) paused by the BullMQ client (Queue.pause(): bull:\(q):meta paused=1): workers take no job from it")
        case .queueRateLimited:
            let q = try firstQueue()
            let secs = max(1, duration ?? 600)
            // Worker.rateLimit(ms) / Queue.rateLimit(ms): SET limiter MAX_SAFE_INTEGER PX ms; with
            // the worker's limiter options in the meta hash (max, duration) as moveToActive reads them.
            _ = try await redisCLI(["HSET", "bull:\(q):meta", "max", "10", "duration", "1000"])
            let out = try await redisCLI(["SET", "bull:\(q):limiter", "9007199254740991", "PX", String(secs * 1000)])
            guard out.contains("OK") else { throw SandboxError("rate-limiting \(q) failed: \(out)") }
            print("queue \(q) rate-limited for \(secs) s (bull:\(q):limiter = 9007199254740991, PX \(secs * 1000))")
        case .queueStalled:
            try store.update { $0.runtime.faults.workerHung = true }
            // The worker hung while it held jobs: their locks (PX 30000) run out and are not renewed.
            let queues = try store.read().runtime.queues
            let script = "local n = 0 for _, q in ipairs(ARGV) do local p = 'bull:' .. q .. ':' for _, id in ipairs(redis.call('LRANGE', p .. 'active', 0, 999)) do if redis.call('EXISTS', p .. id .. ':lock') == 0 then n = n + 1 end end end return n"
            let deadline = Date().addingTimeInterval(45)
            var stalled = 0
            while Date() < deadline {
                let locks = try await redisCLI(["EVAL", "local n = 0 for _, q in ipairs(ARGV) do local p = 'bull:' .. q .. ':' for _, id in ipairs(redis.call('LRANGE', p .. 'active', 0, 999)) do if redis.call('EXISTS', p .. id .. ':lock') == 1 then n = n + 1 end end end return n", "0"] + queues)
                stalled = Int(try await redisCLI(["EVAL", script, "0"] + queues).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                if Int(locks.trimmingCharacters(in: .whitespacesAndNewlines)) == 0 && stalled > 0 { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            guard stalled > 0 else { throw SandboxError("no active job lost its lock within 45 s (no job was active when the worker hung?)") }
            print("BullMQ worker hung: still connected, \(stalled) active jobs without a lock (stalled), nothing leaves wait")
        }
        try store.update { s in
            if !s.runtime.faults.injected.contains(fault.rawValue) { s.runtime.faults.injected.append(fault.rawValue) }
        }
    }

    /// The queue the queue faults act on: the first one `sandbox seed` created.
    func firstQueue() throws -> String {
        guard let q = try store.read().runtime.queues.first else { throw SandboxError("no BullMQ queue: run `sandbox seed` first") }
        return q
    }

    func containerPid(_ name: String) throws -> Int32 {
        let (_, pod) = try redisPod()
        guard let c = pod.containerStatuses.first(where: { $0.name == name }), c.pid > 0, ProcFS.isAlive(c.pid) else {
            throw SandboxError("container \(name) of \(pod.name) is not running")
        }
        return c.pid
    }

    func info(_ section: String) async throws -> [String: String] {
        let text = try await redisCLI(["INFO", section])
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// MULTI, then queued SETs of 1 MiB values that are never executed: the memory is held by
    /// the client's transaction (so nothing reaches the AOF) until the memory limit kills Redis.
    func oomKill() async throws {
        let pid = try containerPid("redis")
        let (_, pod) = try redisPod()
        let limit = pod.containers.first { $0.name == "redis" }?.limitsMemory.flatMap(Quantity.parse) ?? (512 << 20)
        _ = try await redisCLI(["CONFIG", "SET", "maxmemory", "0"])
        var buf = RESPBuffer()
        buf.add(["MULTI"])
        let value = String(repeating: "m", count: 1 << 20)
        for i in 0..<Int(limit / (1 << 20)) * 2 + 64 { buf.add(["SET", "oom:\(i)", value]) }
        buf.add(["EXEC"])
        _ = try await execInPod(["redis-cli", "--pipe"], stdin: buf.data, timeout: .seconds(120))
        let deadline = Date().addingTimeInterval(20)
        while ProcFS.isAlive(pid) && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if ProcFS.isAlive(pid) { throw SandboxError("redis-server (pid \(pid)) survived \(limit) bytes of queued writes") }
        print("redis-server (pid \(pid)) exceeded its \(limit / (1 << 20))Mi limit with maxmemory 0 and was killed")
    }

    /// Writes 4 KiB values until Redis rejects writes with OOM (maxmemory reached, noeviction).
    ///
    /// Pipelines of 2,000 (8 MiB) fill the bulk. A pipeline's own query buffer counts toward used_memory, so its
    /// writes can be refused while the data is under maxmemory, and at the end the memory sits at
    /// the limit, where client buffers coming and going can let a small write through. When a
    /// lone write still goes through after the pipelines, the last stretch is written one command
    /// at a time (a buffer of one command) until two lone writes in a row are refused.
    /// Automatic AOF rewrites are held off (`auto-aof-rewrite-percentage 0`) from the start of
    /// the fill until Redis restarts: a rewrite forked into a full container (during the fill, or
    /// the moment the setting came back with the AOF grown by the fill) copies pages past the
    /// limit and gets Redis OOMKilled. That is the `oom-kill` fault's story, not this one's, and it
    /// made this fault (and every drill on it) end in a restart now and then. Redis's own default
    /// (100) returns with the next start of the container.
    func memoryPressure() async throws {
        _ = try await redisCLI(["CONFIG", "SET", "auto-aof-rewrite-percentage", "0"])
        try await fillToMaxmemory()
    }

    private func fillToMaxmemory() async throws {
        let mem = try await info("memory")
        guard let max = mem["maxmemory"].flatMap(Int64.init), max > 0 else { throw SandboxError("maxmemory is 0: there is nothing to press against") }
        var used = mem["used_memory"].flatMap(Int64.init) ?? 0
        let value = String(repeating: "p", count: 4096)
        var n = 0
        for _ in 0..<400 {
            let remaining = Swift.max(max - used, 0)
            let count = Swift.max(Int(remaining / 4600) + 50, 50)
            var buf = RESPBuffer()
            // At most 500 values (2 MB) a pipeline: Redis holds a pipeline's unread input in the
            // client's query buffer, and a bigger one (written faster than Redis reads it) pushed
            // the container past a 64Mi limit, so the fault OOMKilled what it should only fill.
            for _ in 0..<Swift.min(count, 500) { buf.add(["SET", "cache:blob:\(n)", value]); n += 1 }
            let r = try await pipe(buf.data)
            if r.errors < 0 { throw SandboxError("redis-cli --pipe failed while filling memory: \(r.output.prefix(300))") }
            // OOM errors during a big pipeline can come from its own query buffers: full only
            // when a lone write is refused too.
            if r.errors > 0, try await redisCLI(["SET", "sandbox:probe", "x"]).contains("OOM") { break }
            used = (try await info("memory"))["used_memory"].flatMap(Int64.init) ?? used
        }
        var probe = try await redisCLI(["SET", "sandbox:probe", "x"])
        let deadline = Date().addingTimeInterval(60)
        while !probe.contains("OOM"), Date() < deadline {
            var lines = ""
            for _ in 0..<64 { lines += "SET cache:blob:\(n) \(value)\n"; n += 1 }
            _ = try await execInPod(["redis-cli"], stdin: Data(lines.utf8), timeout: .seconds(60))
            probe = try await redisCLI(["SET", "sandbox:probe", "x"])
        }
        // Once refused (the workload may let the next write in again: see below).
        guard probe.contains("OOM") else { throw SandboxError("writes still accepted: \(probe)") }
        // Right at maxmemory, whatever frees a few KB (keys' TTLs running out, a trimmed job)
        // lets the next small write in: the state would flap. So: free a few of this fault's own
        // values until one small write gets in, then make one large value (1/16 of maxmemory,
        // 1-8 MiB) in the server with SETRANGE at its last offset: Redis checks maxmemory when the
        // command starts, and the value is one allocation (a 6 MiB argument would itself count as
        // the client's query buffer and be refused). used_memory ends well over maxmemory and the
        // pressure holds until someone frees data. (It was a script's `string.rep`: Lua kept its
        // buffers, 28 MB of RSS for a 6 MiB value against 6.6 MB now, which in a 128Mi container
        // at maxmemory OOMKilled the Redis this fault must only fill, now and then.)
        let cushion = Swift.max(Int64(1 << 20), Swift.min(Int64(8 << 20), max / 16))
        var freeFrom = n - 1
        for _ in 0..<100 {
            if !(try await redisCLI(["SET", "sandbox:probe", "x"])).contains("OOM") {
                let r = try await redisCLI(["SETRANGE", "cache:blob:cushion", String(cushion - 1), "c"])
                if r.trimmingCharacters(in: .whitespacesAndNewlines) == String(cushion) { break }
            }
            let victims = (0..<8).map { "cache:blob:\(freeFrom - $0)" }
            freeFrom -= 8
            _ = try await redisCLI(["DEL"] + victims)
        }
        probe = try await redisCLI(["SET", "sandbox:probe", "x"])
        guard probe.contains("OOM") else { throw SandboxError("writes still accepted after the last large value: \(probe)") }
        print("used_memory reached maxmemory (\(max) bytes) after \(n) writes; writes now fail: \(probe.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    /// The AOF file to damage: the last incr file of a Redis 7 multi-part AOF, or appendonly.aof (Redis 6).
    func aofTarget(volume: String) throws -> String {
        let dir = volume + "/appendonlydir"
        if let manifest = FS.read(dir + "/appendonly.aof.manifest") {
            let incr = manifest.split(separator: "\n").filter { $0.hasSuffix("type i") }
            guard let last = incr.last, let name = last.split(separator: " ").dropFirst().first else {
                throw SandboxError("no incr file in \(dir)/appendonly.aof.manifest")
            }
            return dir + "/" + name
        }
        let single = volume + "/appendonly.aof"
        guard FS.exists(single) else { throw SandboxError("no AOF in \(volume)") }
        return single
    }

    func corruptAOF(truncate: Bool) async throws {
        let (s, pod) = try redisPod()
        guard let pvc = s.pvcs.first(where: { $0.name == pod.pvcName }) else { throw SandboxError("pod has no volume") }
        // Make sure the file ends with enough commands to damage, then wait for the everysec write.
        var buf = RESPBuffer()
        for i in 0..<200 { buf.add(["SET", "sandbox:aof:\(i)", "value-\(i)"]) }
        try await pipe(buf.data)
        _ = try await redisCLI(["SET", "sandbox:aof:last", String(repeating: "z", count: 64)])
        try await Task.sleep(for: .milliseconds(1200))
        let pid = try containerPid("redis")
        let target = try aofTarget(volume: pvc.hostPath)
        // Freeze Redis so it writes nothing more, change the file, then kill it: the kubelet restarts it.
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGKILL); kill(pid, SIGCONT) }
        guard let fh = FileHandle(forUpdatingAtPath: target) else { throw SandboxError("cannot open \(target)") }
        defer { try? fh.close() }
        let data = try fh.readToEnd() ?? Data()
        let bytes = [UInt8](data)
        if truncate {
            let cut = UInt64(bytes.count - 9)
            try fh.truncate(atOffset: cut)
            print("cut \(target) from \(bytes.count) to \(cut) bytes (mid-command) and killed redis-server; it restarts")
        } else {
            // A command boundary ("\r\n*N\r\n$") in the RESP part, past the middle of the file.
            var at: Int? = nil
            let startAt = bytes.count / 2
            var i = startAt
            while i + 5 < bytes.count {
                if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 42, (48...57).contains(bytes[i + 3]), bytes[i + 4] == 13 {
                    at = i + 2; break
                }
                i += 1
            }
            guard let offset = at, offset + 8 < bytes.count else { throw SandboxError("no command boundary found in \(target)") }
            try fh.seek(toOffset: UInt64(offset))
            fh.write(Data("GARBAGE!".utf8))
            print("overwrote 8 bytes at offset \(offset) of \(target) (\(bytes.count) bytes) and killed redis-server; it restarts and fails")
        }
    }

    func diskFull() async throws {
        let (s, pod) = try redisPod()
        guard let pvc = s.pvcs.first(where: { $0.name == pod.pvcName }), Mounts.isMountPoint(pvc.hostPath),
              let usage = Mounts.usage(pvc.hostPath) else {
            throw SandboxError("the volume is not a tmpfs (needs root at `sandbox up`): cannot fill it without filling the host disk")
        }
        // Shrink the volume's filesystem to what it holds (+ a little), then write until the AOF can't.
        let size = usage.used + 64 * 1024
        guard Mounts.resizeTmpfs(pvc.hostPath, sizeBytes: size) else {
            throw SandboxError("cannot resize the tmpfs on \(pvc.hostPath): \(String(cString: strerror(errno)))")
        }
        try store.update { $0.runtime.faults.diskFull = true }
        let value = String(repeating: "d", count: 1000)
        for round in 0..<100 {
            var buf = RESPBuffer()
            for i in 0..<100 { buf.add(["SET", "cache:disk:\(round):\(i)", value]) }
            _ = try await pipe(buf.data, timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(300))
            let p = try await info("persistence")
            if p["aof_last_write_status"] == "err" {
                let reply = try await redisCLI(["SET", "sandbox:probe", "x"])
                print("volume \(pvc.hostPath) is full (\(size / 1024) KiB); aof_last_write_status:err; writes fail: \(reply.trimmingCharacters(in: .whitespacesAndNewlines))")
                return
            }
        }
        throw SandboxError("the volume filled but Redis did not report an AOF write error")
    }

    /// Grows the dataset until a restart takes several seconds to load, then restarts Redis.
    /// The keys are written by Lua in the server (fast); the AOF records every SET as RESP
    /// (replayed one by one at load). Auto-rewrite is paused meanwhile (runtime config only,
    /// gone with the restart) so the data stays in the slow-to-load incr file.
    func slowLoading(keys requested: Int? = nil) async throws {
        let mem = try await info("memory")
        let maxmemory = mem["maxmemory"].flatMap(Int64.init) ?? 0
        let used = mem["used_memory"].flatMap(Int64.init) ?? 0
        let budget = maxmemory > 0 ? Swift.max(Int64(0), maxmemory * 8 / 10 - used) : Int64(400 << 20)
        let keys = requested ?? Swift.min(Int(budget / 90), 1_200_000)
        _ = try await redisCLI(["CONFIG", "SET", "auto-aof-rewrite-percentage", "0"])
        let script = "local base = tonumber(ARGV[1]) for i = base, base + tonumber(ARGV[2]) - 1 do redis.call('SET', 'slow:' .. i, 'v' .. i) end return 1"
        var written = 0
        while written < keys {
            let n = Swift.min(50_000, keys - written)
            let out = try await redisCLI(["EVAL", script, "0", String(written), String(n)], timeout: .seconds(120))
            guard out.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else { throw SandboxError("writing the dataset failed: \(out.prefix(200))") }
            written += n
        }
        try await Task.sleep(for: .milliseconds(1200))
        // A slow volume under the replay: Redis's key-load-delay -8 sleeps once every 8 keys on
        // average (its debugDelay; a positive value would sleep at every key, and each sleep
        // costs tens of µs): about 9 s more for a million keys, measured here.
        try store.update { $0.runtime.faults.redisKeyLoadDelayMicros = -8 }
        let pid = try containerPid("redis")
        kill(pid, SIGKILL)
        print("wrote \(written) keys (each a SET in the AOF) and killed redis-server; it restarts on a slow volume and shows LOADING while it replays them")
    }

    // MARK: - heal

    /// Undoes what needs no runbook; says what is left for one.
    public func heal() async throws {
        let s = try store.read()
        let sentinel = try await healSentinel()
        var done: [String] = sentinel.done
        var left: [String] = []
        try store.update { s in
            if s.runtime.faults.anyAPIFault {
                s.runtime.faults.apiDown = nil
                s.runtime.faults.apiSlowSeconds = nil
                s.runtime.faults.apiErrors = nil
                s.runtime.faults.watchDrop = nil
                s.runtime.faults.tokenExpired = nil
                done.append("API server faults cleared")
            }
            if s.runtime.faults.workerStopped { s.runtime.faults.workerStopped = false; done.append("BullMQ worker restarted") }
            if s.runtime.faults.workerHung == true { s.runtime.faults.workerHung = nil; done.append("hung BullMQ worker restarted") }
            if s.runtime.faults.nodeDownUntil != nil || s.node.kubeletStopped {
                s.runtime.faults.nodeDownUntil = RFC3339.format(Date().addingTimeInterval(-1))
                done.append("node brought back (reboot)")
            }
            if s.runtime.faults.redisKeyLoadDelayMicros != nil {
                s.runtime.faults.redisKeyLoadDelayMicros = nil
                done.append("volume fast again (redis' next start loads at full speed)")
            }
            if s.runtime.faults.exporterExtraArgs != nil {
                s.runtime.faults.exporterExtraArgs = nil
                for i in s.pods.indices {
                    for c in s.pods[i].containerStatuses.indices where s.pods[i].containerStatuses[c].name == "redis-exporter" {
                        s.pods[i].containerStatuses[c].nextStartAt = RFC3339.format(Date().addingTimeInterval(-1))
                        s.pods[i].containerStatuses[c].backoffSeconds = 0
                    }
                }
                done.append("exporter restarted with its manifest arguments")
            }
        }
        if s.runtime.faults.diskFull, let size = s.runtime.volumeTmpfsBytes {
            for pvc in s.pvcs where Mounts.isMountPoint(pvc.hostPath) { _ = Mounts.resizeTmpfs(pvc.hostPath, sizeBytes: size) }
            try store.update { $0.runtime.faults.diskFull = false }
            done.append("volume grown back to \(size >> 20) MiB (Redis resumes AOF writes by itself)")
        }
        // What is left for a runbook is read from the live system, not from what was injected:
        // a fault a runbook has since repaired is not listed again.
        let injected = Set(s.runtime.faults.injected)
        let runbookFaults = ["aof-corruption", "config-drift", "memory-pressure", "slow-loading"]
        var stillThere: Set<String> = []
        for f in runbookFaults where injected.contains(f) {
            if await leftInPlace(f) { stillThere.insert(f) }
        }
        let labels = ["aof-corruption": "AOF corruption (redis-check-aof --fix from a repair pod)",
                      "config-drift": "maxmemory-policy drift (CONFIG SET maxmemory-policy noeviction)",
                      "memory-pressure": "memory pressure (free or expire data, or raise the limit)",
                      "slow-loading": "large dataset (slow restarts)"]
        left = stillThere.compactMap { labels[$0] } + sentinel.left
        try store.update { s in
            s.runtime.faults.injected.removeAll { !stillThere.contains($0) }
        }
        if done.contains("API server faults cleared") { waitForAPIServerState() }
        print(done.isEmpty ? "nothing to heal without a runbook" : "healed: " + done.joined(separator: "; "))
        if !left.isEmpty { print("left for a runbook: " + left.sorted().joined(separator: "; ")) }
    }

    /// Returns once the API server has read the state as it is now (it follows state.json every
    /// 100 ms): an API fault or its heal is in force when the command returns, not 0-100 ms later.
    /// Gives up after 5 s (no API server running, or one that is stopped).
    func waitForAPIServerState() {
        guard apiServerPid() != nil, let want = try? store.read().generation else { return }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let text = FS.read(layout.apiServerGenerationFile.path), let seen = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), seen >= want { return }
            usleep(20_000)
        }
    }

    /// Whether a fault that only a runbook repairs is still present in the live system.
    func leftInPlace(_ fault: String) async -> Bool {
        func cli(_ args: [String]) async -> String { (try? await redisCLI(args, timeout: .seconds(5))) ?? "" }
        switch fault {
        case "aof-corruption":
            // Repaired once Redis has loaded its AOF and answers again.
            return !(await cli(["PING"])).contains("PONG")
        case "config-drift":
            // Unknown while Redis does not answer: still listed.
            let reply = await cli(["CONFIG", "GET", "maxmemory-policy"])
            return !reply.contains("noeviction")
        case "memory-pressure":
            guard let mem = try? await info("memory"), let used = mem["used_memory"].flatMap(Double.init),
                  let max = mem["maxmemory"].flatMap(Double.init) else { return true }
            return max > 0 && used >= 0.9 * max
        case "slow-loading":
            // The large dataset stays until someone removes it (its first key is slow:0).
            return (await cli(["EXISTS", "slow:0"])).trimmingCharacters(in: .whitespacesAndNewlines) != "0"
        default:
            return true
        }
    }
}
