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
