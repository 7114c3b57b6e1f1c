import ArgumentParser
import Foundation
import Sandbox
import SandboxAPI
import SandboxCommands
#if canImport(Glibc)
import Glibc
#endif

// redis-runbook-sandbox: the sandbox as its own executable. A local cluster of real
// redis-server / redis_exporter pods (the daemon: kubelet + controllers) served through a
// Kubernetes API server (the apiserver: HTTPS on loopback, for the real kubectl).

struct RedisRunbookSandbox: AsyncParsableCommand {
    static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "redis-runbook-sandbox",
        abstract: "A local Kubernetes cluster of real redis-server pods, served through a Kubernetes API server, with fault injection.",
        discussion: """
        `up` starts the pods' kubelet and controllers (the daemon) and an HTTPS Kubernetes API server on 127.0.0.1, and
        writes DIR/kubeconfig (context `sandbox`, user admin; context `sandbox-viewer`, user oncall-viewer, read-only).
        Then use the real kubectl: eval "$(redis-runbook-sandbox env)"; kubectl get pods
        """,
        subcommands: [SandboxUp.self, SandboxSeed.self, SandboxFault.self, SandboxHeal.self, SandboxStatus.self, SandboxEnv.self, SandboxApp.self,
                      SandboxDown.self, SandboxBulk.self, SandboxDaemonCommand.self, SandboxPauseCommand.self, APIServerCommand.self]
    )
}

struct APIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apiserver", abstract: "The sandbox's Kubernetes API server (started by `up`).",
                                                    shouldDisplay: false)
    @OptionGroup var dir: SandboxDirOption

    func run() async throws {
        setsid()
        signal(SIGPIPE, SIG_IGN)
        let layout = SandboxLayout(root: dir.url)
        do {
            try APIServerFiles(layout: layout).prepare()
            let server = try APIServer(layout: layout)
            try "\(getpid())\n".write(to: layout.apiServerPidFile, atomically: true, encoding: .utf8)
            let stop = StopFlag()
            signal(SIGTERM, SIG_IGN)
            signal(SIGINT, SIG_IGN)
            let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
            term.setEventHandler { stop.set() }
            term.resume()
            let int = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            int.setEventHandler { stop.set() }
            int.resume()
            try await server.run(stop: { stop.isSet })
            try? FileManager.default.removeItem(at: layout.apiServerPidFile)
        } catch {
            FileHandle.standardError.write(Data("apiserver: \(error)\n".utf8))
            Glibc.exit(1)
        }
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

await RedisRunbookSandbox.runMain()
