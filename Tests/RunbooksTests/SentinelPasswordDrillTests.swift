import Foundation
import SandboxFixture
import Testing

// The Sentinel topology with a password (issue 18 with issue 14.7's chart convention): `up
// --topology sentinel --redis-password-env-only`. Each redis container has only REDIS_PASSWORD
// from the Secret (no REDISCLI_AUTH: a plain redis-cli in the pod gets NOAUTH), redis-server
// `--requirepass` and `--masterauth` from it, and each Sentinel `sentinel auth-pass` written by
// the init step. Replication and failover must work through the password, the dashboard's
// readers must authenticate on every pod, and the password must never show.

private func authCLI(_ box: DrillBox, _ pod: String, _ args: [String]) async throws -> String {
    let r = try await box.kubectl(["exec", pod, "-c", "redis", "--", "sh", "-c", #"REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli "$@""#, "redis-cli"] + args)
    return SandboxProcess.withoutKubectlNotices(r.output).trimmingCharacters(in: .whitespacesAndNewlines)
}

private func sentinelAddr(_ box: DrillBox, _ pod: String) async throws -> String {
    let r = try await box.kubectl(["exec", pod, "-c", "sentinel", "--", "redis-cli", "-p", "26379", "SENTINEL", "get-master-addr-by-name", "mymaster"])
    return SandboxProcess.withoutKubectlNotices(r.output).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
}

@Suite("Drills: the Sentinel topology with a password", .serialized, .enabled(if: Drill.available && getuid() == 0))
struct SentinelPasswordDrillTests {
    @Test(.timeLimit(.minutes(6)))
    func replicationFailoverAndTheDashboardThroughThePassword() async throws {
        try await DrillBox.with(["--topology", "sentinel", "--redis-password-env-only"]) { box in
            let password = try #require(box.redisPassword, "no password secret in the sandbox")
            let plain = try await box.kubectl(["exec", "redis-1", "-c", "redis", "--", "redis-cli", "ROLE"])
            #expect(plain.output.contains("NOAUTH"), "a plain redis-cli in the pod: \(plain)")
            // Replicas authenticate to the master (masterauth); the Sentinels to every Redis (auth-pass).
            try await box.eventually("both replicas linked through the password, the quorum reached", timeout: 60) {
                for p in ["redis-1", "redis-2"] where !(try await authCLI(box, p, ["INFO", "replication"])).contains("master_link_status:up") { return false }
                let q = try await box.kubectl(["exec", "redis-0", "-c", "sentinel", "--", "redis-cli", "-p", "26379", "SENTINEL", "CKQUORUM", "mymaster"])
                return q.output.contains("OK 3 usable Sentinels")
            }
            try await box.seedKeys(100)
            // The tool's replication readers authenticate on every pod (the password read in the pod).
            let st = try await box.redisRunbook(["status", "--json", "--kubectl", box.kubectlPath])
            #expect(!st.output.contains(password), "status printed the password")
            let json = try #require(st.output.range(of: "{").map { String(st.output[$0.lowerBound...]) })
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(st.output.prefix(800))")
            let repl = try #require(obj["replication"] as? [String: Any], "no replication object: \(st.output.prefix(1500))")
            let pods = try #require(repl["pods"] as? [[String: Any]])
            #expect(pods.compactMap { $0["role"] as? String } == ["master", "replica", "replica"], "\(pods)")
            #expect(repl["quorumOK"] as? Bool == true && repl["masters"] as? [String] == ["redis-0"], "\(repl)")
            #expect((obj["findings"] as? [[String: Any]] ?? []).isEmpty, "\(obj["findings"] ?? "")")

            // A failover through the runbook (yes at its question): Sentinel promotes a replica,
            // the old master follows it, all through the password.
            let masterIP = try await box.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.status.podIP}"]).trimmed
            let r = try await box.redisRunbook(["runbook", "run", "sentinel-failover", "--kubectl", box.kubectlPath, "--audit-log", box.logPath,
                                                "--yes", "--answer", "decide=yes"], timeout: 240)
            print("DRILL-MATRIX|sentinel-failover (password, env only)|yes|exit \(r.status)|\(String(format: "%.0f", r.seconds)) s")
            #expect(r.status == 0, "\(r.output.suffix(3000))")
            #expect(!r.output.contains(password), "the runbook printed the password")
            #expect(!((try? String(contentsOfFile: box.logPath, encoding: .utf8)) ?? "").contains(password), "the incident log holds the password")
            try await box.eventually("a replica promoted, every Sentinel names it, the old master follows it", timeout: 60) {
                let a0 = try await sentinelAddr(box, "redis-0"), a1 = try await sentinelAddr(box, "redis-1"), a2 = try await sentinelAddr(box, "redis-2")
                guard a0 == a1, a1 == a2, !a0.isEmpty, a0 != masterIP else { return false }
                let old = try await authCLI(box, "redis-0", ["INFO", "replication"])
                return old.contains("role:slave") && old.contains("master_host:\(a0)") && old.contains("master_link_status:up")
            }
            #expect(try await authCLI(box, "redis-0", ["DBSIZE"]) == "100")
        }
    }
}
