import Foundation
import Testing

/// `make install PREFIX=...` / `make uninstall`: everything a CLI user expects, and nothing left behind.
@Suite struct InstallTests {
    @Test func installThenUninstallLeavesNothing() async throws {
        let dir = try tempDir("install")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = dir.appendingPathComponent("prefix").path
        // CONFIG=debug BUILD=0: the binary the tests already built (no nested `swift build`
        // inside `swift test`; a release build would take minutes).
        let install = await run(["make", "-s", "install", "PREFIX=\(prefix)", "CONFIG=debug", "BUILD=0"], cwd: repoRoot.path, timeout: .seconds(600))
        #expect(install.succeeded, "make install: \(install.stdoutText)\(install.stderrText)")
        let fm = FileManager.default
        let expected = ["bin/redis-runbook", "bin/kubectl-redis_runbook", "libexec/redis-runbook/redis-runbook-watchdog", "libexec/redis-runbook/redis-runbook-exec-relay",
                        "share/redis-runbook/alerts/redis.rules.yaml",
                        "share/redis-runbook/alerts/redis-prometheusrule.yaml", "share/redis-runbook/open-in-tmux.sh",
                        "share/redis-runbook/deploy/redis-sentinel-statefulset.yaml",
                        "share/bash-completion/completions/redis-runbook", "share/zsh/site-functions/_redis-runbook",
                        "share/fish/vendor_completions.d/redis-runbook.fish", "share/man/man1/redis-runbook.1"]
            + (try fm.contentsOfDirectory(atPath: repoPath("runbooks")).filter { $0.hasSuffix(".yaml") }.map { "share/redis-runbook/runbooks/\($0)" })
        for f in expected { #expect(fm.fileExists(atPath: "\(prefix)/\(f)"), "not installed: \(f)") }
        #expect(try fm.destinationOfSymbolicLink(atPath: "\(prefix)/bin/kubectl-redis_runbook") == "redis-runbook")

        // The installed binary works from there, with its installed runbooks and rules (not the repo's).
        let env = ["REDIS_RUNBOOK_RUNBOOKS": "", "REDIS_RUNBOOK_ALERT_RULES": ""]
        let list = await run(["\(prefix)/bin/redis-runbook", "runbook", "list"], environment: env)
        #expect(list.succeeded && list.stdoutText.contains("memory-pressure"), "\(list.stdoutText)\(list.stderrText)")
        let alert = await run(["\(prefix)/bin/kubectl-redis_runbook", "alert", "RedisOOMKilled", "--print"], environment: env)
        #expect(alert.stdoutText.hasPrefix("alert: RedisOOMKilled (critical)\nrunbook: memory-pressure"), "\(alert.stdoutText)\(alert.stderrText)")
        let help = await run(["\(prefix)/bin/kubectl-redis_runbook", "--help"], environment: env)
        #expect(help.stdoutText.contains("kubectl redis-runbook"))

        // Completions name the subcommands; bash and fish accept their scripts; the man page renders.
        let bash = try String(contentsOfFile: "\(prefix)/share/bash-completion/completions/redis-runbook", encoding: .utf8)
        #expect(bash.contains("alert") && bash.contains("sandbox") && bash.contains("--request-timeout"), "bash completions: \(bash.prefix(300))")
        #expect((await run(["bash", "-n", "\(prefix)/share/bash-completion/completions/redis-runbook"])).succeeded)
        let zsh = try String(contentsOfFile: "\(prefix)/share/zsh/site-functions/_redis-runbook", encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef redis-runbook"), "\(zsh.prefix(200))")
        let fish = try String(contentsOfFile: "\(prefix)/share/fish/vendor_completions.d/redis-runbook.fish", encoding: .utf8)
        #expect(fish.contains("complete -c 'redis-runbook'") && fish.contains("'alert'"), "fish completions: \(fish.prefix(300))")
        let man = await run(["man", "-l", "-P", "cat", "\(prefix)/share/man/man1/redis-runbook.1"], environment: ["MANWIDTH": "100"])
        if man.exitCode != 127 {
            #expect(man.succeeded && man.stdoutText.contains("redis-runbook - incident dashboard") && man.stdoutText.contains("ALERT"), "\(man.stdoutText.prefix(400))\(man.stderrText)")
        }
        let roff = try String(contentsOfFile: "\(prefix)/share/man/man1/redis-runbook.1", encoding: .utf8)
        #expect(roff.hasPrefix(".TH REDIS-RUNBOOK 1") && roff.contains(".SH \"RUNBOOK RUN\"") && roff.contains("--cluster-context"))

        // Something of the user's own in the same prefix stays.
        try "mine".write(toFile: "\(prefix)/bin/other-tool", atomically: true, encoding: .utf8)
        let uninstall = await run(["make", "-s", "uninstall", "PREFIX=\(prefix)"], cwd: repoRoot.path, timeout: .seconds(60))
        #expect(uninstall.succeeded, "\(uninstall.stderrText)")
        var left: [String] = []
        if let e = fm.enumerator(atPath: prefix) { for case let p as String in e { left.append(p) } }
        #expect(left.sorted() == ["bin", "bin/other-tool"], "left behind: \(left.sorted())")
        try fm.removeItem(atPath: "\(prefix)/bin/other-tool")
        #expect((await run(["make", "-s", "uninstall", "PREFIX=\(prefix)"], cwd: repoRoot.path)).succeeded)
        left = []
        if let e = fm.enumerator(atPath: prefix) { for case let p as String in e { left.append(p) } }
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
