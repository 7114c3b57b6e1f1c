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

    /// Why the session is not authenticated, when it says so: its own AUTH (the prelude) was
    /// refused, or redis-cli's AUTH from REDISCLI_AUTH was (redis-cli only warns on stderr,
    /// "AUTH failed: WRONGPASS ...", and every command then answers NOAUTH). nil otherwise.
    public static func refusal(preludeReplies: [String], stderrTail: String) -> String? {
        if let r = preludeReplies.first?.trimmingCharacters(in: .whitespacesAndNewlines), !r.isEmpty, r != "OK" {
            return "AUTH failed: " + r.replacingOccurrences(of: "(error) ", with: "")
        }
        guard let line = stderrTail.split(whereSeparator: \.isNewline).last(where: { $0.contains("AUTH failed:") }),
              let at = line.range(of: "AUTH failed:") else { return nil }
        return String(line[at.lowerBound...].prefix(300))
    }
}
