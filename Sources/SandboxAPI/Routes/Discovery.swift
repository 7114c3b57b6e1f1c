import Foundation
import Sandbox

/// /version and discovery, as plain JSON (APIVersions, APIGroupList, APIResourceList).
/// kubectl asks for aggregated discovery (`as=APIGroupDiscoveryList`) first but accepts these.
enum Discovery {
    static let gitVersion = "v1.33.4"

    static func version() -> KctlJSON {
        [
            "major": "1", "minor": "33", "gitVersion": .string(gitVersion),
            "gitCommit": "74cdb426e7d1a8a32e7a3cc1ee8d3ee0a4d17d6a", "gitTreeState": "clean",
            "buildDate": "2025-08-12T10:00:00Z", "goVersion": "go1.24.5", "compiler": "gc", "platform": "linux/amd64",
            "emulationMajor": "1", "emulationMinor": "33", "minCompatibilityMajor": "1", "minCompatibilityMinor": "32",
        ]
    }

    static func apiVersions() -> KctlJSON {
        ["kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"]]]
    }

    /// autoscaling/v1 is not listed: this server has no resource of its own there (the Scale of
    /// statefulsets/scale is served under apps/v1), and kubectl refuses to cache a discovery
    /// whose group has an empty resource list.
    static let groups: [(name: String, version: String)] = [("apps", "v1"), ("authorization.k8s.io", "v1")]

    static func groupJSON(_ name: String, _ version: String) -> KctlJSON {
        let gv: KctlJSON = ["groupVersion": .string("\(name)/\(version)"), "version": .string(version)]
        return ["name": .string(name), "versions": [gv], "preferredVersion": gv]
    }

    static func apiGroupList() -> KctlJSON {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups.map { groupJSON($0.name, $0.version) })]
    }

    static func resourceEntry(_ name: String, singular: String, namespaced: Bool, kind: String, verbs: [String],
                              shortNames: [String] = [], categories: [String] = [], group: String? = nil, version: String? = nil) -> KctlJSON {
        var o: [String: KctlJSON] = [
            "name": .string(name), "singularName": .string(singular), "namespaced": .bool(namespaced),
            "kind": .string(kind), "verbs": .array(verbs.map { .string($0) }),
        ]
        if !shortNames.isEmpty { o["shortNames"] = .array(shortNames.map { .string($0) }) }
        if !categories.isEmpty { o["categories"] = .array(categories.map { .string($0) }) }
        if let group { o["group"] = .string(group) }
        if let version { o["version"] = .string(version) }
        return .object(o)
    }

    static func resources(group: String, version: String) -> KctlJSON? {
        var list: [KctlJSON] = []
        let gv = group.isEmpty ? version : "\(group)/\(version)"
        switch (group, version) {
        case ("", "v1"), ("apps", "v1"):
            for k in ResourceKind.allCases where k.group == group {
                list.append(resourceEntry(k.rawValue, singular: k.singular, namespaced: k.namespaced, kind: k.kind, verbs: k.verbs,
                                          shortNames: k.shortNames, categories: k.categories))
                for s in k.subresources {
                    list.append(resourceEntry("\(k.rawValue)/\(s.name)", singular: "", namespaced: k.namespaced, kind: s.kind, verbs: s.verbs,
                                              group: s.group.isEmpty ? nil : s.group, version: s.group.isEmpty ? nil : s.version))
                }
            }
        case ("authorization.k8s.io", "v1"):
            list.append(resourceEntry("selfsubjectaccessreviews", singular: "selfsubjectaccessreview", namespaced: false,
                                      kind: "SelfSubjectAccessReview", verbs: ["create"]))
        case ("autoscaling", "v1"):
            break
        default:
            return nil
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(gv), "resources": .array(list)]
    }
}

/// Aggregated discovery (apidiscovery.k8s.io/v2, GA in 1.30): `/api` and `/apis` answer with
/// every resource of every group in one APIGroupDiscoveryList when kubectl asks for it, so a
/// cold discovery cache costs 2 requests instead of one per group version.
extension Discovery {
    static let aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    static func wantsAggregated(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").contains { part in
            let p = part.replacingOccurrences(of: " ", with: "")
            return p.contains("g=apidiscovery.k8s.io") && p.contains("v=v2;") && p.contains("as=APIGroupDiscoveryList")
                && !p.contains("v=v2beta1")
        }
    }

    static func responseKind(group: String, version: String, kind: String) -> KctlJSON {
        ["group": .string(group), "version": .string(version), "kind": .string(kind)]
    }

    static func aggregatedGroup(_ name: String, version: String) -> KctlJSON {
        var resources: [KctlJSON] = []
        switch name {
        case "", "apps":
            for k in ResourceKind.allCases where k.group == name {
                var r: [String: KctlJSON] = [
                    "resource": .string(k.rawValue), "responseKind": responseKind(group: k.group, version: k.version, kind: k.kind),
                    "scope": k.namespaced ? "Namespaced" : "Cluster", "singularResource": .string(k.singular),
                    "verbs": .array(k.verbs.map { .string($0) }),
                ]
                if !k.shortNames.isEmpty { r["shortNames"] = .array(k.shortNames.map { .string($0) }) }
                if !k.categories.isEmpty { r["categories"] = .array(k.categories.map { .string($0) }) }
                if !k.subresources.isEmpty {
                    r["subresources"] = .array(k.subresources.map { s in
                        ["subresource": .string(s.name), "responseKind": responseKind(group: s.group, version: s.version, kind: s.kind),
                         "verbs": .array(s.verbs.map { .string($0) })]
                    })
                }
                resources.append(.object(r))
            }
        case "authorization.k8s.io":
            resources.append([
                "resource": "selfsubjectaccessreviews",
                "responseKind": responseKind(group: "authorization.k8s.io", version: "v1", kind: "SelfSubjectAccessReview"),
                "scope": "Cluster", "singularResource": "selfsubjectaccessreview", "verbs": ["create"],
            ])
        default: break
        }
        return [
            "metadata": ["name": .string(name), "creationTimestamp": nil],
            "versions": [["version": .string(version), "resources": .array(resources), "freshness": "Current"]],
        ]
    }

    /// `/api` (core group only) or `/apis` (the named groups).
    static func aggregated(core: Bool) -> KctlJSON {
        let items: [KctlJSON] = core ? [aggregatedGroup("", version: "v1")] : groups.map { aggregatedGroup($0.name, version: $0.version) }
        return ["kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": [:], "items": .array(items)]
    }
}
