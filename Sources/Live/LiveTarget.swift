import Foundation
import Common

/// The dashboard's and `status`'s target: what it is pointed at (`Target`, read through as
/// `liveTarget.namespace` etc.), the kubectl binary, and how Redis is read there.
@dynamicMemberLookup
public struct LiveTarget: Sendable, Equatable {
    public var kubectl: String
    public var target: Target
    public var bullmqPrefix: String
    /// Env var of the redis container that holds the password (read with `printenv` in the pod
    /// when Redis answers NOAUTH; see `RedisAuth`).
    public var passwordEnv: String

    public init(kubectl: String, target: Target, bullmqPrefix: String = "bull", passwordEnv: String = "REDIS_PASSWORD") {
        self.kubectl = kubectl; self.target = target; self.bullmqPrefix = bullmqPrefix; self.passwordEnv = passwordEnv
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<Target, T>) -> T {
        get { target[keyPath: path] }
        set { target[keyPath: path] = newValue }
    }

    /// kubectl's global flags, in kubectl's names, before the verb.
    public var globalFlags: [String] { target.kubectlGlobalFlags() }

    public func globalFlags(watch: Bool) -> [String] { target.kubectlGlobalFlags(watch: watch) }

    /// A full kubectl argv: binary, global flags, then `args`.
    public func kubectlArgv(_ args: [String]) -> [String] { target.kubectlArgv(kubectl, args) }

    /// The persistent redis-cli session inside the pod: plain `redis-cli`, an argv with no
    /// password in it (see `RedisAuth` for a Redis that wants one).
    public var redisCLIArgv: [String] {
        kubectlArgv(["exec", "-i", target.pod, "-c", target.container, "--", "redis-cli"])
    }

    /// The same `redis-cli` as an exec request of the API (what kubectl requests for
    /// `redisCLIArgv`), for `redis-runbook-exec-relay` through the dashboard's `kubectl proxy`.
    public var redisExecAPIPath: String {
        let ns = APIWatch.encode(target.namespace), pod = APIWatch.encode(target.pod), c = APIWatch.encode(target.container)
        return "/api/v1/namespaces/\(ns)/pods/\(pod)/exec?container=\(c)&stdin=true&stdout=true&stderr=true&command=redis-cli"
    }

    /// Reads the password variable inside the redis container: `printenv NAME`, no shell; nil
    /// when the name is not a variable name.
    public var passwordArgv: [String]? {
        guard Target.isEnvName(passwordEnv) else { return nil }
        return kubectlArgv(["exec", target.pod, "-c", target.container, "--", "printenv", passwordEnv])
    }

}
