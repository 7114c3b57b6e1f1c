import Diagnosis
import Foundation
import ProcessRunner

/// A password-protected Redis, with no shell and no password on any command line.
///
/// The redis-cli session is always plain `kubectl exec -i POD -c C -- redis-cli`. When the
/// container has `REDISCLI_AUTH` in its env, redis-cli authenticates by itself. When Redis
/// answers NOAUTH instead, the password variable (`--redis-password-env`, default
/// REDIS_PASSWORD) is read inside the pod with `printenv NAME` (an argv), comes back over the
/// exec stream into this process's memory only, and is sent as the session's first line
/// (`AUTH ...` on redis-cli's stdin) each time the session starts.
public enum RedisAuth {
    /// The redis container's password variable, read inside the pod; nil when it cannot be read
    /// (no such variable, exec refused).
    public static func podPassword(_ target: LiveTarget, runner: Runner, timeout: Duration) async -> String? {
        guard let argv = target.passwordArgv else { return nil }
        let r = await runner.run(CommandSpec(argv, timeout: timeout, outputLimit: 1 << 16, label: "probe:redis-password"))
        guard r.succeeded else { return nil }
        var value = r.stdoutText
        if value.hasSuffix("\n") { value.removeLast() }
        return value.isEmpty ? nil : value
    }

    /// The session's prelude for that password: one AUTH line, quoted for redis-cli's line input.
    public static func prelude(password: String) -> [String] {
        ["AUTH " + RedisCLI.quote(password)]
    }

    /// Redis refused a command for want of a password the session did not give.
    public static func wantsPassword(_ reply: String) -> Bool {
        reply.contains("NOAUTH")
    }

    /// The AUTH of the prelude was refused: the error to show (e.g. "AUTH failed: WRONGPASS ..."),
    /// nil when it went through or there was no prelude.
    public static func preludeError(_ replies: [String]) -> String? {
        guard let r = replies.first?.trimmingCharacters(in: .whitespacesAndNewlines), !r.isEmpty, r != "OK" else { return nil }
        return "AUTH failed: " + r.replacingOccurrences(of: "(error) ", with: "")
    }
}
