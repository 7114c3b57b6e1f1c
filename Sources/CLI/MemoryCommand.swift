import ArgumentParser
import Foundation

public struct MemoryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "memory", abstract: "Where the memory went, without blocking Redis.")
    @OptionGroup public var global: GlobalOptions
    public init() {}
    public func run() async throws {
        throw CleanExit.message("'memory' is not built yet")
    }
}
