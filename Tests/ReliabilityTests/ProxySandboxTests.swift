import Diagnosis
import Common
import Foundation
import Live
import ProcessRunner
import SandboxFixture
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The proxy transport against a real sandbox with the real `/usr/bin/kubectl proxy`: reads,
/// list-then-watch across a pod's deletion, the exporter and logs through the API server, and
/// the API server's faults, each classified exactly as the same failure of a kubectl process.
@Suite("proxy transport against the sandbox", .serialized)
struct ProxySandboxTests {
    static let pods = "/api/v1/namespaces/default/pods"

    /// The same request as a kubectl process, its failure classified (nil when it succeeded).
    static func kubectlFailure(_ sb: SandboxProcess, _ args: [String]) async -> KubectlError? {
        let r = await sb.kubectl(["--request-timeout=5s"] + args, timeout: .seconds(30))
        return r.succeeded ? nil : KubectlError.classify(stderr: r.stderrText, exitCode: r.exitCode ?? 1)
    }

    static func eventType(_ line: Data) -> String? {
        struct E: Decodable { var type: String? }
        return (try? JSONDecoder().decode(E.self, from: line))?.type
    }

    struct PodHead: Decodable {
        struct Meta: Decodable { var name: String?; var uid: String? }
        var metadata: Meta?
    }

    @Test(.timeLimit(.minutes(6))) func readsWatchesAndFailsAsKubectlDoes() async throws {
        let sb = try await SandboxProcess.up(prefix: "proxy-e2e")
        defer { sb.downBlocking() }
        let proxy = KubeProxy(target: LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(kubeconfig: sb.kubeconfig)))
        let api = APIClient(proxy: proxy, requestTimeout: 5)

        // GET /version, through a socket only this user can reach.
        let version = await api.get("/version")
        let vtext = String(decoding: try version.get(), as: UTF8.self)
        #expect(vtext.contains("\"gitVersion\""), "\(vtext)")
        let dir = try #require(proxy.directory)
        let socketPath = try #require(proxy.socketPath)
        #expect(proxy.argv.suffix(4) == ["proxy", "--unix-socket", socketPath, "--reject-paths=^/api/.*/pods/.*/attach"])
        #expect(proxy.argv.contains(sb.kubeconfig) && !proxy.argv.contains { $0.hasPrefix("--request-timeout") })
        var st = stat()
        #expect(stat(dir, &st) == 0 && st.st_mode & 0o777 == 0o700 && st.st_uid == getuid())
        #expect(stat(socketPath, &st) == 0 && st.st_mode & 0o077 == 0, "socket mode \(String(st.st_mode, radix: 8))")
        let proxyPID = try #require(proxy.pid)

        // List-then-watch of redis-0 by field selector.
        let watch = APIWatch(path: Self.pods, selector: "metadata.name=redis-0", proxy: proxy)
        var firstUID: String?
        var log: [String] = []
        let listed = await SandboxProcess.eventually(20) {
            for d in watch.poll() {
                if case .list(let body) = d {
                    let items = APIObjects.items(PodHead.self, list: body) ?? []
                    log.append("LIST \(items.map { $0.metadata?.name ?? "?" })")
                    if items.count == 1, items[0].metadata?.name == "redis-0" { firstUID = items[0].metadata?.uid }
                }
            }
            return firstUID != nil && watch.connected
        }
        #expect(listed, "\(log) \(String(describing: watch.lastFailure))")
        let oldUID = try #require(firstUID)

        // kubectl delete pod redis-0: DELETED (the old uid) then ADDED (a new one) through the watch.
        let del = await sb.kubectl(["delete", "pod", "redis-0", "--wait=false"])
        #expect(del.succeeded, "\(del.stderrText)")
        var sawDeleted = false
        var newUID: String?
        let replaced = await SandboxProcess.eventually(60) {
            for d in watch.poll() {
                switch d {
                case .list: log.append("LIST again")
                case .delete(let line):
                    let uid = APIObjects.object(PodHead.self, event: line)?.metadata?.uid
                    log.append("DELETED \(uid ?? "?")")
                    if uid == oldUID { sawDeleted = true }
                case .upsert(let line):
                    let uid = APIObjects.object(PodHead.self, event: line)?.metadata?.uid
                    let type = Self.eventType(line) ?? "?"
                    log.append("\(type) \(uid ?? "?")")
                    if type == "ADDED", sawDeleted, let uid, uid != oldUID { newUID = uid }
                }
            }
            return newUID != nil
        }
        #expect(replaced, "watch saw: \(log.suffix(12))")
        #expect(watch.requests["LIST"] == 1, "a resumed watch must not LIST again: \(watch.requests) \(log)")

