import Diagnosis
import Foundation
import MemoryAnalysis
import ProcessRunner

// RedisSession: Redis's own data (PING, INFO, CONFIG GET, the BullMQ batch) through ONE persistent
// `kubectl exec -i POD -c redis -- redis-cli` (`LineSession`, `SessionMarker.unknownCommand`):
// no process per refresh. The dashboard runs that exec through its `kubectl proxy` instead
// (`redis-runbook-exec-relay SOCKET API_PATH`, the same redis-cli), so it starts one kubectl
// process, not two; when the relay cannot run a session (the proxy refuses, the binary is
// missing) that session is a `kubectl exec -i` again, so its failures are kubectl's words. It owns `RedisSessionState`: the session and the pod and container run
// it was started against, the AUTH prelude (`RedisAuth`, read once per run when Redis says
// NOAUTH), the probe still in flight past `redisWait`, and the back-off (a 403 on exec is kept for
// `forbiddenRetry`). It writes only that, its own `lastGood["redis"]` entry and, through
// `BullMQQueues`, the queue discovery; it reads the pod and `liveness.down`. It must not touch the
// cluster objects, the exporter or the logs, and it spawns only through `LineSession`/`Runner`.

struct RedisResult: Sendable {
    var info: String?
    var config: [String: String]?
    var queues: [QueueCounts]?
    var error: String?
    /// `KubectlError.Kind` raw value when the error came from kubectl (exec could not run).
    var errorKind: String?
    /// The first queue discovery walk has not finished (a large keyspace): no list yet.
    var queuesSearching = false
    /// The probe is still running (the refresh did not wait for it).
    var pending = false
    /// When the still-running probe started (Redis has not answered since).
    var pendingSince: Date?
}

struct RedisSessionState {
    var session: LineSession?
    /// The pod and redis container (uid, restarts) the session was started against.
    var identity: String?
    /// AUTH for the session, when Redis wanted the pod's password (`RedisAuth`).
    var prelude: [String] = []
    /// The pod and container run for which the password was last read.
    var passwordReadFor: String?
    /// A probe still running past `redisWait`: the next refresh takes its result.
    var inFlight: (task: Task<RedisResult, Never>, since: Date)?
    var backoffUntil = Date.distantPast
    var backoff: TimeInterval = 0
    /// The last `kubectl exec` was refused with 403 (this user may not exec): kubectl's refusal.
    var denied: Failure?
    /// The session runs through `redis-runbook-exec-relay` (the dashboard's proxy), not kubectl.
    var viaRelay = false
    /// The pod and container run for which the relay could not run the session: sessions for it
    /// are `kubectl exec -i` (a new pod or container run tries the relay again).
    var relayFailedFor: String?

    /// The API server answers again: no back-off, and a probe still waiting on a session the
    /// outage broke would only report that.
    mutating func resume() {
        backoff = 0; backoffUntil = .distantPast
        inFlight = nil
    }
}

extension Prober {
    /// The Redis probe of this refresh, bounded by `redisWait` when set (see there).
    func redisResult(_ t: Date) async -> RedisResult {
        // Pod replaced or redis container restarted: the session's redis-cli would only wait out
        // its timeout. Start a new one now and drop a probe still waiting on the old one.
        // A session opened before the pod was known is adopted, not restarted.
        if redisState.session != nil, redisState.identity == nil { redisState.identity = redisIdentity }
        if let old = redisState.session, redisState.identity != nil, redisState.identity != redisIdentity {
            redisState.session = nil
            Task { await old.close() }
            redisState.inFlight = nil
            redisState.backoff = 0
            redisState.backoffUntil = .distantPast
        }
        guard let wait = redisWait else { return await probeRedis(t) }
        let pending: (task: Task<RedisResult, Never>, since: Date)
        if let p = redisState.inFlight {
            pending = p
        } else {
            pending = (Task { await self.probeRedis(t) }, t)
            redisState.inFlight = pending
        }
        if let r = await WaitBounded.value(of: pending.task, within: wait) {
            redisState.inFlight = nil
            return r
        }
        let secs = Int(now().timeIntervalSince(pending.since).rounded())
        return RedisResult(error: "no reply from redis-cli for \(secs)s (still waiting)", pending: true, pendingSince: pending.since)
    }
    static let configNames = ["appendonly", "appendfsync", "maxmemory", "maxmemory-policy", "appenddirname", "appendfilename", "dir"]

