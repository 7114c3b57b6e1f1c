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
