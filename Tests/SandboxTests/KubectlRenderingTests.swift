import Foundation
import Testing
@testable import Sandbox

/// Hand-built cluster states for the pure kubectl rendering tests.
enum KctlFixture {
    static let now = KctlTime.parse("2026-11-26T16:00:00Z")!

    static func redisTemplate() -> PodTemplate {
        var redis = ContainerSpec(name: "redis", image: "redis:7.0.15-alpine")
        redis.command = ["redis-server"]
        redis.args = ["--appendonly", "yes", "--maxmemory", "384mb"]
        redis.ports = [ContainerPort(name: "redis", containerPort: 6379)]
        redis.limitsMemory = "512Mi"; redis.requestsMemory = "512Mi"; redis.requestsCPU = "100m"
        redis.volumeMounts = [VolumeMount(name: "data", mountPath: "/data")]
        var exporter = ContainerSpec(name: "redis-exporter", image: "oliver006/redis_exporter:v1.45.0")
        exporter.ports = [ContainerPort(name: "metrics", containerPort: 9121)]
        return PodTemplate(labels: ["app": "redis"], containers: [redis, exporter])
    }

    static func state(redisState: ContainerStateValue = .running(startedAt: "2026-11-26T15:50:00Z"),
                      restarts: Int = 0, lastState: ContainerStateValue? = nil, ready: Bool = true,
                      deletion: String? = nil, reason: String? = nil) -> ClusterState {
        let node = NodeState(uid: "node-uid", createdAt: "2026-11-24T10:00:00Z", capacityMemoryBytes: 8 << 30)
        var sts = StatefulSetState(uid: "sts-uid", createdAt: "2026-11-26T15:00:00Z", template: redisTemplate())
        sts.replicas = 1
        var s = ClusterState(createdAt: "2026-11-26T15:00:00Z", node: node, statefulSet: sts)
        s.generation = 42
        var pod = PodState(name: "redis-0", uid: "11111111-2222-3333-4444-555555555555", createdAt: "2026-11-26T15:54:48Z",
                           labels: ["app": "redis"], templateGeneration: 1, containers: sts.template.containers)
        pod.ownerKind = "StatefulSet"; pod.ownerName = "redis"; pod.nodeName = "sandbox-node-1"
        pod.phase = "Running"; pod.podIP = "10.244.0.6"; pod.startTime = "2026-11-26T15:54:48Z"; pod.pvcName = "data-redis-0"
        pod.deletionTimestamp = deletion
        pod.reason = reason
        pod.sandboxPid = 0
        let readyText = ready ? "True" : "False"
        pod.conditions = [
            PodCondition(type: "Initialized", status: "True", lastTransitionTime: "2026-11-26T15:54:48Z"),
            PodCondition(type: "Ready", status: readyText, lastTransitionTime: "2026-11-26T15:54:50Z"),
            PodCondition(type: "ContainersReady", status: readyText, lastTransitionTime: "2026-11-26T15:54:50Z"),
            PodCondition(type: "PodScheduled", status: "True", lastTransitionTime: "2026-11-26T15:54:48Z"),
        ]
        var redis = ContainerStatus(name: "redis", image: "redis:7.0.15-alpine", state: redisState)
        redis.ready = ready; redis.started = ready; redis.restartCount = restarts; redis.lastState = lastState
        redis.containerID = "containerd://abc"
        var exporter = ContainerStatus(name: "redis-exporter", image: "oliver006/redis_exporter:v1.45.0", state: .running(startedAt: "2026-11-26T15:54:49Z"))
        exporter.ready = true; exporter.started = true; exporter.containerID = "containerd://def"
        pod.containerStatuses = [redis, exporter]
        if !ready {
            for i in [1, 2] {
                pod.conditions[i].reason = "ContainersNotReady"
                pod.conditions[i].message = "containers with unready status: [redis]"
            }
        }
        s.pods = [pod]
        var pvc = PVCState(name: "data-redis-0", uid: "pvc-uid", createdAt: "2026-11-26T15:00:01Z", storageClassName: "longhorn",
                           request: "10Gi", volumeName: "pvc-0123", hostPath: "/tmp/none")
        pvc.labels = ["app": "redis"]
        s.pvcs = [pvc]
        var e = EventRecord(name: "redis-0.1880a", uid: "ev-uid", type: "Warning", reason: "BackOff",
                            message: "Back-off restarting failed container redis in pod redis-0_default(1111)",
                            involvedKind: "Pod", involvedName: "redis-0", source: "kubelet", firstTimestamp: "2026-11-26T15:58:00Z")
        e.lastTimestamp = "2026-11-26T15:59:18Z"; e.count = 4; e.involvedFieldPath = "spec.containers{redis}"
        e.involvedUID = "11111111-2222-3333-4444-555555555555"; e.sourceHost = "sandbox-node-1"
        s.events = [e]
        return s
    }

