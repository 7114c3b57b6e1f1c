import ArgumentParser
import Foundation
import Testing
@testable import CLI

/// Parsing only: no command is run, nothing is spawned.
@Suite struct ArgumentParsingTests {
    @Test func defaultsFollowTheADR() throws {
        let g = try GlobalOptions.parse([])
        #expect(g.namespace == "default")
        #expect(g.statefulset == "redis")
        #expect(g.podName == "redis-0")
        #expect(g.container == "redis")
        #expect(g.exporterContainer == "redis-exporter")
        #expect(g.refresh == 2)
        #expect(g.bullmqPrefix == "bull")
        #expect(g.redisPasswordEnv == "REDIS_PASSWORD")
        #expect(!g.readOnly && !g.dryRun && !g.noColor && !g.sandbox)
        #expect(g.kubectl == nil && g.context == nil && g.kubeconfig == nil)
    }

    @Test func kubectlNamesForGlobalOptions() throws {
        let g = try GlobalOptions.parse(["--context", "prod", "-n", "queues", "--kubeconfig", "/k/config",
                                         "--kubectl", "/usr/local/bin/kubectl", "--statefulset", "cache", "--refresh", "1"])
        #expect(g.context == "prod")
        #expect(g.namespace == "queues")
        #expect(g.kubeconfig == "/k/config")
        #expect(g.kubectl == "/usr/local/bin/kubectl")
        #expect(g.podName == "cache-0", "the pod defaults to <statefulset>-0")
        let long = try GlobalOptions.parse(["--namespace", "x", "--pod", "redis-2"])
        #expect(long.namespace == "x" && long.podName == "redis-2")
    }

    @Test func kubernetesNamesAreCheckedBeforeAnythingRuns() throws {
        let ok = try GlobalOptions.parse(["-n", "queues-2", "--statefulset", "cache.v2", "--container", "redis7", "--exporter-container", "metrics"])
        #expect(ok.podName == "cache.v2-0")
        let bad: [([String], String)] = [
            (["--pod", "redis-0,involvedObject.kind=Node"], "--pod"),
            (["--pod", "Redis-0"], "--pod"),
            (["-n", "prod ns"], "--namespace"),
            (["-n", "a.b"], "--namespace"),
            (["--statefulset", "redis-"], "--statefulset"),
            (["--container", ""], "--container"),
            (["--exporter-container", "exp=1"], "--exporter-container"),
            (["-n", String(repeating: "a", count: 64)], "--namespace"),
        ]
        for (args, flag) in bad {
            do {
                _ = try GlobalOptions.parse(args)
                Issue.record("\(args) was accepted")
            } catch {
                let m = GlobalOptions.message(for: error)
                #expect(m.contains(flag) && m.contains("DNS-1123") && m.contains("\"\(args[1])\""), "\(args): \(m)")
            }
        }
    }

    @Test func passwordEnvMustBeAVariableName() throws {
        #expect(try GlobalOptions.parse(["--redis-password-env", "REDIS_AUTH_2"]).redisPasswordEnv == "REDIS_AUTH_2")
        for bad in ["", "1PASS", "PASS; rm -rf /", "$(id)", "A-B"] {
            do {
                _ = try GlobalOptions.parse(["--redis-password-env", bad])
                Issue.record("--redis-password-env \(bad) was accepted")
            } catch {
                let m = GlobalOptions.message(for: error)
                #expect(m.contains("--redis-password-env") && m.contains("\"\(bad)\""), "\(m)")
            }
        }
    }

    @Test func refreshOutOfRangeIsRejectedWithItsValue() {
        #expect(throws: (any Error).self) { try GlobalOptions.parse(["--refresh", "0"]) }
        do {
            _ = try GlobalOptions.parse(["--refresh", "0.05"])
            Issue.record("--refresh 0.05 was accepted")
        } catch {
            #expect(GlobalOptions.message(for: error).contains("0.05"))
        }
    }

    @Test func colourIsOffWithFlagOrNO_COLOR() throws {
        let g = try GlobalOptions.parse([])
        #expect(g.colorEnabled(environment: [:]))
        #expect(!g.colorEnabled(environment: ["NO_COLOR": "1"]))
        #expect(g.colorEnabled(environment: ["NO_COLOR": ""]), "an empty NO_COLOR does not count (no-color.org)")
        #expect(!(try GlobalOptions.parse(["--no-color"])).colorEnabled(environment: [:]))
    }

