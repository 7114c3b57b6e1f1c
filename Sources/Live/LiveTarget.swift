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

    /// The persistent redis-cli session inside the pod.
    /// Without a password env in the pod spec: `kubectl exec -i POD -c C -- redis-cli`.
    /// With one, redis-cli must read the password from the pod's own env (REDISCLI_AUTH), never
    /// from a local command line: `env` cannot copy one variable into another, so a fixed
    /// script (no data interpolated; the variable name is validated) runs inside the pod.
    public func redisCLIArgv(passwordInPod: Bool) -> [String] {
        var argv = kubectlArgv(["exec", "-i", pod, "-c", container, "--"])
        if passwordInPod, LiveTarget.isEnvName(passwordEnv) {
            argv += ["/bin/sh", "-c", "REDISCLI_AUTH=\"$\(passwordEnv)\" exec redis-cli"]
        } else {
            argv += ["redis-cli"]
        }
        return argv
    }

    /// A POSIX environment variable name: [A-Za-z_][A-Za-z0-9_]*.
    public static func isEnvName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return s.utf8.allSatisfy { b in
            b == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
    }
}