        // The exporter's metrics through the API server's pod proxy, once the new pod serves.
        var metrics = ""
        let exported = await SandboxProcess.eventually(60, every: .milliseconds(500)) {
            if case .success(let d) = await api.get("\(Self.pods)/redis-0:9121/proxy/metrics", accept: "text/plain") {
                metrics = String(decoding: d, as: UTF8.self)
            }
            return metrics.contains("redis_up")
        }
        #expect(exported, "\(metrics.prefix(300))")

        // A log read.
        var logText = ""
        let logged = await SandboxProcess.eventually(30, every: .milliseconds(500)) {
            if case .success(let d) = await api.get("\(Self.pods)/redis-0/log?container=redis&tailLines=50", accept: "text/plain") {
                logText = String(decoding: d, as: UTF8.self)
            }
            return !logText.isEmpty
        }
        #expect(logged && logText.lowercased().contains("redis"), "\(logText.prefix(300))")

        // Not found: the same failure as kubectl's.
        let missing = await api.get("\(Self.pods)/redis-9")
        let kubectlMissing = await Self.kubectlFailure(sb, ["get", "pod", "redis-9", "-o", "json"])
        #expect(missing.failure == kubectlMissing.map { KubectlError(kind: $0.kind, message: $0.message, exitCode: 1) })
        #expect(missing.failure?.kind == .notFound)

