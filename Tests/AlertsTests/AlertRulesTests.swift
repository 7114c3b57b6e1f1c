import Foundation
import ProcessRunner
import Testing
import Yams

/// deploy/alerts: promtool unit tests, the rules' shape, the PrometheusRule copy, and the metric
/// names against a real redis_exporter.
@Suite struct AlertRulesTests {
    static let rulesFile = repoPath("deploy/alerts/redis.rules.yaml")
    /// The promtool test files (redis.rules.test.yaml, and the backup rule's on an hourly clock).
    static var testFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: repoPath("deploy/alerts/tests"))) ?? [])
            .filter { $0.hasSuffix(".test.yaml") }.sorted().map { repoPath("deploy/alerts/tests/\($0)") }
    }

    @Test func promtoolChecksAndUnitTestsPass() async throws {
        let check = await run(["promtool", "check", "rules", Self.rulesFile])
        #expect(check.succeeded, "promtool check rules: \(check.stdoutText)\(check.stderrText)")
        let rules = try loadRules()
        #expect(check.stdoutText.contains("SUCCESS: \(rules.count) rules found"), "\(check.stdoutText)")
        #expect(Self.testFiles.count == 2)
        let t = await run(["promtool", "test", "rules"] + Self.testFiles)
        #expect(t.succeeded && t.stdoutText.components(separatedBy: "SUCCESS").count - 1 == Self.testFiles.count, "promtool test rules failed:\n\(t.stdoutText)\(t.stderrText)")
    }

    /// Every alert is tested firing (non-empty exp_alerts) and silent (an empty exp_alerts).
    @Test func everyAlertIsTestedFiringAndSilent() throws {
        var firing: Set<String> = [], silent: Set<String> = []
        for file in Self.testFiles {
          let doc = try #require(try Yams.load(yaml: String(contentsOfFile: file, encoding: .utf8)) as? [String: Any])
          for t in doc["tests"] as? [[String: Any]] ?? [] {
            for a in t["alert_rule_test"] as? [[String: Any]] ?? [] {
                guard let name = a["alertname"] as? String else { continue }
                if let exp = a["exp_alerts"] as? [Any], !exp.isEmpty { firing.insert(name) } else { silent.insert(name) }
            }
          }
        }
        let all = Set(try loadRules().map(\.alert))
        #expect(all.count >= 19)
        #expect(all.subtracting(firing).isEmpty, "never tested firing: \(all.subtracting(firing).sorted())")
        #expect(all.subtracting(silent).isEmpty, "never tested silent: \(all.subtracting(silent).sorted())")
    }

    /// The unit tests can fail: a rule whose expression never matches makes promtool fail, naming it.
    @Test func promtoolFailsWhenARuleStopsFiring() async throws {
        let dir = try tempDir("rules-mutant")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("tests"), withIntermediateDirectories: true)
        var testCopies: [String] = []
        for f in Self.testFiles {
            let copy = dir.appendingPathComponent("tests/" + URL(fileURLWithPath: f).lastPathComponent).path
            try FileManager.default.copyItem(atPath: f, toPath: copy)
            testCopies.append(copy)
        }
        let original = try String(contentsOfFile: Self.rulesFile, encoding: .utf8)
        for rule in try loadRules() {
            // Replace this rule's expr (a one-line `expr: ...` or a `expr: |` block) by one that never matches.
            var lines = original.components(separatedBy: "\n")
            guard let at = lines.firstIndex(of: "  - alert: \(rule.alert)"),
                  let e = lines[at...].firstIndex(where: { $0.hasPrefix("    expr:") }) else { Issue.record("no expr for \(rule.alert)"); continue }
            var end = e + 1
            if lines[e].hasSuffix("|") { while end < lines.count, lines[end].hasPrefix("      ") { end += 1 } }
            lines.replaceSubrange(e..<end, with: ["    expr: vector(1) == 2"])
            try lines.joined(separator: "\n").write(toFile: dir.appendingPathComponent("redis.rules.yaml").path, atomically: true, encoding: .utf8)
            let r = await run(["promtool", "test", "rules"] + testCopies)
            #expect(!r.succeeded, "\(rule.alert): promtool still passes with a rule that never fires")
            #expect(r.stdoutText.contains("alertname: \(rule.alert),") || r.stderrText.contains("alertname: \(rule.alert),"), "\(rule.alert): \(r.stdoutText.prefix(400))")
        }
    }

    @Test func everyRuleCarriesSeverityRunbookAndLiveValue() throws {
        let runbooks = try FileManager.default.contentsOfDirectory(atPath: repoPath("runbooks")).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        var bases: Set<String> = []
        for r in try loadRules() {
            #expect(["critical", "warning"].contains(r.labels["severity"] ?? ""), "\(r.alert): severity \(r.labels["severity"] ?? "missing")")
            let id = try #require(r.labels["runbook_id"], "\(r.alert): no runbook_id label")
            #expect(runbooks.contains(id), "\(r.alert): runbook_id \(id) is not in runbooks/")
            let url = try #require(r.annotations["runbook_url"], "\(r.alert): no runbook_url")
            let suffix = "/docs/runbooks/\(id).md"
            #expect(url.hasSuffix(suffix), "\(r.alert): runbook_url \(url) does not end in \(suffix)")
            bases.insert(String(url.dropLast(suffix.count)))
            #expect(FileManager.default.fileExists(atPath: repoPath("docs/runbooks/\(id).md")), "\(r.alert): docs/runbooks/\(id).md missing")
            let summary = try #require(r.annotations["summary"], "\(r.alert): no summary")
            #expect(!summary.contains("\n") && summary.count <= 120, "\(r.alert): summary must be one short line: \(summary)")
            let d = try #require(r.annotations["description"], "\(r.alert): no description")
            #expect(d.contains("$value") || d.contains("$labels.maxmemory_policy") || d.contains("$labels.err"), "\(r.alert): description names no live value: \(d)")
            #expect(r.alert.hasPrefix("Redis"), "\(r.alert): alert names start with Redis (the Alertmanager route matches Redis.*)")
        }
        #expect(bases.count == 1, "runbook_url bases differ: \(bases.sorted())")
    }

    /// The issue's list, by expression: each named check is in some rule.
    @Test func rulesCoverTheIssuesList() throws {
        let exprs = try loadRules().map { $0.expr.replacingOccurrences(of: "\n", with: " ") }
        let needed = ["redis_up == 0", "redis_aof_last_write_status == 0", "redis_aof_last_bgrewrite_status == 0",
                      "increase(redis_aof_delayed_fsync[5m]) > 0", "redis_rdb_last_bgsave_status == 0",
                      "increase(redis_errors_total{err=\"OOM\"}[5m]) > 0", "(redis_memory_max_bytes > 0)", "redis_memory_max_bytes == 0",
                      "container_spec_memory_limit_bytes", "reason=\"OOMKilled\"", "kube_pod_container_status_restarts_total",
                      "maxmemory_policy!=\"noeviction\"", "redis_evicted_keys_total", "redis_loading_dump_file == 1",
                      "redis_exporter_last_scrape_error == 1", "redis_key_size", "time() - redis_rdb_last_save_timestamp_seconds"]
        for n in needed { #expect(exprs.contains { $0.contains(n) }, "no rule uses \(n)") }
    }

    /// deploy/alerts/redis-prometheusrule.yaml carries exactly the rules file's groups.
    @Test func prometheusRuleIsTheRulesFile() throws {
        let rules = try #require(try Yams.load(yaml: String(contentsOfFile: Self.rulesFile, encoding: .utf8)) as? [String: Any])
        let pr = try #require(try Yams.load(yaml: String(contentsOfFile: repoPath("deploy/alerts/redis-prometheusrule.yaml"), encoding: .utf8)) as? [String: Any])
        #expect(pr["apiVersion"] as? String == "monitoring.coreos.com/v1")
        #expect(pr["kind"] as? String == "PrometheusRule")
        let spec = try #require(pr["spec"] as? [String: Any])
        func canon(_ v: Any?) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: v ?? NSNull(), options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
        #expect(try canon(spec["groups"]) == canon(rules["groups"]), "regenerate with `make alerts`")
    }

    /// generate.sh: one URL base for every rule, the PrometheusRule and the promtool tests, which still pass.
    @Test func urlBaseIsSetInOnePlace() async throws {
        let dir = try tempDir("alerts-base")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("alerts")
        try FileManager.default.copyItem(atPath: repoPath("deploy/alerts"), toPath: copy.path)
        let base = "https://git.example.net/ops/redis-runbook/-/blob/main"
        let g = await run([copy.appendingPathComponent("generate.sh").path, "--runbook-url-base", base + "/"])
        #expect(g.succeeded, "\(g.stderrText)")
        for r in try loadRules(copy.appendingPathComponent("redis.rules.yaml").path) {
            #expect(r.annotations["runbook_url"] == "\(base)/docs/runbooks/\(r.labels["runbook_id"] ?? "?").md")
        }
        let pr = try String(contentsOf: copy.appendingPathComponent("redis-prometheusrule.yaml"), encoding: .utf8)
        #expect(pr.components(separatedBy: "runbook_url: \(base)/docs/runbooks/").count - 1 == (try loadRules().count))
        let t = await run(["promtool", "test", "rules", copy.appendingPathComponent("tests/redis.rules.test.yaml").path,
                           copy.appendingPathComponent("tests/redis.rules.backup.test.yaml").path])
        #expect(t.succeeded, "promtool after a base change: \(t.stdoutText)")
        let bad = await run([copy.appendingPathComponent("generate.sh").path, "--runbook-url-base", "https://x/a b"])
        #expect(!bad.succeeded && bad.stderrText.contains("must not contain spaces"))
    }

    /// Every redis_* / redis_exporter_* metric the rules read is served by the installed
    /// prometheus-redis-exporter (a real redis-server and exporter, with an OOM error, an evicted
    /// key and a checked BullMQ wait list so that the on-demand series exist).
    @Test func rulesUseMetricsTheRealExporterServes() async throws {
        let dir = try tempDir("exporter-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let redisPort = Int.random(in: 20000..<30000), exporterPort = Int.random(in: 30000..<40000)
        let redis = await run(["redis-server", "--port", "\(redisPort)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                               "--dir", dir.path, "--daemonize", "yes", "--pidfile", dir.appendingPathComponent("redis.pid").path])
        #expect(redis.succeeded, "\(redis.stderrText)")
        let cli = ["redis-cli", "-p", "\(redisPort)"]
        var failure: Error?
        do { try await Self.checkExporterNames(cli: cli, redisPort: redisPort, exporterPort: exporterPort) } catch { failure = error }
        _ = await run(cli + ["SHUTDOWN", "NOSAVE"])
        if let failure { throw failure }
    }

    static func checkExporterNames(cli: [String], redisPort: Int, exporterPort: Int) async throws {
        _ = try await waitUntil(10, "redis-server") { (await run(cli + ["PING"])).stdoutText.contains("PONG") ? true : nil }
        _ = await run(cli + ["CONFIG", "SET", "maxmemory", "1"])
        let oom = await run(cli + ["SET", "k", "v"])
        #expect(oom.stdoutText.contains("OOM"), "\(oom.stdoutText)")
        _ = await run(cli + ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
        _ = await run(cli + ["SET", "k2", "v"])   // evicts to make room
        _ = await run(cli + ["CONFIG", "SET", "maxmemory", "0"])
        _ = await run(cli + ["RPUSH", "bull:email:wait", "1", "2"])   // after the evictions
        // `timeout` ends the exporter by itself even if this test is killed; the pid file lets
        // the test stop it at once (timeout forwards the SIGTERM to it).
        let pidFile = NSTemporaryDirectory() + "exporter-\(exporterPort).pid"
        let exporter = Task {
            await run(["sh", "-c", "echo $$ > \"$0\"; exec \"$@\"", pidFile, "timeout", "30", "prometheus-redis-exporter",
                       "-redis.addr", "redis://127.0.0.1:\(redisPort)", "-web.listen-address", "127.0.0.1:\(exporterPort)",
                       "-check-single-keys", "bull:email:wait"], timeout: .seconds(40))
        }
        defer {
            if let s = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGTERM) }
            try? FileManager.default.removeItem(atPath: pidFile)
            exporter.cancel()
        }
        let metrics = try await waitUntil(15, "the exporter's /metrics") { () -> String? in
            let r = await run(["curl", "-sf", "http://127.0.0.1:\(exporterPort)/metrics"], timeout: .seconds(5))
            return r.succeeded && r.stdoutText.contains("redis_up 1") ? r.stdoutText : nil
        }
        let served = Set(metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.prefix { $0 != "{" && $0 != " " }) })
        var used: Set<String> = []
        for r in try loadRules() {
            for m in r.expr.matches(of: /\b(redis_[a-z_]+)/) { used.insert(String(m.1)) }
        }
        #expect(used.count >= 14, "\(used.sorted())")
        #expect(used.subtracting(served).isEmpty, "not served by prometheus-redis-exporter: \(used.subtracting(served).sorted())")
        #expect(metrics.contains("redis_errors_total{err=\"OOM\"}") && metrics.contains("redis_key_size{db=\"db0\",key=\"bull:email:wait\"} 2")
                && metrics.contains("maxmemory_policy=\"allkeys-lru\""))
    }
}
