import Diagnosis
import Foundation
import Render
import Testing

/// Every kubectl corpus file through KubeJSON (pods, pod, node, events, statefulsets, pvcs) and,
/// when something decodes, through the snapshot builder and the text views.
@Suite("Hostile kubectl JSON")
struct KubectlJSONHostileTests {
    static let files = Corpus.files("kubectl")

    /// Files whose decoding must fail with an error that names the JSON path of the bad field.
    static let expectedPaths: [String: String] = [
        "restartcount-string.json": "status.containerStatuses[0].restartCount",
        "metadata-string.json": "metadata",
        "items-not-array.json": "items",
        "ready-string.json": "status.conditions[0].status",
    ]

    /// Files that are not JSON at all: a clear "not valid JSON" message.
    static let notJSON: Set<String> = [
        "empty.json", "whitespace.json", "html-error-page.json", "kubectl-error-text.json", "truncated-half.json",
        "truncated-one-byte.json", "two-documents.json", "trailing-garbage.json",
    ]

    @Test func corpusIsComplete() {
        #expect(Self.files.count >= 30, "kubectl corpus went missing: \(Self.files.count) files")
    }

    @Test("each kubectl file decodes or fails with a clear, path-naming message", arguments: files)
    func decode(_ name: String) throws {
        let data = try Corpus.data("kubectl", name)
        var pod: KubePod?
        var failure: KubeDecodeError?
        do { pod = try KubeJSON.pod(from: data) } catch { failure = error }
        // The other entry points must not crash on the same bytes either.
        _ = try? KubeJSON.pods(from: data)
        _ = try? KubeJSON.node(from: data)
        _ = try? KubeJSON.events(from: data)
        _ = try? KubeJSON.statefulSets(from: data)
        _ = try? KubeJSON.pvcs(from: data)

        if let path = Self.expectedPaths[name] {
            let f = try #require(failure, "\(name) decoded although \(path) has the wrong type")
            #expect(f.path == path, "\(name): error names '\(f.path)', expected '\(path)' (\(f))")
            #expect(f.description.hasPrefix(path + ":"))
        }
        if name == "restartcount-huge.json" {
            // A 23-digit integer: Foundation's JSON parser itself refuses it ("not valid JSON",
            // no position; see RELIABILITY.md). It must fail, with a message, not wrap or trap.
            let f = try #require(failure, "\(name) decoded a 23-digit restartCount")
            #expect(f.description.contains("out of range") || f.path.contains("restartCount") || f.description.contains("JSON"), "\(name): \(f)")
        }
        if Self.notJSON.contains(name) {
            let f = try #require(failure, "\(name) is not JSON but decoded")
            #expect(f.description.contains("JSON"), "\(name): \(f)")
        }
        if let f = failure {
            // A message a person can read: short, one line, no control characters.
            #expect(!f.description.isEmpty)
            #expect(f.description.count < 400, "\(name): message of \(f.description.count) characters")
            #expect(TerminalSafety.report(f.description) == "", "\(name): control characters in \(f.description.debugDescription)")
        }

        // Whatever decoded goes through the builder and both text outputs.
        var input = SnapshotInputs(now: Date(timeIntervalSince1970: 1_800_000_000))
        input.podName = "redis-0"
        input.pod = pod
        if let f = failure { input.errors = [SourceError(source: "pod", message: f.description, staleSeconds: 12)] }
        let snap = SnapshotBuilder.build(input)
        let status = StatusText.render(snap)
        // `status` prints straight to a terminal: no escape may survive into it.
        #expect(TerminalSafety.report(status.replacingOccurrences(of: "\n", with: "")) == "",
                "\(name): `status` output carries control characters: \(status.debugDescription.prefix(300))")
        TerminalSafety.expectSafeOnGrid(status.split(separator: "\n").map(String.init))
        let json = SnapshotJSON.encode(snap)
        #expect(json.hasPrefix("{"))
        #expect((try? SnapshotJSON.decode(json)) != nil, "\(name): status --json does not round-trip")
    }

    @Test func escapeInReasonIsDataNotAnEscape() throws {
        let pod = try KubeJSON.pod(from: Corpus.data("kubectl", "escape-in-reason.json"))
        #expect(pod.status?.reason?.contains("\u{1B}") == true, "the corpus file should carry a raw ESC")
        var input = SnapshotInputs(now: Date())
        input.pod = pod
        input.podName = "redis-0"
        let snap = SnapshotBuilder.build(input)
        let fields = [snap.pod?.reason].compactMap { $0 } + (snap.pod?.containers.flatMap { [$0.reason, $0.message].compactMap { $0 } } ?? [])
        #expect(!fields.isEmpty)
        TerminalSafety.expectSafeOnGrid(fields)
        var g = Grid(width: 40, height: 1)
        g.write(fields[0], x: 0, y: 0)
        #expect(g.lines()[0].contains("␛]0;pwned␇"), "ESC/BEL should show as visible symbols: \(g.lines()[0])")
    }

    // MARK: generated, big

    @Test func twoMebibytePodName() throws {
        let name = String(repeating: "p", count: 2 << 20)
        let json = #"{"kind":"Pod","metadata":{"name":"\#(name)"},"spec":{"nodeName":"\#(name)"},"status":{"phase":"Running","reason":"\#(name)"}}"#
        let pod = try KubeJSON.pod(from: Data(json.utf8))
        #expect(pod.metadata?.name?.utf8.count == 2 << 20)
        var input = SnapshotInputs(now: Date())
        input.pod = pod
        input.podName = name
        let snap = SnapshotBuilder.build(input)
        let lines = StatusText.render(snap).split(separator: "\n").map(String.init)
        TerminalSafety.expectSafeOnGrid(lines, width: 120)
        var g = Grid(width: 120, height: 1)
        let end = g.write(lines.first { $0.hasPrefix("Pod") } ?? "", x: 0, y: 0)
        #expect(end <= 120, "a 2 MiB name must be clipped at the grid edge")
    }

    @Test func twentyThousandEvents() throws {
        var items: [String] = []
        items.reserveCapacity(20_000)
        for i in 0..<20_000 {
            let type = i % 3 == 0 ? "Warning" : "Normal"
            items.append(#"{"metadata":{"name":"e\#(i)","uid":"u\#(i)"},"type":"\#(type)","reason":"R\#(i % 17)\u001b[2J","message":"m\#(i)\u0007","count":\#(i),"lastTimestamp":"2026-01-01T00:00:\#(String(format: "%02d", i % 60))Z","involvedObject":{"kind":"Pod","name":"redis-0"}}"#)
        }
        let json = #"{"kind":"EventList","items":["# + items.joined(separator: ",") + "]}"
        let events = try KubeJSON.events(from: Data(json.utf8))
        #expect(events.count == 20_000)
        var input = SnapshotInputs(now: Date(timeIntervalSince1970: 1_767_225_700))
        input.pod = try KubeJSON.pod(from: Data(#"{"kind":"Pod","metadata":{"name":"redis-0"},"status":{"phase":"Running"}}"#.utf8))
        input.podName = "redis-0"
        input.events = events
        let snap = SnapshotBuilder.build(input)
        let warnings = snap.pod?.warnings ?? []
        #expect(warnings.count <= 1000, "the snapshot keeps \(warnings.count) warnings: unbounded")
        TerminalSafety.expectSafeOnGrid(warnings.prefix(50).map { "\($0.reason) \($0.message)" })
        TerminalSafety.expectSafeOnGrid(StatusText.render(snap).split(separator: "\n").map(String.init))
    }

    @Test func deepNestingDoesNotOverflowTheStack() throws {
        for depth in [1_000, 10_000, 100_000] {
            let json = String(repeating: #"{"metadata":"#, count: depth) + "1" + String(repeating: "}", count: depth)
            #expect(throws: KubeDecodeError.self) { try KubeJSON.pod(from: Data(json.utf8)) }
            let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            #expect(throws: KubeDecodeError.self) { try KubeJSON.pod(from: Data(arrays.utf8)) }
        }
    }

    @Test("kubectl error texts are classified without echoing escapes")
    func errorTexts() {
        let hostile = ["error: \u{1B}]0;pwned\u{07}", "Error from server (NotFound): pods \"\u{1B}[2J\" not found", String(repeating: "x", count: 1 << 20), ""]
        for t in hostile {
            let e = KubectlError.classify(stderr: t, exitCode: 1)
            #expect(!e.description.isEmpty || t.isEmpty)
            TerminalSafety.expectSafeOnGrid([e.description])
        }
    }
}
