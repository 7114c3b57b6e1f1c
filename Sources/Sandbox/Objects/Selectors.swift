import Foundation

// Label and field selectors, shared by the imitation kubectl and the API server (SandboxAPI).

// MARK: selectors

/// Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`.
public struct LabelSelector: Sendable {
    enum Req { case eq(String, String), ne(String, String), exists(String), notExists(String), isIn(String, [String]), notIn(String, [String]) }
    let reqs: [Req]

    public init(_ text: String) throws {
        var reqs: [Req] = []
        var parts: [String] = []
        var depth = 0
        var cur = ""
        for ch in text {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if ch == "," && depth == 0 { parts.append(cur); cur = "" } else { cur.append(ch) }
        }
        parts.append(cur)
        for raw in parts {
            let p = raw.trimmingCharacters(in: .whitespaces)
            if p.isEmpty { continue }
            if let r = p.range(of: " notin ") {
                reqs.append(.notIn(String(p[..<r.lowerBound]).trimmingCharacters(in: .whitespaces), LabelSelector.set(String(p[r.upperBound...]))))
            } else if let r = p.range(of: " in ") {
                reqs.append(.isIn(String(p[..<r.lowerBound]).trimmingCharacters(in: .whitespaces), LabelSelector.set(String(p[r.upperBound...]))))
            } else if let r = p.range(of: "!=") {
                reqs.append(.ne(String(p[..<r.lowerBound]), String(p[r.upperBound...])))
            } else if let r = p.range(of: "==") {
                reqs.append(.eq(String(p[..<r.lowerBound]), String(p[r.upperBound...])))
            } else if let r = p.range(of: "=") {
                reqs.append(.eq(String(p[..<r.lowerBound]), String(p[r.upperBound...])))
            } else if p.hasPrefix("!") {
                reqs.append(.notExists(String(p.dropFirst())))
            } else {
                guard p.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) else {
                    throw KubectlError("error: unable to parse requirement: found '\(p)', expected: identifier")
                }
                reqs.append(.exists(p))
            }
        }
        self.reqs = reqs
    }

    static func set(_ s: String) -> [String] {
        s.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    public func matches(_ labels: [String: String]) -> Bool {
        reqs.allSatisfy { r in
            switch r {
            case .eq(let k, let v): return labels[k] == v
            case .ne(let k, let v): return labels[k] != v
            case .exists(let k): return labels[k] != nil
            case .notExists(let k): return labels[k] == nil
            case .isIn(let k, let vs): return labels[k].map { vs.contains($0) } ?? false
            case .notIn(let k, let vs): return labels[k].map { !vs.contains($0) } ?? true
            }
        }
    }
}

/// Field selectors the API server supports for the kinds the sandbox serves.
public struct FieldSelector: Sendable {
    let text: String
    let reqs: [(field: String, value: String, equal: Bool)]

    public init(_ text: String) throws {
        self.text = text
        var reqs: [(String, String, Bool)] = []
        for part in text.split(separator: ",") {
            let p = String(part)
            if let r = p.range(of: "!=") {
                reqs.append((String(p[..<r.lowerBound]), String(p[r.upperBound...]), false))
            } else if let r = p.range(of: "==") ?? p.range(of: "=") {
                reqs.append((String(p[..<r.lowerBound]), String(p[r.upperBound...]), true))
            } else {
                throw KubectlError("error: invalid field selector: '\(p)'")
            }
        }
        self.reqs = reqs
    }

    static let supported: [KctlKind: [String: String]] = [
        .pod: ["metadata.name": ".metadata.name", "metadata.namespace": ".metadata.namespace", "status.phase": ".status.phase",
               "spec.nodeName": ".spec.nodeName", "spec.restartPolicy": ".spec.restartPolicy", "status.podIP": ".status.podIP"],
        .event: ["metadata.name": ".metadata.name", "metadata.namespace": ".metadata.namespace",
                 "involvedObject.name": ".involvedObject.name", "involvedObject.kind": ".involvedObject.kind",
                 "involvedObject.uid": ".involvedObject.uid", "involvedObject.namespace": ".involvedObject.namespace",
                 "involvedObject.fieldPath": ".involvedObject.fieldPath", "involvedObject.apiVersion": ".involvedObject.apiVersion",
                 "involvedObject.resourceVersion": ".involvedObject.resourceVersion",
                 "reason": ".reason", "type": ".type", "source": ".source.component", "reportingComponent": ".reportingComponent"],
        .statefulset: ["metadata.name": ".metadata.name", "metadata.namespace": ".metadata.namespace"],
        .pvc: ["metadata.name": ".metadata.name", "metadata.namespace": ".metadata.namespace"],
        .node: ["metadata.name": ".metadata.name", "spec.unschedulable": ".spec.unschedulable"],
    ]

    func validate(kind: KctlKind) throws {
        for r in reqs where FieldSelector.supported[kind]?[r.field] == nil {
            let group = kind == .statefulset ? "apps" : ""
            throw KubectlError("Error from server (BadRequest): Unable to find {\"\(group)\" \"v1\" \"\(kind.resource.split(separator: ".").first ?? "")\"} that match label selector \"\", field selector \"\(text)\": field label not supported: \(r.field)")
        }
    }

    func matches(_ object: KctlJSON, kind: KctlKind) throws -> Bool {
        for r in reqs {
            guard let path = FieldSelector.supported[kind]?[r.field] else { return false }
            let v = try KctlJSONPath(template: "{\(path)}").values(object).first.map(KctlJSONPath.text) ?? ""
            if (v == r.value) != r.equal { return false }
        }
        return true
    }
}
