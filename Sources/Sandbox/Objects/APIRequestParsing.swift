import Foundation

// What the sandbox API server (SandboxAPI) reads from a request before it touches any state:
// the request target (path and query), the resource path, boolean and selector query
// parameters, the continue token, the JSON body and the patch. Pure functions, no socket and no
// SwiftNIO, so they can be fuzzed (Fuzz/Sources/FuzzAPIRequest) and tested on their own. Every
// bad input is an `APIParseError`: the code, reason and message of the Status a real API server
// sends for it.

/// A request the server refuses while parsing it: becomes a `Status` (SandboxAPI's APIStatus).
public struct APIParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    public init(code: Int, reason: String, message: String) { self.code = code; self.reason = reason; self.message = message }
    public static func badRequest(_ m: String) -> APIParseError { APIParseError(code: 400, reason: "BadRequest", message: m) }
    public var description: String { "\(code) \(reason): \(message)" }
}

public enum APIParse {
    /// "/api/v1/namespaces/default/pods?limit=500&labelSelector=app%3Dredis" → the path,
    /// percent-decoded, and the query parameters in order (a name may repeat; `+` is a space).
    public static func target(_ uri: String) -> (path: String, query: [(name: String, value: String)]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = parts.first.map(String.init) ?? "/"
        let path = rawPath.removingPercentEncoding ?? rawPath
        var q: [(String, String)] = []
        if parts.count == 2 {
            for item in parts[1].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String {
                    let plus = s.replacingOccurrences(of: "+", with: " ")
                    return plus.removingPercentEncoding ?? plus
                }
                q.append((decode(kv[0]), kv.count > 1 ? decode(kv[1]) : ""))
            }
        }
        return (path, q)
    }

    /// The resource a path names, as the real apiserver's RequestInfoFactory splits it:
    /// /api/VERSION/... or /apis/GROUP/VERSION/..., then [namespaces/NS/]RESOURCE[/NAME[/SUB[/...]]].
    public struct PathInfo: Sendable, Equatable {
        public var isAPI = false
        public var isResource = false
        public var group = ""
        public var version = ""
        public var namespace: String?
        public var resource: String?
        public var name: String?
        public var subresource: String?
        /// For pods/proxy: what follows `/proxy` ("" or "/metrics").
        public var subpath = ""
    }

    public static func pathInfo(_ path: String) -> PathInfo {
        var p = PathInfo()
        let s = path.split(separator: "/").map(String.init)
        var rest: [String]
        if s.first == "api", s.count >= 2 {
            p.version = s[1]; rest = Array(s.dropFirst(2))
        } else if s.first == "apis", s.count >= 3 {
            p.group = s[1]; p.version = s[2]; rest = Array(s.dropFirst(3))
        } else {
            return p
        }
        p.isAPI = true
        guard !rest.isEmpty else { return p }
        p.isResource = true
        if rest[0] == "namespaces", rest.count >= 3 {
            p.namespace = rest[1]
            rest = Array(rest.dropFirst(2))
        }
        p.resource = rest[0]
        if rest.count >= 2 { p.name = rest[1] }
        if rest.count >= 3 { p.subresource = rest[2] }
        if rest.count >= 4 { p.subpath = "/" + rest.dropFirst(3).joined(separator: "/") }
        if p.subresource == "proxy", path.hasSuffix("/"), rest.count >= 3 { p.subpath += p.subpath.isEmpty ? "/" : (p.subpath.hasSuffix("/") ? "" : "/") }
        return p
    }

    /// A boolean query value as the API server decodes it (Go's strconv.ParseBool; an empty value
    /// is true, as `?follow` alone); nil when it is none of those.
    public static func bool(_ v: String) -> Bool? {
        switch v {
        case "1", "t", "T", "true", "TRUE", "True", "": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: return nil
        }
    }

    /// The real server's 400 for a bad boolean option (`kind` e.g. "PodExecOptions").
    public static func boolError(_ v: String, kind: String) -> APIParseError {
        .badRequest("\(kind) in version \"v1\" cannot be handled as a \(kind): strconv.ParseBool: parsing \"\(v)\": invalid syntax")
    }

    /// A JSON request body. 400 for an empty body, nesting deeper than a real object has (so the
    /// recursive parser cannot be exhausted), invalid UTF-8 or JSON the decoder refuses.
    public static func jsonBody(_ body: [UInt8]) throws(APIParseError) -> KctlJSON {
        guard !body.isEmpty else { throw .badRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf") }
        var depth = 0, inString = false, escaped = false
        for b in body {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            if b == UInt8(ascii: "\"") { inString = true }
            else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { depth += 1; if depth > 64 { throw .badRequest("json: exceeded max depth") } }
            else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") { depth -= 1 }
        }
        guard let text = String(bytes: body, encoding: .utf8) else { throw .badRequest("invalid UTF-8 in the request body") }
        do { return try KctlJSON.parse(text) } catch {
            throw .badRequest("error decoding the request body: \(error)")
        }
    }

    /// `labelSelector`: nil for none; 400 as the real server words it.
    public static func labelSelector(_ text: String?) throws(APIParseError) -> LabelSelector? {
        guard let text, !text.isEmpty else { return nil }
        do { return try LabelSelector(text) } catch {
            let m = serverMessage("\(error)")
            throw .badRequest(m.hasPrefix("unable to parse requirement") ? m : "unable to parse requirement: \(m)")
        }
    }

    /// `fieldSelector` against the field labels a kind supports (field → JSON path).
    public static func fieldSelector(_ text: String?, fieldLabels: [String: [String]]) throws(APIParseError) -> [(path: [String], value: String, equal: Bool)] {
        guard let f = text, !f.isEmpty else { return [] }
        var out: [(path: [String], value: String, equal: Bool)] = []
        for part in f.split(separator: ",") {
            let p = String(part)
            let (field, value, equal): (String, String, Bool)
            if let r = p.range(of: "!=") { (field, value, equal) = (String(p[..<r.lowerBound]), String(p[r.upperBound...]), false) }
            else if let r = p.range(of: "==") ?? p.range(of: "=") { (field, value, equal) = (String(p[..<r.lowerBound]), String(p[r.upperBound...]), true) }
            else { throw .badRequest("invalid selector: '\(f)'; can't understand '\(p)'") }
            guard let path = fieldLabels[field] else { throw .badRequest("field label not supported: \(field)") }
            out.append((path, value, equal))
        }
        return out
    }

    /// The name a `continue` token starts after (the server's own tokens: base64 JSON with
    /// `start`); nil for no token; 400 for one it did not make.
    public static func continueStart(_ token: String?) throws(APIParseError) -> String? {
        guard let token, !token.isEmpty else { return nil }
        guard let data = Data(base64Encoded: token), let c = try? KctlJSON.parse(String(decoding: data, as: UTF8.self)),
              let start = c["start"]?.stringValue else {
            throw .badRequest("continue key is not valid: illegal base64 data at input byte 0")
        }
        return start
    }

    /// `limit`: a positive number, else no limit (as the real server ignores 0 and garbage).
    public static func limit(_ text: String?) -> Int? {
        guard let t = text, let n = Int(t), n > 0 else { return nil }
        return n
    }

    public enum PatchType: Sendable { case merge, json, strategic }

    /// The patch type from the Content-Type; 415 for server-side apply and anything else.
    public static func patchType(contentType: String?) throws(APIParseError) -> PatchType {
        let ct = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        switch ct {
        case "application/merge-patch+json": return .merge
        case "application/json-patch+json": return .json
        case "application/strategic-merge-patch+json": return .strategic
        case "application/apply-patch+yaml", "application/apply-patch+cbor":
            throw APIParseError(code: 415, reason: "UnsupportedMediaType", message: "the sandbox API server does not implement server-side apply (\(ct))")
        default:
            throw APIParseError(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
        }
    }

    /// `patch` applied to `target` as the server does: the body's shape checked first (Go's
    /// unmarshal error), then the patch engine, whose errors become 400/404/422 Status errors.
    public static func applyPatch(_ target: KctlJSON, _ type: PatchType, _ patch: KctlJSON) throws(APIParseError) -> KctlJSON {
        do {
            switch type {
            case .merge:
                guard case .object = patch else { throw APIParseError.badRequest("json: cannot unmarshal \(jsonType(patch)) into Go value of type map[string]interface {}") }
                return KctlPatch.mergePatch(target, patch)
            case .json:
                guard case .array = patch else { throw APIParseError.badRequest("json: cannot unmarshal \(jsonType(patch)) into Go value of type jsonpatch.Patch") }
                return try KctlPatch.jsonPatch(target, patch)
            case .strategic:
                guard case .object = patch else { throw APIParseError.badRequest("json: cannot unmarshal \(jsonType(patch)) into Go value of type map[string]interface {}") }
                return try KctlPatch.strategicMerge(target, patch)
            }
        } catch let e as APIParseError {
            throw e
        } catch let e as KubectlError {
            throw status(from: e)
        } catch {
            throw .badRequest("\(error)")
        }
    }

    /// A patch-engine error as the Status a real server sends.
    public static func status(from e: KubectlError) -> APIParseError {
        let text = serverMessage(e.description)
        if text.hasPrefix("The "), text.contains(" is invalid: ") { return APIParseError(code: 422, reason: "Invalid", message: text) }
        if text.hasSuffix(" not found"), text.contains("\"") { return APIParseError(code: 404, reason: "NotFound", message: text) }
        return .badRequest(text)
    }

    public static func jsonType(_ j: KctlJSON) -> String {
        switch j {
        case .array: return "array"
        case .object: return "object"
        case .string: return "string"
        case .bool: return "bool"
        case .null: return "null"
        default: return "number"
        }
    }

    /// The imitation's errors carry kubectl's prefixes; the server sends the bare message.
    public static func serverMessage(_ text: String) -> String {
        var t = text
        for p in ["Error from server (BadRequest): ", "Error from server: ", "error: "] where t.hasPrefix(p) { t.removeFirst(p.count) }
        return t
    }
}
