import Foundation

/// A Kubernetes RBAC right a runbook command needs, as `kubectl auth can-i VERB RESOURCE` asks it.
public struct KubeRight: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var verb: String
    /// Plural resource, with a subresource after "/" ("pods/exec", "statefulsets/scale").
    public var resource: String
    public init(_ verb: String, _ resource: String) { self.verb = verb; self.resource = resource }
    public var description: String { "\(verb) \(resource)" }
    public static func < (a: KubeRight, b: KubeRight) -> Bool { (a.resource, a.verb) < (b.resource, b.verb) }

    /// Rights that only read (what a view-only user has).
    public var isRead: Bool { ["get", "list", "watch"].contains(verb) }

    /// The right a `kubectl ...` argv needs (nil for other programs and unknown verbs). Written
    /// once, from kubectl's own verbs: exec and cp run through `pods/exec`, logs read `pods/log`,
    /// run creates a pod, scale patches the `scale` subresource, rollout restart/undo patch the
    /// workload.
    public static func needed(by argv: [String]) -> KubeRight? {
        guard argv.first == "kubectl" else { return nil }
        // The words that are not flags (and not flag values of the few short flags runbooks use).
        var words: [String] = []
        var i = 1
        while i < argv.count {
            let a = argv[i]
            if a == "--" { break }
            if a.hasPrefix("-") {
                if ["-c", "-n", "-o", "-p", "-l", "--container", "--namespace", "--output"].contains(a) { i += 1 }
            } else {
                words.append(a)
            }
            i += 1
        }
        guard let verb = words.first else { return nil }
        let object = words.count > 1 ? plural(words[1]) : "pods"
        switch verb {
        case "exec", "cp", "attach": return KubeRight("create", "pods/exec")
        case "logs": return KubeRight("get", "pods/log")
        case "run": return KubeRight("create", "pods")
        case "get", "describe", "top": return KubeRight("get", object)
        case "delete": return KubeRight("delete", object)
        case "patch", "label", "annotate", "set", "edit": return KubeRight("patch", object)
        case "create", "apply": return KubeRight(verb == "apply" ? "patch" : "create", object)
        case "scale": return KubeRight("patch", object + "/scale")
        case "rollout":
            let sub = words.count > 1 ? words[1] : ""
            let obj = words.count > 2 ? plural(words[2]) : "statefulsets"
            return ["status", "history"].contains(sub) ? KubeRight("get", obj) : KubeRight("patch", obj)
        case "port-forward": return KubeRight("create", "pods/portforward")
        default: return nil
        }
    }

    static func plural(_ kind: String) -> String {
        let k = kind.lowercased().split(separator: "/").first.map(String.init) ?? kind
        switch k {
        case "pod", "pods", "po": return "pods"
        case "statefulset", "statefulsets", "sts": return "statefulsets"
        case "pvc", "persistentvolumeclaim", "persistentvolumeclaims": return "persistentvolumeclaims"
        case "node", "nodes", "no": return "nodes"
        case "event", "events", "ev": return "events"
        case "secret", "secrets": return "secrets"
        case "configmap", "configmaps", "cm": return "configmaps"
        case "service", "services", "svc": return "services"
        default: return k.hasSuffix("s") ? k : k + "s"
        }
    }
}

extension CommandTemplate {
    /// The right this command needs, from its literal words (variables in the object name do not matter).
    public var right: KubeRight? { KubeRight.needed(by: argv.map(\.raw)) }
}

extension Runbook {
    /// Read-only: no step changes anything (a diagnosis). Such a runbook is offered to a user who
    /// may only read; one with a mutating step needs write rights.
    public var isReadOnly: Bool { !hasMutatingSteps }

    /// Every command a run may execute (the steps', their undo commands', the end state's checks) and
    /// whether it changes anything.
    var allCommands: [(command: CommandTemplate, mutates: Bool)] {
        var out: [(CommandTemplate, Bool)] = []
        for s in steps {
            if let c = s.command { out.append((c, s.mutates)) }
            if case .commands(let cs)? = s.undo { out += cs.map { ($0, true) } }
        }
        // The end state's checks verify (its write probe writes one test key and is skipped
        // under --read-only): not a change the runbook makes.
        out += endState.checks.map { ($0.command, false) }
        if let k = endState.keys { out.append((k.command, false)) }
        return out
    }

    /// The rights its mutating steps (and their undo) need, sorted.
    public var mutatingRights: [KubeRight] {
        Array(Set(allCommands.filter(\.mutates).compactMap(\.command.right))).sorted()
    }

    /// Every right a run may need, sorted.
    public var requiredRights: [KubeRight] {
        Array(Set(allCommands.compactMap(\.command.right))).sorted()
    }
}
