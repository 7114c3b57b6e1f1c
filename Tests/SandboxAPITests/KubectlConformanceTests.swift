import Foundation
import ProcessRunner
import Sandbox
import Testing
import APISandboxTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The real kubectl (1.30, 1.33, the Debian dispatcher, 1.37) against the sandbox's API server,
/// command by command, as the product, its runbooks and the README run them (list:
/// docs/kubectl-commands.md). Output shapes are compared with real clusters' output in
/// /work/shared/reference/kubectl/ (column headers from the server's Table, JSON kinds and
/// fields, error texts, exit codes). One sandbox for the suite; tests run one at a time
/// because some disturb it (delete, faults).
@Suite(.serialized, .apiSandbox)
struct KubectlConformanceTests {
    static let referenceDir = URL(fileURLWithPath: "/work/shared/reference/kubectl")

    func reference(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.referenceDir.appendingPathComponent(name))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func json(_ r: CommandResult) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(r.stdoutText.utf8)) as? [String: Any], "not JSON: \(r.stdoutText.prefix(300)) \(r.stderrText)")
    }

    // MARK: get (tables from the server)

    @Test(arguments: KubectlBinary.all)
    func getPods(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let r = await sb.kubectl(k, ["get", "pods"])
        #expect(r.succeeded, "\(r.stderrText)")
        #expect(tableHeader(r.stdoutText) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
        let row = try #require(r.stdoutText.split(separator: "\n").first { $0.hasPrefix("redis-0 ") })
        #expect(row.split(separator: " ").prefix(4).map(String.init) == ["redis-0", "2/2", "Running", "0"] || row.contains("Running"))
    }

    @Test(arguments: KubectlBinary.all)
    func getPodsWide(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let r = await sb.kubectl(k, ["get", "pods", "-o", "wide"])
        #expect(r.succeeded, "\(r.stderrText)")
        #expect(tableHeader(r.stdoutText) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"])
        let state = try sb.state()
        let pod = try #require(state.pods.first { $0.name == "redis-0" })
        #expect(r.stdoutText.contains(pod.nodeName ?? "?"))
    }

    @Test(arguments: KubectlBinary.all)
    func getOtherTables(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let sts = await sb.kubectl(k, ["get", "statefulset", "redis"])
        #expect(tableHeader(sts.stdoutText) == ["NAME", "READY", "AGE"], "\(sts.stderrText)")
        let pvc = await sb.kubectl(k, ["get", "pvc"])
        #expect(tableHeader(pvc.stdoutText) == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"],
                "\(pvc.stdoutText)")
        let nodes = await sb.kubectl(k, ["get", "nodes"])
        #expect(tableHeader(nodes.stdoutText) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
        #expect(nodes.stdoutText.contains(" Ready "))
        let events = await sb.kubectl(k, ["get", "events"])
        #expect(tableHeader(events.stdoutText) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        #expect(events.stdoutText.contains("pod/redis-0"))
        let ns = await sb.kubectl(k, ["get", "namespaces"])
        #expect(tableHeader(ns.stdoutText) == ["NAME", "STATUS", "AGE"])
        let cm = await sb.kubectl(k, ["get", "configmaps"])
        #expect(tableHeader(cm.stdoutText) == ["NAME", "DATA", "AGE"])
        #expect(cm.stdoutText.contains("kube-root-ca.crt"))
    }

    // MARK: get -o json (the Prober's requests)

    @Test(arguments: KubectlBinary.all)
    func getPodJSON(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let r = await sb.kubectl(k, ["get", "pod", "redis-0", "-o", "json"])
        #expect(r.succeeded, "\(r.stderrText)")
        let pod = try json(r)
        let ref = try #require((try reference("pod-oomkilled-terminated_podlist.json")["items"] as? [[String: Any]])?.first)
        #expect(pod["kind"] as? String == "Pod")
        #expect(Set(pod.keys) == Set(ref.keys))
        let meta = try #require(pod["metadata"] as? [String: Any])
        let refMeta = try #require(ref["metadata"] as? [String: Any])
        // Every metadata field of a real StatefulSet pod but managedFields (kubectl strips it).
        #expect(Set(refMeta.keys).subtracting(["managedFields"]).isSubset(of: Set(meta.keys)), "\(meta.keys.sorted())")
        let owner = try #require((meta["ownerReferences"] as? [[String: Any]])?.first)
        #expect(owner["kind"] as? String == "StatefulSet")
        #expect(owner["uid"] as? String == (try sb.state()).statefulSet.uid)
        #expect(Int(meta["resourceVersion"] as? String ?? "") != nil)
    }

    @Test(arguments: KubectlBinary.all)
    func getEventsForPodJSON(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let r = await sb.kubectl(k, ["get", "events", "--field-selector", "involvedObject.name=redis-0", "-o", "json"])
        #expect(r.succeeded, "\(r.stderrText)")
        let list = try json(r)
        #expect(list["kind"] as? String == "List")
        let items = try #require(list["items"] as? [[String: Any]])
        #expect(!items.isEmpty)
        for e in items { #expect((e["involvedObject"] as? [String: Any])?["name"] as? String == "redis-0") }
        let refItem = try #require((try reference("events-minikube-mixed-warnings_eventlist.json")["items"] as? [[String: Any]])?.first)
        #expect(Set(refItem.keys).subtracting(["action"]).isSubset(of: Set(items[0].keys)), "\(items[0].keys.sorted())")
    }

    @Test(arguments: KubectlBinary.all)
    func getStatefulSetAndNodeJSON(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let sts = try json(await sb.kubectl(k, ["get", "statefulset", "redis", "-o", "json"]))
        #expect(sts["kind"] as? String == "StatefulSet")
        let meta = try #require(sts["metadata"] as? [String: Any])
        #expect(meta["generation"] as? Int != nil)
        let refStatus = try #require(try reference("statefulset-nginx-sts_gke.json")["status"] as? [String: Any])
        let status = try #require(sts["status"] as? [String: Any])
        #expect(Set(refStatus.keys).isSubset(of: Set(status.keys)), "\(status.keys.sorted())")
        let node = try json(await sb.kubectl(k, ["get", "node", try sb.state().node.name, "-o", "json"]))
        #expect(node["kind"] as? String == "Node")
    }

    // MARK: errors

    @Test(arguments: KubectlBinary.all)
    func notFound(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let r = await sb.kubectl(k, ["get", "pod", "redis-9"])
        #expect(r.termination == .exited(1))
        #expect(r.stderrText.contains(#"Error from server (NotFound): pods "redis-9" not found"#), "\(r.stderrText)")
    }

    @Test(arguments: KubectlBinary.all)
    func viewerIsForbiddenToWrite(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let del = await sb.kubectl(k, ["--context", "sandbox-viewer", "delete", "pod", "redis-0"])
        #expect(del.termination == .exited(1))
        #expect(del.stderrText.contains(#"Error from server (Forbidden): pods "redis-0" is forbidden: User "oncall-viewer" cannot delete resource "pods" in API group "" in the namespace "default""#), "\(del.stderrText)")
        let scale = await sb.kubectl(k, ["--context", "sandbox-viewer", "scale", "statefulset", "redis", "--replicas=0"])
        #expect(scale.termination == .exited(1))
        #expect(scale.stderrText.contains(#"User "oncall-viewer" cannot patch resource "statefulsets/scale" in API group "apps" in the namespace "default""#), "\(scale.stderrText)")
        let exec = await sb.kubectl(k, ["--context", "sandbox-viewer", "exec", "redis-0", "-c", "redis", "--", "redis-cli", "PING"])
        #expect(exec.termination != .exited(0))
        #expect(exec.stderrText.contains(#"pods "redis-0" is forbidden: User "oncall-viewer" cannot create resource "pods/exec" in API group "" in the namespace "default""#), "\(exec.stderrText)")
        let read = await sb.kubectl(k, ["--context", "sandbox-viewer", "get", "pods"])
        #expect(read.succeeded)
        #expect(sb.layout.root.path.isEmpty == false)
        #expect(try sb.state().statefulSet.replicas == 1)
    }

    @Test(arguments: KubectlBinary.all)
    func authCanI(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let admin = await sb.kubectl(k, ["auth", "can-i", "create", "pods/exec"])
        #expect(admin.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "yes", "\(admin.stderrText)")
        let viewer = await sb.kubectl(k, ["--context", "sandbox-viewer", "auth", "can-i", "create", "pods/exec"])
        #expect(viewer.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "no")
        #expect(viewer.termination == .exited(1))
        let viewerGet = await sb.kubectl(k, ["--context", "sandbox-viewer", "auth", "can-i", "get", "pods"])
        #expect(viewerGet.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "yes")
    }

    @Test(arguments: KubectlBinary.all)
    func malformedPatchIsBadRequest(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let r = await sb.kubectl(k, ["patch", "statefulset", "redis", "--type", "json", "-p", #"{"op":"replace"}"#])
        #expect(r.termination == .exited(1))
        #expect(r.stderrText.contains("Error from server (BadRequest)"), "\(r.stderrText)")
        let bad = await sb.kubectl(k, ["patch", "statefulset", "redis", "--type", "merge", "-p", "{bad"])
        #expect(bad.termination == .exited(1))
    }

    // MARK: writes

    @Test(arguments: KubectlBinary.all)
    func scaleAndPatchAndRolloutStatus(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let scale = await sb.kubectl(k, ["scale", "statefulset", "redis", "--replicas=1"])
        #expect(scale.stdoutText == "statefulset.apps/redis scaled\n", "\(scale.stderrText)")
        let merge = await sb.kubectl(k, ["patch", "statefulset", "redis", "--type", "merge", "-p", #"{"spec":{"replicas":1}}"#])
        #expect(merge.stdoutText == "statefulset.apps/redis patched (no change)\n", "\(merge.stderrText)")
        let jsonPatch = await sb.kubectl(k, ["patch", "statefulset", "redis", "--type", "json", "-p", #"[{"op":"replace","path":"/spec/replicas","value":1}]"#])
        #expect(jsonPatch.succeeded, "\(jsonPatch.stderrText)")
        let pvcName = try #require(try sb.state().pvcs.first?.name)
        let request = try #require(try sb.state().pvcs.first?.request)
        let pvc = await sb.kubectl(k, ["patch", "pvc", pvcName, "-p", #"{"spec":{"resources":{"requests":{"storage":"\#(request)"}}}}"#])
        #expect(pvc.stdoutText == "persistentvolumeclaim/\(pvcName) patched (no change)\n", "\(pvc.stderrText)")
        let rollout = await sb.kubectl(k, ["rollout", "status", "statefulset/redis", "--timeout=60s"])
        #expect(rollout.succeeded, "\(rollout.stderrText)")
        #expect(rollout.stdoutText.contains("roll out complete") || rollout.stdoutText.contains("rolling update complete"))
    }

    @Test(arguments: KubectlBinary.all)
    func runAndDeletePod(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let name = "api-run-\(k.id.replacingOccurrences(of: ".", with: ""))"
        let run = await sb.kubectl(k, ["run", name, "--image=redis:7.0.15-alpine", "--restart=Never",
                                       #"--overrides={"apiVersion":"v1","spec":{"containers":[{"name":"\#(name)","image":"redis:7.0.15-alpine","command":["sleep","3600"]}]}}"#,
                                       "--", "sleep", "3600"])
        #expect(run.stdoutText == "pod/\(name) created\n", "\(run.stderrText)")
        #expect(await sb.waitUntil(20) { s in s.pods.first { $0.name == name }?.phase == "Running" })
        let got = await sb.kubectl(k, ["get", "pod", name, "-o", #"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#])
        #expect(got.stdoutText == "True", "\(got.stderrText)")
        let del = await sb.kubectl(k, ["delete", "pod", name, "--wait=true"], timeout: .seconds(90))
        // kubectl 1.37 names the namespace: `pod "x" deleted from default namespace`.
        #expect(del.stdoutText == "pod \"\(name)\" deleted\n" || del.stdoutText == "pod \"\(name)\" deleted from default namespace\n", "\(del.stderrText)")
        #expect(try sb.state().pods.contains { $0.name == name } == false)
    }

    // MARK: watch

    @Test(arguments: KubectlBinary.all)
    func watchSeesDeleteOfRedisPod(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        #expect(await sb.waitUntil(60) { APISandbox.ready($0) })
        async let watched = sb.kubectl(k, ["get", "pod", "redis-0", "-o", "json", "--watch"], timeout: .seconds(12))
        try await Task.sleep(for: .seconds(2))
        let del = await sb.kubectl(k, ["delete", "pod", "redis-0"], timeout: .seconds(60))
        #expect(del.succeeded, "\(del.stderrText)")
        let out = await watched
        // The GET's object, then the watch's events: the pod with a deletionTimestamp follows.
        let objects = out.stdoutText.components(separatedBy: "\n}\n").filter { $0.contains("\"kind\": \"Pod\"") }
        #expect(objects.count >= 2, "\(out.stdoutText.prefix(500)) \(out.stderrText)")
        #expect(objects.dropFirst().contains { $0.contains("deletionTimestamp") })
        #expect(await sb.waitUntil(60) { APISandbox.ready($0) })
    }

    @Test(arguments: KubectlBinary.all)
    func watchTablePrintsRows(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let out = await sb.kubectl(k, ["get", "pods", "--watch", "--request-timeout=3s"], timeout: .seconds(10))
        #expect(tableHeader(out.stdoutText) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "\(out.stdoutText) \(out.stderrText)")
        #expect(out.stdoutText.contains("redis-0"))
    }

    // MARK: /metrics, faults

    @Test(arguments: KubectlBinary.all)
    func metricsCountRequests(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        _ = await sb.kubectl(k, ["get", "pods"])  // a LIST of its own: the test holds when run alone too
        let r = await sb.kubectl(k, ["get", "--raw", "/metrics"])
        #expect(r.stdoutText.contains(#"apiserver_request_total{code="200",component="apiserver",resource="pods",subresource="",verb="LIST"}"#), "\(r.stdoutText.prefix(400))")
        let viewer = await sb.kubectl(k, ["--context", "sandbox-viewer", "get", "--raw", "/metrics"])
        #expect(viewer.stderrText.contains(#"forbidden: User "oncall-viewer" cannot get path "/metrics""#), "\(viewer.stderrText)")
    }

    @Test(arguments: KubectlBinary.all)
    func apiFaults(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let port = try String(contentsOf: sb.layout.apiServerPortFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = await sb.sandbox(["fault", "token-expired"])
        // The API server picks the fault up from the state within a poll (100 ms); on a loaded
        // machine that can take a moment, so the first refusal is waited for (bounded).
        var expired = await sb.kubectl(k, ["get", "pods"])
        for _ in 0..<20 where expired.termination == .exited(0) {
            try await Task.sleep(for: .milliseconds(250))
            expired = await sb.kubectl(k, ["get", "pods"])
        }
        #expect(expired.termination == .exited(1))
        // kubectl's words for a 401: "(Unauthorized)" with a warm discovery cache, "(the server has
        // asked for the client to provide credentials)" when the 401 comes at discovery.
        #expect(expired.stderrText.contains("error: You must be logged in to the server ("), "\(expired.stderrText)")
        _ = await sb.sandbox(["heal"])
        _ = await sb.sandbox(["fault", "api-down"])
        try await Task.sleep(for: .milliseconds(600))
        var down = await sb.kubectl(k, ["get", "pods"])
        for _ in 0..<20 where down.termination == .exited(0) {
            try await Task.sleep(for: .milliseconds(250))
            down = await sb.kubectl(k, ["get", "pods"])
        }
        #expect(down.termination == .exited(1))
        #expect(down.stderrText.contains("The connection to the server 127.0.0.1:\(port) was refused - did you specify the right host or port?"), "\(down.stderrText)")
        _ = await sb.sandbox(["heal"])
        var back = false
        for _ in 0..<20 where !back {
            try await Task.sleep(for: .milliseconds(250))
            back = await sb.kubectl(k, ["get", "pods"]).succeeded
        }
        #expect(back)
    }
}

extension KubectlConformanceTests {
    /// The read-only commands of the runbooks (node-failure, disk-full, config-drift).
    @Test(arguments: KubectlBinary.all)
    func runbookReads(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let state = try sb.state()
        let pvc = try #require(state.pvcs.first)
        let nodeYAML = await sb.kubectl(k, ["get", "node", state.node.name, "-o", "yaml"])
        #expect(nodeYAML.stdoutText.contains("kind: Node"), "\(nodeYAML.stderrText)")
        let nodesWide = await sb.kubectl(k, ["get", "nodes", "-o", "wide"])
        #expect(tableHeader(nodesWide.stdoutText) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                                                      "KERNEL-VERSION", "CONTAINER-RUNTIME"])
        let capacity = await sb.kubectl(k, ["get", "pvc", pvc.name, "-o", "jsonpath={.status.capacity.storage}"])
        #expect(capacity.stdoutText == pvc.request, "\(capacity.stderrText)")
        let pvcWide = await sb.kubectl(k, ["get", "pvc", pvc.name, "-o", "wide"])
        #expect(tableHeader(pvcWide.stdoutText).last == "VOLUMEMODE", "\(pvcWide.stdoutText)")
        let stsYAML = await sb.kubectl(k, ["get", "statefulset", state.statefulSet.name, "-o", "yaml"])
        #expect(stsYAML.stdoutText.contains("kind: StatefulSet"))
        #expect(stsYAML.stdoutText.contains("uid: \(state.statefulSet.uid)"))
    }
}

extension KubectlConformanceTests {
    /// A watch from a resourceVersion older than the server's history: 200, then an ERROR event
    /// with the 410 Expired Status; from the current version: no error, closed at timeoutSeconds.
    @Test(arguments: KubectlBinary.all)
    func watchFromTooOldVersionIsGone(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let old = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1&timeoutSeconds=2"])
        #expect(old.stdoutText.contains(#""type":"ERROR""#), "\(old.stdoutText.prefix(300)) \(old.stderrText)")
        #expect(old.stdoutText.contains(#""code":410"#) && old.stdoutText.contains("too old resource version: 1"))
        let g = try sb.state().generation
        let current = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=\(g)&timeoutSeconds=2"])
        #expect(current.succeeded, "\(current.stderrText)")
        #expect(!current.stdoutText.contains(#""type":"ERROR""#))
    }

    /// Unknown resources and methods get the real Status errors.
    @Test(arguments: KubectlBinary.all)
    func unknownResourceAndMethod(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let unknown = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/widgets"])
        #expect(unknown.termination == .exited(1))
        #expect(unknown.stderrText.contains("Error from server (NotFound): the server could not find the requested resource"), "\(unknown.stderrText)")
        let notAllowed = await sb.kubectl(k, ["delete", "--raw", "/api/v1/namespaces/default/events"])
        #expect(notAllowed.termination == .exited(1))
        #expect(notAllowed.stderrText.contains("MethodNotAllowed") || notAllowed.stderrText.contains("does not allow this method"), "\(notAllowed.stderrText)")
    }

    /// state.json is the API server's etcd: killed and started again by `up`, it serves the
    /// same objects on the same port with the same credentials.
    @Test func apiServerRestartKeepsStateAndKubeconfig() async throws {
        let sb = try sandbox()
        let k = try #require(KubectlBinary.all.first)
        let before = try json(await sb.kubectl(k, ["get", "pod", "redis-0", "-o", "json"]))
        let pidText = try String(contentsOf: sb.layout.apiServerPidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(Int32(pidText))
        kill(pid, SIGKILL)
        try await Task.sleep(for: .milliseconds(300))
        let up = await sb.sandbox(["up"])
        #expect(up.succeeded, "\(up.stderrText)")
        #expect(up.stdoutText.contains("restarting its API server"))
        let after = try json(await sb.kubectl(k, ["get", "pod", "redis-0", "-o", "json"]))
        #expect((before["metadata"] as? [String: Any])?["uid"] as? String == (after["metadata"] as? [String: Any])?["uid"] as? String)
    }

    /// watch-drop: a watch is closed by the server within seconds (kubectl then exits 0).
    @Test func watchDropClosesWatches() async throws {
        let sb = try sandbox()
        let k = try #require(KubectlBinary.all.first)
        _ = await sb.sandbox(["fault", "watch-drop"])
        let start = ContinuousClock.now
        let r = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=60"], timeout: .seconds(30))
        _ = await sb.sandbox(["heal"])
        #expect(ContinuousClock.now - start < .seconds(20), "\(r.termination)")
        #expect(r.termination != .timedOut)
    }

    /// api-slow: every response is delayed by the set time.
    @Test func apiSlowDelaysResponses() async throws {
        let sb = try sandbox()
        let k = try #require(KubectlBinary.all.first)
        _ = await sb.sandbox(["fault", "api-slow", "--delay", "1"])
        let start = ContinuousClock.now
        let r = await sb.kubectl(k, ["get", "pod", "redis-0", "-o", "name"])
        let took = ContinuousClock.now - start
        _ = await sb.sandbox(["heal"])
        #expect(r.stdoutText == "pod/redis-0\n", "\(r.stderrText)")
        #expect(took >= .seconds(1))
    }
}

extension KubectlConformanceTests {
    /// disk-full's remedy: `kubectl patch pvc C -p '{"spec":{"resources":{"requests":{"storage":"11Gi"}}}}'`
    /// grows the claim (and the tmpfs volume behind it); shrinking is refused with 422.
    @Test func pvcExpansion() async throws {
        let sb = try sandbox()
        let k = try #require(KubectlBinary.all.first)
        let pvc = try #require(try sb.state().pvcs.first)
        let gi = try #require(Int(pvc.request.replacingOccurrences(of: "Gi", with: "")), "request \(pvc.request)")
        let grow = await sb.kubectl(k, ["patch", "pvc", pvc.name, "-p", #"{"spec":{"resources":{"requests":{"storage":"\#(gi + 1)Gi"}}}}"#])
        #expect(grow.stdoutText == "persistentvolumeclaim/\(pvc.name) patched\n", "\(grow.stderrText)")
        let capacity = await sb.kubectl(k, ["get", "pvc", pvc.name, "-o", "jsonpath={.status.capacity.storage}"])
        #expect(capacity.stdoutText == "\(gi + 1)Gi")
        let shrink = await sb.kubectl(k, ["patch", "pvc", pvc.name, "-p", #"{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}"#])
        #expect(shrink.termination == .exited(1))
        #expect(shrink.stderrText.contains("is invalid"), "\(shrink.stderrText)")
        let badReplicas = await sb.kubectl(k, ["patch", "statefulset", "redis", "--type", "merge", "-p", #"{"spec":{"replicas":"many"}}"#])
        #expect(badReplicas.termination == .exited(1))
        #expect(try sb.state().statefulSet.replicas == 1)
    }
}

extension KubectlConformanceTests {
    /// The product's Redis session and the runbooks' exec steps: WebSocket exec (v5), stdin,
    /// the exit code through channel 3.
    @Test(arguments: KubectlBinary.all)
    func execRedisCli(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        #expect(await sb.waitUntil(60) { APISandbox.ready($0) })
        let ping = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "PING"])
        #expect(ping.stdoutText == "PONG\n", "\(ping.stderrText)")
        let failing = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "sh", "-c", "exit 3"])
        #expect(failing.termination == .exited(3))
        #expect(failing.stderrText.contains("command terminated with exit code 3"), "\(failing.stderrText)")
    }

    /// The Prober's and runbooks' `logs POD -c C --tail N` and the exporter through pods/proxy.
    @Test(arguments: KubectlBinary.all)
    func logsAndProxy(_ k: KubectlBinary) async throws {
        let sb = try sandbox()
        let logs = await sb.kubectl(k, ["logs", "redis-0", "-c", "redis", "--tail", "5"])
        #expect(logs.succeeded, "\(logs.stderrText)")
        #expect(logs.stdoutText.split(separator: "\n").count <= 5)
        let missing = await sb.kubectl(k, ["logs", "redis-9", "-c", "redis"])
        #expect(missing.termination == .exited(1))
        #expect(missing.stderrText.contains(#"pods "redis-9" not found"#), "\(missing.stderrText)")
        let metrics = await sb.kubectl(k, ["get", "--raw", "/api/v1/namespaces/default/pods/redis-0:9121/proxy/metrics"])
        #expect(metrics.stdoutText.contains("redis_up"), "\(metrics.stderrText)")
        let viewerLogs = await sb.kubectl(k, ["--context", "sandbox-viewer", "logs", "redis-0", "-c", "redis", "--tail", "1"])
        #expect(viewerLogs.succeeded, "\(viewerLogs.stderrText)")
    }
}
