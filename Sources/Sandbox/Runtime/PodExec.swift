import Foundation

/// How a command runs "inside" a sandbox pod: in the namespaces held by the pod's pause
/// process (network: its own 127.0.0.1; mount: /data is the PVC), working directory /data,
/// with pod command names mapped to the sandbox's binaries. The kubectl front's `exec`,
/// `cp`, probes, faults and the workload all use this.
public enum PodExec {
    public static let workingDirectory = "/data"

    /// argv that runs `command` inside `pod` (e.g. ["redis-cli", "ping"]):
    /// `nsenter -t <sandboxPid> -n -m --wd -- <resolved argv>` (see `prefix`).
    /// nil when the pod has no running sandbox.
    public static func argv(state: ClusterState, pod: PodState, command: [String]) -> [String]? {
        guard pod.sandboxPid > 0, let first = command.first else { return nil }
        var out = prefix(sandboxPid: pod.sandboxPid, rootless: state.runtime.rootless)
        out.append(resolve(first, runtime: state.runtime))
        out += command.dropFirst()
        return out
    }

    /// The redis container's own environment (literal values and Secret references), as
    /// `kubectl exec` gives it: REDISCLI_AUTH in password mode, so the sandbox's own redis-cli
    /// calls (faults, seed, the BullMQ trickle) authenticate like any in-pod redis-cli.
    /// A container with only REDIS_PASSWORD (the chart convention): the sandbox's own tools set
    /// REDISCLI_AUTH from it, as a chart's scripts do (`kubectl exec` still gets the container's
    /// environment as it is: see ExecRequest).
    public static func redisEnvironment(_ pod: PodState, root: URL) -> [String: String] {
        guard let spec = pod.containers.first(where: { $0.name == "redis" }) else { return [:] }
        var env = SandboxSecrets.environment(spec.env, root: root)
        if env["REDISCLI_AUTH"] == nil, let pw = env["REDIS_PASSWORD"] { env["REDISCLI_AUTH"] = pw }
        return env
    }

    /// `nsenter -t PID [-U --preserve-credentials] -n -m --wd --`. `--wd` without a value takes
    /// the working directory of the pause process, which is the pod's /data (the PVC). Never
    /// `--wd=/data`: nsenter resolves that path *before* entering the mount namespace, i.e. the
    /// host's /data.
    public static func prefix(sandboxPid: Int32, rootless: Bool) -> [String] {
        var out = [nsenterPath(), "-t", String(sandboxPid)]
        if rootless { out += ["-U", "--preserve-credentials"] }
        return out + ["-n", "-m", "--wd", "--"]
    }

    /// A pod command name → the host executable standing in for it (commandPaths), else unchanged
    /// (nsenter then looks it up in PATH).
    public static func resolve(_ name: String, runtime: SandboxRuntime) -> String {
        if name.contains("/") {
            // /usr/local/bin/redis-cli in a real image: map by basename when we know it.
            let base = (name as NSString).lastPathComponent
            return runtime.commandPaths[base] ?? name
        }
        return runtime.commandPaths[name] ?? name
    }

    /// The container's main argv: command + args, or the image's entrypoint + args.
    public static func containerArgv(_ spec: ContainerSpec, runtime: SandboxRuntime) -> [String]? {
        var argv: [String]
        if let cmd = spec.command, !cmd.isEmpty {
            argv = cmd + (spec.args ?? [])
        } else if let entry = runtime.imageEntrypoints[imageRepository(spec.image)] {
            argv = [entry] + (spec.args ?? [])
        } else if let args = spec.args, !args.isEmpty {
            argv = args
        } else {
            return nil
        }
        argv[0] = resolve(argv[0], runtime: runtime)
        return argv
    }

    /// "oliver006/redis_exporter:v1.45.0" → "oliver006/redis_exporter"; "docker.io/library/redis:7" → "redis".
    public static func imageRepository(_ image: String) -> String {
        var s = image
        if let at = s.firstIndex(of: "@") { s = String(s[..<at]) }
        if let colon = s.lastIndex(of: ":"), !s[colon...].contains("/") { s = String(s[..<colon]) }
        for prefix in ["docker.io/library/", "docker.io/", "library/"] where s.hasPrefix(prefix) {
            s = String(s.dropFirst(prefix.count))
        }
        return s
    }

    static func nsenterPath() -> String {
        for p in ["/usr/bin/nsenter", "/bin/nsenter", "/usr/sbin/nsenter"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return "nsenter"
    }
}
