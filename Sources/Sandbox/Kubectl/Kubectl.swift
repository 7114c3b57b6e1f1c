import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where kubectl's output goes. `standard` writes to the process's stdout/stderr; tests capture.
public final class KubectlIO: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    private let capture: Bool

    public init(capture: Bool) { self.capture = capture }
    public static var standard: KubectlIO { KubectlIO(capture: false) }

    public func out(_ s: String) {
        if capture { lock.lock(); outText += s; lock.unlock(); return }
        FileHandle.standardOutput.write(Data(s.utf8))
    }
    public func err(_ s: String) {
        if capture { lock.lock(); errText += s; lock.unlock(); return }
        FileHandle.standardError.write(Data(s.utf8))
    }
    public var stdout: String { lock.lock(); defer { lock.unlock() }; return outText }
    public var stderr: String { lock.lock(); defer { lock.unlock() }; return errText }
}

/// The sandbox's kubectl: parses a command line, reads and writes the sandbox state, prints
/// what kubectl prints.
public struct Kubectl: Sendable {
    public let layout: SandboxLayout
    public let io: KubectlIO
    /// Path of this kubectl (for helpers that re-run it inside a pod's namespaces).
    public let selfPath: String
    public var now: @Sendable () -> Date = { Date() }

    public init(layout: SandboxLayout, io: KubectlIO = .standard, selfPath: String) {
        self.layout = layout
        self.io = io
        self.selfPath = selfPath
    }

    var store: StateStore { StateStore(layout: layout) }

