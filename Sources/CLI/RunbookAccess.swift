import Foundation
import Live
import ProcessRunner
import Runbooks

/// Before a runbook runs: may this user do what its mutating steps do? Asked once per right with
/// `kubectl auth can-i VERB RESOURCE` (a SelfSubjectAccessReview, as the API server decides it),
/// so a read-only user is refused up front, naming the missing right, before any step runs.
struct RunbookAccess: Sendable {
    var target: LiveTarget
    var runner: Runner

    /// The user name of the context in use (from the kubeconfig, no request), nil when unknown.
    func userName() async -> String? {
        let r = await runner.run(CommandSpec(target.kubectlArgv(["config", "view", "--minify", "-o", "jsonpath={.contexts[0].context.user}"]),
                                             timeout: .seconds(10), label: "access:user"))
        let u = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        return r.succeeded && !u.isEmpty ? u : nil
    }

    /// The rights of `rights` the API server says "no" to. A right it could not answer for (the
    /// cluster unreachable) is not counted missing: the step itself will say what went wrong.
    func missing(_ rights: [KubeRight]) async -> [KubeRight] {
        await withTaskGroup(of: KubeRight?.self) { group in
            for right in rights {
                group.addTask {
                    // Bounded like the probes' reads: a hung API server delays the start by
                    // seconds, not minutes (and an unanswered check refuses nothing).
                    var args = ["auth", "can-i", right.verb, right.resource]
                    if target.requestTimeout == nil { args.append("--request-timeout=5s") }
                    let r = await runner.run(CommandSpec(target.kubectlArgv(args), timeout: .seconds(8), label: "access:can-i"))
                    let answer = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                    return r.exitCode == 1 && answer.hasPrefix("no") ? right : nil
                }
            }
            var out: [KubeRight] = []
            for await m in group { if let m { out.append(m) } }
            return out.sorted()
        }
    }

    /// nil when `rb` may run; else why not, in one message.
    func refusal(_ rb: Runbook, library: [Runbook]) async -> RunbookRefused? {
        let needed = rb.mutatingRights
        guard !needed.isEmpty else { return nil }
        let missing = await missing(needed)
        guard !missing.isEmpty else { return nil }
        let user = await userName()
        let readOnly = library.filter(\.isReadOnly).map(\.id)
        return RunbookRefused(runbook: rb.id, user: user, context: target.context, missing: missing, readOnlyRunbooks: readOnly)
    }
}

/// A runbook refused before any step ran: the user lacks rights its changes need.
struct RunbookRefused: Error, CustomStringConvertible {
    var runbook: String
    var user: String?
    var context: String?
    var missing: [KubeRight]
    var readOnlyRunbooks: [String]

    var description: String {
        var who = user.map { "user \($0)" } ?? "this user"
        if let context { who += " (context \(context))" }
        var s = "refused: runbook '\(runbook)' changes the cluster, and \(who) may not "
        s += missing.map { "\($0.verb) \($0.resource)" }.joined(separator: ", ")
        s += " (kubectl auth can-i: no). Nothing was run."
        if !readOnlyRunbooks.isEmpty { s += " Read-only runbooks this user can start: \(readOnlyRunbooks.joined(separator: ", "))." }
        return s
    }
}
