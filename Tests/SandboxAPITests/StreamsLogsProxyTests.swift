import Foundation
import ProcessRunner
import Sandbox
import Testing

/// `kubectl logs` (tail, previous, follow, timestamps, limit) and `kubectl get --raw .../proxy/...`
/// with the real kubectl 1.30, 1.33 and 1.37. One sandbox for the whole suite; the redis
/// container is restarted once on purpose (for --previous and for a follow that must end).
@Suite(.serialized) struct StreamsLogsProxyTests {
    @Test func logsAndProxyWithRealKubectl() async throws {
        let kubectls = try StreamsSandbox.kubectls()
        try await StreamsSandbox.with { sb in
            for k in kubectls {
                try await proxyToTheExporter(sb, k)
                try await logsOfTheRunningContainer(sb, k)
                let never = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--previous"])
                #expect(never.exitCode == 1, "\(k)")
                #expect(never.stderrText.contains("Error from server (BadRequest): previous terminated container \"redis\" in pod \"redis-0\" not found"),
                        "\(k): \(never.stderrText)")
            }
            try await followEndsWhenTheContainerExitsThenPreviousShowsIt(sb, kubectls)
        }
    }

    func proxyToTheExporter(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        // The exporter may need a moment after up to answer with redis_up 1.
        var last = ""
        let up = await sb.eventually(30) {
            let r = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods/redis-0:9121/proxy/metrics"])
            last = r.stdoutText.isEmpty ? r.stderrText : ""
            return r.exitCode == 0 && r.stdoutText.split(separator: "\n").contains("redis_up 1")
        }
        #expect(up, "\(k): \(last)")
        let refused = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods/redis-0:9999/proxy/metrics"])
        #expect(refused.exitCode == 1, "\(k)")
        #expect(refused.stderrText.contains("error trying to reach service: dial tcp"), "\(k): \(refused.stderrText)")
        #expect(refused.stderrText.contains(":9999: connect: connection refused"), "\(k): \(refused.stderrText)")
        // Any path goes through as it is: the exporter answers its landing page at /.
        let root = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods/redis-0:9121/proxy/"])
        #expect(root.exitCode == 0, "\(k): \(root.stderrText)")
        #expect(root.stdoutText.contains("<a href='/metrics'>"), "\(k): \(root.stdoutText)")
    }

    func logsOfTheRunningContainer(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        let state = try #require(sb.state)
        let pod = try #require(state.pods.first { $0.name == "redis-0" })
        let restart = try #require(pod.containerStatuses.first { $0.name == "redis" }).restartCount
        let file = sb.layout.containerLog(pod: "redis-0", container: "redis", restart: restart)

        let all = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis"])
        #expect(all.exitCode == 0, "\(k): \(all.stderrText)")
        let onDisk = try String(contentsOf: file, encoding: .utf8)
        #expect(!all.stdoutText.isEmpty && onDisk.hasPrefix(all.stdoutText), "\(k)")
        #expect(all.stdoutText.contains("Ready to accept connections"), "\(k)")

        let tail = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--tail=2"])
        #expect(tail.exitCode == 0, "\(k): \(tail.stderrText)")
        let lines = all.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(tail.stdoutText == lines.suffix(2).map { $0 + "\n" }.joined(), "\(k): \(tail.stdoutText)")

        let ts = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--timestamps", "--tail=1"])
        #expect(ts.stdoutText.range(of: #"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z "#, options: .regularExpression) != nil, "\(k): \(ts.stdoutText)")

        let limited = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--limit-bytes=10"])
        #expect(limited.stdout.count == 10, "\(k): \(limited.stdoutText)")

        let since = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--since=1h"])
        #expect(since.stdoutText == all.stdoutText, "\(k)")

        let two = await sb.kubectl(k, ["logs", "redis-0", "-c", "nope"])
        #expect(two.exitCode == 1, "\(k)")
        #expect(two.stderrText.contains("container nope is not valid for pod redis-0"), "\(k): \(two.stderrText)")
    }

    /// `logs -f` streams until the container exits; afterwards `--previous` shows that run.
    func followEndsWhenTheContainerExitsThenPreviousShowsIt(_ sb: StreamsSandbox, _ kubectls: [StreamsSandbox.Kubectl]) async throws {
        let restartsBefore = sb.state?.pods.first { $0.name == "redis-0" }?.containerStatuses.first { $0.name == "redis" }?.restartCount ?? -1
        let follows = kubectls.map { k in
            Task { await sb.kubectl(k, ["logs", "-f", "redis-0", "-c", "redis"], timeout: .seconds(60)) }
        }
        try await Task.sleep(for: .seconds(2))
        let k = kubectls[0]
        // The container's main process exits: Redis shuts down when told to.
        _ = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "SHUTDOWN", "NOSAVE"])
        for (k, task) in zip(kubectls, follows) {
            let r = await task.value
            #expect(r.exitCode == 0, "\(k): follow ended with \(r.termination): \(r.stderrText)")
            #expect(r.stdoutText.contains("Ready to accept connections"), "\(k)")
            #expect(r.stdoutText.contains("ready to exit, bye bye"), "\(k): the follow did not see the end: \(r.stdoutText.suffix(300))")
        }
        let restarted = await sb.eventually(60) {
            guard let st = sb.state?.pods.first(where: { $0.name == "redis-0" })?.containerStatuses.first(where: { $0.name == "redis" }) else { return false }
            if case .running = st.state { return st.restartCount == restartsBefore + 1 }
            return false
        }
        #expect(restarted)
        for k in kubectls {
            let prev = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--previous", "--tail=5"])
            #expect(prev.exitCode == 0, "\(k): \(prev.stderrText)")
            #expect(prev.stdoutText.contains("bye bye"), "\(k): \(prev.stdoutText)")
        }
    }
}
