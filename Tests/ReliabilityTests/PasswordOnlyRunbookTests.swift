import Foundation
import ProcessRunner
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runbook steps against a real password-protected Redis whose container has only
/// REDIS_PASSWORD (no REDISCLI_AUTH), as in the common chart convention (issue 14, point 7).
/// The "cluster" is a kubectl wrapper around a real local redis-server (test scaffolding): its
/// `exec ... -- redis-cli ARGS` runs redis-cli against that server with no password in its
/// environment, and `exec ... -- printenv REDIS_PASSWORD` prints the password as the pod would.
@Suite("password-only Redis in runbook steps", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")))
struct PasswordOnlyRunbookTests {
    @Test(.timeLimit(.minutes(2))) func stepsAndEndStateAuthenticateWithThePasswordReadInThePod() async throws {
        let env = try RelEnv()
        let password = "pw-\(UUID().uuidString.prefix(12))"
        let port = 20000 + Int.random(in: 0..<20000)
        let cli = Runner()
        func seed(_ args: [String]) async -> String {
            await cli.run(CommandSpec(["/usr/bin/redis-cli", "-p", String(port)] + args, environment: ["REDISCLI_AUTH": password], timeout: .seconds(5))).stdoutText
        }
        // redis-server in the foreground as our own child (a daemonized one would be killed with the
        // short command's process group).
        let server = try Child.spawn(["/usr/bin/redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--requirepass", password, "--dir", env.dir.path, "--maxmemory-policy", "noeviction"],
                                     stdoutPath: env.path("redis.log"), stderrPath: env.path("redis.err"))
        defer { server.signal(SIGKILL); _ = server.wait() }
        var up = false
        for _ in 0..<50 {
            if await seed(["PING"]).contains("PONG") { up = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(up, "redis-server does not answer")
        for i in 1...3 { _ = await seed(["SET", "k:\(i)", "v"]) }

        let calls = env.path("calls.txt")
        let k = try env.script("kubectl", """
        printf '%s\\n' "$*" >> '\(calls)'
        case "$*" in
          *"printenv REDIS_PASSWORD"*) printf '%s\\n' '\(password)'; exit 0;;
          *" -- redis-cli"*) shift_to_cli() { while [ "$1" != "--" ]; do shift; done; shift; shift; exec env -u REDISCLI_AUTH redis-cli -p \(port) "$@"; }; shift_to_cli "$@";;
          *"jsonpath={.spec.replicas}"*) printf 1; exit 0;;
          *"--ignore-not-found"*) exit 0;;
          *Ready*) printf True; exit 0;;
        esac
        echo '\(RelEnv.podJSON)'
        """)
        let dir = env.path("runbooks")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        id: pw-check
        title: Password-only Redis
        summary: Reads and changes a setting through redis-cli in the pod.
        end-state:
          serving: true
          replicas: true
          keys:
            max-loss: 0
        steps:
          - id: policy
            kind: check
            title: The eviction policy
            command: [kubectl, exec, "{{pod}}", -c, "{{container}}", --, redis-cli, CONFIG, GET, maxmemory-policy]
            expect: stdout contains "noeviction"
          - id: set
            kind: command
            title: Set appendfsync everysec
            command: [kubectl, exec, "{{pod}}", -c, "{{container}}", --, redis-cli, CONFIG, SET, appendfsync, everysec]
            mutates: true
            undo: none
            undo-reason: the ADR value
            postcheck: stdout contains "OK"
        """.write(toFile: dir + "/pw-check.yaml", atomically: true, encoding: .utf8)
        let log = env.path("incident.jsonl")
        let r = await env.run(["runbook", "run", "pw-check", "--runbooks", dir, "--kubectl", k, "--audit-log", log, "--yes"],
                              timeout: .seconds(90))
        let out = r.stdoutText + r.stderrText
        #expect(r.termination == .exited(0), "\(r.termination)\n\(out.suffix(3000))")
        #expect(out.contains("\nfinished: Redis serving; 3 of 3 keys"), "\(out.suffix(2000))")
        #expect(out.components(separatedBy: "Redis answered NOAUTH").count == 2, "the notice is shown once")
        #expect(out.contains("(Redis answered NOAUTH: from now on redis-cli steps send AUTH on redis-cli's stdin"))
        #expect(out.contains("$ kubectl -n default exec redis-0 -c redis -- redis-cli CONFIG SET appendfsync everysec"))
        // The password is never on a command line (every kubectl argv is in calls.txt), in the output or in the log.
        let argvs = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
        #expect(argvs.contains("printenv REDIS_PASSWORD"))
        #expect(!argvs.contains(password), "the password was on a command line")
        #expect(!out.contains(password), "the password was shown")
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!logText.isEmpty && !logText.contains(password), "the password is in the incident log")
        // The change really happened on the password-protected server.
        #expect(await seed(["CONFIG", "GET", "appendfsync"]).contains("everysec"))
    }
}
