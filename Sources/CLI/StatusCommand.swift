import ArgumentParser
import Foundation

public struct StatusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "status", abstract: "One snapshot, human summary or --json.")
    @OptionGroup public var global: GlobalOptions
    public init() {}
    public func run() async throws {
        throw CleanExit.message("'status' is not built yet")
    }
}