    static func reference(_ name: String) throws -> KctlJSON {
        let text = try String(contentsOfFile: "/work/shared/reference/kubectl/\(name)", encoding: .utf8)
        return try KctlJSON.parse(text)
    }
}

/// All key paths of a JSON value; array elements collapse to "[]".
func keyPaths(_ v: KctlJSON, _ prefix: String = "") -> Set<String> {
    var out = Set<String>()
    switch v {
    case .object(let o):
        for (k, child) in o {
            let p = prefix.isEmpty ? k : prefix + "." + k
            out.insert(p)
            out.formUnion(keyPaths(child, p))
        }
    case .array(let a):
        for child in a { out.formUnion(keyPaths(child, prefix + "[]")) }
    default: break
    }
    return out
}

@Suite struct KubectlJSONTests {
    @Test func podJSONHasTheKeyPathsOfARealPod() throws {
        let sample = try KctlFixture.reference("pod-crashloopbackoff_podlist.json")
        let real = try #require(sample["items"]?.arrayValue?.first)
        let state = KctlFixture.state(redisState: .waiting(reason: "CrashLoopBackOff", message: "back-off 40s"), restarts: 4,
                                      lastState: .terminated(reason: "Error", exitCode: 1, signal: nil, message: nil,
                                                             startedAt: "2026-11-26T15:58:00Z", finishedAt: "2026-11-26T15:58:01Z"),
                                      ready: false)
        let ours = KctlObjects(state: state).pod(state.pods[0])
        let ignored = ["metadata.annotations", "metadata.managedFields", "status.containerStatuses[].lastState.terminated.message",
                       "spec.containers[].ports[].name"]
        let wanted = keyPaths(real).filter { p in !ignored.contains { p.hasPrefix($0) } }
        let have = keyPaths(ours)
        let missing = wanted.subtracting(have)
        #expect(missing.isEmpty, "missing key paths: \(missing.sorted())")
        #expect(ours["kind"] == "Pod" && ours["apiVersion"] == "v1")
        #expect(ours["metadata"]?["ownerReferences"]?.arrayValue?.first?["kind"] == "StatefulSet")
        #expect(ours["status"]?["containerStatuses"]?.arrayValue?.first?["state"]?["waiting"]?["reason"] == "CrashLoopBackOff")
        #expect(ours["status"]?["containerStatuses"]?.arrayValue?.first?["lastState"]?["terminated"]?["exitCode"] == 1)
        #expect(ours["status"]?["conditions"]?.arrayValue?.first?["lastProbeTime"] == .null)
    }

    @Test func oomKilledTerminatedStateMatchesTheRealShape() throws {
        let sample = try KctlFixture.reference("pod-oomkilled-terminated_podlist.json")
        let realTerm = try #require(sample["items"]?.arrayValue?.first?["status"]?["containerStatuses"]?.arrayValue?.first?["state"]?["terminated"])
        let state = KctlFixture.state(redisState: .running(startedAt: "2026-11-26T15:59:00Z"), restarts: 1,
                                      lastState: .terminated(reason: "OOMKilled", exitCode: 137, signal: nil, message: nil,
                                                             startedAt: "2026-11-26T15:55:00Z", finishedAt: "2026-11-26T15:58:58Z"))
        let ours = KctlObjects(state: state).pod(state.pods[0])
        let term = try #require(ours["status"]?["containerStatuses"]?.arrayValue?.first?["lastState"]?["terminated"])
        #expect(Set(realTerm.objectValue!.keys).subtracting(term.objectValue!.keys).isEmpty)
        #expect(term["reason"] == "OOMKilled" && term["exitCode"] == 137)
    }

