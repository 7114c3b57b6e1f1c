/// What the tool is pointed at: which cluster (kubeconfig, context, and how kubectl talks to it)
/// and which Redis in it (namespace, StatefulSet, pod, containers). Parsed once from the command
/// line (`GlobalOptions.target`) and handed to the dashboard, the runbook runner, the Markdown
/// export and the validator; kubectl's global flags are rendered from it here and nowhere else.
public struct Target: Codable, Sendable, Equatable {
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

    public init(context: String? = nil, kubeconfig: String? = nil, namespace: String = "default", statefulset: String = "redis",
                pod: String? = nil, container: String = "redis", exporterContainer: String = "redis-exporter",
                requestTimeout: String? = nil, asUser: String? = nil) {
        self.context = context; self.kubeconfig = kubeconfig; self.requestTimeout = requestTimeout; self.asUser = asUser
        self.namespace = namespace; self.statefulset = statefulset; self.pod = pod ?? "\(statefulset)-0"
        self.container = container; self.exporterContainer = exporterContainer
    }

    /// kubectl's global flags for this target, in kubectl's names, to go right after the binary;
    /// a flag that is unset (nil or empty) is left out. `--request-timeout` bounds a whole request
    /// and a `--watch` is one long request: watches get every other flag.
    public func kubectlGlobalFlags(watch: Bool = false) -> [String] {
        var a: [String] = []
        func add(_ flag: String, _ value: String?) { if let value, !value.isEmpty { a += [flag, value] } }
        add("--context", context)
        add("--kubeconfig", kubeconfig)
        if !watch { add("--request-timeout", requestTimeout) }
        add("--as", asUser)
        a += ["-n", namespace]
        return a
    }

    /// A full kubectl argv: the binary, this target's global flags, then `args`.
    public func kubectlArgv(_ kubectl: String, _ args: [String]) -> [String] {
        [kubectl] + kubectlGlobalFlags(watch: args.contains("--watch") || args.contains("-w")) + args
    }

    /// The flags `kubectlGlobalFlags` sets: a runbook's own command may not carry them.
    public static let kubectlGlobalFlagNames = ["-n", "--namespace", "--context", "--kubeconfig", "--request-timeout", "--as"]

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
