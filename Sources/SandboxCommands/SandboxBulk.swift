import ArgumentParser
import Foundation
import Sandbox

/// `redis-runbook-sandbox bulk --pods N --events M`: inert API objects for load tests (issue 16,
/// figure 5), see Sandbox/Model/BulkObjects.swift. Never part of the demo; `down` removes them.
public struct SandboxBulk: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "bulk", abstract: "Load tests only: serve N inert pods (no process behind them) and M events about them in the sandbox's namespace.",
        discussion: """
        The pods are Running and ready, named web-/api-/worker-/thumbnailer-..., labelled app=web etc. (never app=redis); the \
        events are the usual Scheduled/Pulled/Created/Started and readiness warnings about them. They live only in the API \
        server (DIR/bulk.json is their recipe): the sandbox's kubelet never sees them, so they cost its reconcile loop \
        nothing, and they never change. `bulk --pods 0 --events 0` or `down` removes them.
        """)
    @OptionGroup public var dir: SandboxDirOption
    @Option(name: .long, help: "Number of inert pods.")
    var pods: Int = 5000
    @Option(name: .long, help: "Number of events about them (round robin over the pods).")
    var events: Int = 20000

    public func run() async throws {
        guard pods >= 0, events >= 0, pods <= 100_000, events <= 400_000 else {
            sandboxFail(ValidationError("--pods must be 0...100000 and --events 0...400000"))
        }
        guard events == 0 || pods > 0 else { sandboxFail(ValidationError("--events needs --pods: the events are about the bulk pods")) }
        let c = dir.control
        guard c.daemonPid() != nil, c.apiServerPid() != nil else { sandboxFail(SandboxError("no sandbox running in \(c.layout.root.path) (run: redis-runbook-sandbox up)")) }
        do {
            if pods == 0 {
                BulkObjects.remove(c.layout)
            } else {
                let state = try c.store.read()
                let spec = BulkSpec(pods: pods, events: events, createdAt: RFC3339.format(Date().addingTimeInterval(-3 * 3600)),
                                    resourceVersion: state.generation)
                try BulkObjects.write(spec, c.layout)
            }
        } catch { sandboxFail(error) }
        // The API server loads the recipe within its next housekeeping tick (200 ms) plus the time
        // to build the objects; wait until it says it serves them.
        let deadline = Date().addingTimeInterval(120)
        while true {
            if let s = BulkObjects.served(c.layout), s.pods == pods, s.events == events { break }
            if Date() > deadline { sandboxFail(SandboxError("the API server did not pick up the bulk objects within 120 s; see \(c.layout.apiServerLog.path)")) }
            try await Task.sleep(for: .milliseconds(100))
        }
        print(pods == 0 ? "bulk objects removed" : "serving \(pods) inert pods and \(events) events in namespace \((try? c.store.read().namespace) ?? "default") (load tests only; `down` removes them)")
    }
}
