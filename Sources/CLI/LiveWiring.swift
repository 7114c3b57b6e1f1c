import Common
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

    /// kubectl: --kubectl, else `kubectl` on PATH (never from the current directory). The sandbox
    /// is a cluster like any other: the real kubectl talks to its API server.
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
        guard let found = resolveExecutable("kubectl") else {
            throw ValidationError("kubectl was not found on PATH (install Debian's kubectl package, or give --kubectl PATH)")
        }
        return found
    }

    /// The kubeconfig in use: --kubeconfig, else with --sandbox the sandbox's own (DIR/kubeconfig),
    /// else nil (kubectl's own default: $KUBECONFIG or ~/.kube/config).
    public var resolvedKubeconfig: String? {
        if let kubeconfig { return kubeconfig }
        if sandbox { return resolvedSandboxDir.appendingPathComponent("kubeconfig").path }
        return nil
    }

    /// What every subcommand is pointed at, parsed once: the dashboard, `status`, `check`, the
    /// runbook runner and the Markdown export all take it from here.
    public var target: Target {
        Target(context: context, kubeconfig: resolvedKubeconfig, namespace: namespace, statefulset: statefulset, pod: pod,
               container: container, exporterContainer: exporterContainer, requestTimeout: requestTimeout, asUser: asUser)
    }

    /// The dashboard's target; the kubectl path as given when it cannot be resolved (`resolve`
    /// false), so the dashboard opens and its panels say what failed.
    public func liveTarget(resolve: Bool = true) throws -> LiveTarget {
        LiveTarget(kubectl: resolve ? try resolveKubectl() : (kubectl ?? "kubectl"), target: target,
                   bullmqPrefix: bullmqPrefix, passwordEnv: redisPasswordEnv)
    }

    /// The sandbox's own executable: beside this one, else on PATH.
    static func sandboxExecutable() -> String? {
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let beside = here.appendingPathComponent("redis-runbook-sandbox").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return resolveExecutable("redis-runbook-sandbox")
    }

    /// With --sandbox: make sure the sandbox runs (`redis-runbook-sandbox up`, which does nothing
    /// when it already runs) before talking to it. Nothing else about it is special.
    public func ensureSandboxIfRequested() async throws {
        guard sandbox, kubeconfig == nil else { return }
        let dir = resolvedSandboxDir
        guard let exe = Self.sandboxExecutable() else {
            throw ValidationError("--sandbox needs redis-runbook-sandbox beside redis-runbook or on PATH (make build)")
        }
        let r = await Runner().run(CommandSpec([exe, "up", "--dir", dir.path], timeout: .seconds(120), label: "sandbox up"))
        guard r.succeeded else {
            throw ValidationError("could not start the sandbox in \(dir.path): \(r.stderrText.isEmpty ? r.stdoutText : r.stderrText)")
        }
    }
}
