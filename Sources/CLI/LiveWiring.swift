import ArgumentParser
import Foundation
import Live
import ProcessRunner

/// Turns the global options into a live target: which kubectl, which pod.
extension GlobalOptions {
    /// The sandbox directory in use (for --sandbox).
    public var resolvedSandboxDir: URL {
        sandboxDir.map { URL(fileURLWithPath: $0) } ?? Paths.defaultSandboxDir()
    }

    /// kubectl: --kubectl, else the sandbox's (with --sandbox), else `kubectl` on PATH
    /// (never from the current directory).
    public func resolveKubectl() throws -> String {
        if let k = kubectl {
            if k.contains("/") {
                guard FileManager.default.isExecutableFile(atPath: k) else {
                    throw ValidationError("--kubectl \(k): no executable file there")
                }
                return k
            }
            guard let found = resolveExecutable(k) else { throw ValidationError("--kubectl \(k): not found on PATH") }
            return found
        }
        if sandbox {
            return resolvedSandboxDir.appendingPathComponent("bin/kubectl").path
        }
        guard let found = resolveExecutable("kubectl") else {
            throw ValidationError("kubectl was not found on PATH (give --kubectl PATH, or --sandbox for the local sandbox)")
        }
        return found
    }

    public func liveTarget() throws -> LiveTarget {
        LiveTarget(kubectl: try resolveKubectl(), context: context, kubeconfig: kubeconfig, namespace: namespace,
                   statefulset: statefulset, pod: pod, container: container, exporterContainer: exporterContainer,
                   bullmqPrefix: bullmqPrefix, passwordEnv: redisPasswordEnv, requestTimeout: requestTimeout, asUser: asUser)
    }

    /// With --sandbox: make sure the sandbox runs (starting it if needed) before talking to it.
    public func ensureSandboxIfRequested() async throws {
        guard sandbox, kubectl == nil else { return }
        let dir = resolvedSandboxDir
        let self_ = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let r = await Runner().run(CommandSpec([self_, "sandbox", "up", "--dir", dir.path], timeout: .seconds(120), label: "sandbox up"))
        guard r.succeeded else {
            throw ValidationError("could not start the sandbox in \(dir.path): \(r.stderrText.isEmpty ? r.stdoutText : r.stderrText)")
        }
    }
}
