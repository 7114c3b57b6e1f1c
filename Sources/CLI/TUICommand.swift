import ArgumentParser
import Foundation

public struct TUICommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "tui", abstract: "Open the incident dashboard (default).")
    @OptionGroup public var global: GlobalOptions
    public init() {}
    public func run() async throws {
        throw CleanExit.message("'tui' is not built yet")
    }
}
