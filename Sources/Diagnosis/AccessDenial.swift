import Foundation

/// A read the cluster refused with 403 Forbidden (RBAC): who asked, for what, and one plain
/// sentence for the operator. A denied read is no evidence about Redis: Redis may be fine, this
/// user just may not look (a read-only on-call user without `pods/exec` gets no Redis data).
public struct AccessDenial: Sendable, Equatable {
    /// The snapshot source that was refused ("redis", "exporter", "logs", ...).
    public var source: String
    /// The user named in kubectl's message (`User "oncall-viewer" cannot ...`).
    public var user: String?
    /// The verb and resource named in kubectl's message ("create", "pods/exec").
    public var verb: String?
    public var resource: String?
    /// kubectl's own message.
    public var kubectlMessage: String

    /// The denial in a source error, nil when the error is not a 403.
    public init?(_ e: SourceError) {
        guard e.kind == KubectlError.Kind.forbidden.rawValue else { return nil }
        source = e.source
        kubectlMessage = e.message
        user = Self.quoted(after: "User ", in: e.message)
        if let r = e.message.range(of: " cannot ") {
            let rest = e.message[r.upperBound...]
            let words = rest.split(separator: " ", maxSplits: 3)
            verb = words.first.map(String.init)
            if words.count >= 3, words[1] == "resource" { resource = Self.quoted(after: "resource ", in: String(rest)) }
        }
    }

    /// "no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden)".
    public var plain: String {
        let who = "user \(user ?? "of this context")"
        let right = [verb, resource].compactMap { $0 }.joined(separator: " ")
        let why = right.isEmpty ? "forbidden" : "\(right) is forbidden"
        switch source {
        case "redis": return "no Redis data: \(who) may not exec into pods (\(why))"
        case "exporter": return "no exporter metrics: \(who) may not read the pod proxy (\(why))"
        case "logs": return "no container logs: \(who) may not read pod logs (\(why))"
        default: return "no \(source) data: \(who) may not read it (\(why))"
        }
    }

    /// Every denied read of a snapshot, Redis first.
    public static func all(_ errors: [SourceError]) -> [AccessDenial] {
        let d = errors.compactMap(AccessDenial.init)
        return d.filter { $0.source == "redis" } + d.filter { $0.source != "redis" }
    }

    static func quoted(after prefix: String, in text: String) -> String? {
        guard let r = text.range(of: prefix + "\"") else { return nil }
        let rest = text[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

extension Snapshot {
    /// The reads this user may not make (403), Redis first; empty for an admin.
    public var denied: [AccessDenial] { AccessDenial.all(errors) }
    /// Redis could not be read because this user may not exec into the pod.
    public var redisDenied: AccessDenial? { denied.first { $0.source == "redis" } }
}
