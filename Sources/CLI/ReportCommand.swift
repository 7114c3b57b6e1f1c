import ArgumentParser
import Foundation
import Runbooks

public struct ReportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "report", abstract: "Turn an incident log into a Markdown timeline.")
    @OptionGroup public var global: GlobalOptions
    @Argument(help: "Incident log (JSON Lines) written by a runbook run.") public var log: String
    public init() {}
    public func run() async throws {
        let entries: [IncidentEntry]
        do { entries = try IncidentLog.read(path: log) } catch let e as IncidentLog.ReadError {
            throw ValidationError(e.description)
        } catch {
            throw ValidationError("cannot read incident log \(log): \(error.localizedDescription)")
        }
        if entries.isEmpty { throw ValidationError("\(log) has no entries") }
        print(RunbookMarkdown.report(entries, logPath: log))
    }
}
