import ArgumentParser
import Foundation

public let redisRunbookVersion = "0.1.0"

/// `redis-runbook`: the root command. With no subcommand it opens the TUI.
@available(macOS 10.15, *)
public struct RedisRunbookCommand: AsyncParsableCommand {
    // Computed: the name is `kubectl redis-runbook` when started as the kubectl plugin.
    public static var configuration: CommandConfiguration { CommandConfiguration(
        commandName: Invocation.commandName,
        abstract: "Incident dashboard and guided runbooks for Redis on Kubernetes (StatefulSet, AOF, BullMQ).",
        version: redisRunbookVersion,
        subcommands: [
            TUICommand.self,
            StatusCommand.self,
            CheckCommand.self,
            RunbookCommand.self,
            MemoryCommand.self,
            ReportCommand.self,
            AlertCommand.self,
        ],
        defaultSubcommand: TUICommand.self
    ) }
    public init() {}
}

extension RedisRunbookCommand {
    /// Runs the command line (async root command; called from the executable's main.swift).
    public static func runMain(_ arguments: [String]? = nil) async {
        Invocation.configure(argv0: CommandLine.arguments.first)
        let args = KubectlGlobalFlags.normalize(arguments ?? Array(CommandLine.arguments.dropFirst()), subcommandNames: subcommandWords)
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(args)
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // An error while running (a runbook that does not exist, a log that is not one) is the
            // subcommand's: its usage line, not the whole tool's.
            let sub = type(of: command)
            let code = sub.exitCode(for: error)
            if code == .success || error is ExitCode || error is CleanExit { sub.exit(withError: error) }
            var text = "Error: \(sub.message(for: error))\n"
            let help = RedisRunbookCommand.helpMessage(for: sub)
            if let usage = help.components(separatedBy: "\n\n").first(where: { $0.hasPrefix("USAGE:") }) {
                text += "Usage:" + usage.dropFirst("USAGE:".count) + "\n"
                if let path = usage.dropFirst("USAGE:".count).split(separator: "<").first?.split(separator: "[").first {
                    text += "  See '\(path.trimmingCharacters(in: .whitespaces)) --help' for more information.\n"
                }
            }
            FileHandle.standardError.write(Data(text.utf8))
            Foundation.exit(code.rawValue)
        }
    }

    /// Every subcommand name at any depth (`runbook`, `show`, `sandbox`, `up` ...).
    static var subcommandWords: Set<String> {
        var out: Set<String> = []
        func walk(_ c: any ParsableCommand.Type) {
            for s in c.configuration.subcommands {
                if let n = s.configuration.commandName { out.insert(n) }
                walk(s)
            }
        }
        walk(RedisRunbookCommand.self)
        return out
    }
}
