import Foundation
import Testing
@testable import Runbooks

@Suite struct ConditionTests {
    func eval(_ s: String, _ snap: [String: String] = [:], result: CommandOutcome? = nil, vars: [String: String] = [:]) throws -> Evaluation {
        let c = try Condition.parse(s)
        return c.evaluate(EvaluationContext(snapshot: { snap[$0] }, result: result, variables: vars))
    }

    @Test func comparisonsOnSnapshotValues() throws {
        let snap = ["persistence.aofLastWriteStatus": "ok", "memory.usedBytes": "900", "memory.maxmemoryBytes": "1000", "pod.ready": "true"]
        #expect(try eval("persistence.aofLastWriteStatus == ok", snap).truth == .yes)
        #expect(try eval("persistence.aofLastWriteStatus != ok", snap).truth == .no)
        #expect(try eval("memory.usedBytes < 1000", snap).truth == .yes)
        #expect(try eval("memory.usedBytes >= 901", snap).truth == .no)
        #expect(try eval("memory.usedBytes <= 900 and pod.ready", snap).truth == .yes)
        #expect(try eval("not pod.ready or memory.usedBytes > 10", snap).truth == .yes)
        #expect(try eval("(pod.ready == false) or (memory.usedBytes > 950)", snap).truth == .no)
    }

    /// A quoted literal may hold variables (queue-backlog: `name=bull:<base64 queue> ` in CLIENT LIST).
    @Test func variablesInsideQuotedLiterals() throws {
        let out = CommandOutcome(exitCode: 0, termination: "exited 0", stdout: "id=7 addr=127.0.0.1:1 fd=8 name=bull:ZW1haWw= age=3\nid=9 name=bull:ZW1haWw=:qe age=1\n", stderr: "", durationSeconds: 0)
        let vars = ["p": "bull", "b": "ZW1haWw="]
        let cond = "stdout contains \"name={{p}}:{{b}} \" or stdout contains \"name={{p}}:{{b}}:w:\""
        #expect(try eval(cond, result: out, vars: vars).truth == .yes)
        // QueueEvents' connection (:qe) is not a worker.
        let qe = CommandOutcome(exitCode: 0, termination: "exited 0", stdout: "id=9 name=bull:ZW1haWw=:qe age=1\n", stderr: "", durationSeconds: 0)
        #expect(try eval(cond, result: qe, vars: vars).truth == .no)
        // A variable without a value makes the literal unknown, never a match of "{{b}}" as text.
        let e = try eval(cond, result: out, vars: ["p": "bull"])
        #expect(e.truth == .unknown)
        #expect(e.seenDescription.contains("unknown (a variable has no value)"))
        #expect(try Condition.parse(cond).variables.sorted() == ["b", "b", "p", "p"])
    }

    @Test func unknownIsNeverTrue() throws {
        let e = try eval("persistence.aofLastWriteStatus == ok")
        #expect(e.truth == .unknown)
        #expect(e.seenDescription == "persistence.aofLastWriteStatus = unknown")
        #expect(try eval("not persistence.loading").truth == .unknown)
        #expect(try eval("persistence.loading == false and pod.ready", ["pod.ready": "true"]).truth == .unknown)
        // but a definite false wins over unknown in 'and', a definite true in 'or'
        #expect(try eval("persistence.loading == false and pod.ready", ["pod.ready": "false"]).truth == .no)
        #expect(try eval("persistence.loading == false or pod.ready", ["pod.ready": "true"]).truth == .yes)
        // non-numbers in a numeric comparison are unknown, not false-and-forgotten
        #expect(try eval("memory.usedBytes > 5", ["memory.usedBytes": "lots"]).truth == .unknown)
    }

    @Test func resultReferences() throws {
        let r = CommandOutcome(exitCode: 0, termination: "exited with status 0", stdout: "PONG\n", stderr: "", durationSeconds: 0.01)
        #expect(try eval("exitCode == 0 and stdout contains \"PONG\"", result: r).truth == .yes)
        #expect(try eval("stdout matches \"^PO+NG$\"", result: r).truth == .yes)
        #expect(try eval("stdout > 0", result: Harness.ok("102\n")).truth == .yes)
        #expect(try eval("exitCode == 0").truth == .unknown)
        #expect(try eval("stdout > {{before}}", result: Harness.ok("7"), vars: ["before": "5"]).truth == .yes)
    }

    @Test func syntaxErrorsHavePositions() {
        func err(_ s: String) -> ConditionSyntaxError? {
            do { _ = try Condition.parse(s); return nil } catch { return error }
        }
        #expect(err("a.b = c")?.offset == 4)
        #expect(err("exitCode == ")?.message == "nothing after '=='")
        #expect(err("(pod.ready")?.message == "missing ')'")
        #expect(err("memory.usedBytes > lots")?.expected == "a number")
        #expect(err("stdout contains \"PONG")?.message == "unterminated string")
        #expect(err("pod.ready pod.phase")?.offset == 10)
        #expect(err("")?.message == "empty condition")
        #expect(err("stdout matches \"([\"")?.message.hasPrefix("invalid regular expression") == true)
        #expect(err("exitCode contains 1")?.offset == 9)
    }

    @Test func printedFormRoundTrips() throws {
        let c = try Condition.parse("not (a.b == \"x y\") and c.d >= 3")
        #expect(try Condition.parse(c.description) == c)
    }
}