    func redisSession() async -> LineSession {
        if let s = redisState.session { return s }
        let relay = await relaySessionArgv()
        // The marker is an unknown command: its error comes back even while Redis answers
        // LOADING, BUSY or NOAUTH to everything else (ECHO would not), so a batch never hangs.
        // A new session's first batch also waits for `kubectl exec` to start and connect (a
        // refusal by RBAC included): it gets our limit on a kubectl process, later ones 5 s.
        let s = LineSession(argv: relay ?? target.redisCLIArgv, runner: runner, timeout: .seconds(5), startTimeout: probeTimeout, label: "session:redis-cli",
                            prelude: redisState.prelude, marker: SessionMarker.unknownCommand)
        redisState.session = s
        redisState.viaRelay = relay != nil
        redisState.identity = redisIdentity
        return s
    }

    /// The dashboard's session through its proxy: `redis-runbook-exec-relay SOCKET API_PATH`,
    /// once the proxy serves (started now if it is not: the cluster's first reads wait for it
    /// too, so this adds no kubectl start of its own). Nil (a `kubectl exec -i` session) in
    /// one-shot mode, without the relay binary, when the relay failed for this pod and container
    /// run, or when the proxy does not serve within the first batch's limit.
    ///
    /// While the proxy is still starting, the relay starts now too and waits for the socket
    /// itself (`--wait`, as long as the proxy's process lives, so a proxy that fails ends it at
    /// once and the session is a `kubectl exec -i`): its own start (a process, its loader) then
    /// overlaps kubectl's instead of following it (BENCHMARKS.md, figure 3, session 10).
    func relaySessionArgv() async -> [String]? {
        guard useWatches, let relay = execRelay, redisState.relayFailedFor != (redisIdentity ?? "?"),
              let proxy = apiProxy() else { return nil }
        if proxy.currentSocket() == nil, let (socket, pid) = proxy.starting() {
            return [relay, "--wait", String(Int(proxy.serveTimeout) + 1), "--proxy-pid", String(pid), socket, target.redisExecAPIPath]
        }
        guard let socket = await proxy.ready(timeout: Double(probeTimeout.components.seconds)) else { return nil }
        return [relay, socket, target.redisExecAPIPath]
    }

    /// Redis answered NOAUTH: reads the password variable in the pod (once per pod and container
    /// run, and only when the container has it, as far as the pod says) and starts a session that
    /// sends it first. True when there is a new session to try.
    func authenticateSession() async -> Bool {
        let id = redisIdentity ?? "?"
        guard redisState.passwordReadFor != id, cluster.pod == nil || podHasEnv(target.passwordEnv) else { return false }
        redisState.passwordReadFor = id
        guard let password = await RedisAuth.podPassword(target, runner: runner, timeout: probeTimeout) else { return false }
        let prelude = RedisAuth.prelude(password: password)
        if prelude == redisState.prelude { return false }
        redisState.prelude = prelude
        if let old = redisState.session { Task { await old.close() } }
        redisState.session = nil
        return true
    }

    func podHasEnv(_ name: String) -> Bool {
        guard let c = cluster.pod?.spec?.containers?.first(where: { $0.name == target.container }) else { return false }
        return c.env?.contains { $0.name == name } ?? false
    }

    /// Which pod and which run of its redis container the data comes from.
    var redisIdentity: String? {
        guard let pod = cluster.pod else { return nil }
        let restarts = pod.status?.containerStatuses?.first(where: { $0.name == target.container })?.restartCount
        return "\(pod.metadata?.uid ?? "?")/\(restarts.map(String.init) ?? "?")"
    }

    /// Whether the redis container is running, as far as the pod says (nil when unknown).
    var redisContainerRunning: Bool? {
        guard let st = cluster.pod?.status?.containerStatuses?.first(where: { $0.name == target.container }) else {
            return cluster.pod == nil ? nil : false
        }
        return st.state?.running != nil
    }

