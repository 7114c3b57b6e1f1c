import Foundation
import Testing
@testable import CLI

/// `redis-runbook alert NAME|RUNBOOK_ID|-`: the Alertmanager payload, its errors, the choice of alert.
@Suite struct AlertCommandTests {
    static func payload(_ alerts: [[String: Any]], version: Any = "4") -> Data {
        try! JSONSerialization.data(withJSONObject: ["version": version, "status": "firing", "receiver": "redis-runbook",
                                                     "groupLabels": [:], "commonLabels": [:], "externalURL": "http://am:9093", "alerts": alerts])
    }
    static func alert(_ name: String, _ severity: String, status: String = "firing", _ extra: [String: String] = [:]) -> [String: Any] {
        ["status": status, "labels": ["alertname": name, "severity": severity].merging(extra) { $1 },
         "annotations": ["summary": "s"], "startsAt": "2026-12-04T12:00:00Z", "fingerprint": "abc"]
    }

    /// Each malformed payload is refused with the field it got wrong.
    @Test(arguments: [
        ("", "(input)", "empty"),
        ("{not json", "(input)", "not JSON"),
        ("[1,2]", "(top level)", "expected a JSON object, got an array"),
        (#"{"alerts":[]}"#, "version", "missing"),
        (#"{"version":4,"alerts":[]}"#, "version", "expected the string \"4\", got a number"),
        (#"{"version":"3","alerts":[]}"#, "version", "\"3\" is not supported"),
        (#"{"version":"4"}"#, "alerts", "missing"),
        (#"{"version":"4","alerts":{}}"#, "alerts", "expected an array, got an object"),
        (#"{"version":"4","alerts":[]}"#, "alerts", "empty"),
        (#"{"version":"4","alerts":["x"]}"#, "alerts[0]", "expected an object, got a string"),
        (#"{"version":"4","alerts":[{"labels":{"alertname":"A"}}]}"#, "alerts[0].status", "missing"),
        (#"{"version":"4","alerts":[{"status":"active","labels":{"alertname":"A"}}]}"#, "alerts[0].status", "got \"active\""),
        (#"{"version":"4","alerts":[{"status":"firing"}]}"#, "alerts[0].labels", "missing"),
        (#"{"version":"4","alerts":[{"status":"firing","labels":"x"}]}"#, "alerts[0].labels", "expected an object, got a string"),
        (#"{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"}},{"status":"firing","labels":{"alertname":"B","pod":7}}]}"#, "alerts[1].labels.pod", "expected a string, got a number"),
        (#"{"version":"4","alerts":[{"status":"firing","labels":{"severity":"critical"}}]}"#, "alerts[0].labels.alertname", "missing"),
        (#"{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"annotations":[]}]}"#, "alerts[0].annotations", "expected an object, got an array"),
    ])
    func badPayloadsNameTheField(_ input: String, _ field: String, _ problem: String) throws {
        do {
            _ = try AlertmanagerPayload.parse(Data(input.utf8))
            Issue.record("accepted: \(input)")
        } catch let e as AlertPayloadError {
            #expect(e.field == field, "\(input): \(e)")
            #expect(e.problem.contains(problem), "\(input): \(e)")
            #expect(e.description.hasPrefix("alert payload: \(field): "))
        }
    }

    @Test func theMostSevereFiringAlertIsOpened() throws {
        let p = try AlertmanagerPayload.parse(Self.payload([
            Self.alert("RedisRestarted", "warning"),
            Self.alert("RedisDown", "critical", status: "resolved"),
            Self.alert("RedisWritesRejectedOOM", "critical"),
            Self.alert("RedisKeysEvicted", "critical"),
        ]))
        let a = try p.mostSevereFiring()
        #expect(a.alertname == "RedisWritesRejectedOOM", "critical beats warning, resolved ones are ignored, the first critical wins")
        #expect(a.index == 2)
        let resolved = try AlertmanagerPayload.parse(Self.payload([Self.alert("RedisDown", "critical", status: "resolved")]))
        #expect(throws: AlertPayloadError.self) { try resolved.mostSevereFiring() }
        do { _ = try resolved.mostSevereFiring() } catch { #expect("\(error)".contains("no alert is firing")) }
    }

    @Test func theTargetComesFromTheLabels() throws {
        let runbooks: Set<String> = ["memory-pressure", "pod-restart"]
        let rules = AlertRuleIndex(rules: [.init(alert: "RedisDown", runbookId: "pod-restart", severity: "critical")], file: nil)
        func target(_ labels: [String: String], clusters: [String: String] = [:]) throws -> AlertTarget {
            let a = ReceivedAlert(index: 0, status: "firing", labels: labels, annotations: [:])
            return try AlertTarget.from(a, clusterContexts: clusters, findRunbook: { rules.rule(named: $0)?.runbookId }, isRunbook: runbooks.contains)
        }
        let t = try target(["alertname": "X", "runbook_id": "memory-pressure", "namespace": "jobs", "pod": "cache-0", "statefulset": "cache",
                            "cluster": "eu-1"], clusters: ["eu-1": "prod-eu"])
        #expect(t == AlertTarget(runbookId: "memory-pressure", alertname: "X", severity: nil, context: "prod-eu", namespace: "jobs", statefulset: "cache", pod: "cache-0"))
        // No runbook_id label: the shipped rules name it.
        #expect(try target(["alertname": "RedisDown"]).runbookId == "pod-restart")
        let cases: [([String: String], String, String)] = [
            (["alertname": "X", "runbook_id": "no-such"], "alerts[0].labels.runbook_id", "not a runbook"),
            (["alertname": "Unknown"], "alerts[0].labels.runbook_id", "missing"),
            (["alertname": "RedisDown", "namespace": "Prod NS"], "alerts[0].labels.namespace", "DNS-1123"),
            (["alertname": "RedisDown", "pod": "redis-0;rm -rf /"], "alerts[0].labels.pod", "DNS-1123"),
            (["alertname": "RedisDown", "statefulset": "-x"], "alerts[0].labels.statefulset", "DNS-1123"),
            (["alertname": "RedisDown", "cluster": "us-2"], "alerts[0].labels.cluster", "--cluster-context us-2=CONTEXT"),
        ]
        for (labels, field, problem) in cases {
            do { _ = try target(labels, clusters: ["eu-1": "prod-eu"]); Issue.record("accepted \(labels)") } catch let e as AlertPayloadError {
                #expect(e.field == field && e.problem.contains(problem), "\(labels): \(e)")
            }
        }
    }

    @Test func clusterContextOptionIsChecked() throws {
        #expect(throws: (any Error).self) { _ = try AlertCommand.parse(["-", "--cluster-context", "eu-1"]) }
        #expect(throws: (any Error).self) { _ = try AlertCommand.parse(["-", "--cluster-context", "=prod"]) }
        let c = try AlertCommand.parse(["-", "--cluster-context", "eu-1=prod-eu", "--cluster-context", "us=prod-us"])
        #expect(try c.clusterContextMap() == ["eu-1": "prod-eu", "us": "prod-us"])
    }

    // MARK: - the real binary

    @Test func aPayloadOnStdinOpensTheRunbookOfItsWorstAlert() async throws {
        let data = Self.payload([
            Self.alert("RedisRestarted", "warning", ["namespace": "default", "pod": "redis-0"]),
            Self.alert("RedisWritesRejectedOOM", "critical", ["runbook_id": "memory-pressure", "namespace": "jobs", "pod": "redis-0", "cluster": "eu-1"]),
        ])
        let r = await run([builtBinary, "alert", "-", "--print", "--cluster-context", "eu-1=prod-eu"], stdin: data, environment: toolEnvironment)
        #expect(r.succeeded, "\(r.stderrText)")
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["alert: RedisWritesRejectedOOM (critical)", "runbook: memory-pressure: Redis is running out of memory",
                                     "target: context prod-eu, namespace jobs, statefulset redis, pod redis-0"], "\(lines.prefix(3))")
        #expect(r.stdoutText.contains("# Redis is running out of memory") && r.stdoutText.contains("Runbook id: `memory-pressure`"))
    }

    @Test func aBadPayloadIsAClearErrorNotADashboard() async throws {
        let r = await run([builtBinary, "alert", "-"], stdin: Data(#"{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"RedisDown","namespace":"Bad NS"}}]}"#.utf8),
                          environment: toolEnvironment)
        #expect(r.exitCode == 64)
        #expect(r.stderrText.contains("alert payload: alerts[0].labels.namespace: \"Bad NS\" is not a Kubernetes namespace name"), "\(r.stderrText)")
        #expect(r.stdoutText.isEmpty)
    }

    /// Alert names, runbook ids and finding ids all lead to a runbook; anything else lists what exists.
    @Test func namesResolveToRunbooks() async throws {
        for (name, header) in [("RedisDown", "alert: RedisDown (critical)\nrunbook: pod-restart:"),
                               ("RedisEvictionPolicyDrift", "alert: RedisEvictionPolicyDrift (critical)\nrunbook: config-drift:"),
                               ("disk-full", "runbook: disk-full:"), ("oom-rejections", "runbook: memory-pressure:")] {
            let r = await run([builtBinary, "alert", name, "--print", "-n", "queues"], environment: toolEnvironment)
            #expect(r.succeeded && r.stdoutText.hasPrefix(header), "\(name): \(r.stdoutText.prefix(200)) \(r.stderrText)")
            #expect(r.stdoutText.contains("namespace queues"))
        }
        let bad = await run([builtBinary, "alert", "RedisTypo", "--print"], environment: toolEnvironment)
        #expect(bad.exitCode == 64 && bad.stderrText.contains("\"RedisTypo\" is neither a runbook id") && bad.stderrText.contains("RedisDown"), "\(bad.stderrText)")
    }
}
