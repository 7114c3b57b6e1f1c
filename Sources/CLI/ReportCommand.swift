import ArgumentParser
import Foundation

public struct ReportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "report", abstract: "Turn an incident log into a Markdown timeline.")
    @OptionGroup public var global: GlobalOptions
    public init() {}
    public func run() async throws {
        throw CleanExit.message("'report' is not built yet")
    }
}
