import Foundation
import Yams

public enum ManifestError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let why): return "invalid StatefulSet manifest: \(why)" }
    }
}

/// The StatefulSet part of deploy/redis-statefulset.yaml, as the sandbox needs it.
public struct StatefulSetManifest: Sendable, Equatable {
    public var name: String
    public var replicas: Int
    public var serviceName: String
    public var selector: [String: String]
    public var template: PodTemplate
    public var claimTemplateName: String
    public var storageClassName: String
    public var storageRequest: String

    /// Parses the first `kind: StatefulSet` document of a multi-document YAML stream.
    public static func parse(_ yaml: String) throws -> StatefulSetManifest {
        let docs: [Any?]
        do { docs = Array(try Yams.load_all(yaml: yaml)) } catch { throw ManifestError.invalid("\(error)") }
        guard let sts = docs.compactMap({ $0 as? [String: Any] }).first(where: { $0["kind"] as? String == "StatefulSet" }) else {
            throw ManifestError.invalid("no StatefulSet document")
        }
        let meta = sts["metadata"] as? [String: Any] ?? [:]
        guard let spec = sts["spec"] as? [String: Any] else { throw ManifestError.invalid("StatefulSet has no spec") }
        let tmpl = spec["template"] as? [String: Any] ?? [:]
        let tmeta = tmpl["metadata"] as? [String: Any] ?? [:]
        guard let pspec = tmpl["spec"] as? [String: Any], let rawContainers = pspec["containers"] as? [[String: Any]] else {
            throw ManifestError.invalid("StatefulSet template has no containers")
        }
        var template = PodTemplate(labels: strings(tmeta["labels"]), containers: try rawContainers.map(container))
        if let g = pspec["terminationGracePeriodSeconds"] as? Int { template.terminationGracePeriodSeconds = g }
        let claims = spec["volumeClaimTemplates"] as? [[String: Any]] ?? []
        let claim = claims.first ?? [:]
        let cspec = claim["spec"] as? [String: Any] ?? [:]
        let storage = ((cspec["resources"] as? [String: Any])?["requests"] as? [String: Any])?["storage"]
        return StatefulSetManifest(
            name: meta["name"] as? String ?? "redis",
            replicas: spec["replicas"] as? Int ?? 1,
            serviceName: spec["serviceName"] as? String ?? (meta["name"] as? String ?? "redis"),
            selector: strings((spec["selector"] as? [String: Any])?["matchLabels"]),
            template: template,
            claimTemplateName: (claim["metadata"] as? [String: Any])?["name"] as? String ?? "data",
            storageClassName: cspec["storageClassName"] as? String ?? "standard",
            storageRequest: storage.map { "\($0)" } ?? "1Gi")
    }

    private static func strings(_ any: Any?) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in any as? [String: Any] ?? [:] { out[k] = "\(v)" }
        return out
    }

    private static func argv(_ any: Any?) -> [String]? {
        guard let list = any as? [Any] else { return nil }
        return list.map { v in
            if let b = v as? Bool { return b ? "true" : "false" }
            return "\(v)"
        }
    }

    private static func container(_ c: [String: Any]) throws -> ContainerSpec {
        guard let name = c["name"] as? String else { throw ManifestError.invalid("a container has no name") }
        var spec = ContainerSpec(name: name, image: c["image"] as? String ?? "")
        spec.command = argv(c["command"])
        spec.args = argv(c["args"])
        for p in c["ports"] as? [[String: Any]] ?? [] {
            if let port = p["containerPort"] as? Int { spec.ports.append(ContainerPort(name: p["name"] as? String, containerPort: port)) }
        }
        for e in c["env"] as? [[String: Any]] ?? [] {
            guard let n = e["name"] as? String else { continue }
            var env = EnvVar(name: n, value: e["value"].map { "\($0)" })
            if let ref = (e["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any] {
                env.secretName = ref["name"] as? String
                env.secretKey = ref["key"] as? String
            }
            spec.env.append(env)
        }
        let res = c["resources"] as? [String: Any] ?? [:]
        let req = res["requests"] as? [String: Any] ?? [:]
        let lim = res["limits"] as? [String: Any] ?? [:]
        spec.requestsCPU = req["cpu"].map { "\($0)" }
        spec.requestsMemory = req["memory"].map { "\($0)" }
        spec.limitsCPU = lim["cpu"].map { "\($0)" }
        spec.limitsMemory = lim["memory"].map { "\($0)" }
        for m in c["volumeMounts"] as? [[String: Any]] ?? [] {
            if let n = m["name"] as? String, let p = m["mountPath"] as? String { spec.volumeMounts.append(VolumeMount(name: n, mountPath: p)) }
        }
        if let rp = c["readinessProbe"] as? [String: Any], let cmd = argv((rp["exec"] as? [String: Any])?["command"]) {
            var probe = ExecProbe(command: cmd)
            if let v = rp["periodSeconds"] as? Int { probe.periodSeconds = v }
            if let v = rp["timeoutSeconds"] as? Int { probe.timeoutSeconds = v }
            if let v = rp["failureThreshold"] as? Int { probe.failureThreshold = v }
            if let v = rp["initialDelaySeconds"] as? Int { probe.initialDelaySeconds = v }
            spec.readinessProbe = probe
        }
        return spec
    }

    /// Sets the redis container's memory limit (request too, when it equalled the limit) and
    /// its `--maxmemory` argument to 75% of it, leaving fork headroom.
    public mutating func setRedisMemoryLimit(_ limit: String, container: String = "redis") throws {
        guard let bytes = Quantity.parse(limit), bytes >= 16 << 20 else {
            throw ManifestError.invalid("memory limit \(limit) is not a quantity of at least 16Mi")
        }
        guard let i = template.containers.firstIndex(where: { $0.name == container }) else {
            throw ManifestError.invalid("no container \(container)")
        }
        var c = template.containers[i]
        if c.requestsMemory == c.limitsMemory { c.requestsMemory = limit }
        c.limitsMemory = limit
        let maxmemory = Quantity.redisMemory((bytes * 3 / 4) / (1 << 20) * (1 << 20))
        var args = c.args ?? []
        if let j = args.firstIndex(of: "--maxmemory"), j + 1 < args.count {
            args[j + 1] = maxmemory
        } else {
            args += ["--maxmemory", maxmemory]
        }
        c.args = args
        template.containers[i] = c
    }

    /// deploy/redis-statefulset.yaml found by walking up from `start` to a directory that
    /// also holds Package.swift (the repo), else nil.
    public static func findRepoManifest(from starts: [URL]) -> URL? {
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<12 {
                let candidate = dir.appendingPathComponent("deploy/redis-statefulset.yaml")
                if FileManager.default.fileExists(atPath: candidate.path),
                   FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                    return candidate
                }
                let up = dir.deletingLastPathComponent()
                if up.path == dir.path { break }
                dir = up
            }
        }
        return nil
    }

    /// The repo's manifest when found (from the working directory or the executable), else the
    /// copy embedded in the binary. Returns the manifest and where it came from.
    public static func load(executable: URL? = nil) throws -> (StatefulSetManifest, String) {
        var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        if let e = executable { starts.append(e.deletingLastPathComponent()) }
        if let url = findRepoManifest(from: starts), let text = try? String(contentsOf: url, encoding: .utf8) {
            return (try parse(text), url.path)
        }
        return (try parse(EmbeddedManifest.redisStatefulSet), "embedded")
    }
}
