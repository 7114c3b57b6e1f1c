import App
import ArgumentParser
import Foundation

public struct TUICommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "tui", abstract: "Open the incident dashboard (default).")
    @OptionGroup public var global: GlobalOptions
    public init() {}

    public func run() async throws {
        let source = try prepare()
        try await TUICommand.runDashboard(source: source, global: global)
    }

    /// Also reached when the root dispatches through `any AsyncParsableCommand` (Swift 6 picks
    /// ParsableCommand's sync `run()` there): runs the same loop on the calling thread.
    public func run() throws {
        let source = try prepare()
        let outcome = TUIRuntime.loop(source: source, model: TUICommand.model(source: source, global: global))
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    private func prepare() throws -> DisconnectedDataSource {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ValidationError("the dashboard needs a terminal; use `redis-runbook status` or `check` in scripts")
        }
        let kubectl = TUIKubectl.resolve(global.kubectl)
        return DisconnectedDataSource(kubectlPath: kubectl, context: global.context, namespace: global.namespace, pod: global.podName)
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