    @Test func theDashboardIsTheDefaultSubcommand() throws {
        let cmd = try RedisRunbookCommand.parseAsRoot(["--read-only", "-n", "jobs"])
        let tui = try #require(cmd as? TUICommand)
        #expect(tui.global.readOnly)
        #expect(tui.global.namespace == "jobs")
    }

    @Test func reservedSubcommandsExist() throws {
        let names = RedisRunbookCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
        for name in ["tui", "status", "check", "runbook", "memory", "report", "alert"] {
            #expect(names.contains(name), "missing subcommand \(name)")
        }
        // The sandbox is its own executable (redis-runbook-sandbox): the incident tool ships none.
        #expect(!names.contains("sandbox"))
    }

    @Test func statusJSONAndCheckParse() throws {
        let status = try #require(try RedisRunbookCommand.parseAsRoot(["status", "--json", "--sandbox"]) as? StatusCommand)
        #expect(status.json && status.global.sandbox)
        #expect(try RedisRunbookCommand.parseAsRoot(["check", "--context", "c"]) is CheckCommand)
    }

    @Test func unknownOptionsAreErrorsNamingTheOption() {
        do {
            _ = try RedisRunbookCommand.parseAsRoot(["status", "--bogus"])
            Issue.record("--bogus was accepted")
        } catch {
            #expect(RedisRunbookCommand.message(for: error).contains("--bogus"))
        }
    }

    @Test func sandboxDirFollowsXDGStateHome() {
        #expect(Paths.defaultSandboxDir(environment: ["XDG_STATE_HOME": "/s"]).path == "/s/redis-runbook/sandbox")
        #expect(Paths.defaultSandboxDir(environment: ["HOME": "/h"]).path == "/h/.local/state/redis-runbook/sandbox")
        #expect(Paths.incidentsDir(environment: ["XDG_STATE_HOME": "/s"]).path == "/s/redis-runbook/incidents")
    }

    @Test func explicitKubectlMustExist() throws {
        let g = try GlobalOptions.parse(["--kubectl", "/nonexistent/kubectl"])
        #expect(throws: (any Error).self) { try g.resolveKubectl() }
        // --sandbox is the sandbox's kubeconfig; kubectl is the real one, as for any cluster.
        let sandbox = try GlobalOptions.parse(["--sandbox", "--sandbox-dir", "/tmp/sbx"])
        #expect(sandbox.resolvedKubeconfig == "/tmp/sbx/kubeconfig")
        #expect(try sandbox.liveTarget().kubeconfig == "/tmp/sbx/kubeconfig")
        #expect(try sandbox.liveTarget().kubectl.hasSuffix("/kubectl"))
        let own = try GlobalOptions.parse(["--sandbox", "--kubeconfig", "/k/config"])
        #expect(own.resolvedKubeconfig == "/k/config")
    }
}

/// Which runbook commands the line runner may retry with AUTH on redis-cli's stdin after NOAUTH:
/// `-h`, `-p`, `-n` kept (a probe on the master's address), any other redis-cli option refused.
@Suite struct RedisCLIAuthRetryTests {
    @Test func hostPortAndDbOptionsAreKeptOthersRefused() {
        let pre = ["kubectl", "-n", "default", "exec", "redis-0", "-c", "redis", "--"]
        let plain = RunbookLineRunner.redisCLIExec(pre + ["redis-cli", "DBSIZE"])
        #expect(plain?.options == [] && plain?.command == ["DBSIZE"] && plain?.exec == pre)
        let probe = RunbookLineRunner.redisCLIExec(pre + ["redis-cli", "-h", "10.244.0.19", "-p", "6379", "EVAL", "return 1", "0"])
        #expect(probe?.options == ["-h", "10.244.0.19", "-p", "6379"] && probe?.command == ["EVAL", "return 1", "0"])
        #expect(RunbookLineRunner.redisCLIExec(pre + ["redis-cli", "--scan", "--count", "100"]) == nil)
        #expect(RunbookLineRunner.redisCLIExec(pre + ["redis-cli", "-h"]) == nil)
        #expect(RunbookLineRunner.redisCLIExec(pre + ["redis-cli", "-p", "26379"]) == nil, "options and no command")
        #expect(RunbookLineRunner.redisCLIExec(["kubectl", "get", "pods"]) == nil)
    }
}
