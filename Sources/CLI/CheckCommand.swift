import ArgumentParser
import Foundation

public struct CheckCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "check", abstract: "Health and ADR compliance as a monitoring check (Nagios convention).")
    @OptionGroup public var global: GlobalOptions
    public init() {}
    public func run() async throws {
        throw CleanExit.message("'check' is not built yet")
    }
}
