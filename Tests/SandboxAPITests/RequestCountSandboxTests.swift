import Foundation
import ProcessRunner
import Sandbox
import SandboxFixture
import Testing

/// The sandbox's API server counts what the real kubectl asks of it (`kubectl get --raw
/// /metrics`), and serves the load-test objects of `bulk` without the daemon knowing them.
/// Issue 16's benchmarks read these counters.
@Suite(.serialized) struct RequestCountSandboxTests {
    /// Sums of apiserver_request_total (or another counter) by "VERB resource/subresource".
    static func counters(_ text: String, metric: String = "apiserver_request_total") -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(metric + "{") {
            func label(_ n: String) -> String {
                guard let r = line.range(of: "\(n)=\"") else { return "" }
                return String(line[r.upperBound...].prefix { $0 != "\"" })
            }
            guard let v = line.split(separator: " ").last.flatMap({ Int($0) }) else { continue }
            let sub = label("subresource")
            out["\(label("verb")) \(label("resource"))\(sub.isEmpty ? "" : "/" + sub)", default: 0] += v
        }
        return out
    }

    @Test func metricsMoveWithGetAndExec() async throws {
        let sb = try await SandboxProcess.up(prefix: "reqcount")
        defer { sb.downBlocking() }
        let before = await sb.kubectl(["get", "--raw", "/metrics"])
        #expect(before.succeeded, "\(before.stderrText)")
        let a = Self.counters(before.stdoutText)
        let aBytes = Self.counters(before.stdoutText, metric: "apiserver_response_sent_bytes_total")

        let get = await sb.kubectl(["get", "pod", "redis-0", "-o", "json"])
        #expect(get.succeeded, "\(get.stderrText)")
        let info = await sb.redisCLI(["INFO", "server"])
        #expect(info.contains("redis_version"), "\(info)")

        let after = await sb.kubectl(["get", "--raw", "/metrics"])
        let b = Self.counters(after.stdoutText)
        let bBytes = Self.counters(after.stdoutText, metric: "apiserver_response_sent_bytes_total")
        // `kubectl get pod` is one GET; `kubectl exec` GETs the pod (its containers) and then
        // upgrades pods/exec (CONNECT, 101).
        #expect(b["GET pods", default: 0] == a["GET pods", default: 0] + 2, "\(after.stdoutText)")
        #expect(b["CONNECT pods/exec", default: 0] == a["CONNECT pods/exec", default: 0] + 1, "\(after.stdoutText)")
        #expect(b["LIST pods", default: 0] == a["LIST pods", default: 0], "a named get is no LIST")
        // The pod's JSON and INFO's reply (WebSocket frames) are counted as bytes sent.
        #expect(bBytes["GET pods", default: 0] - aBytes["GET pods", default: 0] > 1000)
        #expect(bBytes["CONNECT pods/exec", default: 0] - aBytes["CONNECT pods/exec", default: 0] > 200)

        // A watch is counted as WATCH while it is open.
        let watch = await sb.kubectl(["get", "pods", "--watch", "--request-timeout=2s"], timeout: .seconds(20))
        #expect(watch.stdoutText.contains("redis-0"))
        let c = Self.counters(await sb.kubectl(["get", "--raw", "/metrics"]).stdoutText)
        #expect(c["WATCH pods", default: 0] >= 1)
        #expect(c["LIST pods", default: 0] >= b["LIST pods", default: 0] + 1, "kubectl lists before it watches")
    }

    @Test func bulkObjectsAreServedSelectedAndRemovedByDown() async throws {
        let sb = try await SandboxProcess.up(prefix: "bulk")
        defer { sb.downBlocking() }
        let layout = SandboxLayout(root: sb.dir)
        let bulk = await sb.sandbox("bulk", ["--pods", "300", "--events", "1200"])
        #expect(bulk.succeeded, "\(bulk.stdoutText) \(bulk.stderrText)")
        #expect(!((try? StateStore(layout: layout).read())?.pods.count ?? 0 > 1), "bulk objects are not in the daemon's state")

        let names = await sb.kubectl(["get", "pods", "-o", "name"])
        let lines = names.stdoutText.split(separator: "\n")
        #expect(lines.count == 301, "\(names.stderrText)")
        #expect(lines.filter { $0.hasPrefix("pod/redis-") }.count == 1, "no bulk pod is named redis-*")
        let table = await sb.kubectl(["get", "pods"])
        #expect(table.stdoutText.split(separator: "\n").filter { $0.contains("1/1") && $0.contains("Running") }.count == 300, "\(table.stdoutText.prefix(300))")
        let selected = await sb.kubectl(["get", "pods", "-l", "app=redis", "-o", "name"])
        #expect(selected.stdoutText.split(separator: "\n") == ["pod/redis-0"])
        let events = await sb.kubectl(["get", "events", "-o", "name"])
        #expect(events.stdoutText.split(separator: "\n").count >= 1200)
        let own = await sb.kubectl(["get", "events", "--field-selector", "involvedObject.name=redis-0", "-o", "json"])
        #expect(own.succeeded && !own.stdoutText.contains("thumbnailer") && !own.stdoutText.contains("\"web-"), "\(own.stderrText)")
        let first = try #require(lines.first { !$0.hasPrefix("pod/redis-") })
        let one = await sb.kubectl(["get", String(first), "-o", "json"])
        #expect(one.stdoutText.contains("\"phase\": \"Running\""), "\(one.stderrText)")

        // What the selected reads cost next to the namespace-wide ones.
        let m = Self.counters(await sb.kubectl(["get", "--raw", "/metrics"]).stdoutText, metric: "apiserver_response_sent_bytes_total")
        #expect(m["LIST pods", default: 0] > 300 * 2000, "\(m)")

        #expect(await sb.sandbox("down").succeeded)
        #expect(!FileManager.default.fileExists(atPath: layout.bulkFile.path), "down removes the bulk objects")
        let up = await sb.sandbox("up", ["--fast"])
        #expect(up.succeeded, "\(up.stderrText)")
        let again = await sb.kubectl(["get", "pods", "-o", "name"])
        #expect(again.stdoutText.split(separator: "\n") == ["pod/redis-0"], "\(again.stdoutText.prefix(200)) \(again.stderrText)")
    }
}