    /// DIR for DIR/bin/kubectl (the link's own directory, not its target), or $REDIS_RUNBOOK_SANDBOX_DIR.
    public static func sandboxDirectory(invokedPath: String, environment: [String: String]) -> String {
        if let dir = environment["REDIS_RUNBOOK_SANDBOX_DIR"], !dir.isEmpty { return dir }
        return URL(fileURLWithPath: invokedPath).deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Runs one kubectl command line; returns the exit code.
    public func run(_ arguments: [String]) async -> Int32 {
        do {
            try await dispatch(arguments)
            return 0
        } catch let e as KubectlError {
            if !e.message.isEmpty { io.err(e.message.hasSuffix("\n") ? e.message : e.message + "\n") }
            return e.code
        } catch {
            io.err("error: \(error)\n")
            return 1
        }
    }

    func readState() throws -> ClusterState {
        guard store.exists else {
            throw KubectlError("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
        }
        do { return try store.read() } catch { throw KubectlError("error: \(error)") }
    }

    func update<T>(_ body: (inout ClusterState) throws -> T) throws -> T {
        guard store.exists else {
            throw KubectlError("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
        }
        do {
            return try store.update(body)
        } catch let e as KubectlError {
            throw e
        } catch {
            throw KubectlError("error: \(error)")
        }
    }

    func nowString() -> String { KctlTime.format(now()) }

    static let commands = ["get", "exec", "logs", "delete", "scale", "rollout", "patch", "cp", "run", "top", "port-forward",
                           "auth", "version", "config", "cluster-info", "describe", "api-resources", "wait"]

    func dispatch(_ arguments: [String]) async throws {
        let (command, rest) = KctlArgParser.splitCommand(arguments)
        guard let command else {
            if arguments.contains("--help") || arguments.contains("-h") || arguments.isEmpty {
                io.out("kubectl controls the Kubernetes cluster manager (redis-runbook sandbox).\n\nBasic Commands: get, describe, delete, scale, rollout, patch, run\nTroubleshooting: logs, exec, cp, top, port-forward, auth\nOther: version, config, cluster-info\n")
                return
            }
            _ = try KctlArgParser.parse(arguments, flags: [], command: "")
            throw KubectlError("error: unknown command for \"kubectl\"")
        }
        switch command {
        case "get":
            let w = Kubectl.splitWatchFlag(rest)
            if w.watch { try await watchGet(w.argv, watchOnly: w.watchOnly) } else { try await get(rest) }
        case "exec": try await exec(rest)
        case "logs": try await logs(rest)
        case "delete": try await delete(rest)
        case "scale": try scale(rest)
        case "rollout": try await rollout(rest)
        case "patch": try patch(rest)
        case "cp": try await cp(rest)
        case "run": try await runPod(rest)
        case "top": try await top(rest)
        case "port-forward": try await portForward(rest)
        case "auth": try auth(rest)
        case "version": try version(rest)
        case "config": try config(rest)
        case "cluster-info": try clusterInfo(rest)
        default:
            throw KubectlError("error: unknown command \"\(command)\" for \"kubectl\"")
        }
    }

    // MARK: namespace handling

    func namespace(_ args: KctlArgs, _ state: ClusterState) -> String {
        args.value("namespace") ?? state.namespace
    }

    // MARK: resource references

    /// "pod/redis-0" or ("pod", "redis-0") → kind and names.
    func resolveTargets(_ positionals: [String], command: String) throws -> [(KctlKind, String?)] {
        guard let first = positionals.first else {
            throw KubectlError("You must specify the type of resource to \(command). Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\nSee 'kubectl \(command) -h' for help and examples")
        }
        if first.contains("/") {
            var out: [(KctlKind, String?)] = []
            for p in positionals {
                let parts = p.split(separator: "/", maxSplits: 1).map(String.init)
                guard parts.count == 2, let kind = KctlKind.from(parts[0]) else {
                    throw KubectlError("error: the server doesn't have a resource type \"\(parts.first ?? p)\"")
                }
                out.append((kind, parts[1]))
            }
            return out
        }
        var kinds: [KctlKind] = []
        for word in first.split(separator: ",") {
            guard let k = KctlKind.from(String(word)) else {
                throw KubectlError("error: the server doesn't have a resource type \"\(word)\"")
            }
            kinds.append(k)
        }
        let names = Array(positionals.dropFirst())
        if names.isEmpty { return kinds.map { ($0, nil) } }
        if kinds.count > 1 {
            throw KubectlError("error: arguments in resource/name form must have a single resource and name")
        }
        return names.map { (kinds[0], $0) }
    }

    // MARK: get

    static let getFlags = [
        KctlFlag("output", "o"), KctlFlag("selector", "l"), KctlFlag("field-selector"), KctlFlag("raw"),
        KctlFlag("show-labels", value: false), KctlFlag("no-headers", value: false), KctlFlag("sort-by"),
        KctlFlag("all-namespaces", "A", value: false), KctlFlag("ignore-not-found", value: false), KctlFlag("chunk-size"),
        KctlFlag("show-managed-fields", value: false), KctlFlag("show-kind", value: false),
    ]

    func get(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: Kubectl.getFlags, command: "get")
        if let raw = args.value("raw") { return try await getRaw(raw) }
        let state = try readState()
        let targets = try resolveTargets(args.positionals, command: "get")
        let output = args.value("output") ?? ""
        let allNamespaces = args.bool("all-namespaces")
        let ns = namespace(args, state)
        let objects = KctlObjects(state: state)
        let rows = KctlRows(state: state, now: now())
        let wide = output == "wide"
        guard ["", "wide", "json", "yaml", "name"].contains(output) || output.hasPrefix("jsonpath") || output.hasPrefix("custom-columns") else {
            throw KubectlError("error: unable to match a printer suitable for the output format \"\(output)\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml")
        }

        struct Item { var kind: KctlKind; var name: String; var json: KctlJSON; var row: [String]; var labels: [String: String] }
        var items: [Item] = []
        var errors: [String] = []
        let named = targets.contains { $0.1 != nil }
        let selector = try args.value("selector").map(LabelSelector.init)
        let fieldSelector = try args.value("field-selector").map(FieldSelector.init)

        for (kind, name) in targets {
            var candidates: [Item] = []
            let inNamespace = !kind.namespaced || allNamespaces || ns == state.namespace
            if inNamespace {
                switch kind {
                case .pod:
                    candidates = state.pods.map { Item(kind: kind, name: $0.name, json: objects.pod($0), row: rows.podRow($0, wide: wide), labels: objects.podLabels($0)) }
                case .statefulset:
                    candidates = [Item(kind: kind, name: state.statefulSet.name, json: objects.statefulSet(), row: rows.statefulSetRow(wide: wide), labels: state.statefulSet.selector)]
                case .pvc:
                    candidates = state.pvcs.map { Item(kind: kind, name: $0.name, json: objects.pvc($0), row: rows.pvcRow($0, wide: wide), labels: $0.labels) }
                case .event:
                    candidates = state.events.map { Item(kind: kind, name: $0.name, json: objects.event($0), row: rows.eventRow($0, wide: wide), labels: [:]) }
                case .node:
                    candidates = [Item(kind: kind, name: state.node.name, json: objects.node(), row: rows.nodeRow(wide: wide), labels: objects.node()["metadata"]?["labels"]?.objectValue?.compactMapValues { $0.stringValue } ?? [:])]
                }
            }
            if let name {
                if let found = candidates.first(where: { $0.name == name }) {
                    items.append(found)
                } else if !args.bool("ignore-not-found") {
                    errors.append(KubectlError.notFound(kind.resource, name).message)
                }
            } else {
                items += candidates.filter { item in
                    (selector?.matches(item.labels) ?? true) && (fieldSelector.map { (try? $0.matches(item.json, kind: kind)) ?? false } ?? true)
                }
            }
        }
        if let fieldSelector, let kind = targets.first?.0 { try fieldSelector.validate(kind: kind) }
        if let sortBy = args.value("sort-by") {
            let path = try KctlJSONPath(template: sortBy.hasPrefix("{") ? sortBy : "{\(sortBy)}")
            items = items.enumerated().sorted { a, b in
                let va = (try? path.values(a.element.json))?.first ?? .null
                let vb = (try? path.values(b.element.json))?.first ?? .null
                switch (va, vb) {
                case (.int(let x), .int(let y)) where x != y: return x < y
                case (.string(let x), .string(let y)) where x != y: return x < y
                default: return a.offset < b.offset
                }
            }.map(\.element)
        }

        var out = ""
        switch output {
        case "json":
            if named && targets.count == 1 && items.count == 1 {
                out = items[0].json.kubectlJSON()
            } else if !(named && items.isEmpty) {
                out = KctlObjects.list(items.map(\.json)).kubectlJSON()
            }
        case "yaml":
            if named && targets.count == 1 && items.count == 1 {
                out = KctlYAML.render(items[0].json)
            } else if !(named && items.isEmpty) {
                out = KctlYAML.render(KctlObjects.list(items.map(\.json)))
            }
        case "name":
            out = items.map { "\($0.kind.namePrefix)/\($0.name)\n" }.joined()
        case _ where output.hasPrefix("jsonpath"):
            var template = output.drop { $0 != "=" }.dropFirst()
            if template.isEmpty { throw KubectlError("error: template format specified but no template given") }
            if template.hasPrefix("'") && template.hasSuffix("'") && template.count >= 2 { template = template.dropFirst().dropLast() }
            let path = try KctlJSONPath(template: String(template))
            let input = (named && targets.count == 1 && items.count == 1) ? items[0].json : KctlObjects.list(items.map(\.json))
            out = try path.render(input)
        case _ where output.hasPrefix("custom-columns"):
            let spec = output.drop { $0 != "=" }.dropFirst()
            var header: [String] = []
            var paths: [KctlJSONPath] = []
            for col in spec.split(separator: ",") {
                let parts = col.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw KubectlError("error: custom-columns format specified but no custom columns given") }
                header.append(parts[0])
                paths.append(try KctlJSONPath(template: parts[1].hasPrefix("{") ? parts[1] : "{\(parts[1])}"))
            }
            let table = items.map { item in
                paths.map { p -> String in
                    let vs = (try? p.values(item.json)) ?? []
                    if vs.isEmpty { return "<none>" }
                    return vs.map(KctlJSONPath.text).joined(separator: ",")
                }
            }
            out = KctlTable.render(header: args.bool("no-headers") ? nil : header, rows: table)
        default:
            if !items.isEmpty {
                var groups: [(KctlKind, [Item])] = []
                for item in items {
                    if let i = groups.firstIndex(where: { $0.0 == item.kind }) { groups[i].1.append(item) } else { groups.append((item.kind, [item])) }
                }
                var parts: [String] = []
                for (kind, group) in groups {
                    var header: [String]
                    switch kind {
                    case .pod: header = wide ? KctlRows.podWideHeader : KctlRows.podHeader
                    case .statefulset: header = wide ? KctlRows.stsWideHeader : KctlRows.stsHeader
                    case .pvc: header = wide ? KctlRows.pvcWideHeader : KctlRows.pvcHeader
                    case .event: header = wide ? KctlRows.eventWideHeader : KctlRows.eventHeader
                    case .node: header = wide ? KctlRows.nodeWideHeader : KctlRows.nodeHeader
                    }
                    var tableRows = group.map(\.row)
                    if groups.count > 1 {
                        tableRows = group.map { item in [item.kind.namePrefix + "/" + item.name] + item.row.dropFirst() }
                    }
                    if args.bool("show-labels") {
                        header.append("LABELS")
                        tableRows = zip(tableRows, group).map { row, item in
                            row + [item.labels.isEmpty ? "<none>" : item.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")]
                        }
                    }
                    if allNamespaces && kind.namespaced {
                        header.insert("NAMESPACE", at: 0)
                        tableRows = tableRows.map { [state.namespace] + $0 }
                    }
                    parts.append(KctlTable.render(header: args.bool("no-headers") ? nil : header, rows: tableRows))
                }
                out = parts.joined(separator: "\n")
            }
        }
        io.out(out)
        if items.isEmpty && !named && (output == "" || output == "wide" || output == "name" || output.hasPrefix("custom-columns")) {
            if let kind = targets.first?.0, kind.namespaced, !allNamespaces {
                io.err("No resources found in \(ns) namespace.\n")
            } else {
                io.err("No resources found\n")
            }
        }
        if !errors.isEmpty {
            throw KubectlError(errors.joined(separator: "\n"))
        }
    }

    // MARK: scale

    func scale(_ argv: [String]) throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("replicas"), KctlFlag("current-replicas"), KctlFlag("timeout"), KctlFlag("resource-version")], command: "scale")
        let targets = try resolveTargets(args.positionals, command: "scale")
        guard let replicasText = args.value("replicas") else {
            throw KubectlError("error: required flag(s) \"replicas\" not set")
        }
        guard let replicas = Int(replicasText), replicas >= 0 else {
            throw KubectlError("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
        }
        for (kind, name) in targets {
            guard kind == .statefulset else {
                throw KubectlError("error: no objects passed to scale \(kind.resource) is not scalable in the sandbox")
            }
            guard let name else { throw KubectlError("error: resource(s) were provided, but no name was specified") }
            try update { state in
                guard state.statefulSet.name == name, args.value("namespace").map({ $0 == state.namespace }) ?? true else {
                    throw KubectlError.notFound(kind.resource, name)
                }
                if let cur = args.value("current-replicas"), let c = Int(cur), c != state.statefulSet.replicas {
                    throw KubectlError("error: Expected replicas to be \(c), was \(state.statefulSet.replicas)")
                }
                state.statefulSet.replicas = replicas
            }
            io.out("statefulset.apps/\(name) scaled\n")
        }
    }

