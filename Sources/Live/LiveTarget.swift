import Foundation

/// Which cluster, namespace and pod the app talks to, and how to reach them.
public struct LiveTarget: Sendable, Equatable {
    public var kubectl: String
    public var context: String?
    public var kubeconfig: String?
    public var namespace: String
    public var statefulset: String
    public var pod: String
    public var container: String
    public var exporterContainer: String
    public var bullmqPrefix: String
    /// Env var of the redis container that holds the password (read inside the pod only).
    public var passwordEnv: String

    public init(kubectl: String, context: String? = nil, kubeconfig: String? = nil, namespace: String = "default",
                statefulset: String = "redis", pod: String? = nil, container: String = "redis",
                exporterContainer: String = "redis-exporter", bullmqPrefix: String = "bull", passwordEnv: String = "REDIS_PASSWORD") {
        self.kubectl = kubectl
        self.context = context
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.statefulset = statefulset
        self.pod = pod ?? "\(statefulset)-0"
        self.container = container
        self.exporterContainer = exporterContainer
        self.bullmqPrefix = bullmqPrefix
        self.passwordEnv = passwordEnv
    }

    /// kubectl's global flags, in kubectl's names, before the verb.
    public var globalFlags: [String] {
        var a: [String] = []
        if let context { a += ["--context", context] }
        if let kubeconfig { a += ["--kubeconfig", kubeconfig] }
        a += ["-n", namespace]
        return a
    }

    /// A full kubectl argv: binary, global flags, then `args`.
    public func kubectlArgv(_ args: [String]) -> [String] {
        [kubectl] + globalFlags + args
    }

    /// The persistent redis-cli session inside the pod. The password never leaves the pod:
    /// - the container already has `REDISCLI_AUTH` (redis-cli reads it): plain `redis-cli`;
    /// - it has only the password variable (`--redis-password-env`, default REDIS_PASSWORD):
    ///   `env` cannot copy one variable into another, so a constant script runs inside the
    ///   pod, and the variable's name is passed to it as a positional argument (data, never
    ///   spliced into the script);
    /// - no password: plain `redis-cli`.
    public func redisCLIArgv(passwordEnvInPod: Bool, cliAuthInPod: Bool = false) -> [String] {
        var argv = kubectlArgv(["exec", "-i", pod, "-c", container, "--"])
        if passwordEnvInPod, !cliAuthInPod, LiveTarget.isEnvName(passwordEnv) {
            argv += ["/bin/sh", "-c", LiveTarget.inPodAuthScript, "redis-cli-auth", passwordEnv]
        } else {
            argv += ["redis-cli"]
        }
        return argv
    }

    /// Same, when only "does the pod carry the password variable" is known.
    public func redisCLIArgv(passwordInPod: Bool) -> [String] { redisCLIArgv(passwordEnvInPod: passwordInPod) }

    /// Runs in the pod: REDISCLI_AUTH from the variable named by $1, then redis-cli.
    public static let inPodAuthScript = "REDISCLI_AUTH=\"$(printenv \"$1\")\" exec redis-cli"

    /// A POSIX environment variable name: [A-Za-z_][A-Za-z0-9_]*.
    public static func isEnvName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return s.utf8.allSatisfy { b in
            b == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
    }
}