    func probeRedis(_ t: Date) async -> RedisResult {
        if redisContainerRunning == false {
            return RedisResult(error: "redis container is not running")
        }
        if t < redisState.backoffUntil {
            // A 403 stays a 403: report kubectl's refusal, not a reconnect.
            if let d = redisState.denied { return RedisResult(error: d.message, errorKind: d.kind) }
            return RedisResult(error: "reconnecting (backing off \(Int(redisState.backoff))s)")
        }
        // While the API server is known unreachable a new `kubectl exec` would only be refused:
        // the liveness probe asks instead. A session still open (a hung API server does not end
        // it) goes on answering.
        if let down = liveness.down, await redisState.session?.isRunning != true {
            return RedisResult(error: down.message, errorKind: down.kind)
        }
        let s = await redisSession()
        if stopped {
            // Shut down while the session waited for the proxy: nothing may start after the quit.
            if redisState.session === s { redisState.session = nil }
            await s.close()
            return RedisResult(error: "stopped")
        }
        // Default INFO (Errorstats included since Redis 6.2): what the snapshot reads, at about
        // half the bytes of INFO all (no Commandstats or Latencystats, ~60 lines per refresh).
        var lines = ["PING", "INFO"]
        lines += Self.configNames.map { "CONFIG GET \($0)" }
        // The walk's first SCAN rides in this batch. Its rounds stay at COUNT 1000: one of 10,000
        // on a keyspace of 1,000,000 keys holds Redis 12-25 ms (BENCHMARKS.md, session 10).
        // A walk finished now (one-shot, the dashboard's first refresh) starts as ONE read-only
        // script: its first SCAN rounds, every queue's counts and the jobs' timestamps
        // (`BullMQScript`), instead of ~40 commands one after another (figure 3, session 10).
        let finishNow = !useWatches || discovery.queueNames.isEmpty && !discovery.listKnown
        let viaScript = t >= discovery.next && finishNow && discovery.cursor == "0" && !discovery.scriptUnavailable
        if viaScript {
            lines.append(BullMQScript.command(prefix: target.bullmqPrefix, cursor: "0", rounds: Self.scriptDiscoveryRounds, maxCounted: Self.scriptMaxCounted,
                                                     budgetMicros: Self.scriptBudgetMicros))
        } else if t >= discovery.next {
            lines.append(BullMQ.discoveryCommand(prefix: target.bullmqPrefix, cursor: discovery.cursor, count: 1000))
        }
        var queues = discovery.queueNames
        do {
            let replies = try await s.send(lines)
            if RedisAuth.wantsPassword(replies[0]) {
                if await authenticateSession() { return await probeRedis(t) }
                if let refused = RedisAuth.refusal(preludeReplies: await s.preludeReplies, stderrTail: await s.stderrTail) {
                    return RedisResult(error: refused)
                }
            }
            // The queues' counts reply one line each: one marker for the whole group.
            let queueReplyLines = viaScript ? [] : try await oneLineEach(s, queues.flatMap(queueLines))
            redisState.backoff = 0
            redisState.denied = nil
            var result = RedisResult()
            let ping = replies[0].trimmingCharacters(in: .whitespacesAndNewlines)
            if ping != "PONG" { result.error = ping }
            let info = replies[1]
            if info.contains(":") && !info.hasPrefix("NOAUTH") && !info.hasPrefix("WRONGPASS") {
                result.info = info
                lastGood["redis"] = t
            } else if result.error == nil {
                result.error = info.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var config: [String: String] = [:]
            for (i, _) in Self.configNames.enumerated() {
                config.merge(RedisConfig.parseGetReply(replies[2 + i])) { a, _ in a }
            }
            result.config = config.isEmpty ? nil : config
            var idx = 2 + Self.configNames.count
            var scripted: [String: [BullMQScript.Field]] = [:]
            if t >= discovery.next {
                var rounds = 0
                if viaScript, let r = BullMQScript.parse(replies[idx]) {
                    discovery.absorb(r, at: t, interval: queueDiscoveryInterval)
                    scripted = r.counted
                    rounds = r.rounds - 1
                } else {
                    if viaScript {
                        // Not the script's reply: Redis before 7 or an ACL without EVAL_RO (for
                        // good), or a reply every command gets now (LOADING, BUSY): plain SCANs.
                        let why = replies[idx].trimmingCharacters(in: .whitespacesAndNewlines)
                        if !["LOADING", "BUSY", "MASTERDOWN", "NOAUTH", "WRONGPASS"].contains(where: { why.hasPrefix($0) }) { discovery.scriptUnavailable = true }
                    }
                    let first = viaScript
                        ? try? await s.send([BullMQ.discoveryCommand(prefix: target.bullmqPrefix, cursor: discovery.cursor, count: 1000)]).first
                        : replies[idx]
                    if let first { absorbDiscovery(first, at: t) }
                }
                idx += 1
                // One-shot (status, check, runbooks) and the dashboard's first refresh: finish the walk
                // now, in bounded SCANs, so the snapshot lists the real queues. Later dashboard
                // refreshes spread it, one SCAN each.
                while !useWatches || discovery.queueNames.isEmpty && !discovery.listKnown, discovery.next <= t, discovery.cursor != "0", rounds < Self.oneShotDiscoveryRounds {
                    rounds += 1
                    guard let r = try? await s.send([BullMQ.discoveryCommand(prefix: target.bullmqPrefix, cursor: discovery.cursor, count: 1000)]).first else { break }
                    absorbDiscovery(r, at: t)
                }
            }
            var queueReplies: [String: ArraySlice<String>] = [:]
            var qi = 0
            for q in queues where qi + Self.queueLineCount <= queueReplyLines.count {
                queueReplies[q] = queueReplyLines[qi..<(qi + Self.queueLineCount)]
                qi += Self.queueLineCount
            }
            if viaScript {
                // The script's lines read as redis-cli's replies to the same commands would.
                for (q, fs) in scripted where fs.count == BullMQScript.fieldsPerQueue {
                    let ls = fs.prefix(Self.queueLineCount).compactMap(\.line)
                    if ls.count == Self.queueLineCount { queueReplies[q] = ArraySlice(ls) }
                }
                // The same order as the batches': the queues known before, then the new ones.
                let before = Set(queues)
                queues += discovery.queueNames.filter { !before.contains($0) }
            }
            // Queues found just now (first snapshot) or past the script's limit: count them in a
            // second small batch.
            let fresh = discovery.queueNames.filter { queueReplies[$0] == nil }
            if !fresh.isEmpty, let r = try? await oneLineEach(s, fresh.flatMap(queueLines)) {
                var i = 0
                for q in fresh { queueReplies[q] = r[i..<(i + Self.queueLineCount)]; i += Self.queueLineCount }
                if !viaScript { queues += fresh }
            }
            result.queues = await queueCounts(queues.filter { discovery.queueNames.contains($0) }, queueReplies, jobs: scripted, session: s, now: t)
            result.queuesSearching = !discovery.listKnown
            return result
        } catch {
            if redisState.viaRelay, redisState.session === s, Self.relayCouldNotRun(error) {
                // The relay could not run the session (the exec refused through the proxy, the
                // proxy gone, the binary missing): this pod and container run gets a
                // `kubectl exec -i`, whose words and findings are kubectl's. Asked again now.
                redisState.relayFailedFor = redisIdentity ?? "?"
                redisState.session = nil
                redisState.viaRelay = false
                Task { await s.close() }
                return await probeRedis(t)
            }
            let failure = Self.sessionFailure(error)
            if failure.kind == KubectlError.Kind.forbidden.rawValue {
                // RBAC does not change by retrying every second: one `kubectl exec` per
                // `forbiddenRetry`, the refusal remembered in between.
                redisState.denied = failure
                redisState.backoff = Self.forbiddenRetry
            } else {
                redisState.denied = nil
                redisState.backoff = min(max(redisState.backoff * 2, 1), 30)
            }
            redisState.backoffUntil = t.addingTimeInterval(redisState.backoff)
            return RedisResult(error: failure.message, errorKind: failure.kind)
        }
    }

    /// One-line replies through one marker; the group again with a marker per line when a reply
    /// spans lines (an error, a value with a newline in it).
    func oneLineEach(_ s: LineSession, _ lines: [String]) async throws -> [String] {
        if lines.isEmpty { return [] }
        if let r = try await s.sendOneLineEach(lines, opener: ("ECHO __rrb_group__", "__rrb_group__")) { return r }
        return try await s.send(lines)
    }

    /// A relay session's failure that a `kubectl exec -i` should be asked about instead: the
    /// relay ended (it says why on stderr, not in kubectl's classified words) or did not start.
    /// A timeout is Redis's or the cluster's, the same for either.
    static func relayCouldNotRun(_ error: any Error) -> Bool {
        guard let e = error as? LineSessionError else { return false }
        switch e {
        case .childExited, .failedToStart: return true
        case .timedOut: return false
        }
    }

    static func sessionFailure(_ error: any Error) -> Failure {
        if let e = error as? LineSessionError {
            switch e {
            case .childExited(_, let tail):
                let t = tail.trimmingCharacters(in: .whitespacesAndNewlines)
                if !t.isEmpty {
                    let k = KubectlError.classify(stderr: t, exitCode: 1)
                    return Failure(message: k.description, kind: k.kind.rawValue)
                }
                return Failure(message: e.description, kind: nil)
            case .timedOut: return Failure(message: e.description, kind: SourceError.redisTimedOut)
            default: return Failure(message: e.description, kind: nil)
            }
        }
        return Failure(message: "\(error)", kind: nil)
    }
}