        // api-down: connection refused, word for word as kubectl's.
        _ = await sb.sandbox("fault", ["api-down"])
        var down: KubectlError?
        #expect(await SandboxProcess.eventually(15) { down = await api.get("/version").failure; return down?.kind == .connectionRefused },
                "\(String(describing: down))")
        let kubectlDown = await Self.kubectlFailure(sb, ["get", "--raw", "/version"])
        #expect(down?.message == kubectlDown?.message, "proxy: \(String(describing: down)) kubectl: \(String(describing: kubectlDown))")
        #expect(down.flatMap { ClusterAccess.state(for: $0.kind) } == .refused)
        #expect(await SandboxProcess.eventually(15) { watch.lastFailure?.kind == .connectionRefused }, "\(String(describing: watch.lastFailure))")

        _ = await sb.sandbox("heal")
        #expect(await SandboxProcess.eventually(20) { (try? await api.get("/version").get()) != nil })

        // token-expired: unauthorized, as kubectl says it.
        _ = await sb.sandbox("fault", ["token-expired"])
        var expired: KubectlError?
        #expect(await SandboxProcess.eventually(15) { expired = await api.get("\(Self.pods)/redis-0").failure; return expired?.kind == .unauthorized },
                "\(String(describing: expired))")
        let kubectlExpired = await Self.kubectlFailure(sb, ["get", "pod", "redis-0", "-o", "json"])
        #expect(expired?.message == kubectlExpired?.message)
        #expect(expired.flatMap { ClusterAccess.state(for: $0.kind) } == .unauthorized)
        _ = await sb.sandbox("heal")
        #expect(await SandboxProcess.eventually(20) { (try? await api.get("/version").get()) != nil })

        // api-slow --delay 60 (a hung server): the request's own deadline ends it as a time-out.
        _ = await sb.sandbox("fault", ["api-slow", "--delay", "60"])
        try await Task.sleep(for: .milliseconds(500))
        let started = Date()
        let slow = await api.get("/version", timeout: 2)
        let took = Date().timeIntervalSince(started)
        #expect(slow.failure?.kind == .timeout, "\(slow)")
        #expect(slow.failure.flatMap { ClusterAccess.state(for: $0.kind) } == .timedOut)
        #expect(took >= 1.9 && took < 5, "\(took) s")
        let kubectlSlow = await sb.kubectl(["--request-timeout=2s", "get", "--raw", "/version"], timeout: .seconds(30))
        let kubectlSlowFailure = KubectlError.classify(stderr: kubectlSlow.stderrText, exitCode: kubectlSlow.exitCode ?? 1)
        #expect(!kubectlSlow.succeeded && kubectlSlowFailure.kind == slow.failure?.kind, "kubectl: \(kubectlSlow.stderrText)")
        // kubectl's own wording of a time-out varies with the kubectl version and with where the
        // deadline hit ("context deadline exceeded", "net/http: request canceled (Client.Timeout
        // exceeded while awaiting headers)"): both say the API server could not be reached in time.
        func saysTimedOut(_ m: String?) -> Bool {
            guard let m, m.hasPrefix("Cannot reach the API server: ") else { return false }
            return m.contains("deadline exceeded") || m.contains("Timeout exceeded") || m.contains("timeout")
        }
        #expect(saysTimedOut(kubectlSlowFailure.message) && saysTimedOut(slow.failure?.message),
                "kubectl: \(kubectlSlowFailure.message) | proxy: \(slow.failure?.message ?? "-")")

        print("proxy: watch \(log.suffix(4)), requests \(watch.requests); api-down: \(down?.message ?? "-") | kubectl: \(kubectlDown?.message ?? "-"); token-expired: \(expired?.message ?? "-"); api-slow: \(slow.failure?.message ?? "-") after \(String(format: "%.1f", took)) s | kubectl: \(kubectlSlowFailure.message)")

        // heal: it answers again.
        _ = await sb.sandbox("heal")
        #expect(await SandboxProcess.eventually(20) { (try? await api.get("/version").get()) != nil })
        #expect(await SandboxProcess.eventually(20) { watch.connected && watch.lastFailure == nil }, "\(String(describing: watch.lastFailure))")

        // A proxy that stops serving (kubectl killed) is started again; the socket answers. The
        // kubectl, not its watchdog (`proxy.pid` when it runs under one, as here).
        #expect(proxy.spawns == 1)
        #expect(proxy.watched, "the proxy runs without its watchdog: redis-runbook-watchdog is not built beside the tests")
        let kubectlPID = TestProcesses.mentioning(socketPath).first { pid in
            let argv0 = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return argv0?.hasSuffix("kubectl") == true
        }
        kill(try #require(kubectlPID, "no kubectl proxy process"), SIGKILL)
        #expect(await SandboxProcess.eventually(20) {
            guard let pid = proxy.pid, pid != proxyPID, proxy.currentSocket() != nil else { return false }
            return (try? await api.get("/version").get()) != nil
        })
        #expect(proxy.spawns == 2)
        let secondPID = try #require(proxy.pid)

        // stop: the watch's thread ends, the proxy process and its directory are gone.
        #expect(watch.stopAndWait(timeout: 5))
        await proxy.stop()
        #expect(!TestProcesses.alive(secondPID) && !TestProcesses.alive(proxyPID) && !TestProcesses.alive(kubectlPID!))
        #expect(!FileManager.default.fileExists(atPath: dir))
        #expect(TestProcesses.mentioning(socketPath).isEmpty)
        #expect(proxy.currentSocket() == nil && proxy.pid == nil, "no restart after stop")
    }

    /// A hung API server (api-slow --delay 60) and back: the open watch is dropped on purpose
    /// (`reconnect`, as the prober does when the server answers again) and watches again at once
    /// from its resourceVersion, with no new LIST and no failure left over from the outage.
    @Test(.timeLimit(.minutes(3))) func watchReconnectsAfterAHungServer() async throws {
        let sb = try await SandboxProcess.up(prefix: "proxy-hung")
        defer { sb.downBlocking() }
        let proxy = KubeProxy(target: LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(kubeconfig: sb.kubeconfig)))
        defer { Task { await proxy.stop() } }
        let watch = APIWatch(path: Self.pods, selector: "metadata.name=redis-0", proxy: proxy, requestTimeout: 2)
        #expect(await SandboxProcess.eventually(20) { _ = watch.poll(); return watch.connected })
        _ = await sb.sandbox("fault", ["api-slow", "--delay", "60"])
        try await Task.sleep(for: .seconds(3))
        // A stream opened before the server hung stays open.
        print("hung: connected \(watch.connected), failure \(String(describing: watch.lastFailure))")
        watch.reconnect()
        try await Task.sleep(for: .seconds(5))
        print("hung, after reconnect: connected \(watch.connected), failure \(String(describing: watch.lastFailure)), requests \(watch.requests)")
        #expect(!watch.connected, "a watch cannot be opened while the server hangs")
        _ = await sb.sandbox("heal")
        let started = Date()
        watch.reconnect()
        let back = await SandboxProcess.eventually(15) { _ = watch.poll(); return watch.connected && watch.lastFailure == nil }
        print("after heal: connected \(watch.connected) after \(String(format: "%.1f", Date().timeIntervalSince(started))) s, failure \(String(describing: watch.lastFailure)), requests \(watch.requests)")
        #expect(back, "\(String(describing: watch.lastFailure))")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(watch.requests["LIST"] == 1, "\(watch.requests)")
        watch.stop()
    }
}