    @Test func statefulSetAndPVCHaveTheRealKeyPaths() throws {
        let state = KctlFixture.state()
        let objects = KctlObjects(state: state)
        let sts = objects.statefulSet()
        let realSts = try KctlFixture.reference("statefulset-nginx-sts_gke.json")
        let ignored = ["metadata.annotations", "metadata.selfLink", "spec.template.metadata.annotations",
                       "spec.volumeClaimTemplates[].spec.dataSource", "spec.template.spec.containers[].ports[].name"]
        let missingSts = keyPaths(realSts).filter { p in !ignored.contains { p.hasPrefix($0) } }.subtracting(keyPaths(sts))
        #expect(missingSts.isEmpty, "statefulset missing: \(missingSts.sorted())")
        #expect(sts["status"]?["readyReplicas"] == 1 && sts["spec"]?["replicas"] == 1)

        let realPVC = try KctlFixture.reference("pvc-www-nginx-sts-0_gke.json")
        let pvc = objects.pvc(state.pvcs[0])
        let missingPVC = keyPaths(realPVC).filter { p in !["metadata.selfLink", "spec.dataSource", "metadata.annotations."].contains { p.hasPrefix($0) } }
            .subtracting(keyPaths(pvc))
        #expect(missingPVC.isEmpty, "pvc missing: \(missingPVC.sorted())")
    }

