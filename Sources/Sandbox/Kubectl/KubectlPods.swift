import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

extension Kubectl {
    // MARK: helpers

    func podName(_ ref: String) throws -> String {
        if ref.contains("/") {
            let parts = ref.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, KctlKind.from(parts[0]) == .pod else {
                throw KubectlError("error: the server doesn't have a resource type \"\(parts[0])\"")
            }
            return parts[1]
        }
        return ref
    }

    func findPod(_ state: ClusterState, _ name: String, _ args: KctlArgs) throws -> PodState {
        guard namespace(args, state) == state.namespace, let pod = state.pods.first(where: { $0.name == name }) else {
            throw KubectlError.notFound("pods", name)
        }
        return pod
    }

    /// -c or the first container (with kubectl's "Defaulted container" notice).
    func pickContainer(_ pod: PodState, _ args: KctlArgs, notice: Bool = true) throws -> ContainerSpec {
        if let c = args.value("container") {
            guard let spec = pod.containers.first(where: { $0.name == c }) else {
                throw KubectlError("error: container \(c) is not valid for pod \(pod.name)")
            }
            return spec
        }
        guard let first = pod.containers.first else { throw KubectlError("error: pod \(pod.name) has no containers") }
        if pod.containers.count > 1 && notice && !args.bool("quiet") {
            io.err("Defaulted container \"\(first.name)\" out of: \(pod.containers.map(\.name).joined(separator: ", "))\n")
        }
        return first
    }

    func containerRunning(_ pod: PodState, _ name: String) -> Bool {
        guard let st = pod.containerStatuses.first(where: { $0.name == name }) else { return false }
        if case .running = st.state { return pod.sandboxPid > 0 }
        return false
    }

    // MARK: logs

    static let logsFlags = [
        KctlFlag("container", "c"), KctlFlag("previous", "p", value: false), KctlFlag("tail"), KctlFlag("follow", "f", value: false),
        KctlFlag("timestamps", value: false), KctlFlag("all-containers", value: false), KctlFlag("since"), KctlFlag("since-time"),
        KctlFlag("limit-bytes"), KctlFlag("prefix", value: false), KctlFlag("selector", "l"), KctlFlag("ignore-errors", value: false),
        KctlFlag("pod-running-timeout"), KctlFlag("max-log-requests"),
    ]

