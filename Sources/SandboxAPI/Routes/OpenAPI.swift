import Foundation
import Sandbox

/// `/openapi/v3`: what `kubectl apply` (and `create -f`, `replace -f`) asks before it writes.
/// Its validation (`--validate=strict`, the default) first checks whether the server validates
/// fields itself: the group-version's document must list a PATCH operation for the kind
/// (`x-kubernetes-group-version-kind`) with the `fieldValidation` query parameter; then kubectl
/// leaves validation to the server and sends `fieldValidation=Strict`. Without the document
/// kubectl stops with "failed to download openapi".
///
/// The documents describe the operations this server has for the objects it patches
/// (StatefulSets, PersistentVolumeClaims), as a real server's do, but carry no
/// `components.schemas`: kubectl then builds its strategic merge patch from its compiled-in
/// types, the same metadata (merge keys) a real server's schemas give it.
enum OpenAPI {
    /// A fixed hash per document (the server's is a digest of the document's bytes).
    static let documents: [String: (hash: String, build: @Sendable () -> KctlJSON)] = [
        "api/v1": ("0E3F6D2A7C41B8F5", { document(group: "", version: "v1", kinds: [("persistentvolumeclaims", "PersistentVolumeClaim")]) }),
        "apis/apps/v1": ("9B1C4E7A20D3F6E8", { document(group: "apps", version: "v1", kinds: [("statefulsets", "StatefulSet")]) }),
    ]

    /// `GET /openapi/v3`: each group-version's document and where to fetch it.
    static func index() -> KctlJSON {
        var paths: [String: KctlJSON] = [:]
        for (gv, d) in documents { paths[gv] = ["serverRelativeURL": .string("/openapi/v3/\(gv)?hash=\(d.hash)")] }
        return ["paths": .object(paths)]
    }

    /// `GET /openapi/v3/<gv>`, nil for a group-version without a document.
    static func document(path: String) -> KctlJSON? {
        let gv = String(path.dropFirst("/openapi/v3/".count))
        return documents[gv]?.build()
    }

    static func document(group: String, version: String, kinds: [(resource: String, kind: String)]) -> KctlJSON {
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        var paths: [String: KctlJSON] = [:]
        for (resource, kind) in kinds {
            let gvk: KctlJSON = ["group": .string(group), "version": .string(version), "kind": .string(kind)]
            let query: [KctlJSON] = ["dryRun", "fieldManager", "fieldValidation", "force"].map {
                ["name": .string($0), "in": "query", "schema": ["type": $0 == "force" ? "boolean" : "string", "uniqueItems": true]]
            }
            let content: [String: KctlJSON] = Dictionary(uniqueKeysWithValues: [
                "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
            ].map { ($0, ["schema": ["$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"]] as KctlJSON) })
            let patch: KctlJSON = [
                "operationId": .string("patch\(group.isEmpty ? "Core" : group.capitalized)\(version.capitalized)Namespaced\(kind)"),
                "description": .string("partially update the specified \(kind)"),
                "parameters": .array(query),
                "requestBody": ["content": .object(content), "required": true],
                "responses": ["200": ["description": "OK"], "201": ["description": "Created"], "401": ["description": "Unauthorized"]],
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            ]
            let get: KctlJSON = [
                "operationId": .string("read\(group.isEmpty ? "Core" : group.capitalized)\(version.capitalized)Namespaced\(kind)"),
                "description": .string("read the specified \(kind)"),
                "responses": ["200": ["description": "OK"], "401": ["description": "Unauthorized"]],
                "x-kubernetes-action": "get",
                "x-kubernetes-group-version-kind": gvk,
            ]
            let params: [KctlJSON] = [
                ["name": "name", "in": "path", "required": true, "schema": ["type": "string", "uniqueItems": true]],
                ["name": "namespace", "in": "path", "required": true, "schema": ["type": "string", "uniqueItems": true]],
            ]
            paths["\(prefix)/namespaces/{namespace}/\(resource)/{name}"] = ["get": get, "patch": patch, "parameters": .array(params)]
        }
        return [
            "openapi": "3.0.0",
            "info": ["title": "Kubernetes", "version": .string(Discovery.version()["gitVersion"]?.stringValue ?? "v1.33.4")],
            "paths": .object(paths),
            "components": ["securitySchemes": ["BearerToken": ["type": "apiKey", "name": "authorization", "in": "header"]]],
        ]
    }
}
