import App
import MemoryAnalysis
import Live
import ProcessRunner
import Runbooks
import ArgumentParser
import Foundation
import Synchronization

public struct TUICommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "tui", abstract: "Open the incident dashboard (default).")
    @OptionGroup public var global: GlobalOptions
    public init() {}

    public func run() async throws {
        try await TUICommand.open(global: global)
    }

    /// Opens the dashboard; with `runbook`, on that runbook's page (Esc goes to the dashboard).
    static func open(global: GlobalOptions, runbook: Runbook? = nil) async throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ValidationError("the dashboard needs a terminal; use `redis-runbook status` or `check` in scripts")
        }
        try await global.ensureSandboxIfRequested()
        // A kubectl that cannot be found does not keep the dashboard closed: it opens, and every
        // panel says what failed ("kubectl: executable not found in PATH"), as with any probe error.
        let target = (try? global.liveTarget()) ?? (try! global.liveTarget(resolve: false))
        let prober = Prober(target: target, runner: Runner(), useWatches: true)
        // A slow Redis probe must not hold back the pod and node panels (see Prober.redisWait).
        await prober.setRedisWait(.milliseconds(Int(min(max(global.refresh * 0.8, 0.5), 2) * 1000)))
        // The first frame's reads start now, beside the terminal's set-up.
        await prober.warmUp()
        // Loaded on first use, not before the first frame: parsing every runbook's YAML took ~0.1 s
        // of start-up (issue 7, benchmark 2). Its diagnostics are not printed here (stderr would
        // garble the full screen); `redis-runbook runbook validate` shows them.
        let library = LazyRunbookLibrary(global)
        let analysisRunner = Runner()
        let analysisOptions = MemoryAnalysisOptions(scanCount: 2000, top: 20, sampleFraction: 1, bullPrefix: global.bullmqPrefix)
        var source = LiveDataSource(prober: prober, kubectlPath: target.kubectl, runbooks: { library.value }, analysisOptions: analysisOptions, analysisSession: {
            await MemoryCommand.openSession(target, runner: analysisRunner).0
        })
        source.lastSeen = LastSeenThrottle(target: LastSeen.target(global))
        let runner: TUIRuntime.RunbookRunner = { id in
            do {
                let (status, code) = try await RunbookLaunch(id: id).run(global: global, prober: prober)
                return "runbook \(id): \(status) (exit \(code))"
            } catch {
                return "runbook \(id) did not start: \(error)"
            }
        }
        var model = TUICommand.model(source: source, global: global)
        if let runbook {
            model.runbook = RunbookScreenState(id: runbook.id, content: .loaded(runbook))
            model.history = [.dashboard]
            model.screen = .runbook
        }
        let outcome = await TUIRuntime.run(source: source, model: model, runbookRunner: runner)
        // Quit (q, Ctrl-C, SIGTERM, SIGHUP): every one-shot command still inside its timeout
        // (first refresh, events, metrics, logs, the password read) is ended and reaped now.
        await ChildRegistry.close()
        await prober.shutdown()
        await ChildRegistry.terminateAll()
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    public static func model(source: some DashboardDataSource, global: GlobalOptions) -> AppModel {
        var m = AppModel(readOnly: global.readOnly, colors: global.colorEnabled(), refreshInterval: global.refresh,
                         kubectlPath: source.kubectlPath, target: global.target, now: Date())
        // The target `X` runs a runbook against: the runbook screen shows its commands as that run will.
        m.runTarget = RunbookLaunch.target(global: global)
        return m
    }

}


/// The runbook library of the dashboard, loaded once on first use.
final class LazyRunbookLibrary: Sendable {
    private let teamFolder: String?
    private let cache = Mutex<RunbookLibrary?>(nil)
    init(_ global: GlobalOptions) { teamFolder = global.runbooksDir }
    var value: RunbookLibrary {
        cache.withLock { cached in
            if let l = cached { return l }
            let l = RunbookFolders.library(teamFolder: teamFolder)
            cached = l
            return l
        }
    }
}
