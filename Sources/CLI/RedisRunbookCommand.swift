import ArgumentParser
import Foundation
import SandboxCommands

public let redisRunbookVersion = "0.1.0"

/// `redis-runbook`: the root command. With no subcommand it opens the TUI.
@available(macOS 10.15, *)
public struct RedisRunbookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "redis-runbook",
        abstract: "Incident dashboard and guided runbooks for Redis on Kubernetes (StatefulSet, AOF, BullMQ).",
        version: redisRunbookVersion,
        subcommands: [
            TUICommand.self,
            SandboxCommand.self,
            StatusCommand.self,
            CheckCommand.self,
            RunbookCommand.self,
            MemoryCommand.self,
            ReportCommand.self,
        ],
        defaultSubcommand: TUICommand.self
    )
    public init() {}
}

extension RedisRunbookCommand {
    /// Runs the command line (async root command; called from the executable's main.swift).
    public static func runMain(_ arguments: [String]? = nil) async {
        do {
            var command = try await asyncParseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
