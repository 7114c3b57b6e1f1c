import Foundation
import ProcessRunner
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real binary (`status --json`, `check`) against kubectl wrappers that fail in every way a
/// kubectl can: hung, slow, missing, each error text of errors.txt, truncated or non-JSON output.
/// What must hold: a bounded run, `errors[]` saying which source failed and why, hung children
/// killed and reaped, no crash (exit status is the command's own, never a signal).
@Suite("kubectl faults", .serialized)
struct KubectlFaultTests {
    static func expectNoCrash(_ r: CommandResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if case .signaled(let s) = r.termination { Issue.record("\(what): killed by signal \(s)\n\(r.stderrText)", sourceLocation: sourceLocation) }
        if case .timedOut = r.termination { Issue.record("\(what): did not finish in time", sourceLocation: sourceLocation) }
        #expect(!r.stderrText.contains("Fatal error"), "\(what): \(r.stderrText)", sourceLocation: sourceLocation)
    }

    /// kubectl hangs forever (and leaves a grandchild in its group): every probe is killed at its
    /// timeout, the whole group goes, the command ends and reports "timed out" per source.
    @Test(.timeLimit(.minutes(2))) func hangingKubectlIsKilledAndReaped() async throws {
        let env = try RelEnv()
        let pids = env.path("hung.pids")
        let k = try env.script("kubectl", """
        echo $$ >> '\(pids)'
        sleep 600 &
        echo $! >> '\(pids)'
        wait
        """)
        let t0 = Date()
        let r = await env.run(["status", "--json", "--kubectl", k], timeout: .seconds(60))
        let took = Date().timeIntervalSince(t0)
        Self.expectNoCrash(r, "status with a hung kubectl")
        #expect(took < 40, "status took \(took) s with a hung kubectl")
        let json = try #require(RelEnv.json(r), "no JSON: \(r.stdoutText) \(r.stderrText)")
        let errors = RelEnv.errors(json)
        let pod = try #require(errors.first { $0["source"] as? String == "pod" }, "\(errors)")
        #expect((pod["message"] as? String)?.contains("timed out") == true, "\(pod)")
        // Every hung process (the kubectl and its sleeping child) is gone: killed as a group.
        let hung = Procs.pids(in: pids)
        #expect(hung.count >= 2)
        let gone = await Procs.eventually(5) { hung.allSatisfy { !Procs.alive($0) } }
        #expect(gone, "left running: \(hung.filter(Procs.alive).map { "\($0) \(Procs.cmdline($0))" })")
        for p in hung where Procs.alive(p) { kill(p, SIGKILL) }
    }

    /// A 5 s kubectl is slow, not broken: the snapshot has the pod and no pod error.
    @Test(.timeLimit(.minutes(2))) func slowKubectlStillAnswers() async throws {
        let env = try RelEnv()
        let k = try env.fakeKubectl(extra: "sleep 5")
        let r = await env.run(["status", "--json", "--kubectl", k], timeout: .seconds(60))
        Self.expectNoCrash(r, "status with a 5 s kubectl")
        let json = try #require(RelEnv.json(r), "no JSON: \(r.stdoutText) \(r.stderrText)")
        let pod = try #require(json["pod"] as? [String: Any], "\(json)")
        #expect(pod["phase"] as? String == "Running")
        #expect(!RelEnv.errors(json).contains { $0["source"] as? String == "pod" }, "\(RelEnv.errors(json))")
    }

    /// A missing kubectl: a clear message and a non-zero exit, for status and check.
    @Test func missingKubectl() async throws {
        let env = try RelEnv()
        let r = await env.run(["status", "--json", "--kubectl", env.path("nope/kubectl")])
        Self.expectNoCrash(r, "status with a missing kubectl")
        #expect(r.exitCode != 0)
        #expect((r.stderrText + r.stdoutText).contains("no executable file"), "\(r.stderrText)")
        // Not on PATH at all.
        let r2 = await env.run(["check"], environment: ["PATH": env.path("empty-bin")])
        Self.expectNoCrash(r2, "check without kubectl on PATH")
        #expect(r2.exitCode == 3, "check must be UNKNOWN (3), got \(r2.termination)")
        #expect(r2.stdoutText.contains("REDIS UNKNOWN") && r2.stdoutText.contains("kubectl was not found on PATH"), "\(r2.stdoutText)")
        // Removed between probes: the spawn fails, the source says so.
        let gone = env.path("gone/kubectl")
        try env.script("gone/kubectl", "exit 0")
        let wrapper = try env.script("kubectl-then-gone", "rm -f '\(gone)'; exec '\(gone)' \"$@\"")
        let r3 = await env.run(["status", "--json", "--kubectl", wrapper])
        Self.expectNoCrash(r3, "status with kubectl removed mid-run")
        let errs = RelEnv.errors(RelEnv.json(r3))
        #expect(errs.contains { $0["source"] as? String == "pod" }, "\(r3.stdoutText)")
    }

