import Foundation
@testable import Runbooks

/// A unique temp dir per test.
func makeTempDir() -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("rb-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}

/// Writes `yaml` to a temp file and validates it.
func validate(_ yaml: String, name: String = "rb.yaml") -> (Runbook?, [RunbookDiagnostic], String) {
    let dir = makeTempDir()
    let path = dir.appendingPathComponent(name).path
    try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
    let (rb, d) = RunbookLoader.load(path: path)
    return (rb, d, path)
}

func parse(_ yaml: String) -> Runbook {
    let (rb, d) = RunbookLoader.parse(text: yaml, file: "test.yaml")
    precondition(d.isEmpty, d.map(\.description).joined(separator: "\n"))
    return rb!
}

let header = """
id: t
title: T
summary: S

"""

/// Feeds a run: answers prompts from `answers` (in order; `.useDefault` when exhausted),
/// commands from `results` (default exit 0, stdout ""), snapshots from `snapshot`.
struct Harness {
    var answers: [RunAnswer] = []
    var results: [(CommandOutcome)] = []
    var snapshot: [String: String] = [:]
    var effects: [RunbookEffect] = []
    var ran: [RenderedCommand] = []
    var prompts: [RunPrompt] = []
    var saved: [RunState] = []
    var logs: [IncidentEntry] = []
    var shown: [RunMessage] = []
    var status: RunStatus?
    /// Answers commands by argv before `results` (a simulated live system).
    var respond: ((RenderedCommand) -> CommandOutcome?)? = nil
    /// The answer to a keyspace-analysis step.
    var keyspace = KeyspaceOutcome(complete: true, stopReason: nil, report: "Top patterns by bytes", values: [:], durationSeconds: 0.1)
    var analyses: [KeyspaceRequest] = []

    static func ok(_ stdout: String = "", exit: Int = 0) -> CommandOutcome {
        CommandOutcome(exitCode: exit, termination: "exited with status \(exit)", stdout: stdout, stderr: "", durationSeconds: 0.1)
    }

    mutating func drive(_ run: inout RunbookRun, maxEffects: Int = 10_000) {
        var queue = run.handle(.start)
        var n = 0
        while !queue.isEmpty, n < maxEffects {
            n += 1
            let e = queue.removeFirst()
            effects.append(e)
            switch e {
            case .show(let m): shown.append(m)
            case .log(let l): logs.append(l)
            case .saveState(let s): saved.append(s)
            case .progress, .recordSnapshot: break
            case .fetchSnapshot:
                let snap = snapshot
                queue = run.handle(.snapshot({ snap[$0] })) + queue
            case .runCommand(let rc):
                ran.append(rc)
                let out = respond?(rc) ?? (results.isEmpty ? Harness.ok() : results.removeFirst())
                queue = run.handle(.commandFinished(out)) + queue
            case .wait: queue = run.handle(.waited) + queue
            case .analyzeKeyspace(let req):
                analyses.append(req)
                queue = run.handle(.keyspaceAnalyzed(keyspace)) + queue
            case .ask(let p):
                prompts.append(p)
                let a = answers.isEmpty ? RunAnswer.useDefault : answers.removeFirst()
                queue = run.handle(.answer(a)) + queue
            case .finished(let s, _): status = s; return
            }
        }
    }
    var text: String { shown.map(\.text).joined(separator: "\n") }
}