    func logs(_ argv: [String]) async throws {
        var args = try KctlArgParser.parse(argv, flags: Kubectl.logsFlags, command: "logs")
        guard let ref = args.positionals.first else {
            throw KubectlError("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples")
        }
        let state = try readState()
        var pod: PodState
        if ref.hasPrefix("statefulset/") || ref.hasPrefix("sts/") || ref.hasPrefix("statefulsets/") {
            let name = String(ref.split(separator: "/")[1])
            guard name == state.statefulSet.name, let p = state.pods.first(where: { $0.ownerName == name }) else {
                throw KubectlError.notFound("statefulsets.apps", name)
            }
            pod = p
        } else {
            pod = try findPod(state, try podName(ref), args)
        }
        if args.positionals.count > 1 && args.value("container") == nil {
            args.flags["container"] = [args.positionals[1]]
        }
        let containers: [ContainerSpec] = args.bool("all-containers") ? pod.containers : [try pickContainer(pod, args)]
        var tail: Int?
        if let t = args.value("tail") {
            guard let n = Int(t) else { throw KubectlError("error: invalid argument \"\(t)\" for \"--tail\" flag: strconv.ParseInt: parsing \"\(t)\": invalid syntax") }
            if n >= 0 { tail = n }
        }
        for spec in containers {
            let path = try logPath(pod, spec.name, previous: args.bool("previous"))
            var text = (FileManager.default.contents(atPath: path.path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if let tail {
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.last == "" { lines.removeLast() }
                text = lines.suffix(tail).map { $0 + "\n" }.joined()
            }
            if args.bool("prefix") {
                text = text.split(separator: "\n").map { "[pod/\(pod.name)/\(spec.name)] \($0)\n" }.joined()
            }
            io.out(text)
            if args.bool("follow") && !args.bool("previous") {
                try await follow(path: path, from: (FileManager.default.contents(atPath: path.path)?.count) ?? 0, pod: pod, container: spec.name)
            }
        }
    }

    func logPath(_ pod: PodState, _ container: String, previous: Bool) throws -> URL {
        guard let st = pod.containerStatuses.first(where: { $0.name == container }) else {
            throw KubectlError("Error from server (BadRequest): container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: ContainerCreating")
        }
        if previous {
            guard st.lastState != nil else {
                throw KubectlError("Error from server (BadRequest): previous terminated container \"\(container)\" in pod \"\(pod.name)\" not found")
            }
            // The container in lastState: the one before the running one, or the one that just died.
            var restart = st.restartCount
            if case .running = st.state { restart -= 1 }
            let url = layout.containerLog(pod: pod.name, container: container, restart: max(0, restart))
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw KubectlError("Error from server (BadRequest): previous terminated container \"\(container)\" in pod \"\(pod.name)\" not found")
            }
            return url
        }
        let url = layout.containerLog(pod: pod.name, container: container, restart: st.restartCount)
        if !FileManager.default.fileExists(atPath: url.path) {
            if case .waiting(let reason, _) = st.state {
                throw KubectlError("Error from server (BadRequest): container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: \(reason)")
            }
        }
        return url
    }

    func follow(path: URL, from offset: Int, pod: PodState, container: String) async throws {
        var offset = offset
        while true {
            if let data = FileManager.default.contents(atPath: path.path), data.count > offset {
                io.out(String(decoding: data[offset...], as: UTF8.self))
                offset = data.count
            }
            guard let state = try? readState(), let now = state.pods.first(where: { $0.uid == pod.uid }),
                  let st = now.containerStatuses.first(where: { $0.name == container }),
                  layout.containerLog(pod: pod.name, container: container, restart: st.restartCount) == path else { return }
            if case .running = st.state {} else {
                if let data = FileManager.default.contents(atPath: path.path), data.count > offset {
                    io.out(String(decoding: data[offset...], as: UTF8.self))
                }
                return
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    // MARK: delete

    static let deleteFlags = [
        KctlFlag("grace-period"), KctlFlag("force", value: false), KctlFlag("wait", value: false), KctlFlag("now", value: false),
        KctlFlag("ignore-not-found", value: false), KctlFlag("timeout"), KctlFlag("output", "o"), KctlFlag("cascade"),
        KctlFlag("selector", "l"), KctlFlag("all", value: false),
    ]

    func delete(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: Kubectl.deleteFlags, command: "delete")
        var targets = try resolveTargets(args.positionals, command: "delete")
        let force = args.bool("force")
        var grace: Int? = args.value("grace-period").flatMap { Int($0) }
        if args.bool("now") { grace = 1 }
        if let g = grace, g < 0 { grace = nil }
        let immediate = force && (grace ?? 0) == 0
        if grace == 0 && !force { grace = 1 }
        if force && grace == nil { grace = 0 }
        let wait = args.value("wait").map { $0 != "false" } ?? true
        if let sel = args.value("selector") {
            let selector = try LabelSelector(sel)
            let state = try readState()
            targets = state.pods.filter { selector.matches(KctlObjects(state: state).podLabels($0)) }.map { (.pod, $0.name) }
            if targets.isEmpty { io.err("No resources found\n"); return }
        }
        if immediate {
            io.err("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n")
        }
        var errors: [String] = []
        var waitFor: [(String, String, Int)] = []  // name, uid, grace
        for (kind, nameOpt) in targets {
            guard let name = nameOpt else { throw KubectlError("error: resource(s) were provided, but no name was specified") }
            guard kind == .pod else {
                errors.append("Error from server (Forbidden): \(kind.resource) \"\(name)\" is forbidden: the sandbox only deletes pods")
                continue
            }
            let nowS = nowString()
            let result: (uid: String, grace: Int)? = try update { state in
                guard namespace(args, state) == state.namespace, let i = state.pods.firstIndex(where: { $0.name == name }) else {
                    return nil
                }
                let pod = state.pods[i]
                let g = grace ?? (pod.ownerKind == "StatefulSet" ? state.statefulSet.template.terminationGracePeriodSeconds : 30)
                if immediate {
                    state.pods.remove(at: i)
                } else if pod.deletionTimestamp == nil || (pod.deletionGracePeriodSeconds ?? Int.max) > g {
                    // The API server records when the grace period ends.
                    state.pods[i].deletionTimestamp = pod.deletionTimestamp ?? nowS
                    state.pods[i].deletionGracePeriodSeconds = g
                }
                return (pod.uid, g)
            }
            guard let result else {
                if !args.bool("ignore-not-found") { errors.append(KubectlError.notFound("pods", name).message) }
                continue
            }
            if args.value("output") == "name" {
                io.out("pod/\(name)\n")
            } else {
                io.out(immediate ? "pod \"\(name)\" force deleted\n" : "pod \"\(name)\" deleted\n")
            }
            if !immediate { waitFor.append((name, result.uid, result.grace)) }
        }
        if wait {
            var timeout = 0.0
            if let t = args.value("timeout"), let v = KctlArgParser.duration(t) { timeout = v }
            for (_, uid, g) in waitFor {
                let limit = timeout > 0 ? timeout : Double(g) + 60
                let deadline = Date().addingTimeInterval(limit)
                while let state = try? readState(), state.pods.contains(where: { $0.uid == uid }) {
                    if Date() >= deadline {
                        throw KubectlError("error: timed out waiting for the condition")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        if !errors.isEmpty { throw KubectlError(errors.joined(separator: "\n")) }
    }

    // MARK: exec

    static let execFlags = [
        KctlFlag("stdin", "i", value: false), KctlFlag("tty", "t", value: false), KctlFlag("container", "c"),
        KctlFlag("quiet", "q", value: false), KctlFlag("pod-running-timeout"), KctlFlag("filename", "f"),
    ]

    /// The argv and environment `exec` runs (nsenter into the pod's namespaces); pure, for tests.
    public func execPlan(_ argv: [String], state: ClusterState) throws -> (argv: [String], environment: [String: String], stdin: Bool) {
        let args = try KctlArgParser.parse(argv, flags: Kubectl.execFlags, command: "exec")
        guard let ref = args.positionals.first else {
            throw KubectlError("error: pod, type/name or --filename must be specified")
        }
        var command = args.afterDash ?? []
        if args.afterDash == nil {
            command = Array(args.positionals.dropFirst())
            if !command.isEmpty {
                io.err("kubectl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. Use kubectl exec [POD] -- [COMMAND] instead.\n")
            }
        }
        guard !command.isEmpty else {
            throw KubectlError("error: you must specify at least one command for the container")
        }
        let pod = try findPod(state, try podName(ref), args)
        if pod.phase == "Succeeded" || pod.phase == "Failed" {
            throw KubectlError("error: cannot exec into a container in a completed pod; current phase is \(pod.phase)")
        }
        let spec = try pickContainer(pod, args)
        guard containerRunning(pod, spec.name), let full = PodExec.argv(state: state, pod: pod, command: command) else {
            throw KubectlError("error: unable to upgrade connection: container not found (\"\(spec.name)\")")
        }
        var env: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME": pod.name,
            "HOME": "/root",
        ]
        if args.bool("tty") { env["TERM"] = ProcessInfo.processInfo.environment["TERM"] ?? "xterm" }
        for key in ["LANG", "LC_ALL", "TZ"] { if let v = ProcessInfo.processInfo.environment[key] { env[key] = v } }
        env.merge(SandboxSecrets.environment(spec.env, root: layout.root)) { $1 }
        return (full, env, args.bool("stdin"))
    }

    func exec(_ argv: [String]) async throws {
        let state = try readState()
        let plan = try execPlan(argv, state: state)
        if !plan.stdin {
            // Without -i the remote command gets no stdin, as with kubectl.
            let fd = open("/dev/null", O_RDONLY)
            if fd >= 0 { dup2(fd, 0); close(fd) }
        }
        execReplacingCurrentProcess(plan.argv, environment: plan.environment)
    }

    // MARK: cp

    func cp(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("container", "c"), KctlFlag("no-preserve", value: false), KctlFlag("retries")], command: "cp")
        guard args.positionals.count == 2 else {
            throw KubectlError("error: source and destination are required")
        }
        let (src, dst) = (args.positionals[0], args.positionals[1])
        func remote(_ s: String) -> (pod: String, path: String)? {
            guard let colon = s.firstIndex(of: ":"), !s.hasPrefix("/"), !s.hasPrefix(".") else { return nil }
            var pod = String(s[..<colon])
            if let slash = pod.lastIndex(of: "/") { pod = String(pod[pod.index(after: slash)...]) }  // namespace/pod
            return (pod, String(s[s.index(after: colon)...]))
        }
        let state = try readState()
        let runner = Runner()
        if let r = remote(src), remote(dst) == nil {
            let pod = try findPod(state, r.pod, args)
            let spec = try pickContainer(pod, args)
            guard containerRunning(pod, spec.name) else {
                throw KubectlError("error: unable to upgrade connection: container not found (\"\(spec.name)\")")
            }
            let path = r.path.hasPrefix("/") ? r.path : PodExec.workingDirectory + "/" + r.path
            let parent = (path as NSString).deletingLastPathComponent
            let base = (path as NSString).lastPathComponent
            guard let tarArgv = PodExec.argv(state: state, pod: pod, command: ["tar", "cf", "-", "-C", parent.isEmpty ? "/" : parent, base]) else {
                throw KubectlError("error: unable to upgrade connection: container not found (\"\(spec.name)\")")
            }
            let result = await runner.run(CommandSpec(tarArgv, timeout: .seconds(600), outputLimit: 4 << 30, label: "kubectl cp"))
            guard result.succeeded else {
                let msg = result.stderrText.contains("No such file") ? "error: \(r.path) no such file or directory" : "error: \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))"
                throw KubectlError(msg)
            }
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-cp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: tmp) }
            let extract = await runner.run(CommandSpec(["tar", "xf", "-", "-C", tmp.path], stdin: result.stdout, timeout: .seconds(600), label: "kubectl cp"))
            guard extract.succeeded else { throw KubectlError("error: \(extract.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))") }
            let fm = FileManager.default
            let extracted = tmp.appendingPathComponent(base)
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: extracted.path, isDirectory: &isDir)
            var dstIsDir: ObjCBool = false
            let dstExists = fm.fileExists(atPath: dst, isDirectory: &dstIsDir)
            if isDir.boolValue {
                if !dstExists { try fm.createDirectory(atPath: dst, withIntermediateDirectories: true) }
                for item in try fm.contentsOfDirectory(atPath: extracted.path) {
                    let target = (dst as NSString).appendingPathComponent(item)
                    try? fm.removeItem(atPath: target)
                    try fm.moveItem(atPath: extracted.appendingPathComponent(item).path, toPath: target)
                }
            } else {
                let target = dstExists && dstIsDir.boolValue ? (dst as NSString).appendingPathComponent(base) : dst
                try? fm.removeItem(atPath: target)
                do { try fm.moveItem(atPath: extracted.path, toPath: target) } catch {
                    throw KubectlError("error: open \(target): \(error.localizedDescription)")
                }
            }
        } else if let r = remote(dst), remote(src) == nil {
            let pod = try findPod(state, r.pod, args)
            let spec = try pickContainer(pod, args)
            guard containerRunning(pod, spec.name) else {
                throw KubectlError("error: unable to upgrade connection: container not found (\"\(spec.name)\")")
            }
            guard FileManager.default.fileExists(atPath: src) else {
                throw KubectlError("error: \(src) doesn't exist in local filesystem")
            }
            let absSrc = URL(fileURLWithPath: src).standardizedFileURL.path
            let srcParent = (absSrc as NSString).deletingLastPathComponent
            let srcBase = (absSrc as NSString).lastPathComponent
            let rpath = r.path.hasPrefix("/") ? r.path : PodExec.workingDirectory + "/" + r.path
            // Into an existing remote directory keeps the name; otherwise the remote path names the copy.
            let check = PodExec.argv(state: state, pod: pod, command: ["test", "-d", rpath])
            let isRemoteDir = check != nil ? (await runner.run(CommandSpec(check!, timeout: .seconds(10)))).succeeded : false
            let destParent = isRemoteDir ? rpath : (rpath as NSString).deletingLastPathComponent
            let destBase = isRemoteDir ? srcBase : (rpath as NSString).lastPathComponent
            let pack = await runner.run(CommandSpec(["tar", "cf", "-", "-C", srcParent.isEmpty ? "/" : srcParent, srcBase], timeout: .seconds(600), outputLimit: 4 << 30, label: "kubectl cp"))
            guard pack.succeeded else { throw KubectlError("error: \(pack.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))") }
            var tarCmd = ["tar", "xf", "-", "-C", destParent.isEmpty ? "/" : destParent, "--no-same-owner"]
            if destBase != srcBase {
                let escaped = NSRegularExpression.escapedPattern(for: srcBase).replacingOccurrences(of: "|", with: "\\|")
                tarCmd += ["--transform", "s|^\(escaped)|\(destBase.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "&", with: "\\&"))|"]
            }
            guard let unpack = PodExec.argv(state: state, pod: pod, command: tarCmd) else {
                throw KubectlError("error: unable to upgrade connection: container not found (\"\(spec.name)\")")
            }
            let result = await runner.run(CommandSpec(unpack, stdin: pack.stdout, timeout: .seconds(600), label: "kubectl cp"))
            guard result.succeeded else {
                throw KubectlError("error: \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        } else {
            throw KubectlError("error: one of src or dest must be a local file specification")
        }
    }

    // MARK: run

    static let runFlags = [
        KctlFlag("image"), KctlFlag("restart"), KctlFlag("overrides"), KctlFlag("stdin", "i", value: false), KctlFlag("tty", "t", value: false),
        KctlFlag("rm", value: false), KctlFlag("command", value: false), KctlFlag("env"), KctlFlag("labels", "l"),
        KctlFlag("attach", value: false), KctlFlag("quiet", "q", value: false), KctlFlag("pod-running-timeout"),
        KctlFlag("image-pull-policy"), KctlFlag("port"), KctlFlag("dry-run"), KctlFlag("output", "o"), KctlFlag("annotations"),
        KctlFlag("leave-stdin-open", value: false), KctlFlag("privileged", value: false),
    ]

    /// The pod `kubectl run` creates (overrides merged the way kubectl does: strategic merge); pure.
    public static func runPodSpec(name: String, image: String, restart: String, command: [String], useCommand: Bool,
                                  env: [String], labels: [String: String], overrides: String?) throws -> (containers: [ContainerSpec], pvcName: String?, restartPolicy: String, labels: [String: String]) {
        var container: [String: KctlJSON] = ["name": .string(name), "image": .string(image), "resources": [:]]
        if !command.isEmpty {
            // The sandbox runs what is given; with --command kubectl puts it in `command`, else in `args`
            // (the images runbooks use have no entrypoint, so both run CMD).
            container["command"] = .array(command.map { .string($0) })
        }
        if !env.isEmpty {
            container["env"] = .array(env.map { e in
                let parts = e.split(separator: "=", maxSplits: 1).map(String.init)
                return ["name": .string(parts[0]), "value": .string(parts.count > 1 ? parts[1] : "")]
            })
        }
        var pod: KctlJSON = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": .string(name), "labels": KctlObjects.stringMap(labels)],
            "spec": ["containers": [.object(container)], "restartPolicy": .string(restart), "dnsPolicy": "ClusterFirst"],
        ]
        if let overrides {
            let patch: KctlJSON
            do { patch = try KctlJSON.parse(overrides) } catch {
                throw KubectlError("error: unable to parse \"\(overrides)\": \(error)")
            }
            pod = try KctlPatch.strategicMerge(pod, patch)
        }
        return try ObjectWrites.podPlan(pod, defaultLabels: labels, defaultRestart: restart)
    }

    func runPod(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: Kubectl.runFlags, command: "run")
        guard let name = args.positionals.first else {
            throw KubectlError("error: NAME is required for run\nSee 'kubectl run -h' for help and examples")
        }
        guard let image = args.value("image") else {
            throw KubectlError("error: required flag(s) \"image\" not set")
        }
        let restart = args.value("restart") ?? "Always"
        guard ["Always", "OnFailure", "Never"].contains(restart) else {
            throw KubectlError("error: invalid restart policy: \(restart)")
        }
        let attach = args.bool("stdin") || args.bool("attach") || args.bool("rm")
        if args.bool("rm") && !(args.bool("stdin") || args.bool("attach")) {
            throw KubectlError("error: --rm should only be used for attached containers")
        }
        var command = args.afterDash ?? []
        if args.afterDash == nil { command = Array(args.positionals.dropFirst()) }
        var labels = ["run": name]
        if let l = args.value("labels") {
            labels = [:]
            for p in l.split(separator: ",") {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                labels[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
        }
        let plan = try Kubectl.runPodSpec(name: name, image: image, restart: restart, command: command, useCommand: args.bool("command"),
                                          env: args.values("env"), labels: labels, overrides: args.value("overrides"))
        let nowS = nowString()
        let uid: String = try update { state in
            guard namespace(args, state) == state.namespace else {
                throw KubectlError("Error from server (NotFound): namespaces \"\(namespace(args, state))\" not found")
            }
            if state.pods.contains(where: { $0.name == name }) {
                throw KubectlError("Error from server (AlreadyExists): pods \"\(name)\" already exists")
            }
            if let claim = plan.pvcName, !state.pvcs.contains(where: { $0.name == claim }) {
                // The pod is created; the scheduler reports the missing claim (as on a cluster).
                _ = claim
            }
            let pod = ObjectWrites.newPod(name: name, createdAt: nowS, plan: plan)
            state.pods.append(pod)
            return pod.uid
        }
        guard attach else {
            io.out("pod/\(name) created\n")
            return
        }
        // Attach: stream the container's output until it terminates.
        var runningTimeout = 60.0
        if let t = args.value("pod-running-timeout"), let v = KctlArgParser.duration(t) { runningTimeout = v }
        let startDeadline = Date().addingTimeInterval(runningTimeout)
        let hardDeadline = Date().addingTimeInterval(3600)
        let containerName = plan.containers.first?.name ?? name
        let logURL = layout.containerLog(pod: name, container: containerName, restart: 0)
        var offset = 0
        var final: PodState?
        var started = false
        while true {
            let state = try readState()
            guard let pod = state.pods.first(where: { $0.uid == uid }) else {
                throw KubectlError("error: pod \(name) was deleted before it finished")
            }
            let st = pod.containerStatuses.first { $0.name == containerName }
            let log = layout.containerLog(pod: name, container: containerName, restart: st?.restartCount ?? 0)
            if let data = FileManager.default.contents(atPath: log.path) {
                if log != logURL && offset > data.count { offset = 0 }
                if data.count > offset { io.out(String(decoding: data[offset...], as: UTF8.self)); offset = data.count }
            }
            if case .running? = st?.state { started = true }
            if case .terminated? = st?.state { started = true }
            if pod.phase == "Succeeded" || pod.phase == "Failed" {
                if let data = FileManager.default.contents(atPath: log.path), data.count > offset {
                    io.out(String(decoding: data[offset...], as: UTF8.self))
                }
                final = pod
                break
            }
            if !started && Date() >= startDeadline {
                let reason: String
                if case .waiting(let r, _)? = st?.state { reason = r } else { reason = pod.phase }
                throw KubectlError("error: timed out waiting for the condition (pod \(name) is \(reason))")
            }
            if Date() >= hardDeadline { throw KubectlError("error: timed out waiting for the condition") }
            try await Task.sleep(for: .milliseconds(200))
        }
        if args.bool("rm") {
            try update { state in state.pods.removeAll { $0.uid == uid } }
            io.out("pod \"\(name)\" deleted\n")
        }
        guard let final else { return }
        if final.phase == "Failed" {
            if case .terminated(let reason, let code, _, let message, _, _)? = final.containerStatuses.first?.state, code != 0 {
                throw KubectlError("pod \(state(final))/\(name) terminated (\(reason))\n\(message ?? "")", code: code)
            }
            throw KubectlError("error: pod \(state(final))/\(name) failed with unknown exit code")
        }
    }

    private func state(_ pod: PodState) -> String { (try? readState().namespace) ?? "default" }
}
