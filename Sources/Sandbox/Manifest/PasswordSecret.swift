import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Kubernetes Secrets and `$(VAR)` expansion, as far as the sandbox needs them for a
/// password-protected Redis (`sandbox up --redis-password-secret`).
///
/// A Secret is a file `DIR/secrets/<name>/<key>` (mode 0600 in 0700 directories: the sandbox's
/// etcd). The kubelet resolves `env[].valueFrom.secretKeyRef` from it when it starts a container,
/// runs a probe or an `exec`, and expands `$(VAR)` in `command`/`args` like Kubernetes does
/// (`$(VAR)` of a defined variable is replaced, `$$` is a literal `$`, anything else stays).
/// The value never appears in the state file, in `kubectl get -o json` (which shows the
/// secretKeyRef) or on any local command line the kubelet builds, except redis-server's own
/// argv (Kubernetes puts an expanded `$(REDIS_PASSWORD)` arg there too), which redis-server
/// overwrites with its process title as it starts.
public enum SandboxSecrets {
    public static let redisSecretName = "redis-auth"
    public static let redisSecretKey = "password"

    /// The readiness probe of a container that has only REDIS_PASSWORD (as charts write it).
    public static let passwordProbeScript = #"REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG"#

    /// The environment of a command run as that shell script runs it: `REDISCLI_AUTH="$REDIS_PASSWORD"`
    /// before the command sets REDISCLI_AUTH from REDIS_PASSWORD for that command only.
    public static func scriptAssignments(_ script: String, _ env: [String: String]) -> [String: String] {
        var out = env
        if script.contains(#"REDISCLI_AUTH="$REDIS_PASSWORD""#) || script.contains("REDISCLI_AUTH=$REDIS_PASSWORD") {
            if let pw = env["REDIS_PASSWORD"] { out["REDISCLI_AUTH"] = pw }
        }
        return out
    }

    public static func dir(_ root: URL) -> URL { root.appendingPathComponent("secrets") }

    public static func file(_ root: URL, name: String, key: String) -> URL {
        dir(root).appendingPathComponent(name).appendingPathComponent(key)
    }

    public static func write(_ root: URL, name: String, key: String, value: String) throws {
        let d = dir(root).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        _ = chmod(dir(root).path, 0o700)
        let f = file(root, name: name, key: key)
        let fd = open(f.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SandboxSecretError("cannot write secret \(name)/\(key)") }
        defer { close(fd) }
        _ = fchmod(fd, 0o600)
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw SandboxSecretError("cannot write secret \(name)/\(key)") }
    }

    public static func read(_ root: URL, name: String, key: String) -> String? {
        try? String(contentsOf: file(root, name: name, key: key), encoding: .utf8)
    }

    /// A random password of 32 letters and digits.
    public static func newPassword() -> String {
        let chars = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var g = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in chars[Int(g.next(upperBound: UInt64(chars.count)))] })
    }

    /// The container's environment: literal values and secret references (an unreadable
    /// secret leaves the variable unset, as a missing optional secret would).
    public static func environment(_ env: [EnvVar], root: URL) -> [String: String] {
        var out: [String: String] = [:]
        for e in env {
            if let v = e.value { out[e.name] = expand(v, out) }
            else if let s = e.secretName, let k = e.secretKey, let v = read(root, name: s, key: k) { out[e.name] = v }
        }
        return out
    }

    /// Kubernetes' `$(VAR)` expansion of command and args.
    public static func expand(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("$") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            if c == "$", next < s.endIndex {
                if s[next] == "$" { out.append("$"); i = s.index(after: next); continue }
                if s[next] == "(", let close = s[next...].firstIndex(of: ")") {
                    let name = String(s[s.index(after: next)..<close])
                    if let v = env[name] { out += v; i = s.index(after: close); continue }
                }
            }
            out.append(c)
            i = next
        }
        return out
    }
}

public struct SandboxSecretError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

extension StatefulSetManifest {
    /// Password-protected Redis, the Kubernetes way: the redis container gets REDIS_PASSWORD and
    /// REDISCLI_AUTH from Secret `redis-auth` (so redis-cli inside the pod, probes included,
    /// authenticates without a command-line password), redis-server gets
    /// `--requirepass $(REDIS_PASSWORD)` (expanded by the kubelet), the exporter gets
    /// REDIS_PASSWORD (redis_exporter reads it from its environment).
    ///
    /// `cliAuth: false` is the common chart convention: the redis container gets only
    /// REDIS_PASSWORD, so a plain `redis-cli` in the pod is not authenticated (NOAUTH) and the
    /// readiness probe sets REDISCLI_AUTH itself (`sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping ...'`).
    public mutating func useRedisPasswordSecret(name: String = SandboxSecrets.redisSecretName, key: String = SandboxSecrets.redisSecretKey,
                                                cliAuth: Bool = true) throws {
        guard let i = template.containers.firstIndex(where: { $0.name == "redis" }) else {
            throw ManifestError.invalid("no container redis")
        }
        func secretEnv(_ n: String) -> EnvVar {
            var e = EnvVar(name: n, value: nil)
            e.secretName = name
            e.secretKey = key
            return e
        }
        var c = template.containers[i]
        c.env.removeAll { $0.name == "REDIS_PASSWORD" || $0.name == "REDISCLI_AUTH" }
        c.env += cliAuth ? [secretEnv("REDIS_PASSWORD"), secretEnv("REDISCLI_AUTH")] : [secretEnv("REDIS_PASSWORD")]
        c.args = (c.args ?? []) + ["--requirepass", "$(REDIS_PASSWORD)"]
        // The manifest's own shell probe (`sh -c "redis-cli ping | grep -q PONG"`) gets the
        // chart's REDISCLI_AUTH prefix; the sandbox's kubelet reads it, it never runs a shell.
        if !cliAuth, var probe = c.readinessProbe, probe.command.count == 3, probe.command[1] == "-c" {
            probe.command[2] = SandboxSecrets.passwordProbeScript
            c.readinessProbe = probe
        }
        template.containers[i] = c
        for j in template.containers.indices where j != i && template.containers[j].name.contains("exporter") {
            template.containers[j].env.removeAll { $0.name == "REDIS_PASSWORD" }
            template.containers[j].env.append(secretEnv("REDIS_PASSWORD"))
        }
    }
}
