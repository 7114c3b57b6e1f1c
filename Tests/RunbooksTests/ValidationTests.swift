import Foundation
import Testing
@testable import Runbooks

@Suite struct ValidationTests {
    func only(_ yaml: String) -> RunbookDiagnostic? {
        let (_, d, path) = validate(yaml)
        #expect(d.count >= 1)
        if let f = d.first { #expect(f.location.file == path) }
        return d.first
    }

    @Test func unknownStepKind() throws {
        let d = try #require(only(header + "steps:\n  - kind: bogus\n    title: a\n"))
        #expect(d.location.line == 5 && d.location.column == 11)
        #expect(d.description.hasSuffix("error: unknown step kind 'bogus', expected one of explain, check, command, confirm, choice, wait-until, manual, keyspace-analysis"))
    }

    @Test func missingFieldTitleOfStep() throws {
        let d = try #require(only(header + "steps:\n  - kind: explain\n    text: hi\n"))
        #expect(d.location.line == 5 && d.location.column == 5)
        #expect(d.message == "missing field 'title' in step 1")
        #expect(d.description.contains("expected a 'title' for the step"))
    }

    @Test func missingTopLevelSteps() throws {
        let d = try #require(only("id: t\ntitle: T\nsummary: S\n"))
        #expect(d.location.line == 1 && d.location.column == 1)
        #expect(d.message == "missing field 'steps' in the runbook")
    }

    @Test func branchToUnknownStep() throws {
        let y = header + """
        steps:
          - id: a
            kind: confirm
            title: Q
            default: false
            on-yes: nowhere
        """
        let d = try #require(only(y))
        #expect(d.location.line == 9 && d.location.column == 13)
        #expect(d.message == "branch to unknown step 'nowhere'")
        #expect(d.expected.contains("(a) or 'end'"))
    }

    @Test func undeclaredVariable() throws {
        let y = header + """
        steps:
          - kind: command
            title: C
            command: [kubectl, get, pod, "x-{{nope}}"]
        """
        let d = try #require(only(y))
        // "x-{{nope}}" starts at column 34 (the quote); the placeholder is 2 characters in.
        #expect(d.location.line == 7 && d.location.column == 37)
        #expect(d.message == "undeclared variable '{{nope}}'")
    }

    @Test func badConditionSyntax() throws {
        let y = header + """
        steps:
          - kind: check
            title: C
            expect: persistence.aofLastWriteStatus = ok
        """
        let d = try #require(only(y))
        // the lone '=' is 31 characters into the value, which starts at column 13
        #expect(d.location.line == 7 && d.location.column == 44)
        #expect(d.description.contains("bad condition in 'expect': '=' alone, expected '==' for equality"))
    }

    @Test func unknownSnapshotPath() throws {
        let y = header + "steps:\n  - kind: check\n    title: C\n    expect: persistence.aofLastWriteStatuss == ok\n"
        let d = try #require(only(y))
        #expect(d.location.line == 7 && d.location.column == 13)
        #expect(d.message.contains("unknown field 'aofLastWriteStatuss' in 'persistence'"))
    }

    @Test func duplicateStepId() throws {
        let y = header + """
        steps:
          - id: a
            kind: explain
            title: A
            text: x
          - id: a
            kind: explain
            title: B
            text: y
        """
        let d = try #require(only(y))
        #expect(d.location.line == 9 && d.location.column == 9)
        #expect(d.message == "duplicate step id 'a' (first used at line 5)")
    }

    @Test func wrongTypes() throws {
        let y = header + """
        steps:
          - kind: command
            title: C
            command: kubectl get pods
            mutates: "yes please"
        """
        let (_, d, _) = validate(y)
        #expect(d.count == 2)
        #expect(d[0].location.line == 7 && d[0].location.column == 14)
        #expect(d[0].description.contains("'command' is text \"kubectl get pods\", expected a list of text"))
        #expect(d[1].location.line == 8 && d[1].location.column == 14)
        #expect(d[1].description.contains("'mutates' is text \"yes please\", expected true or false"))
    }

    @Test func unknownKey() throws {
        let d = try #require(only(header + "steps:\n  - kind: explain\n    title: A\n    text: x\n    colour: red\n"))
        #expect(d.location.line == 8 && d.location.column == 5)
        #expect(d.message == "unknown key 'colour' in a explain step")
    }

    @Test func yamlSyntaxError() throws {
        let d = try #require(only("id: t\ntitle: [unclosed\n"))
        #expect(d.location.line >= 2)
        #expect(d.message.hasPrefix("YAML syntax error"))
        #expect(d.expected == "well-formed YAML")
    }

    @Test func unlabelledMutationAndDestruction() throws {
        let y = header + """
        steps:
          - kind: command
            title: delete
            command: [kubectl, delete, pod, "{{pod}}"]
        """
        let (_, d, _) = validate(y)
        #expect(d.contains { $0.message.contains("'kubectl delete' changes state but the step does not say 'mutates: true'") && $0.location.line == 7 })
        #expect(d.contains { $0.message.contains("is destructive but the step does not say 'destructive: true'") })
    }

    @Test func kubectlGlobalFlagsAndShellAreRejected() throws {
        let y = header + """
        steps:
          - kind: check
            title: A
            command: [kubectl, -n, prod, get, pods]
          - kind: check
            title: B
            command: [sh, -c, "kubectl get pods"]
        """
        let (_, d, _) = validate(y)
        #expect(d.contains { $0.location.line == 7 && $0.location.column == 24 && $0.message == "kubectl flag '-n' in a runbook" })
        #expect(d.contains { $0.location.line == 10 && $0.message == "program 'sh'" })
    }

    @Test func choiceDefaultMustBeAnOption() throws {
        let y = header + """
        steps:
          - kind: choice
            title: C
            options:
              - {key: a, label: A, goto: end}
            default: z
        """
        let d = try #require(only(y))
        #expect(d.location.line == 9 && d.location.column == 14)
        #expect(d.description.hasSuffix("default 'z' is not an option, expected one of a"))
    }

    @Test func yamlBombIsRejectedQuickly() throws {
        var y = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for i in 1...9 { y += "\(Character(UnicodeScalar(97 + i)!)): &\(Character(UnicodeScalar(97 + i)!)) [" + Array(repeating: "*\(Character(UnicodeScalar(96 + i)!))", count: 9).joined(separator: ",") + "]\n" }
        y += "id: t\ntitle: T\nsummary: S\nsteps: *j\n"
        let (rb, d, _) = validate(y)
        #expect(rb == nil)
        #expect(d.count == 1)
        #expect(d.first?.message.contains("expands to more than 100000 nodes") == true)
        #expect(d.first?.location.line == 1)
    }

    @Test func aliasAsKeyIsRejectedBeforeParsing() throws {
        let y = "a: &a [1, 2]\n? *a\n: x\n*a : y\n"
        let (_, d, _) = validate(y)
        #expect(d.contains { $0.location.line == 2 && $0.message.contains("explicit mapping key") })
        #expect(d.contains { $0.location.line == 4 && $0.message.contains("an alias used in a mapping key") })
    }

    @Test func oneMegabyteLineIsHandled() throws {
        let long = String(repeating: "x", count: 1_000_000)
        let y = header + "steps:\n  - kind: explain\n    title: A\n    text: \(long)\n"
        let (rb, d, _) = validate(y)
        #expect(rb == nil)
        let e = try #require(d.first)
        #expect(e.location.line == 7 && e.location.column == 11)
        #expect(e.description.contains("'text' is 1000000 characters long, expected at most 65536 characters"))
        #expect(e.description.count < 300)   // the line itself is never echoed
    }

    @Test func hugeFileAndDeepNesting() throws {
        let (_, d1, _) = validate(String(repeating: "#", count: RunbookLimits.maxFileBytes + 10))
        #expect(d1.first?.message.hasPrefix("file is ") == true)
        let (_, d2, _) = validate("a: " + String(repeating: "[", count: 5000))
        #expect(d2.first?.message.contains("flow collections nested") == true)
        let (_, d3, _) = validate(String(repeating: "- ", count: 20000) + "x\n")
        #expect(d3.first?.message.contains("nested collections on one line") == true)
    }

    @Test func invalidUTF8() throws {
        let dir = makeTempDir()
        let p = dir.appendingPathComponent("bad.yaml").path
        var data = Data("id: t\ntitle: ".utf8)
        data.append(contentsOf: [0xFF, 0xFE])
        FileManager.default.createFile(atPath: p, contents: data)
        let (_, d) = RunbookLoader.load(path: p)
        #expect(d.first?.description.contains("error: the file is not valid UTF-8, expected UTF-8 text") == true)
        #expect(d.first?.location.line == 2)
    }

    @Test func teamFolderOverridesBundledById() throws {
        let a = makeTempDir(), b = makeTempDir()
        let rb1 = header.replacingOccurrences(of: "title: T", with: "title: Bundled") + "steps:\n  - {kind: explain, title: A, text: x}\n"
        let rb2 = header.replacingOccurrences(of: "title: T", with: "title: Team") + "steps:\n  - {kind: explain, title: A, text: y}\n"
        try rb1.write(to: a.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        try rb2.write(to: b.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        let lib = RunbookLibrary.load(folders: [a.path, b.path])
        #expect(lib.diagnostics.isEmpty)
        #expect(lib.runbook(id: "t")?.title == "Team")
        #expect(lib.overridden["t"] != nil)
    }
}

/// `capture-match`, `confirm-pod` and variables inside `matches` (issue 18's split-brain and
/// migrate-to-sentinel runbooks): the loader's rules and what a run does with them.
@Suite struct CaptureMatchAndConfirmPodTests {
    static let yaml = header + """
    variables:
      - name: ip
        description: the address a Sentinel names
        capture: true
      - name: other
        description: the other pod
        capture: true
    steps:
      - id: sentinel
        kind: check
        title: Sentinel
        command: [kubectl, exec, "{{pod}}", -c, sentinel, --, redis-cli, -p, "26379", SENTINEL, get-master-addr-by-name, mymaster]
        capture: ip
        capture-match: '^(\\S+)$'
      - id: same
        kind: check
        title: The same address?
        command: [kubectl, exec, redis-2, -c, sentinel, --, redis-cli, -p, "26379", SENTINEL, get-master-addr-by-name, mymaster]
        expect: stdout matches "^{{ip}}\\\\s"
      - id: pick
        kind: check
        title: Other pod
        command: [kubectl, get, pod, redis-1, -o, "jsonpath={.metadata.name} {.status.podIP}"]
        capture: other
        capture-match: '^(\\S+) '
      - id: demote
        kind: command
        title: Demote
        command: [kubectl, exec, "{{other}}", --, redis-cli, REPLICAOF, "{{ip}}", "6379"]
        mutates: true
        destructive: true
        confirm-pod: "{{other}}"
        undo: none
        undo-reason: its data is replaced
    """

    @Test func loaderRules() throws {
        let (rb, d, _) = validate(Self.yaml)
        #expect(d.isEmpty, "\(d.map(\.description))")
        let r = try #require(rb)
        #expect(r.steps[0].captureMatch == "^(\\S+)$")
        #expect(r.steps[3].confirmPod?.raw == "{{other}}")
        // capture-match needs capture; a bad regex and confirm-pod on a non-destructive step are errors.
        let noCapture = header + "steps:\n  - kind: check\n    title: a\n    command: [kubectl, get, pods]\n    capture-match: 'x'\n"
        #expect(validate(noCapture).1.first?.message == "'capture-match' without 'capture'")
        let badRe = header + "variables:\n  - name: v\n    description: d\n    capture: true\nsteps:\n  - kind: check\n    title: a\n    command: [kubectl, get, pods]\n    capture: v\n    capture-match: '(['\n"
        #expect(validate(badRe).1.first?.message == "'capture-match' is not a regular expression")
        let notDestructive = header + "steps:\n  - kind: command\n    title: a\n    command: [kubectl, get, pods]\n    confirm-pod: redis-1\n"
        #expect(validate(notDestructive).1.first?.message == "'confirm-pod' on a step that is not destructive")
        // A regex with a {{variable}} validates (the variable is not part of the pattern's syntax).
        let withVar = header + "variables:\n  - name: v\n    description: d\n    capture: true\nsteps:\n  - kind: check\n    title: a\n    command: [kubectl, get, pods]\n    capture: v\n  - kind: check\n    title: b\n    command: [kubectl, get, pods]\n    expect: stdout matches \"^{{v}}$\"\n"
        #expect(validate(withVar).1.isEmpty)
    }

    @Test func captureTakesTheFirstGroup() {
        #expect(RunbookRun.captured("10.244.0.5\n6379\n", match: "^(\\S+)$") == "10.244.0.5")
        #expect(RunbookRun.captured("redis-1 10.244.0.9", match: "^(\\S+) ") == "redis-1")
        #expect(RunbookRun.captured("sampled 7 (complete sample)\nmissing on the true master 3", match: "missing on the true master ([0-9]+)") == "3")
        #expect(RunbookRun.captured("nothing here", match: "^([0-9]+)$") == "")
        #expect(RunbookRun.captured("  all of it \n", match: nil) == "all of it")
    }

    @Test func variablesInMatchesAreLiteral() throws {
        let c = try Condition.parse(#"stdout matches "^{{ip}}\\s""#)
        let ctx = { (out: String) in EvaluationContext(snapshot: { _ in nil }, result: Harness.ok(out), variables: ["ip": "10.0.0.1"]) }
        #expect(c.evaluate(ctx("10.0.0.1\n6379")).truth == .yes)
        // The dots are literal: another address that a raw pattern would match does not.
        #expect(c.evaluate(ctx("10x0x0x1\n6379")).truth == .no)
        #expect(c.evaluate(ctx("10.0.0.12\n6379")).truth == .no)
    }

    /// The typed confirmation asks for the pod the step acts on, not the run's target pod; the
    /// captured values reach the command.
    @Test func typedNameIsTheConfirmPod() throws {
        let rb = try #require(validate(Self.yaml).0)
        var run = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h = Harness(answers: [.text("redis-0")], results: [Harness.ok("10.244.0.5\n6379\n"), Harness.ok("10.244.0.5\n6379\n"), Harness.ok("redis-1 10.244.0.9")])
        h.drive(&run)
        #expect(h.prompts.contains { if case .typed(let e) = $0.kind { return e == "redis-1" }; return false })
        #expect(!h.ran.contains { $0.argv.contains("REPLICAOF") }, "typing the target pod (redis-0) must not demote redis-1")
        var run2 = RunbookRun(runbook: rb, target: target, options: RunOptions())
        var h2 = Harness(answers: [.text("redis-1")], results: [Harness.ok("10.244.0.5\n6379\n"), Harness.ok("10.244.0.5\n6379\n"), Harness.ok("redis-1 10.244.0.9"), Harness.ok("OK")])
        h2.drive(&run2)
        let demote = h2.ran.first { $0.argv.contains("REPLICAOF") }
        #expect(demote.map { Array($0.argv.suffix(4)) } == ["redis-cli", "REPLICAOF", "10.244.0.5", "6379"])
        #expect(demote?.argv.contains("redis-1") == true)
        #expect(h2.status == .finished)
    }
}

extension CaptureMatchAndConfirmPodTests {
    /// `stdout == 0` on redis-cli's "0\n" (DBSIZE of an empty pod) is a numeric match.
    @Test func numericEqualityIgnoresTheTrailingNewline() throws {
        let c = try Condition.parse("stdout == 0")
        #expect(c.evaluate(EvaluationContext(snapshot: { _ in nil }, result: Harness.ok("0\n"))).truth == .yes)
        #expect(c.evaluate(EvaluationContext(snapshot: { _ in nil }, result: Harness.ok("12\n"))).truth == .no)
    }
}

extension CaptureMatchAndConfirmPodTests {
    /// `end-state: pod:` points the serving checks and the key count at another pod than the
    /// run's target (the master a Sentinel runbook found); an undeclared variable there is an error.
    @Test func endStatePod() throws {
        let y = header + """
        end-state:
          pod: "{{master}}"
          serving: true
          keys:
            before: n
            max-loss: 0
        variables:
          - name: master
            description: the master
            capture: true
            default: ""
          - name: n
            description: keys
            capture: true
        steps:
          - kind: explain
            title: a
            text: b
        """
        let (rb, d, _) = validate(y)
        #expect(d.isEmpty, "\(d.map(\.description))")
        let es = try #require(rb?.endState)
        #expect(es.checks.contains { $0.name == "PING answers PONG" && $0.command.argv.map(\.raw).contains("{{master}}") })
        #expect(es.keys?.command.argv.map(\.raw).contains("{{master}}") == true)
        let bad = y.replacingOccurrences(of: "pod: \"{{master}}\"", with: "pod: \"{{nobody}}\"")
        #expect(validate(bad).1.contains { $0.message == "undeclared variable '{{nobody}}'" })
    }
}
