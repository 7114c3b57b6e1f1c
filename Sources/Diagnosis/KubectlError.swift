import Foundation

/// A failed kubectl call, classified from its stderr into a short operator-readable message.
public struct KubectlError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case notFound, unauthorized, forbidden, connectionRefused, timeout, tlsHandshakeTimeout, certificate
        case serverTimeout, containerNotFound, podNotFound, containerWaiting, metricsNotAvailable, failed
        /// The API server answered with its own error (500 InternalError, 429 TooManyRequests):
        /// it is reachable, and the request said nothing about the object or the pod behind it.
        case serverError
    }
    public var kind: Kind
    /// One line for the dashboard, e.g. `Forbidden (RBAC): pods is forbidden: User "x" cannot list ...`.
    public var message: String
    public var exitCode: Int32
    public var description: String { message }

    public init(kind: Kind, message: String, exitCode: Int32) {
        self.kind = kind; self.message = message; self.exitCode = exitCode
    }

    /// Classifies kubectl's stderr (and exit code) into a `KubectlError`.
    public static func classify(stderr: String, exitCode: Int32) -> KubectlError {
        let text = stderr
        let lower = text.lowercased()
        let detail = errorLine(text)
        func make(_ kind: Kind, _ msg: String) -> KubectlError { KubectlError(kind: kind, message: msg, exitCode: exitCode) }

        if lower.contains("(servertimeout)") {
            return make(.serverTimeout, "API server timed out (ServerTimeout), try again: \(detail)")
        }
        if lower.contains("metrics not available") || lower.contains("http:heapster") || lower.contains("metrics.k8s.io") {
            return make(.metricsNotAvailable, "Metrics not available (metrics-server missing or not ready): \(detail)")
        }
        if lower.contains("is waiting to start") {
            let reason = text.range(of: "is waiting to start:").map { text[$0.upperBound...].split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? ""
            let container = quoted(after: "container ", in: text) ?? "the container"
            return make(.containerWaiting, "Container \(container) is waiting to start\(reason.isEmpty ? "" : ": \(reason)")")
        }
        if lower.contains("container not found") {
            let name = text.range(of: "container not found (").flatMap { r in
                text[r.upperBound...].split(separator: ")").first.map(String.init)
            } ?? ""
            return make(.containerNotFound, "Container \(name.isEmpty ? "" : name + " ")not found in the pod (not running yet, or restarting)")
        }
        if lower.contains("pod does not exist") {
            return make(.podNotFound, "The pod does not exist (deleted, or being recreated)")
        }
        if lower.contains("error trying to reach service") || lower.contains("(serviceunavailable)") {
            // The API server answered: it is the pod's port behind its proxy that does not.
            return make(.failed, "The API server cannot reach the pod's port: \(detail)")
        }
        if lower.contains("unauthorized") || lower.contains("must be logged in") || lower.contains("provide credentials") {
            return make(.unauthorized, "Not logged in to the cluster (Unauthorized): credentials missing or expired")
        }
        if lower.contains("(forbidden)") || lower.contains("is forbidden") {
            return make(.forbidden, "Forbidden by RBAC: \(detail)")
        }
        if lower.contains("(notfound)") || lower.contains("not found") {
            return make(.notFound, "Not found: \(detail)")
        }
        if lower.contains("(internalerror)") || lower.contains("(toomanyrequests)") || lower.contains("too many requests") {
            return make(.serverError, "API server error, try again: \(detail)")
        }
        if lower.contains("x509") || lower.contains("certificate") {
            return make(.certificate, "TLS certificate not trusted: \(detail)")
        }
        if lower.contains("tls handshake timeout") {
            return make(.tlsHandshakeTimeout, "Cannot reach the API server: TLS handshake timeout")
        }
        if lower.contains("i/o timeout") || lower.contains("timed out") || lower.contains("deadline exceeded")
            || lower.contains("timeout exceeded") || lower.contains("request canceled") {
            return make(.timeout, "Cannot reach the API server: \(detail)")
        }
        if lower.contains("was refused") || lower.contains("connection refused") {
            if lower.contains("localhost:8080") {
                return make(.connectionRefused, "Cannot reach the API server: localhost:8080 refused (no kubeconfig or context?)")
            }
            let host = text.range(of: "The connection to the server ").flatMap { r in
                text[r.upperBound...].split(separator: " ").first.map(String.init)
            }
            return make(.connectionRefused, "Cannot reach the API server: connection refused\(host.map { " (\($0))" } ?? "")")
        }
        if detail.isEmpty { return make(.failed, "kubectl failed with exit code \(exitCode)") }
        return make(.failed, "kubectl failed (exit \(exitCode)): \(detail)")
    }

    /// The most telling line, without kubectl's "error: " / "Error from server (X): " prefix.
    static func errorLine(_ text: String) -> String {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let picked = lines.first { l in
            let ll = l.lowercased()
            return ll.hasPrefix("error") || ll.hasPrefix("unable to connect") || ll.hasPrefix("the connection to the server")
        } ?? lines.first { !$0.hasPrefix("#") && !$0.hasPrefix("$") } ?? ""
        var s = Substring(picked)
        for prefix in ["error: ", "Error: "] where s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
        if s.hasPrefix("Error from server"), let r = s.range(of: ": ") { s = s[r.upperBound...] }
        if s.hasPrefix("Unable to connect to the server: ") { s = s.dropFirst("Unable to connect to the server: ".count) }
        let out = String(s)
        return out.count > 200 ? String(out.prefix(199)) + "…" : out
    }

    private static func quoted(after marker: String, in text: String) -> String? {
        guard let r = text.range(of: marker + "\"") else { return nil }
        let rest = text[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return "\"" + rest[..<end] + "\""
    }
}
