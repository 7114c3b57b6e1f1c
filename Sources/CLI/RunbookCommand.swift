import ArgumentParser
import Foundation

public struct RunbookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "List, show, validate, export and run runbooks."
    )
    public init() {}
    public func run() async throws { throw CleanExit.message("'runbook' is not built yet") }
}