    /// Each verbatim kubectl error of errors.txt (stderr, exit 1): the pod source names it, on
    /// one printable line, and `check` is UNKNOWN.
    @Test(.timeLimit(.minutes(4))) func everyKubectlErrorText() async throws {
        let env = try RelEnv()
        let blocks = KubectlErrorTexts.load()
        #expect(blocks.count >= 20, "errors.txt went missing")
        var tried = 0
        for (i, b) in blocks.enumerated() {
            let textFile = env.path("err-\(i).txt")
            try b.text.write(toFile: textFile, atomically: true, encoding: .utf8)
            let k = try env.script("kubectl-err-\(i)", "cat '\(textFile)' >&2; exit 1")
            let r = await env.run(["status", "--json", "--kubectl", k], timeout: .seconds(40))
            Self.expectNoCrash(r, "error block \(i) (\(b.source))")
            let errs = RelEnv.errors(RelEnv.json(r))
            let pod = errs.first { $0["source"] as? String == "pod" }
            let msg = pod?["message"] as? String ?? ""
            #expect(!msg.isEmpty, "block \(i) \(b.source): no pod error in \(r.stdoutText.prefix(400))")
            #expect(!msg.contains("\n") && msg.count < 600, "block \(i): message not one short line: \(msg.debugDescription)")
            #expect(msg.unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }, "block \(i): control characters")
            let c = await env.run(["check", "--kubectl", k], timeout: .seconds(40))
            Self.expectNoCrash(c, "check, error block \(i)")
            #expect(c.exitCode == 3, "block \(i): check exit \(String(describing: c.exitCode)), expected 3 UNKNOWN\n\(c.stdoutText)")
            tried += 1
        }
        print("kubectl error texts tried: \(tried)")
    }

    /// kubectl exits 0 but its output is cut short or not JSON at all: the pod source says the
    /// output could not be read (not "exited 0"), nothing crashes.
    @Test(.timeLimit(.minutes(2)), arguments: [
        ("truncated", String(RelEnv.podJSON.prefix(RelEnv.podJSON.count / 2))),
        ("html", "<html><body>502 Bad Gateway</body></html>"),
        ("empty", ""),
        ("binary", "\u{1B}]0;pwned\u{07}\u{0}\u{1}\u{2}garbage"),
        ("wrong-kind", #"{"kind":"Pod","metadata":"redis-0"}"#),
    ])
    func badOutput(_ name: String, _ output: String) async throws {
        let env = try RelEnv()
        let out = env.path("out-\(name)")
        try output.write(toFile: out, atomically: true, encoding: .utf8)
        let k = try env.script("kubectl-\(name)", "cat '\(out)'; exit 0")
        let r = await env.run(["status", "--json", "--kubectl", k], timeout: .seconds(40))
        Self.expectNoCrash(r, "status with \(name) output")
        let json = try #require(RelEnv.json(r), "no JSON: \(r.stdoutText) \(r.stderrText)")
        let pod = try #require(RelEnv.errors(json).first { $0["source"] as? String == "pod" }, "\(RelEnv.errors(json))")
        let msg = pod["message"] as? String ?? ""
        #expect(msg.lowercased().contains("json") || msg.contains("output"), "\(name): the pod error does not say the output was unreadable: \(msg)")
        #expect(!msg.contains("\u{1B}"))
        let text = await env.run(["status", "--kubectl", k], timeout: .seconds(40))
        #expect(!text.stdoutText.contains("\u{1B}") && !text.stdoutText.contains("\u{07}"), "escape reached stdout")
    }
}
