import Foundation
import Testing
import TmuxTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus (Debian's package) scraping the sandbox's real redis_exporter with the
/// shipped rules (only their `for:` shortened): faults a scrape can see make the alerts fire in
/// /api/v1/alerts, and each alert's runbook_id opens that runbook in the tool. One alert also
/// travels the documented path: a real Alertmanager with deploy/alertmanager/alertmanager.yml,
/// the real `webhook` listener with deploy/alertmanager/hooks.yaml, open-in-tmux.sh, a tmux window.
///
/// The exporter listens on 127.0.0.1:9121 inside the pod's network namespace, so Prometheus runs
/// in that namespace (nsenter -t <pod sandbox pid> -n), and its API is read from there too.
@Suite(.serialized) struct PrometheusEndToEndTests {
    struct FiredAlert {
        var name: String
        var state: String
        var labels: [String: String]
        var annotations: [String: String]
    }

    final class Stack: @unchecked Sendable {
        let dir: URL
        var netnsPid: Int32 = 0
        let promPort = 19_090
        /// The real kubectl, pointed at the sandbox's API server by `kubeconfig`.
        let kubectl = "/usr/bin/kubectl"
        var kubeconfig: String { dir.appendingPathComponent("sandbox/kubeconfig").path }
        var sandboxDir: String { dir.appendingPathComponent("sandbox").path }
        let alertmanagerPort = 19_093, webhookPort = 19_000
        var daemons: [(name: String, pidFile: String, task: Task<Void, Never>)] = []
        /// The private tmux server (TMUX_TMPDIR) the Alertmanager receiver opens windows in.
        var tmuxEnv: [String: String] {
            ["TMUX_TMPDIR": dir.path, "XDG_STATE_HOME": dir.appendingPathComponent("state").path, "REDIS_RUNBOOK": builtBinary,
             "HOME": dir.path].merging(toolEnvironment) { $1 }
        }
        func tmux(_ args: [String]) async -> String {
            (await run(["tmux"] + args, environment: tmuxEnv, removeEnvironment: ["TMUX"], timeout: .seconds(10))).stdoutText
        }

        /// A process in the pod's network namespace, ended by `timeout` even if the test is killed.
        func startInPodNetwork(_ name: String, _ argv: [String], environment: [String: String] = [:]) {
            let pidFile = dir.appendingPathComponent("\(name).pid").path
            let logPath = dir.appendingPathComponent("\(name).log").path
            let full = ["sh", "-c", "echo $$ > \"$0\"; exec \"$@\"", pidFile, "nsenter", "-t", "\(netnsPid)", "-n", "timeout", "300"] + argv
            let env = environment
            let task = Task.detached {
                let r = await run(full, environment: env, removeEnvironment: ["TMUX"], timeout: .seconds(320))
                try? (r.stdoutText + r.stderrText).write(toFile: logPath, atomically: true, encoding: .utf8)
            }
            daemons.append((name, pidFile, task))
        }
        init(dir: URL) { self.dir = dir }

        /// The sandbox (small memory limit: memory-pressure fills 48 MiB, not 384) and Prometheus in its pod's netns.
        func start(forDuration: String) async throws {
            let up = await run([sandboxBinary, "up", "--dir", sandboxDir, "--fast", "--memory-limit", "64Mi"], timeout: .seconds(120))
            guard up.succeeded else { throw AlertsTestFailure("sandbox up: \(up.stdoutText)\(up.stderrText)") }
            let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sandboxDir + "/state.json"))) as? [String: Any]
            guard let pods = state?["pods"] as? [[String: Any]], let pid = pods.first?["sandboxPid"] as? Int, pid > 0 else {
                throw AlertsTestFailure("no pods[].sandboxPid in \(sandboxDir)/state.json")
            }
            netnsPid = Int32(pid)
            // The shipped rules with every `for:` shortened; promtool checks the copy too.
            let rules = try String(contentsOfFile: repoPath("deploy/alerts/redis.rules.yaml"), encoding: .utf8)
                .replacingOccurrences(of: #"(?m)^    for: \S+$"#, with: "    for: \(forDuration)", options: .regularExpression)
            try rules.write(to: dir.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
            let check = await run(["promtool", "check", "rules", dir.appendingPathComponent("rules.yaml").path])
            guard check.succeeded else { throw AlertsTestFailure("promtool check rules (shortened copy): \(check.stdoutText)") }
            try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: [rules.yaml]
            alerting:
              alertmanagers:
              - static_configs:
                - targets: ['127.0.0.1:\(alertmanagerPort)']
            scrape_configs:
            - job_name: redis
              scrape_timeout: 900ms
              static_configs:
              - targets: ['127.0.0.1:9121']
                labels: {namespace: default, pod: redis-0}

            """.write(to: dir.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            startInPodNetwork("prometheus", ["prometheus", "--config.file=\(dir.path)/prometheus.yml", "--storage.tsdb.path=\(dir.path)/tsdb",
                                             "--web.listen-address=127.0.0.1:\(promPort)", "--log.level=warn"])
            // The shipped Alertmanager receiver and webhook hook, pointed at this test's ports and
            // this checkout's open-in-tmux.sh; group_wait shortened.
            let am = try String(contentsOfFile: repoPath("deploy/alertmanager/alertmanager.yml"), encoding: .utf8)
                .replacingOccurrences(of: "http://127.0.0.1:9000/", with: "http://127.0.0.1:\(webhookPort)/")
                .replacingOccurrences(of: "group_wait: 10s", with: "group_wait: 1s")
            try am.write(to: dir.appendingPathComponent("alertmanager.yml"), atomically: true, encoding: .utf8)
            let hooks = try String(contentsOfFile: repoPath("deploy/alertmanager/hooks.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/share/redis-runbook/open-in-tmux.sh", with: repoPath("deploy/alertmanager/open-in-tmux.sh"))
            try hooks.write(to: dir.appendingPathComponent("hooks.yaml"), atomically: true, encoding: .utf8)
            startInPodNetwork("alertmanager", ["prometheus-alertmanager", "--config.file=\(dir.path)/alertmanager.yml", "--storage.path=\(dir.path)/am",
                                               "--web.listen-address=127.0.0.1:\(alertmanagerPort)", "--cluster.listen-address=", "--log.level=warn"])
            _ = await tmux(["-f", "/dev/null", "new-session", "-d", "-s", "oncall", "-x", "110", "-y", "30"])
            startInPodNetwork("webhook", ["webhook", "-hooks", "\(dir.path)/hooks.yaml", "-ip", "127.0.0.1", "-port", "\(webhookPort)"], environment: tmuxEnv)
            _ = try await waitUntil(30, "Prometheus to scrape the exporter") { () -> Bool? in
                let r = await self.api("/api/v1/query?query=redis_up")
                return r.contains("\"redis_up\"") && r.contains("\"1\"]") ? true : nil
            }
        }

        func stop() async {
            for d in daemons {
                if let s = try? String(contentsOfFile: d.pidFile, encoding: .utf8), let pid = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    kill(pid, SIGTERM)   // nsenter execs into timeout, which forwards it
                }
            }
            for d in daemons { _ = await d.task.value }
            _ = await tmux(["kill-server"])
            _ = await run([sandboxBinary, "down", "--dir", sandboxDir], timeout: .seconds(60))
            try? FileManager.default.removeItem(at: dir)
        }

        /// The text of every tmux window named redis-alert (opened by the Alertmanager receiver).
        func alertWindows() async -> [String] {
            var out: [String] = []
            for line in (await tmux(["list-windows", "-t", "oncall", "-F", "#{window_index} #{window_name}"])).split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[1] == "redis-alert" else { continue }
                out.append(await tmux(["capture-pane", "-p", "-t", "oncall:\(parts[0])"]))
            }
            return out
        }

        func api(_ path: String) async -> String {
            (await run(["nsenter", "-t", "\(netnsPid)", "-n", "curl", "-sf", "--max-time", "5", "http://127.0.0.1:\(promPort)\(path)"], timeout: .seconds(10))).stdoutText
        }

        func alerts() async -> [FiredAlert] {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(await api("/api/v1/alerts").utf8)) as? [String: Any],
                  let list = (obj["data"] as? [String: Any])?["alerts"] as? [[String: Any]] else { return [] }
            return list.map { a in
                let labels = a["labels"] as? [String: String] ?? [:]
                return FiredAlert(name: labels["alertname"] ?? "", state: a["state"] as? String ?? "", labels: labels, annotations: a["annotations"] as? [String: String] ?? [:])
            }
        }

        func fault(_ name: String) async throws {
            let r = await run([sandboxBinary, "fault", name, "--dir", sandboxDir], timeout: .seconds(180))
            guard r.succeeded else { throw AlertsTestFailure("sandbox fault \(name): \(r.stdoutText)\(r.stderrText)") }
        }

        /// Waits (bounded) until `name` is firing in Prometheus.
        func waitFiring(_ name: String, timeout: Double = 90) async throws -> FiredAlert {
            try await waitUntil(timeout, "\(name) to fire in /api/v1/alerts") { () -> FiredAlert? in
                await self.alerts().first { $0.name == name && $0.state == "firing" }
            }
        }
    }

    /// The alert as Alertmanager would send it (webhook v4), opened with `alert - --print`: the
    /// runbook printed is the one its runbook_id label names, on the pod its labels name.
    static func assertOpensItsRunbook(_ a: FiredAlert, stack: Stack) async throws {
        let runbookId = try #require(a.labels["runbook_id"], "\(a.name) fired without runbook_id")
        let yaml = try String(contentsOfFile: repoPath("runbooks/\(runbookId).yaml"), encoding: .utf8)
        let title = try #require(yaml.split(separator: "\n").first { $0.hasPrefix("title: ") }).dropFirst("title: ".count)
        let payload = try JSONSerialization.data(withJSONObject: [
            "version": "4", "status": "firing", "receiver": "redis-runbook", "groupKey": "{}:{alertname=\"\(a.name)\"}",
            "alerts": [["status": "firing", "labels": a.labels, "annotations": a.annotations, "startsAt": "2026-01-01T00:00:00Z"]],
        ] as [String: Any])
        let r = await run([builtBinary, "alert", "-", "--print", "--kubectl", stack.kubectl, "--kubeconfig", stack.kubeconfig], stdin: payload, environment: toolEnvironment)
        #expect(r.succeeded, "\(a.name): \(r.stderrText)")
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.first == "alert: \(a.name) (\(a.labels["severity"] ?? ""))", "\(lines.prefix(3))")
        #expect(lines.dropFirst().first == "runbook: \(runbookId): \(title)", "\(a.name): \(lines.prefix(3))")
        #expect(lines.dropFirst(2).first == "target: context (current), namespace default, statefulset redis, pod redis-0")
        #expect(r.stdoutText.contains("# \(title)"))
        // The runbook_url annotation points at that runbook's page, which exists.
        #expect(a.annotations["runbook_url"]?.hasSuffix("/docs/runbooks/\(runbookId).md") == true)
    }

    @Test(.timeLimit(.minutes(8))) func faultsFireAlertsThatOpenTheirRunbooks() async throws {
        for tool in ["prometheus", "promtool", "prometheus-alertmanager", "webhook", "nsenter", "curl", "tmux"] {
            try #require((await run(["sh", "-c", "command -v \"$0\"", tool])).succeeded, "\(tool) is not installed (scripts/install-deps.sh)")
        }
        let stack = Stack(dir: try tempDir("prom-e2e"))
        var failure: Error?
        do { try await Self.scenario(stack) } catch { failure = error }
        var log = ""
        for name in ["prometheus", "alertmanager", "webhook"] {
            log += "--- \(name):\n" + String(((try? String(contentsOfFile: stack.dir.appendingPathComponent("\(name).log").path, encoding: .utf8)) ?? "").suffix(1500))
        }
        await stack.stop()
        if let failure { throw AlertsTestFailure("\(failure)\n\(log)") }
    }

    static func scenario(_ stack: Stack) async throws {
        try await stack.start(forDuration: "2s")
        // Healthy: none of the fault alerts fires.
        let calm = await stack.alerts().filter { $0.state == "firing" }.map(\.name)
        #expect(!calm.contains("RedisWritesRejectedOOM") && !calm.contains("RedisEvictionPolicyDrift") && !calm.contains("RedisExporterTargetDown") && !calm.contains("RedisRestarted"), "\(calm)")

        // memory-pressure: maxmemory reached, writes refused with OOM.
        try await stack.fault("memory-pressure")
        let oom = try await stack.waitFiring("RedisWritesRejectedOOM")
        #expect(oom.labels["runbook_id"] == "memory-pressure" && oom.labels["severity"] == "critical")
        #expect(oom.annotations["description"]?.contains("with \"OOM command not allowed\"") == true)
        try await assertOpensItsRunbook(oom, stack: stack)
        let near = try await stack.waitFiring("RedisMemoryNearMaxmemory")
        #expect(near.annotations["description"]?.contains("% of maxmemory") == true, "\(near.annotations)")

        // Prometheus → Alertmanager (the shipped route and receiver) → webhook (the shipped hook)
        // → open-in-tmux.sh → a tmux window with the dashboard on the memory-pressure runbook.
        let window = try await waitUntil(60, "the Alertmanager receiver to open a redis-alert window on memory-pressure") { () -> String? in
            await stack.alertWindows().first { $0.contains("Runbook memory-pressure") && $0.contains("│ Redis is running out of memory") }
        }
        #expect(!window.isEmpty)

        // ... and the same runbook in the dashboard, in a terminal.
        let tmux = try TmuxSession(width: 110, height: 30)
        do {
            try tmux.launchApp(["alert", oom.labels["runbook_id"] ?? "?", "--kubectl", stack.kubectl, "--kubeconfig", stack.kubeconfig, "--refresh", "1"])
            try tmux.waitFor(timeout: 20, "the memory-pressure runbook in the dashboard") { l in
                l.contains { $0.contains("Runbook memory-pressure") } && l.contains { $0.contains("│ Redis is running out of memory") }
            }
            try tmux.sendKeys("q")
            _ = try tmux.waitForExit()
        } catch { tmux.close(); throw error }
        tmux.close()

        // config-drift: maxmemory-policy allkeys-lru at runtime.
        try await stack.fault("config-drift")
        let drift = try await stack.waitFiring("RedisEvictionPolicyDrift")
        #expect(drift.labels["maxmemory_policy"] == "allkeys-lru" && drift.labels["runbook_id"] == "config-drift")
        try await assertOpensItsRunbook(drift, stack: stack)
        let fix = await run([stack.kubectl, "--kubeconfig", stack.kubeconfig, "exec", "redis-0", "-c", "redis", "--", "redis-cli", "CONFIG", "SET", "maxmemory-policy", "noeviction"])
        #expect(fix.stdoutText.contains("OK"))
        _ = try await waitUntil(30, "RedisEvictionPolicyDrift to resolve") { () -> Bool? in
            await stack.alerts().contains { $0.name == "RedisEvictionPolicyDrift" } ? nil : true
        }

        // crash: redis-server SIGKILLed, restarted by the kubelet.
        try await stack.fault("crash")
        let restarted = try await stack.waitFiring("RedisRestarted")
        #expect(restarted.labels["runbook_id"] == "pod-restart")
        try await assertOpensItsRunbook(restarted, stack: stack)

        // exporter-down: the sidecar does not answer any more.
        try await stack.fault("exporter-down")
        let down = try await stack.waitFiring("RedisExporterTargetDown")
        #expect(down.labels["runbook_id"] == "exporter-down" && down.labels["job"] == "redis")
        try await assertOpensItsRunbook(down, stack: stack)
    }
}
