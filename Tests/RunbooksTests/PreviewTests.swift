import Common
import Foundation
import Runbooks
import Testing

/// What the dashboard's runbook screen shows of a command and a condition before any run.
@Suite struct PreviewTests {
    func template(_ argv: [String]) throws -> CommandTemplate { CommandTemplate(argv: try argv.map { try Template.parse($0) }) }

    @Test func commandLineAsTheRunWouldShowIt() throws {
        let target = RunTarget(target: Target(context: "prod", kubeconfig: "/k/config", namespace: "jobs", requestTimeout: "10s", asUser: "oncall"))
        let values = RunbookPreview.builtinValues(target).merging(["prefix": "bull"]) { a, _ in a }
        let c = try template(["kubectl", "exec", "{{pod}}", "-c", "{{container}}", "--", "redis-cli", "ZCARD", "{{prefix}}:{{queue}}:completed"])
        // The run's own kubectl flags, the values known now, <name> for the rest (not quoted).
        #expect(RunbookPreview.commandLine(c, values: values, target: target)
                == "kubectl --context prod --kubeconfig /k/config --request-timeout 10s --as oncall -n jobs exec redis-0 -c redis -- redis-cli ZCARD bull:<queue>:completed")
        // An argument that needs quoting is quoted with its placeholder inside.
        let patch = try template(["kubectl", "patch", "statefulset", "{{statefulset}}", "-p", "{\"memory\":\"{{new_limit}}\"}"])
        #expect(RunbookPreview.commandLine(patch, values: values, target: target).hasSuffix("patch statefulset redis -p '{\"memory\":\"<new_limit>\"}'"))
        // Secrets are masked as in the incident log.
        let auth = try template(["kubectl", "exec", "{{pod}}", "--", "redis-cli", "-a", "s3cret-pass", "PING"])
        let line = RunbookPreview.commandLine(auth, values: values, target: target)
        #expect(!line.contains("s3cret-pass") && line.contains("-a '[REDACTED]' PING"), "\(line)")
    }

    @Test func conditionsInPlainWords() throws {
        let snap: (String) -> String? = { $0 == "persistence.aofLastWriteStatus" ? "err" : nil }
        func words(_ s: String) throws -> String { RunbookPreview.words(try Condition.parse(s), values: ["want": "7"], snapshot: snap) }
        #expect(try words("persistence.aofLastWriteStatus == ok") == "persistence.aofLastWriteStatus (now err) is ok")
        #expect(try words("stdout contains \"role:master\" and not stdout contains \"loading:1\"") == "output contains role:master and output does not contain loading:1")
        #expect(try words("exitCode == 0 or stdout == {{want}}") == "exit status is 0 or output is 7")
        #expect(try words("memory.limitBytes > 0") == "memory.limitBytes is above 0")
    }
}