/// Issue 16's figures (docs/design-live-over-kubectl-proxy.md, "Session 6"): the proxy with one
/// pod watch and `GET /version` every 5 s, beside one `kubectl get pod redis-0 -o json --watch`,
/// both idle for 60 s on the sandbox; RSS (VmRSS) and CPU seconds (utime+stime) of each process
/// group from /proc. Only with PROXY_BENCH=1 (a minute of wall time, figures printed).
@Suite("proxy cost", .serialized, .enabled(if: ProcessInfo.processInfo.environment["PROXY_BENCH"] == "1"))
struct ProxyCostBench {
    /// VmRSS (KiB) and utime+stime (seconds) summed over the processes of group `pgid`.
    static func usage(group pgid: Int32) -> (rssKiB: Int, cpu: Double, pids: Int) {
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        var rss = 0, ticks = 0, n = 0
        for pid in ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init) {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { continue }
            let f = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            // After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
            guard f.count > 12, Int32(f[2]) == pgid else { continue }
            ticks += (Int(f[11]) ?? 0) + (Int(f[12]) ?? 0)
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
                rss += Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
            }
            n += 1
        }
        return (rss, Double(ticks) / hz, n)
    }

    @Test(.timeLimit(.minutes(5))) func idleMinute() async throws {
        let sb = try await SandboxProcess.up(prefix: "proxy-bench")
        defer { sb.downBlocking() }
        let proxy = KubeProxy(target: LiveTarget(kubectl: SandboxProcess.kubectl, target: Target(kubeconfig: sb.kubeconfig)))
        let api = APIClient(proxy: proxy, requestTimeout: 5)
        _ = try await api.get("/version").get()
        let watch = APIWatch(path: ProxySandboxTests.pods, selector: "metadata.name=redis-0", proxy: proxy)
        #expect(await SandboxProcess.eventually(20) { _ = watch.poll(); return watch.connected })
        let kubectlWatch = try Child.spawn(sb.kubectlArgv + ["get", "pod", "redis-0", "-o", "json", "--watch"],
                                           stdoutPath: sb.dir.appendingPathComponent("watch.out").path,
                                           stderrPath: sb.dir.appendingPathComponent("watch.err").path)
        defer { kubectlWatch.signal(SIGKILL); _ = kubectlWatch.wait() }
        // Both warmed up: the proxy served a LIST and a request, kubectl printed the pod.
        #expect(await SandboxProcess.eventually(20) {
            ((try? Data(contentsOf: sb.dir.appendingPathComponent("watch.out")))?.count ?? 0) > 100
        })
        let proxyPID = try #require(proxy.pid)
        let p0 = Self.usage(group: proxyPID), k0 = Self.usage(group: kubectlWatch.pid)
        var versions = 0
        for _ in 0..<12 {
            try await Task.sleep(for: .seconds(5))
            if (try? await api.get("/version").get()) != nil { versions += 1 }
            _ = watch.poll()
        }
        let p1 = Self.usage(group: proxyPID), k1 = Self.usage(group: kubectlWatch.pid)
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        print("proxy cost over 60 s: kubectl proxy (\(p1.pids) processes) RSS \(f(Double(p1.rssKiB) / 1024)) MiB, CPU \(f(p1.cpu - p0.cpu)) s, "
            + "requests \(watch.requests) + \(versions) GET /version; kubectl get --watch (\(k1.pids) processes) RSS \(f(Double(k1.rssKiB) / 1024)) MiB, CPU \(f(k1.cpu - k0.cpu)) s")
        print("  cumulative since start: proxy CPU \(f(p1.cpu)) s, kubectl get --watch CPU \(f(k1.cpu)) s")
        // The same 12 questions as one-shot kubectl processes (today's liveness probe, exporter
        // and log reads): CPU and peak RSS of the reaped children.
        var before = rusage(), after = rusage()
        getrusage(Int32(RUSAGE_CHILDREN.rawValue), &before)
        for _ in 0..<12 { _ = await sb.kubectl(["get", "--raw", "/version"]) }
        getrusage(Int32(RUSAGE_CHILDREN.rawValue), &after)
        func secs(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let oneShotCPU = secs(after.ru_utime) + secs(after.ru_stime) - secs(before.ru_utime) - secs(before.ru_stime)
        print("  12 one-shot kubectl get --raw /version: CPU \(f(oneShotCPU)) s (\(f(oneShotCPU / 12)) s each), peak RSS of a child \(f(Double(after.ru_maxrss) / 1024)) MiB")
        #expect(versions == 12 && watch.connected)
        _ = watch.stopAndWait()
        await proxy.stop()
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
}