    // MARK: patch

    func patch(_ argv: [String]) throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("type"), KctlFlag("patch", "p"), KctlFlag("output", "o"), KctlFlag("dry-run"), KctlFlag("subresource")], command: "patch")
        let targets = try resolveTargets(args.positionals, command: "patch")
        guard let patchText = args.value("patch") else {
            throw KubectlError("error: must specify --patch or --patch-file containing the contents of the patch")
        }
        let type = args.value("type") ?? "strategic"
        guard ["strategic", "merge", "json"].contains(type) else {
            throw KubectlError("error: --type must be one of [json merge strategic], not \"\(type)\"")
        }
        let patchJSON: KctlJSON
        do { patchJSON = try KctlJSON.parse(patchText) } catch {
            throw KubectlError("error: unable to parse \"\(patchText)\": yaml: \(error)")
        }
        guard targets.count == 1, let (kind, nameOpt) = targets.first, let name = nameOpt else {
            throw KubectlError("error: resource(s) were provided, but no name was specified")
        }
        if kind == .pvc {
            try patchPVC(name, patchJSON, namespace: args.value("namespace"))
            return
        }
        guard kind == .statefulset else {
            throw KubectlError("Error from server (Forbidden): \(kind.resource) \"\(name)\" is forbidden: the sandbox only patches the statefulset and a PVC's storage request")
        }
        let dryRun = args.value("dry-run").map { $0 != "none" && $0 != "false" } ?? false
        let changed: Bool = try update { state in
            guard state.statefulSet.name == name, args.value("namespace").map({ $0 == state.namespace }) ?? true else {
                throw KubectlError.notFound(kind.resource, name)
            }
            let before = KctlObjects(state: state).statefulSet()
            let after: KctlJSON
            switch type {
            case "merge": after = KctlPatch.mergePatch(before, patchJSON)
            case "json": after = try KctlPatch.jsonPatch(before, patchJSON)
            default: after = try KctlPatch.strategicMerge(before, patchJSON)
            }
            let sts = try ObjectWrites.statefulSet(from: after, before: before, current: state.statefulSet, name: name)
            let changed = sts != state.statefulSet
            if !dryRun { state.statefulSet = sts }
            return changed
        }
        io.out("statefulset.apps/\(name) patched\(changed ? "" : " (no change)")\(dryRun ? " (dry run)" : "")\n")
    }

    /// Volume expansion: only spec.resources.requests.storage may change, never downwards (as
    /// the API server enforces). The volume's tmpfs (root sandboxes) grows at once, capped at
    /// 2 GiB like at `sandbox up`; status.capacity follows the request.
    func patchPVC(_ name: String, _ patch: KctlJSON, namespace: String?) throws {
        try update { state in
            guard namespace.map({ $0 == state.namespace }) ?? true else { throw KubectlError.notFound("persistentvolumeclaims", name) }
            try ObjectWrites.patchPVCStorage(&state, name: name, patch: patch)
        }
        io.out("persistentvolumeclaim/\(name) patched\n")
    }

    // MARK: rollout status

    /// kubectl's StatefulSetStatusViewer.
    public static func rolloutStatus(_ state: ClusterState) -> (message: String, done: Bool) {
        let sts = state.statefulSet
        let st = KctlObjects(state: state).statefulSetStatus()
        if st.observedGeneration == 0 || sts.templateGeneration > st.observedGeneration {
            return ("Waiting for statefulset spec update to be observed...\n", false)
        }
        if st.readyReplicas < sts.replicas {
            return ("Waiting for \(sts.replicas - st.readyReplicas) pods to be ready...\n", false)
        }
        // updateStrategy RollingUpdate with partition 0 (the API default)
        if st.updatedReplicas < sts.replicas {
            return ("Waiting for partitioned roll out to finish: \(st.updatedReplicas) out of \(sts.replicas) new pods have been updated...\n", false)
        }
        return ("partitioned roll out complete: \(st.updatedReplicas) new pods have been updated...\n", true)
    }

    func rollout(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("timeout"), KctlFlag("watch", "w", value: false), KctlFlag("revision")], command: "rollout")
        guard let sub = args.positionals.first else {
            throw KubectlError("error: Required subcommand (status, history, pause, resume, restart, undo)")
        }
        guard sub == "status" else {
            throw KubectlError("error: unknown command \"\(sub)\" for \"kubectl rollout\"")
        }
        let targets = try resolveTargets(Array(args.positionals.dropFirst()), command: "rollout status")
        guard let (kind, nameOpt) = targets.first, let name = nameOpt else {
            throw KubectlError("error: resource(s) were provided, but no name was specified")
        }
        guard kind == .statefulset else {
            throw KubectlError("error: no status viewer has been implemented for \(kind.rawValue)")
        }
        var timeout = 600.0
        if let t = args.value("timeout") {
            guard let v = KctlArgParser.duration(t) else { throw KubectlError("error: invalid argument \"\(t)\" for \"--timeout\" flag: time: invalid duration \"\(t)\"") }
            if v > 0 { timeout = v }
        }
        let watch = args.value("watch").map { $0 != "false" } ?? true
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while true {
            let state = try readState()
            guard state.statefulSet.name == name, args.value("namespace").map({ $0 == state.namespace }) ?? true else {
                throw KubectlError.notFound(kind.resource, name)
            }
            let (message, done) = Kubectl.rolloutStatus(state)
            if message != last { io.out(message); last = message }
            if done || !watch { return }
            if Date() >= deadline { throw KubectlError("error: timed out waiting for the condition") }
            try? await Task.sleep(for: .milliseconds(300))
        }
    }

    // MARK: small commands

    func auth(_ argv: [String]) throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("all-namespaces", "A", value: false), KctlFlag("list", value: false), KctlFlag("quiet", "q", value: false), KctlFlag("subresource")], command: "auth")
        guard args.positionals.first == "can-i" else {
            throw KubectlError("error: unknown command \"\(args.positionals.first ?? "")\" for \"kubectl auth\"")
        }
        if args.bool("list") {
            io.out(KctlTable.render(header: ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"], rows: [["*.*", "[]", "[]", "[*]"], ["", "[*]", "[]", "[*]"]]))
            return
        }
        guard args.positionals.count >= 3 || args.positionals.count == 2 && args.positionals[1].hasPrefix("/") else {
            throw KubectlError("error: you must specify two arguments: verb resource or verb resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples")
        }
        if !args.bool("quiet") { io.out("yes\n") }
    }

    static let clientVersion = KctlObjects.kubeletVersion
    static func versionInfo() -> [(String, String)] {
        [("major", "1"), ("minor", "28"), ("gitVersion", clientVersion), ("gitCommit", "e8e5b3e6e4c6c3d0a6d8d1a2e4e8c6f0b1a2c3d4"),
         ("gitTreeState", "clean"), ("buildDate", "2024-04-16T23:31:46Z"), ("goVersion", "go1.21.9"), ("compiler", "gc"), ("platform", "linux/amd64")]
    }

    func version(_ argv: [String]) throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("client", value: false), KctlFlag("output", "o"), KctlFlag("short", value: false)], command: "version")
        let client = args.bool("client")
        let output = args.value("output") ?? ""
        let kustomize = "v5.0.4-0.20230601165947-6ce0bf390ce3"
        let serverReachable = store.exists
        switch output {
        case "json", "yaml":
            // kubectl marshals its struct (field order, 2-space indent).
            func block(_ indent: String) -> String {
                Kubectl.versionInfo().enumerated().map { i, kv in
                    output == "json" ? "\(indent)  \"\(kv.0)\": \"\(kv.1)\"\(i == Kubectl.versionInfo().count - 1 ? "" : ",")" : "\(indent)  \(kv.0): \(kv.0 == "major" || kv.0 == "minor" ? "\"\(kv.1)\"" : kv.1)"
                }.joined(separator: "\n")
            }
            if output == "json" {
                var s = "{\n  \"clientVersion\": {\n\(block("  "))\n  },\n  \"kustomizeVersion\": \"\(kustomize)\""
                if !client && serverReachable { s += ",\n  \"serverVersion\": {\n\(block("  "))\n  }" }
                io.out(s + "\n}\n")
            } else {
                var s = "clientVersion:\n\(block(""))\nkustomizeVersion: \(kustomize)\n"
                if !client && serverReachable { s += "serverVersion:\n\(block(""))\n" }
                io.out(s)
            }
        case "":
            io.out("Client Version: \(Kubectl.clientVersion)\nKustomize Version: \(kustomize)\n")
            if !client {
                guard serverReachable else {
                    throw KubectlError("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
                }
                io.out("Server Version: \(Kubectl.clientVersion)\n")
            }
        default:
            throw KubectlError("error: --output must be 'yaml' or 'json'")
        }
    }

    func config(_ argv: [String]) throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("output", "o"), KctlFlag("minify", value: false), KctlFlag("raw", value: false)], command: "config")
        switch args.positionals.first {
        case "current-context":
            io.out("sandbox\n")
        case "get-contexts":
            io.out(KctlTable.render(header: ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], rows: [["*", "sandbox", "sandbox", "sandbox", "default"]]))
        case "view":
            io.out("""
            apiVersion: v1
            clusters:
            - cluster:
                server: https://127.0.0.1:6443
              name: sandbox
            contexts:
            - context:
                cluster: sandbox
                namespace: default
                user: sandbox
              name: sandbox
            current-context: sandbox
            kind: Config
            preferences: {}
            users:
            - name: sandbox
              user: {}

            """)
        default:
            throw KubectlError("error: unknown command \"\(args.positionals.first ?? "")\" for \"kubectl config\"")
        }
    }

    func clusterInfo(_ argv: [String]) throws {
        _ = try KctlArgParser.parse(argv, flags: [], command: "cluster-info")
        _ = try readState()
        io.out("Kubernetes control plane is running at https://127.0.0.1:6443\n\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n")
    }
}

