import ArgumentParser
import Common
import Foundation
import Testing
import Yams
@testable import CLI
import Live

/// kubectl's global flags, the kubectl plugin (with the real kubectl) and the k9s plugins.
@Suite struct PluginTests {
    // MARK: - kubectl global flags

    @Test func kubectlFlagsParseAndAreChecked() throws {
        let g = try GlobalOptions.parse(["--kubeconfig", "/k/c", "--context", "prod", "-n", "q", "--request-timeout", "1m30s", "--as", "oncall@example.com"])
        #expect(g.kubeconfig == "/k/c" && g.context == "prod" && g.namespace == "q" && g.requestTimeout == "1m30s" && g.asUser == "oncall@example.com")
        for ok in ["0", "30", "10s", "1m30s", "500ms", "1.5h"] { #expect(GlobalOptions.isKubectlDuration(ok), "\(ok)") }
        #expect(!GlobalOptions.isKubectlDuration("-1s"))
        for bad in ["", "ten", "10x", "s", "1..5s", "10 s"] {
            #expect(!GlobalOptions.isKubectlDuration(bad), "\(bad)")
            do { _ = try GlobalOptions.parse(["--request-timeout", bad]); Issue.record("accepted \(bad)") } catch {
                #expect(GlobalOptions.message(for: error).contains("--request-timeout must be a duration"), "\(GlobalOptions.message(for: error))")
            }
        }
        #expect(throws: (any Error).self) { _ = try GlobalOptions.parse(["--as", ""]) }
    }

    @Test func kubectlFlagsGoToTheProbersArgvOnlyWhenSet() {
        let none = LiveTarget(kubectl: "kubectl", target: Target())
        #expect(none.kubectlArgv(["get", "pod"]) == ["kubectl", "-n", "default", "get", "pod"])
        let all = LiveTarget(kubectl: "/bin/kubectl", target: Target(context: "prod", kubeconfig: "/k/c", namespace: "q", requestTimeout: "5s", asUser: "ops"))
        #expect(all.kubectlArgv(["get", "pod"]) == ["/bin/kubectl", "--context", "prod", "--kubeconfig", "/k/c", "--request-timeout", "5s", "--as", "ops", "-n", "q", "get", "pod"])
        // A watch is one long request: --request-timeout would end it; the other flags stay.
        #expect(all.kubectlArgv(["get", "pod", "redis-0", "-o", "json", "--watch"])
                == ["/bin/kubectl", "--context", "prod", "--kubeconfig", "/k/c", "--as", "ops", "-n", "q", "get", "pod", "redis-0", "-o", "json", "--watch"])
        #expect(all.redisCLIArgv.starts(with: ["/bin/kubectl", "--context", "prod", "--kubeconfig", "/k/c", "--request-timeout", "5s", "--as", "ops", "-n", "q", "exec"]))
    }

    /// Every kubectl the binary starts (status probes, a runbook's checks) carries the flags; none when unset.
    @Test func everyKubectlCallCarriesTheFlags() async throws {
        let dir = try tempDir("kflags")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("argv.log").path
        let fake = dir.appendingPathComponent("kubectl").path
        // One write per call (the tool runs kubectl calls in parallel: argument by argument, two
        // calls' words interleaved in the log).
        try "#!/bin/sh\nsep=$(printf '\\036')\nline=\nfor a in \"$@\"; do line=\"$line$a$sep\"; done\nprintf '%s\\n' \"$line\" >> '\(log)'\necho 'error: the server is unreachable' >&2\nexit 1\n"
            .write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        func calls() -> [[String]] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map { $0.split(separator: "\u{1e}").map(String.init) }
        }
        let flags = ["--kubeconfig", "/k/config", "--context", "prod", "--request-timeout", "7s", "--as", "oncall"]
        _ = await run([builtBinary, "status", "--json", "--kubectl", fake] + flags, environment: toolEnvironment, timeout: .seconds(60))
        _ = await run([builtBinary, "runbook", "run", "exporter-down", "--dry-run", "--yes", "--kubectl", fake] + flags,
                      environment: toolEnvironment.merging(["XDG_STATE_HOME": dir.path]) { $1 }, timeout: .seconds(60))
        let withFlags = calls()
        #expect(withFlags.count >= 3, "\(withFlags)")
        // Both paths were exercised: the prober (get pod) and the runbook runner (its first check, DBSIZE).
        #expect(withFlags.contains { $0.contains("get") && $0.contains("pod") }, "no prober call: \(withFlags)")
        #expect(withFlags.contains { $0.contains("DBSIZE") }, "no runbook step call: \(withFlags)")
        for c in withFlags {
            let want = c.contains("--watch") ? ["--context", "prod", "--kubeconfig", "/k/config", "--as", "oncall"]
                                             : ["--context", "prod", "--kubeconfig", "/k/config", "--request-timeout", "7s", "--as", "oncall"]
            #expect(Array(c.prefix(want.count)) == want, "kubectl call without the global flags: \(c)")
        }
        try FileManager.default.removeItem(atPath: log)
        _ = await run([builtBinary, "status", "--json", "--kubectl", fake], environment: toolEnvironment, timeout: .seconds(60))
        let plain = calls()
        #expect(!plain.isEmpty)
        for c in plain { #expect(!c.contains("--request-timeout") && !c.contains("--as") && !c.contains("--context") && !c.contains("--kubeconfig"), "\(c)") }
    }

