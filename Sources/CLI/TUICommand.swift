import App
import Live
import ProcessRunner
import Runbooks
import ArgumentParser
import Foundation

public struct TUICommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "tui", abstract: "Open the incident dashboard (default).")
    @OptionGroup public var global: GlobalOptions
    public init() {}

    public func run() async throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ValidationError("the dashboard needs a terminal; use `redis-runbook status` or `check` in scripts")
        }
        try await global.ensureSandboxIfRequested()
        let target = try global.liveTarget()
        let prober = Prober(target: target, runner: Runner(), useWatches: true)
        let library = loadLibrary(global)
        let source = LiveDataSource(prober: prober, kubectlPath: target.kubectl) { id in
            library.runbook(id: id).map(RunbookMarkdown.export)
        }
        let global = self.global
        let runner: TUIRuntime.RunbookRunner = { id in
            do {
                let status = try await RunbookLaunch(id: id).run(global: global, prober: prober)
                return "runbook \(id): \(status)"
            } catch {
                return "runbook \(id) did not start: \(error)"
            }
        }
        let outcome = await TUIRuntime.run(source: source, model: TUICommand.model(source: source, global: global), runbookRunner: runner)
        await prober.shutdown()
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    public static func model(source: some DashboardDataSource, global: GlobalOptions) -> AppModel {
        AppModel(readOnly: global.readOnly, colors: global.colorEnabled(), refreshInterval: global.refresh,
                 kubectlPath: source.kubectlPath, context: global.context, namespace: global.namespace,
                 podName: global.podName, containers: [global.container, global.exporterContainer], now: Date())
    }

    /// Runs the dashboard on any data source (the real kubectl-backed one plugs in here).
    public static func runDashboard(source: some DashboardDataSource, global: GlobalOptions) async throws {
        let outcome = await TUIRuntime.run(source: source, model: model(source: source, global: global))
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}

enum TUIKubectl {
    /// `--kubectl` as given, else the first executable `kubectl` in an absolute PATH entry
    /// (never the current directory), else plain "kubectl (not found on PATH)".
    static func resolve(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let e = explicit { return e }
        for dir in (environment["PATH"] ?? "").split(separator: ":").map(String.init) where dir.hasPrefix("/") {
            let p = (dir as NSString).appendingPathComponent("kubectl")
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "kubectl (not found on PATH)"
    }
}
