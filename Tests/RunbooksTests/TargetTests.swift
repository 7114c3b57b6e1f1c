import Foundation
import Testing
@testable import Runbooks

/// One target, one rendering of kubectl's global flags, for the dashboard and the runbooks alike.
@Suite struct TargetTests {
    @Test func globalFlagsLeaveOutWhatIsUnset() {
        #expect(Target().kubectlGlobalFlags() == ["-n", "default"])
        // An empty context is unset (before, the dashboard passed `--context ""`, the runbooks did not).
        #expect(Target(context: "", kubeconfig: "").kubectlGlobalFlags() == ["-n", "default"])
        let t = Target(context: "prod", kubeconfig: "/k/config", namespace: "jobs", requestTimeout: "5s", asUser: "oncall")
        #expect(t.kubectlGlobalFlags() == ["--context", "prod", "--kubeconfig", "/k/config", "--request-timeout", "5s", "--as", "oncall", "-n", "jobs"])
        // A watch is one long request: --request-timeout would end it.
        #expect(!t.kubectlGlobalFlags(watch: true).contains("--request-timeout"))
        #expect(t.kubectlArgv("/usr/bin/kubectl", ["get", "pod", "redis-0", "--watch"])
                == ["/usr/bin/kubectl", "--context", "prod", "--kubeconfig", "/k/config", "--as", "oncall", "-n", "jobs", "get", "pod", "redis-0", "--watch"])
    }

    /// A runbook's kubectl command gets the same flags the dashboard's do.
    @Test func theInterpreterRendersTheSameFlags() throws {
        let t = Target(context: "prod", namespace: "jobs", requestTimeout: "5s")
        var run = RunbookRun(runbook: flow, target: RunTarget(target: t), options: RunOptions())
        var h = Harness(answers: [.no], results: [Harness.ok("PONG")])
        h.drive(&run)
        let first = try #require(h.ran.first)
        #expect(first.argv == ["kubectl"] + t.kubectlGlobalFlags() + ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "PING"])
    }

    /// Run state files keep the target's fields at the top level: one saved before `Target`
    /// existed still resumes, and a new one reads the same.
    @Test func runTargetReadsAndWritesTheFlatShape() throws {
        let old = #"{"context":"prod","namespace":"jobs","statefulset":"redis","pod":"redis-0","container":"redis","exporterContainer":"redis-exporter","options":{"node":"n1"}}"#
        let t = try JSONDecoder().decode(RunTarget.self, from: Data(old.utf8))
        #expect(t.context == "prod" && t.namespace == "jobs" && t.options == ["node": "n1"] && t.kubeconfig == nil)
        let again = try JSONDecoder().decode(RunTarget.self, from: JSONEncoder().encode(t))
        #expect(again == t)
        let obj = try JSONSerialization.jsonObject(with: JSONEncoder().encode(t)) as? [String: Any]
        #expect(obj?["namespace"] as? String == "jobs" && obj?["target"] == nil)
    }
}
