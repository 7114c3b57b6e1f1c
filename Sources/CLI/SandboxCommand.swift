import ArgumentParser
import Foundation

public struct SandboxCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "A local kubectl-compatible cluster of real redis-server pods, with fault injection."
    )
    public init() {}
    public func run() async throws { throw CleanExit.message("'sandbox' is not built yet") }
}
