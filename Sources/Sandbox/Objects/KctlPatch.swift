import Foundation

/// The three patch types of `kubectl patch --type`.
public enum KctlPatch {
    /// Merge keys of the lists strategic merge patch merges (by field name), as in the core/apps types.
    static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
        "volumes": "name", "env": "name", "ports": "containerPort", "volumeMounts": "mountPath",
        "imagePullSecrets": "name", "hostAliases": "ip",
        "conditions": "type", "ownerReferences": "uid",
    ]

    /// RFC 7386 JSON merge patch.
    public static func mergePatch(_ target: KctlJSON, _ patch: KctlJSON) -> KctlJSON {
        guard case .object(let p) = patch else { return patch }
        var t: [String: KctlJSON] = target.objectValue ?? [:]
        for (k, v) in p {
            if v == .null { t.removeValue(forKey: k) } else { t[k] = mergePatch(t[k] ?? .null, v) }
        }
        return .object(t)
    }

    /// Strategic merge patch: like a merge patch, but lists with a merge key are merged item by item
    /// (`$patch: delete` / `$patch: replace` honoured).
    public static func strategicMerge(_ target: KctlJSON, _ patch: KctlJSON, field: String? = nil) throws -> KctlJSON {
        switch patch {
        case .object(var p):
            if p["$patch"]?.stringValue == "replace" {
                p.removeValue(forKey: "$patch")
                return .object(p)
            }
            if p["$patch"]?.stringValue == "delete" { return .null }
            var t: [String: KctlJSON] = target.objectValue ?? [:]
            for (k, v) in p {
                if k.hasPrefix("$setElementOrder/") || k == "$retainKeys" || k == "$patch" { continue }
                if v == .null { t.removeValue(forKey: k); continue }
                let merged = try strategicMerge(t[k] ?? .null, v, field: k)
                if merged == .null && v.objectValue?["$patch"]?.stringValue == "delete" { t.removeValue(forKey: k) } else { t[k] = merged }
            }
            // `$setElementOrder/<list>` (what kubectl apply sends beside a merged list): the
            // items it names come in its order; items it does not name keep theirs, after them.
            for (k, v) in p where k.hasPrefix("$setElementOrder/") {
                let list = String(k.dropFirst("$setElementOrder/".count))
                guard let key = mergeKeys[list], case .array(let items)? = t[list], case .array(let order) = v else { continue }
                let wanted = order.compactMap { $0.objectValue?[key] }
                var rest = items
                var sorted: [KctlJSON] = []
                for w in wanted {
                    if let i = rest.firstIndex(where: { $0.objectValue?[key] == w }) { sorted.append(rest.remove(at: i)) }
                }
                t[list] = .array(sorted + rest)
            }
            return .object(t)
        case .array(let items):
            guard let field, let key = mergeKeys[field], case .array(let existing) = target else {
                // Plain list: replaced; directive items dropped.
                return .array(items.filter { $0.objectValue?["$patch"] == nil })
            }
            if items.contains(where: { $0.objectValue?["$patch"]?.stringValue == "replace" }) {
                return .array(items.filter { $0.objectValue?["$patch"] == nil })
            }
            var result = existing
            for item in items {
                guard case .object(let io) = item, let kv = io[key] else {
                    throw KubectlError("error: map: \(item.compact()) does not contain declared merge key: \(key)")
                }
                let idx = result.firstIndex { $0.objectValue?[key] == kv }
                if io["$patch"]?.stringValue == "delete" {
                    if let idx { result.remove(at: idx) }
                    continue
                }
                if let idx {
                    result[idx] = try strategicMerge(result[idx], item, field: nil)
                } else {
                    result.append(try strategicMerge(.null, item, field: nil))
                }
            }
            return .array(result)
        default:
            return patch
        }
    }

    /// RFC 6902 JSON patch.
    public static func jsonPatch(_ target: KctlJSON, _ ops: KctlJSON) throws -> KctlJSON {
        guard case .array(let list) = ops else {
            throw KubectlError("error: unable to parse patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        var doc = target
        for op in list {
            guard let name = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw KubectlError("Error from server (BadRequest): the server rejected our request due to an error in our request")
            }
            let tokens = try pointer(path)
            switch name {
            case "add":
                doc = try set(doc, tokens, op["value"] ?? .null, insert: true)
            case "replace":
                _ = try get(doc, tokens)
                doc = try set(doc, tokens, op["value"] ?? .null, insert: false)
            case "remove":
                doc = try remove(doc, tokens)
            case "test":
                if try get(doc, tokens) != (op["value"] ?? .null) {
                    throw KubectlError("Error from server: testing value \(path) failed: test failed")
                }
            case "move", "copy":
                guard let from = op["from"]?.stringValue else { throw KubectlError("error: missing from in \(name)") }
                let fromTokens = try pointer(from)
                let value = try get(doc, fromTokens)
                if name == "move" { doc = try remove(doc, fromTokens) }
                doc = try set(doc, tokens, value, insert: true)
            default:
                throw KubectlError("Error from server: Unexpected kind: \(name)")
            }
        }
        return doc
    }

    static func pointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw KubectlError("Error from server: JSON pointer must be empty or start with a \"/\"") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func missing(_ tokens: [String]) -> KubectlError {
        KubectlError("Error from server: jsonpatch: unable to find path /\(tokens.joined(separator: "/"))")
    }

    static func get(_ doc: KctlJSON, _ tokens: [String]) throws -> KctlJSON {
        var cur = doc
        for t in tokens {
            switch cur {
            case .object(let o):
                guard let v = o[t] else { throw missing(tokens) }
                cur = v
            case .array(let a):
                guard let i = Int(t), i >= 0, i < a.count else { throw missing(tokens) }
                cur = a[i]
            default:
                throw missing(tokens)
            }
        }
        return cur
    }

    static func set(_ doc: KctlJSON, _ tokens: [String], _ value: KctlJSON, insert: Bool) throws -> KctlJSON {
        guard let first = tokens.first else { return value }
        let rest = Array(tokens.dropFirst())
        switch doc {
        case .object(var o):
            if rest.isEmpty { o[first] = value; return .object(o) }
            guard let child = o[first] else { throw missing(tokens) }
            o[first] = try set(child, rest, value, insert: insert)
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                if first == "-" && insert { a.append(value); return .array(a) }
                guard let i = Int(first), i >= 0, i <= a.count else { throw missing(tokens) }
                if insert { a.insert(value, at: i) } else {
                    guard i < a.count else { throw missing(tokens) }
                    a[i] = value
                }
                return .array(a)
            }
            guard let i = Int(first), i >= 0, i < a.count else { throw missing(tokens) }
            a[i] = try set(a[i], rest, value, insert: insert)
            return .array(a)
        default:
            throw missing(tokens)
        }
    }

    static func remove(_ doc: KctlJSON, _ tokens: [String]) throws -> KctlJSON {
        guard let first = tokens.first else { return .null }
        let rest = Array(tokens.dropFirst())
        switch doc {
        case .object(var o):
            guard let child = o[first] else { throw missing(tokens) }
            if rest.isEmpty { o.removeValue(forKey: first) } else { o[first] = try remove(child, rest) }
            return .object(o)
        case .array(var a):
            guard let i = Int(first), i >= 0, i < a.count else { throw missing(tokens) }
            if rest.isEmpty { a.remove(at: i) } else { a[i] = try remove(a[i], rest) }
            return .array(a)
        default:
            throw missing(tokens)
        }
    }

    // MARK: JSON → model

    /// Reads a container from its API JSON (the inverse of KctlObjects.containerSpecJSON).
    public static func container(from j: KctlJSON, base: ContainerSpec? = nil) throws -> ContainerSpec {
        guard let name = j["name"]?.stringValue, !name.isEmpty else {
            throw KubectlError("error: spec.containers[].name: Required value")
        }
        var c = base ?? ContainerSpec(name: name, image: "")
        c.name = name
        c.image = j["image"]?.stringValue ?? ""
        c.command = j["command"]?.arrayValue?.compactMap { $0.stringValue }
        c.args = j["args"]?.arrayValue?.compactMap { $0.stringValue }
        c.ports = (j["ports"]?.arrayValue ?? []).compactMap { p in
            guard let port = p["containerPort"]?.intValue else { return nil }
            var cp = ContainerPort(name: p["name"]?.stringValue, containerPort: Int(port))
            if let proto = p["protocol"]?.stringValue { cp.protocol = proto }
            return cp
        }
        c.env = (j["env"]?.arrayValue ?? []).compactMap { e in
            guard let n = e["name"]?.stringValue else { return nil }
            var ev = EnvVar(name: n, value: e["value"]?.stringValue)
            if let ref = e["valueFrom"]?["secretKeyRef"] {
                ev.secretName = ref["name"]?.stringValue
                ev.secretKey = ref["key"]?.stringValue
            } else if ev.value == nil {
                ev.value = ""
            }
            return ev
        }
        let res = j["resources"]
        c.limitsCPU = res?["limits"]?["cpu"].flatMap(quantity)
        c.limitsMemory = res?["limits"]?["memory"].flatMap(quantity)
        c.requestsCPU = res?["requests"]?["cpu"].flatMap(quantity)
        c.requestsMemory = res?["requests"]?["memory"].flatMap(quantity)
        if let p = j["readinessProbe"], let cmd = p["exec"]?["command"]?.arrayValue {
            var probe = ExecProbe(command: cmd.compactMap { $0.stringValue })
            if let v = p["periodSeconds"]?.intValue { probe.periodSeconds = Int(v) }
            if let v = p["timeoutSeconds"]?.intValue { probe.timeoutSeconds = Int(v) }
            if let v = p["failureThreshold"]?.intValue { probe.failureThreshold = Int(v) }
            if let v = p["initialDelaySeconds"]?.intValue { probe.initialDelaySeconds = Int(v) }
            c.readinessProbe = probe
        } else {
            c.readinessProbe = nil
        }
        c.volumeMounts = (j["volumeMounts"]?.arrayValue ?? []).compactMap { m in
            guard let n = m["name"]?.stringValue, let p = m["mountPath"]?.stringValue else { return nil }
            if n.hasPrefix("kube-api-access-") { return nil }
            return VolumeMount(name: n, mountPath: p)
        }
        return c
    }

    static func quantity(_ v: KctlJSON) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        default: return nil
        }
    }
}