    @Test func kubectlFlagsMayComeBeforeTheSubcommand() {
        let subs = RedisRunbookCommand.subcommandWords
        #expect(KubectlGlobalFlags.normalize(["--context", "prod", "-n", "q", "status", "--json"], subcommandNames: subs)
                == ["status", "--json", "--context", "prod", "-n", "q"])
        #expect(KubectlGlobalFlags.normalize(["--kubeconfig=/k", "runbook", "run", "backup", "--", "x"], subcommandNames: subs)
                == ["runbook", "run", "backup", "--kubeconfig=/k", "--", "x"])
        #expect(KubectlGlobalFlags.normalize(["status", "-n", "q"], subcommandNames: subs) == ["status", "-n", "q"])
        #expect(KubectlGlobalFlags.normalize(["--as", "ops", "--request-timeout", "5s"], subcommandNames: subs) == ["--as", "ops", "--request-timeout", "5s"])
    }

    // MARK: - kubectl plugin, with the real kubectl

    /// How the plugin test gets a Redis to talk to: a sandbox (redis-runbook-sandbox) whose API
    /// server the real kubectl reaches through DIR/kubeconfig.
    static func startRedisForPlugin() async throws -> (extraArgs: [String], stop: @Sendable () async -> Void) {
        let dir = try tempDir("plugin-sb")
        let up = await run([sandboxBinary, "up", "--dir", dir.path, "--fast"], timeout: .seconds(120))
        let stop: @Sendable () async -> Void = {
            _ = await run([sandboxBinary, "down", "--dir", dir.path], timeout: .seconds(60))
            try? FileManager.default.removeItem(at: dir)
        }
        guard up.succeeded else { await stop(); throw AlertsTestFailure("sandbox up: \(up.stdoutText)\(up.stderrText)") }
        return (["--kubectl", "/usr/bin/kubectl", "--kubeconfig", dir.appendingPathComponent("kubeconfig").path], stop)
    }

    static let realKubectls = ["/usr/bin/kubectl", "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"].filter { FileManager.default.isExecutableFile(atPath: $0) }

    /// A PATH with the plugin link in it, and the kubectl to test with.
    static func pluginPath() throws -> (dir: URL, path: String) {
        let dir = try tempDir("plugin-path")
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("kubectl-redis_runbook").path, withDestinationPath: builtBinary)
        return (dir, dir.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    @Test func realKubectlFindsAndRunsThePlugin() async throws {
        try #require(!Self.realKubectls.isEmpty, "no real kubectl installed (scripts/install-deps.sh installs it)")
        let (dir, path) = try Self.pluginPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = toolEnvironment.merging(["PATH": path, "KUBECONFIG": dir.appendingPathComponent("none").path]) { $1 }
        for k in Self.realKubectls {
            let list = await run([k, "plugin", "list"], environment: env)
            #expect(list.stdoutText.contains(dir.appendingPathComponent("kubectl-redis_runbook").path), "\(k) plugin list: \(list.stdoutText)\(list.stderrText)")
            let help = await run([k, "redis-runbook", "--help"], environment: env)
            #expect(help.succeeded, "\(k): \(help.stderrText)")
            #expect(help.stdoutText.contains("USAGE: kubectl redis-runbook <subcommand>"), "\(k): \(help.stdoutText.prefix(300))")
            let sub = await run([k, "redis-runbook", "status", "--help"], environment: env)
            #expect(sub.stdoutText.contains("USAGE: kubectl redis-runbook status"), "\(sub.stdoutText.prefix(300))")
            // kubectl's flags after the plugin name reach the tool.
            let alert = await run([k, "redis-runbook", "--context", "prod", "-n", "queues", "alert", "RedisDown", "--print"], environment: env)
            #expect(alert.stdoutText.contains("target: context prod, namespace queues"), "\(alert.stdoutText)\(alert.stderrText)")
        }
        // The plain name still says redis-runbook.
        let plain = await run([builtBinary, "--help"], environment: toolEnvironment)
        #expect(plain.stdoutText.contains("USAGE: redis-runbook <subcommand>"))
    }

    @Test func kubectlRedisRunbookStatusJSONAgainstASandbox() async throws {
        try #require(!Self.realKubectls.isEmpty)
        let (dir, path) = try Self.pluginPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let redis = try await Self.startRedisForPlugin()
        var failure: Error?
        do {
            let env = toolEnvironment.merging(["PATH": path]) { $1 }
            let k = Self.realKubectls[0]
            let r = await run([k, "redis-runbook", "-n", "default", "status", "--json"] + redis.extraArgs, environment: env, timeout: .seconds(60))
            #expect(r.succeeded, "\(r.stderrText)")
            let obj = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], "not JSON: \(r.stdoutText.prefix(300))")
            #expect(obj["schemaVersion"] as? Int == 1)
            #expect(obj["namespace"] as? String == "default")
            let pod = try #require(obj["pod"] as? [String: Any])
            #expect(pod["name"] as? String == "redis-0" && pod["ready"] as? Bool == true, "\(pod)")
            // Redis itself answered through the sandbox: its version and maxmemory (384mb from the manifest).
            #expect((obj["redisVersion"] as? String)?.hasPrefix("7.") == true, "\(r.stdoutText.prefix(600))")
            #expect((obj["memory"] as? [String: Any])?["maxmemoryBytes"] as? Int == 402_653_184, "\(r.stdoutText.prefix(600))")
        } catch { failure = error }
        await redis.stop()
        if let failure { throw failure }
    }

    // MARK: - k9s

    @Test func k9sPluginsHaveTheRightShapeAndParse() throws {
        let doc = try #require(try Yams.load(yaml: String(contentsOfFile: repoPath("deploy/k9s/plugins.yaml"), encoding: .utf8)) as? [String: Any])
        let plugins = try #require(doc["plugins"] as? [String: [String: Any]])
        var scopesSeen: [String: (full: Bool, readOnly: Bool)] = [:]
        for (name, p) in plugins {
            for key in ["shortCut", "description", "scopes", "command", "args", "dangerous", "background"] { #expect(p[key] != nil, "\(name): no \(key)") }
            #expect(p["command"] as? String == "redis-runbook", "\(name)")
            #expect(p["background"] as? Bool == false, "\(name): the dashboard needs the terminal")
            let args = try #require(p["args"] as? [String], "\(name): args must be a list of strings")
            let scopes = try #require(p["scopes"] as? [String])
            #expect(Set(scopes).isSubset(of: ["pods", "po", "statefulsets", "sts"]), "\(name): \(scopes)")
            // k9s would otherwise use the kubeconfig's current context.
            #expect(args.starts(with: ["--context", "$CONTEXT", "-n", "$NAMESPACE"]), "\(name): \(args)")
            let readOnly = args.contains("--read-only")
            #expect((p["dangerous"] as? Bool) == !readOnly, "\(name): dangerous must be true exactly for the variant that can change state")
            // k9s substitutes its variables, then the tool's own parser must accept the result.
            let substituted = args.map { $0.replacingOccurrences(of: "$CONTEXT", with: "prod-eu").replacingOccurrences(of: "$NAMESPACE", with: "queues")
                .replacingOccurrences(of: "$NAME", with: scopes.contains("pods") ? "redis-0" : "redis") }
            let parsed = try RedisRunbookCommand.parseAsRoot(substituted)
            let tui = try #require(parsed as? TUICommand, "\(name): \(substituted) does not open the dashboard")
            #expect(tui.global.context == "prod-eu" && tui.global.namespace == "queues" && tui.global.readOnly == readOnly)
            if scopes.contains("pods") { #expect(tui.global.podName == "redis-0") } else { #expect(tui.global.statefulset == "redis") }
            for s in scopes {
                var e = scopesSeen[s] ?? (false, false)
                if readOnly { e.readOnly = true } else { e.full = true }
                scopesSeen[s] = e
            }
        }
        for s in ["pods", "statefulsets"] { #expect(scopesSeen[s]?.full == true && scopesSeen[s]?.readOnly == true, "\(s): needs a full and a read-only entry") }
    }
}
