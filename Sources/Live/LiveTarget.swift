import Foundation

/// Which cluster, namespace and pod the app talks to, and how to reach them.
public struct LiveTarget: Sendable, Equatable {
    public var kubectl: String
    public var context: String?
    public var kubeconfig: String?
    /// kubectl's --request-timeout (nil: kubectl's default).
    public var requestTimeout: String?
    /// kubectl's --as (nil: no impersonation).
    public var asUser: String?
    public var namespace: String
    public var statefulset: String
    public var pod: String
    public var container: String
    public var exporterContainer: String
    public var bullmqPrefix: String
    /// Env var of the redis container that holds the password (read with `printenv` in the pod
    /// when Redis answers NOAUTH; see `RedisAuth`).
    public var passwordEnv: String

    public init(kubectl: String, context: String? = nil, kubeconfig: String? = nil, namespace: String = "default",
                statefulset: String = "redis", pod: String? = nil, container: String = "redis",
                exporterContainer: String = "redis-exporter", bullmqPrefix: String = "bull", passwordEnv: String = "REDIS_PASSWORD",
                requestTimeout: String? = nil, asUser: String? = nil) {
        self.requestTimeout = requestTimeout
        self.asUser = asUser
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
    public var globalFlags: [String] { globalFlags(watch: false) }

    /// `--request-timeout` bounds a whole request, and a `--watch` is one long request: kubectl
    /// would end every watch after that time. Watches get the other flags; KubeWatch restarts a
    /// watch that dies, so a dead API server does not hang them either.
    public func globalFlags(watch: Bool) -> [String] {
        var a: [String] = []
        if let context { a += ["--context", context] }
        if let kubeconfig { a += ["--kubeconfig", kubeconfig] }
        if let requestTimeout, !watch { a += ["--request-timeout", requestTimeout] }
        if let asUser { a += ["--as", asUser] }
        a += ["-n", namespace]
        return a
    }

    /// A full kubectl argv: binary, global flags, then `args`.
    public func kubectlArgv(_ args: [String]) -> [String] {
        [kubectl] + globalFlags(watch: args.contains("--watch") || args.contains("-w")) + args
    }

    /// The persistent redis-cli session inside the pod: plain `redis-cli`, an argv with no
    /// password in it (see `RedisAuth` for a Redis that wants one).
    public var redisCLIArgv: [String] {
        kubectlArgv(["exec", "-i", pod, "-c", container, "--", "redis-cli"])
    }

    /// Reads the password variable inside the redis container: `printenv NAME`, no shell; nil
    /// when the name is not a variable name.
    public var passwordArgv: [String]? {
        guard LiveTarget.isEnvName(passwordEnv) else { return nil }
        return kubectlArgv(["exec", pod, "-c", container, "--", "printenv", passwordEnv])
    }

    /// A Kubernetes DNS-1123 label (namespaces, container names): at most 63 of a-z, 0-9 and
    /// `-`, starting and ending with a letter or digit.
    public static func isDNSLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 63 else { return false }
        func alnum(_ c: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) }
        return alnum(b[0]) && alnum(b[b.count - 1]) && b.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// A Kubernetes DNS-1123 subdomain (pod and StatefulSet names): at most 253 characters,
    /// labels joined by dots.
    public static func isDNSSubdomain(_ s: String) -> Bool {
        s.utf8.count <= 253 && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
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