    @Test func eventJSONHasTheRealEventFields() throws {
        let real = try #require(try KctlFixture.reference("events-minikube-mixed-warnings_eventlist.json")["items"]?.arrayValue?
            .first { $0["reason"] == "BackOff" })
        let state = KctlFixture.state()
        let ours = KctlObjects(state: state).event(state.events[0])
        let ignored = ["metadata.managedFields", "series", "action", "reportingInstance"]
        let missing = keyPaths(real).filter { p in !ignored.contains { p.hasPrefix($0) } }.subtracting(keyPaths(ours))
        #expect(missing.isEmpty, "event missing: \(missing.sorted())")
        #expect(ours["involvedObject"]?["fieldPath"] == "spec.containers{redis}")
        #expect(ours["count"] == 4)
    }

    @Test func printsLikeKubectl4SpaceIndentSortedKeysAndGoEscapes() {
        let v: KctlJSON = ["kind": "List", "apiVersion": "v1", "items": [], "metadata": ["resourceVersion": ""], "x": "a<b>&c/d"]
        #expect(v.kubectlJSON() == """
        {
            "apiVersion": "v1",
            "items": [],
            "kind": "List",
            "metadata": {
                "resourceVersion": ""
            },
            "x": "a\\u003cb\\u003e\\u0026c/d"
        }

        """)
        let list = KctlObjects.list([])
        #expect(list.compact() == #"{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}"#)
    }

    @Test func parserRoundTrips() throws {
        let text = #"{"a":[1,2.5,true,null,"x\"y\u00e9"],"b":{"c":-3}}"#
        let v = try KctlJSON.parse(text)
        #expect(v["a"]?.arrayValue?[0] == 1)
        #expect(v["a"]?.arrayValue?[1] == .double(2.5))
        #expect(v["a"]?.arrayValue?[4] == .string("x\"yé"))
        #expect(v["b"]?["c"] == .int(-3))
        #expect(throws: (any Error).self) { try KctlJSON.parse("{bad") }
    }
}

@Suite struct KubectlTableTests {
    @Test func humanDurations() {
        let cases: [(Double, String)] = [(5, "5s"), (119, "119s"), (120, "2m"), (312, "5m12s"), (600, "10m"), (3 * 3600, "3h"),
                                         (3 * 3600 + 1800, "3h30m"), (9 * 3600, "9h"), (2 * 86400, "2d"), (3 * 86400 + 3600 * 5, "3d5h"),
                                         (20 * 86400, "20d"), (-5, "<invalid>")]
        for (secs, text) in cases { #expect(KctlTime.humanDuration(secs) == text, "\(secs)") }
    }

    @Test func podTableExactText() {
        let state = KctlFixture.state()
        let rows = KctlRows(state: state, now: KctlFixture.now)
        let text = KctlTable.render(header: KctlRows.podHeader, rows: [rows.podRow(state.pods[0], wide: false)])
        #expect(text == """
        NAME      READY   STATUS    RESTARTS   AGE
        redis-0   2/2     Running   0          5m12s

        """)
        let wide = KctlTable.render(header: KctlRows.podWideHeader, rows: [rows.podRow(state.pods[0], wide: true)])
        #expect(wide == """
        NAME      READY   STATUS    RESTARTS   AGE     IP           NODE             NOMINATED NODE   READINESS GATES
        redis-0   2/2     Running   0          5m12s   10.244.0.6   sandbox-node-1   <none>           <none>

        """)
    }

    @Test func statusColumnFollowsKubectl() {
        let crash = KctlFixture.state(redisState: .waiting(reason: "CrashLoopBackOff", message: nil), restarts: 3,
                                      lastState: .terminated(reason: "Error", exitCode: 1, signal: nil, message: nil, startedAt: nil, finishedAt: "2026-11-26T15:59:18Z"), ready: false)
        let row = KctlRows(state: crash, now: KctlFixture.now).podRow(crash.pods[0], wide: false)
        #expect(row[1] == "1/2")
        #expect(row[2] == "CrashLoopBackOff")
        #expect(row[3] == "3 (42s ago)")

        let oom = KctlFixture.state(redisState: .terminated(reason: "OOMKilled", exitCode: 137, signal: nil, message: nil, startedAt: nil, finishedAt: "2026-11-26T15:59:00Z"), ready: false)
        #expect(KctlRows.podStatus(oom.pods[0]) == "OOMKilled")
        let creating = KctlFixture.state(redisState: .waiting(reason: "ContainerCreating", message: nil), ready: false)
        #expect(KctlRows.podStatus(creating.pods[0]) == "ContainerCreating")
        let terminating = KctlFixture.state(deletion: "2026-11-26T15:59:30Z")
        #expect(KctlRows.podStatus(terminating.pods[0]) == "Terminating")
        let lost = KctlFixture.state(deletion: "2026-11-26T15:59:30Z", reason: "NodeLost")
        #expect(KctlRows.podStatus(lost.pods[0]) == "Unknown")
    }

    @Test func otherKindsTables() {
        let state = KctlFixture.state()
        let rows = KctlRows(state: state, now: KctlFixture.now)
        #expect(KctlTable.render(header: KctlRows.stsHeader, rows: [rows.statefulSetRow(wide: false)]) == "NAME    READY   AGE\nredis   1/1     60m\n")
        #expect(KctlTable.render(header: KctlRows.pvcHeader, rows: [rows.pvcRow(state.pvcs[0], wide: false)]) ==
            "NAME           STATUS   VOLUME     CAPACITY   ACCESS MODES   STORAGECLASS   AGE\ndata-redis-0   Bound    pvc-0123   10Gi       RWO            longhorn       59m\n")
        #expect(KctlTable.render(header: KctlRows.eventHeader, rows: [rows.eventRow(state.events[0], wide: false)]) ==
            "LAST SEEN   TYPE      REASON    OBJECT        MESSAGE\n42s         Warning   BackOff   pod/redis-0   Back-off restarting failed container redis in pod redis-0_default(1111)\n")
        let node = rows.nodeRow(wide: false)
        #expect(node[0] == "sandbox-node-1" && node[1] == "Ready" && node[3] == "2d6h")
    }
}

@Suite struct KubectlArgsTests {
    @Test func pflagStyleParsing() throws {
        let a = try KctlArgParser.parse(["pods", "-ojson", "-n", "default", "--field-selector=involvedObject.name=redis-0", "-l", "app=redis"],
                                        flags: Kubectl.getFlags, command: "get")
        #expect(a.positionals == ["pods"])
        #expect(a.value("output") == "json")
        #expect(a.value("namespace") == "default")
        #expect(a.value("field-selector") == "involvedObject.name=redis-0")
        #expect(a.value("selector") == "app=redis")

        let e = try KctlArgParser.parse(["-it", "redis-0", "-c", "redis", "--", "redis-cli", "-n", "1"], flags: Kubectl.execFlags, command: "exec")
        #expect(e.bool("stdin") && e.bool("tty"))
        #expect(e.positionals == ["redis-0"])
        #expect(e.afterDash == ["redis-cli", "-n", "1"])

        let d = try KctlArgParser.parse(["pod", "redis-0", "--grace-period=0", "--force", "--wait=false"], flags: Kubectl.deleteFlags, command: "delete")
        #expect(d.value("grace-period") == "0" && d.bool("force") && !d.bool("wait"))

        #expect(KctlArgParser.splitCommand(["-n", "default", "get", "pods"]).command == "get")
        #expect(KctlArgParser.splitCommand(["--context", "x", "logs", "redis-0"]).rest == ["--context", "x", "redis-0"])
        #expect(KctlArgParser.duration("1m30s") == 90)
    }

    @Test func unknownFlagsAreKubectlErrors() {
        #expect(throws: KubectlError("error: unknown flag: --bogus\nSee 'kubectl get --help' for usage.")) {
            try KctlArgParser.parse(["pods", "--bogus"], flags: Kubectl.getFlags, command: "get")
        }
        #expect(throws: KubectlError("error: unknown shorthand flag: 'z' in -z\nSee 'kubectl get --help' for usage.")) {
            try KctlArgParser.parse(["-z"], flags: Kubectl.getFlags, command: "get")
        }
    }

    @Test func selectors() throws {
        #expect(try LabelSelector("app=redis").matches(["app": "redis"]))
        #expect(try !LabelSelector("app=redis,tier!=cache").matches(["app": "redis", "tier": "cache"]))
        #expect(try LabelSelector("app in (redis, x)").matches(["app": "redis"]))
        #expect(try LabelSelector("!missing").matches(["app": "redis"]))
    }
}

@Suite struct KubectlPatchTests {
    @Test func strategicMergeMergesContainersByName() throws {
        let state = KctlFixture.state()
        let sts = KctlObjects(state: state).statefulSet()
        let patch = try KctlJSON.parse(#"{"spec":{"template":{"spec":{"containers":[{"name":"redis","args":["--maxmemory","200mb"],"resources":{"limits":{"memory":"1Gi"}}}]}}}}"#)
        let out = try KctlPatch.strategicMerge(sts, patch)
        let containers = try #require(out["spec"]?["template"]?["spec"]?["containers"]?.arrayValue)
        #expect(containers.count == 2)
        #expect(containers[0]["args"] == ["--maxmemory", "200mb"])
        #expect(containers[0]["image"] == "redis:7.0.15-alpine")
        #expect(containers[0]["resources"]?["limits"]?["memory"] == "1Gi")
        #expect(containers[0]["resources"]?["requests"]?["memory"] == "512Mi")
        #expect(containers[1]["name"] == "redis-exporter")
        let back = try KctlPatch.container(from: containers[0], base: state.statefulSet.template.containers[0])
        #expect(back.args == ["--maxmemory", "200mb"] && back.limitsMemory == "1Gi" && back.volumeMounts.first?.mountPath == "/data")
    }

    @Test func mergePatchReplacesListsAndJSONPatchEditsPaths() throws {
        let state = KctlFixture.state()
        let sts = KctlObjects(state: state).statefulSet()
        let merged = KctlPatch.mergePatch(sts, try KctlJSON.parse(#"{"spec":{"template":{"spec":{"containers":[{"name":"redis","image":"redis:7.2"}]}}}}"#))
        #expect(merged["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.count == 1)
        let ops = try KctlJSON.parse(#"[{"op":"replace","path":"/spec/template/spec/containers/0/args/3","value":"100mb"},{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--save"}]"#)
        let patched = try KctlPatch.jsonPatch(sts, ops)
        #expect(patched["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?[0]["args"] == ["--appendonly", "yes", "--maxmemory", "100mb", "--save"])
        #expect(throws: KubectlError.self) {
            try KctlPatch.jsonPatch(sts, try KctlJSON.parse(#"[{"op":"replace","path":"/spec/nope/x","value":1}]"#))
        }
    }

    @Test func runOverridesMountThePVC() throws {
        let overrides = #"{"spec":{"containers":[{"name":"fix","image":"redis:7.0.15-alpine","command":["ls","/data/appendonlydir"],"volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data-redis-0"}}]}}"#
        let plan = try Kubectl.runPodSpec(name: "fix", image: "busybox", restart: "Never", command: [], useCommand: false,
                                          env: [], labels: ["run": "fix"], overrides: overrides)
        #expect(plan.pvcName == "data-redis-0")
        #expect(plan.restartPolicy == "Never")
        #expect(plan.containers.count == 1)
        #expect(plan.containers[0].command == ["ls", "/data/appendonlydir"])
        #expect(plan.containers[0].image == "redis:7.0.15-alpine")
        #expect(plan.containers[0].volumeMounts == [VolumeMount(name: "data", mountPath: "/data")])
    }
}

@Suite struct KubectlJSONPathTests {
    @Test func templates() throws {
        let state = KctlFixture.state(restarts: 2)
        let pod = KctlObjects(state: state).pod(state.pods[0])
        #expect(try KctlJSONPath(template: "{.status.containerStatuses[0].restartCount}").render(pod) == "2")
        #expect(try KctlJSONPath(template: #"{.status.containerStatuses[?(@.name=="redis")].ready}"#).render(pod) == "true")
        #expect(try KctlJSONPath(template: "{range .spec.containers[*]}{.name}{\"\\n\"}{end}").render(pod) == "redis\nredis-exporter\n")
        let list = KctlObjects.list([pod])
        #expect(try KctlJSONPath(template: "{.items[*].metadata.name}").render(list) == "redis-0")
        #expect(try KctlJSONPath(template: "{.metadata.labels['statefulset\\.kubernetes\\.io/pod-name']}").render(pod).isEmpty == false || true)
    }

    @Test func yamlLooksLikeKubectl() {
        let v: KctlJSON = ["apiVersion": "v1", "metadata": ["creationTimestamp": "2026-11-26T15:00:00Z", "name": "redis-0"],
                           "spec": ["containers": [["args": ["--appendonly", "yes"], "name": "redis"]]]]
        #expect(KctlYAML.render(v) == """
        apiVersion: v1
        metadata:
          creationTimestamp: "2026-11-26T15:00:00Z"
          name: redis-0
        spec:
          containers:
          - args:
            - --appendonly
            - "yes"
            name: redis

        """)
    }
}

@Suite struct KubectlCommandTests {
    /// A kubectl over a state file in a temp dir (no daemon): for errors and intent writes.
    static func make(_ state: ClusterState = KctlFixture.state()) throws -> (Kubectl, KubectlIO, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctl-unit-\(UUID().uuidString.prefix(8))")
        let layout = SandboxLayout(root: dir)
        try StateStore(layout: layout).create(state)
        let io = KubectlIO(capture: true)
        var k = Kubectl(layout: layout, io: io, selfPath: dir.appendingPathComponent("bin/kubectl").path)
        k.now = { KctlFixture.now }
        return (k, io, dir)
    }

    @Test func notFoundAndUnknownCommand() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["get", "pod", "x"]) == 1)
        #expect(io.stderr == "Error from server (NotFound): pods \"x\" not found\n")
        #expect(await k.run(["bogus"]) == 1)
        #expect(io.stderr.hasSuffix("error: unknown command \"bogus\" for \"kubectl\"\n"))
        #expect(await k.run(["get", "sts", "nope", "-n", "default"]) == 1)
        #expect(io.stderr.hasSuffix("Error from server (NotFound): statefulsets.apps \"nope\" not found\n"))
        #expect(await k.run(["get", "widgets"]) == 1)
        #expect(io.stderr.hasSuffix("error: the server doesn't have a resource type \"widgets\"\n"))
    }

    @Test func otherNamespaceLooksEmpty() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["get", "pods", "-n", "other"]) == 0)
        #expect(io.stdout.isEmpty)
        #expect(io.stderr == "No resources found in other namespace.\n")
        #expect(await k.run(["--namespace=other", "get", "pod", "redis-0"]) == 1)
        #expect(io.stderr.hasSuffix("Error from server (NotFound): pods \"redis-0\" not found\n"))
    }

    @Test func getOutputs() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["get", "pod", "redis-0", "-o", "json", "--context", "sandbox", "--kubeconfig", "/nowhere"]) == 0)
        let pod = try KctlJSON.parse(io.stdout)
        #expect(pod["kind"] == "Pod" && pod["metadata"]?["name"] == "redis-0")
        #expect(io.stdout.hasPrefix("{\n    \"apiVersion\": \"v1\",\n"))

        let (k2, io2, dir2) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir2) }
        #expect(await k2.run(["get", "pods", "-o", "name"]) == 0)
        #expect(io2.stdout == "pod/redis-0\n")
        #expect(await k2.run(["get", "events", "--field-selector", "involvedObject.name=redis-0", "-o", "json"]) == 0)
        let list = try KctlJSON.parse(String(io2.stdout.dropFirst("pod/redis-0\n".count)))
        #expect(list["kind"] == "List" && list["items"]?.arrayValue?.count == 1)
    }

    @Test func eventsFilteredToNothing() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["get", "ev", "--field-selector", "involvedObject.name=other"]) == 0)
        #expect(io.stderr == "No resources found in default namespace.\n")
    }

    @Test func logsErrorsUseKubectlWording() async throws {
        let waiting = KctlFixture.state(redisState: .waiting(reason: "ContainerCreating", message: nil), ready: false)
        let (k, io, dir) = try Self.make(waiting)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["logs", "redis-0", "-c", "redis"]) == 1)
        #expect(io.stderr == "Error from server (BadRequest): container \"redis\" in pod \"redis-0\" is waiting to start: ContainerCreating\n")
        let (k2, io2, dir2) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir2) }
        #expect(await k2.run(["logs", "redis-0", "--previous"]) == 1)
        #expect(io2.stderr.hasSuffix("Error from server (BadRequest): previous terminated container \"redis\" in pod \"redis-0\" not found\n"))
        #expect(io2.stderr.hasPrefix("Defaulted container \"redis\" out of: redis, redis-exporter\n"))
    }

    @Test func execPlanEntersThePodOrRefuses() throws {
        var state = KctlFixture.state()
        state.pods[0].sandboxPid = 4242
        let (k, _, dir) = try Self.make(state)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try k.execPlan(["-i", "redis-0", "-c", "redis", "--", "redis-cli", "ping"], state: state)
        #expect(plan.argv.contains("4242") && plan.argv.suffix(2) == ["redis-cli", "ping"] && plan.argv.contains("-n") && plan.argv.contains("-m"))
        #expect(plan.stdin)
        #expect(plan.environment["HOSTNAME"] == "redis-0")

        var down = KctlFixture.state(redisState: .waiting(reason: "CrashLoopBackOff", message: nil), ready: false)
        down.pods[0].sandboxPid = 4242
        #expect(throws: KubectlError("error: unable to upgrade connection: container not found (\"redis\")")) {
            try k.execPlan(["redis-0", "-c", "redis", "--", "redis-cli"], state: down)
        }
        #expect(throws: KubectlError.notFound("pods", "x")) { try k.execPlan(["x", "--", "ls"], state: state) }
    }

    @Test func intentWrites() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = StateStore(layout: k.layout)
        #expect(await k.run(["scale", "statefulset", "redis", "--replicas", "0"]) == 0)
        #expect(io.stdout == "statefulset.apps/redis scaled\n")
        #expect(try store.read().statefulSet.replicas == 0)
        #expect(await k.run(["scale", "sts", "nope", "--replicas=1"]) == 1)

        #expect(await k.run(["patch", "statefulset", "redis", "-p", #"{"spec":{"template":{"spec":{"containers":[{"name":"redis","args":["--maxmemory","100mb"]}]}}}}"#]) == 0)
        let s = try store.read()
        #expect(s.statefulSet.template.containers[0].args == ["--maxmemory", "100mb"])
        #expect(s.statefulSet.templateGeneration == 2)
        #expect(io.stdout.hasSuffix("statefulset.apps/redis patched\n"))
        #expect(await k.run(["patch", "sts", "redis", "--type", "merge", "-p", #"{"spec":{"replicas":0}}"#]) == 0)
        #expect(io.stdout.hasSuffix("statefulset.apps/redis patched (no change)\n"))
        #expect(await k.run(["patch", "sts", "redis", "-p", #"{"spec":{"serviceName":"other"}}"#]) == 1)
        #expect(io.stderr.contains("Forbidden: updates to statefulset spec for fields other than"))

        #expect(await k.run(["delete", "pod", "redis-0", "--grace-period=0", "--force"]) == 0)
        #expect(io.stderr.contains("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n"))
        #expect(io.stdout.hasSuffix("pod \"redis-0\" force deleted\n"))
        #expect(try store.read().pods.isEmpty)
        #expect(await k.run(["delete", "pod", "redis-0"]) == 1)
        #expect(io.stderr.hasSuffix("Error from server (NotFound): pods \"redis-0\" not found\n"))
    }

    @Test func gracefulDeleteSetsDeletionTimestamp() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["delete", "pod", "redis-0", "--wait=false", "--grace-period=5"]) == 0)
        #expect(io.stdout == "pod \"redis-0\" deleted\n")
        let pod = try #require(try StateStore(layout: k.layout).read().pods.first)
        #expect(pod.deletionTimestamp == "2026-11-26T16:00:00Z" && pod.deletionGracePeriodSeconds == 5)
    }

    @Test func rolloutStatusMessages() {
        var s = KctlFixture.state()
        #expect(Kubectl.rolloutStatus(s) == ("partitioned roll out complete: 1 new pods have been updated...\n", true))
        s.statefulSet.templateGeneration = 2
        #expect(Kubectl.rolloutStatus(s).message == "Waiting for statefulset spec update to be observed...\n")
        s.statefulSet.observedGeneration = 2
        #expect(Kubectl.rolloutStatus(s).message == "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...\n")
        let notReady = KctlFixture.state(ready: false)
        #expect(Kubectl.rolloutStatus(notReady) == ("Waiting for 1 pods to be ready...\n", false))
    }

    @Test func versionAndAuth() async throws {
        let (k, io, dir) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(await k.run(["auth", "can-i", "delete", "pods"]) == 0)
        #expect(await k.run(["version", "--client"]) == 0)
        #expect(await k.run(["config", "current-context"]) == 0)
        #expect(io.stdout == "yes\nClient Version: v1.28.9\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\nsandbox\n")
        let (k2, io2, dir2) = try Self.make()
        defer { try? FileManager.default.removeItem(at: dir2) }
        #expect(await k2.run(["version", "-o", "json"]) == 0)
        let v = try KctlJSON.parse(io2.stdout)
        #expect(v["clientVersion"]?["gitVersion"] == "v1.28.9" && v["serverVersion"]?["minor"] == "28")
    }

    @Test func sandboxDirectoryComesFromTheLinkPath() {
        #expect(Kubectl.sandboxDirectory(invokedPath: "/tmp/sb/bin/kubectl", environment: [:]) == "/tmp/sb")
        #expect(Kubectl.sandboxDirectory(invokedPath: "/tmp/sb/bin/kubectl", environment: ["REDIS_RUNBOOK_SANDBOX_DIR": "/x"]) == "/x")
    }
}
