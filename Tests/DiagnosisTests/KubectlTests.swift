import Foundation
import Testing
@testable import Diagnosis

@Suite struct KubectlTests {
    func data(_ f: String) throws -> Data { try Fixture.data("kubectl/" + f) }

    @Test func everyJSONFixtureDecodes() throws {
        let files = try Fixture.list("kubectl").filter { $0.hasSuffix(".json") }
        #expect(files.count == 11)
        for f in files {
            let d = try data(f)
            let ok: Bool
            if f.hasPrefix("pod") && !f.hasPrefix("pvc") { ok = try !KubeJSON.pods(from: d).isEmpty }
            else if f.hasPrefix("events") { ok = try !KubeJSON.events(from: d).isEmpty }
            else if f.hasPrefix("statefulset") { ok = try !KubeJSON.statefulSets(from: d).isEmpty }
            else { ok = try !KubeJSON.pvcs(from: d).isEmpty }
            #expect(ok, "\(f)")
        }
    }

    @Test func healthyMulticontainerPodWithoutKind() throws {
        let pod = try KubeJSON.pod(from: data("pod-running-healthy-multicontainer_alertmanager-main-0_openshift.json"))
        #expect(pod.kind == nil)
        #expect(pod.metadata?.name == "alertmanager-main-0")
        #expect(pod.status?.phase == "Running")
        #expect(pod.isReady == true)
        #expect(pod.status?.containerStatuses?.count == 5)
        #expect(pod.status?.containerStatuses?.allSatisfy { $0.state?.name == "running" && $0.restartCount == 0 } == true)
        #expect(pod.spec?.nodeName == "ip-10-0-134-121.us-east-2.compute.internal")
        let s = SnapshotBuilder.podSummary(pod, node: nil, events: [], redisContainer: "redis")
        #expect(s.restarts == 0 && s.ready == true && s.containers.count == 5)
        #expect(s.redisMemoryLimitBytes == nil)
    }

    @Test func crashLoopPod() throws {
        let pod = try KubeJSON.pod(from: data("pod-crashloopbackoff_podlist.json"))
        let st = try #require(pod.status?.containerStatuses?.first)
        #expect(st.state?.waiting?.reason == "CrashLoopBackOff")
        #expect(st.lastState?.terminated?.exitCode == 127)
        #expect(st.lastState?.terminated?.reason == "ContainerCannotRun")
        #expect(st.restartCount == 4)
        let s = SnapshotBuilder.podSummary(pod, node: nil, events: [], redisContainer: "redis")
        #expect(s.containers.first?.reason == "CrashLoopBackOff")
        #expect(s.containers.first?.lastTermination == Termination(reason: "ContainerCannotRun", exitCode: 127, finishedAt: "2023-07-11T03:33:15Z"))
    }

    @Test func oomKilledJobPod() throws {
        let pod = try KubeJSON.pod(from: data("pod-oomkilled-terminated_podlist.json"))
        #expect(pod.status?.phase == "Failed")
        #expect(pod.status?.containerStatuses?.first?.state?.terminated?.reason == "OOMKilled")
        #expect(pod.status?.containerStatuses?.first?.state?.terminated?.exitCode == 137)
        #expect(pod.spec?.containers?.first?.resources?.limits?["memory"]?.value == Int64(104_857_600))
        let s = SnapshotBuilder.podSummary(pod, node: nil, events: [], redisContainer: "memory-eater")
        #expect(s.containers.first?.lastTermination?.reason == "OOMKilled")
        #expect(s.redisMemoryLimitBytes == 104857600)
    }

    @Test func pendingPods() throws {
        let gpu = try KubeJSON.pod(from: data("pod-pending-unschedulable-insufficient-gpu_podlist.json"))
        #expect(gpu.status?.phase == "Pending")
        let sched = gpu.status?.conditions?.first { $0.type == "PodScheduled" }
        #expect(sched?.status == "False" && sched?.reason == "Unschedulable")
        #expect(sched?.message?.contains("Insufficient nvidia.com/gpu") == true)
        #expect(gpu.spec?.containers?.first?.resources?.limits?["memory"]?.value == Int64(5_368_709_120))
        let router = try KubeJSON.pod(from: data("pod-pending-unschedulable_router-default_openshift.json"))
        #expect(router.metadata?.name == "router-default-7bbdcfcf9b-7xdln")
        #expect(router.status?.containerStatuses == nil)
        let creating = try KubeJSON.pod(from: data("pod-containercreating-failedmount_podlist.json"))
        #expect(creating.status?.containerStatuses?.first?.state?.waiting?.reason == "ContainerCreating")
        #expect(creating.spec?.nodeName == "minikube")
    }

    @Test func events() throws {
        let events = try KubeJSON.events(from: data("events-minikube-mixed-warnings_eventlist.json"))
        #expect(events.count == 76)
        #expect(events.filter { $0.type == "Warning" }.count == 24)
        let first = try #require(events.first)
        #expect(first.reason == "Scheduled")
        #expect(first.lastTimestamp == nil && first.eventTime == "2023-07-10T05:31:39.694297Z")
        #expect(first.when == "2023-07-10T05:31:39.694297Z")
        #expect(Set(events.compactMap(\.reason)).isSuperset(of: ["FailedScheduling", "BackOff", "Unhealthy", "FailedMount"]))
        // Warning events of one pod, newest first.
        let pod = try KubeJSON.pod(from: Data(#"{"metadata":{"name":"no-image-deployment-849c4c4958-l595s"},"status":{}}"#.utf8))
        let s = SnapshotBuilder.podSummary(pod, node: nil, events: events, redisContainer: "redis")
        #expect(s.warnings.count == 5)
        #expect(s.warnings.allSatisfy { $0.type == "Warning" })
        let times = s.warnings.compactMap(\.lastTimestamp)
        #expect(times == times.sorted(by: >))
    }

    /// Same-second events in the order they happened (resourceVersion), whatever order they
    /// arrive in: the order an operator reads as "what happened first".
    @Test func sameSecondEventsKeepTheirTrueOrder() throws {
        func ev(_ name: String, _ reason: String, _ when: String, rv: String) -> String {
            #"{"metadata":{"name":"\#(name)","resourceVersion":"\#(rv)"},"type":"Warning","reason":"\#(reason)","message":"m","lastTimestamp":"\#(when)","involvedObject":{"name":"redis-0"}}"#
        }
        let items = [ev("e1", "Killing", "2026-12-04T10:00:05Z", rv: "101"),
                     ev("e2", "BackOff", "2026-12-04T10:00:05Z", rv: "109"),
                     ev("e3", "Unhealthy", "2026-12-04T10:00:05Z", rv: "104"),
                     ev("e0", "Started", "2026-12-04T10:00:04Z", rv: "120")]
        let pod = try KubeJSON.pod(from: Data(#"{"metadata":{"name":"redis-0"},"status":{}}"#.utf8))
        for order in [items, items.reversed(), [items[2], items[0], items[3], items[1]]] {
            let list = try KubeJSON.events(from: Data(#"{"kind":"EventList","items":[\#(order.joined(separator: ","))]}"#.utf8))
            let s = SnapshotBuilder.podSummary(pod, node: nil, events: list, redisContainer: "redis")
            #expect(s.warnings.map(\.reason) == ["BackOff", "Unhealthy", "Killing", "Started"])
        }
    }

    @Test func statefulSetsAndPVCs() throws {
        let sts = try KubeJSON.statefulSets(from: data("statefulset-nginx-sts_gke.json"))
        #expect(sts.count == 1)
        #expect(sts[0].metadata?.name == "nginx-sts")
        #expect(sts[0].status?.readyReplicas == 4 && sts[0].spec?.replicas == 4)
        #expect(sts[0].spec?.volumeClaimTemplates?.first?.metadata?.name == "www")
        let degraded = try KubeJSON.statefulSets(from: data("statefulset-list-degraded_kotsadm-postgres.json"))
        #expect(degraded.first?.metadata?.name == "kotsadm-postgres")
        #expect(degraded.first?.status?.readyReplicas == 1 && degraded.first?.status?.replicas == 2)
        let pvc = try KubeJSON.pvcs(from: data("pvc-www-nginx-sts-0_gke.json"))
        #expect(pvc.first?.status?.phase == "Bound")
        #expect(pvc.first?.status?.capacity?["storage"]?.value == Int64(1_073_741_824))
        #expect(pvc.first?.spec?.accessModes == ["ReadWriteOnce"])
        let list = try KubeJSON.pvcs(from: data("pvc-list_k3d-postgres-and-redis.json"))
        #expect(list.map { $0.metadata?.name } == ["data-postgresql-0", "redis-data-redis-replicas-0"])
        #expect(list[1].status?.accessModes == ["ReadWriteMany"])
        #expect(list[1].spec?.storageClassName == "local-path")
    }

    @Test func nodesSingleAndList() throws {
        let n = try KubeJSON.node(from: PodJSON.node(ready: "Unknown"))
        #expect(n.isReady == false)
        let list = try KubeJSON.nodes(from: Data(#"{"kind":"NodeList","items":[{"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}]}"#.utf8))
        #expect(list.first?.isReady == true)
        #expect(try KubeJSON.nodes(from: Data(#"{"kind":"List","items":null}"#.utf8)).isEmpty)
    }

    @Test func wrongTypesNameThePath() throws {
        let bad = Data(#"{"kind":"PodList","items":[{"metadata":{"name":"x"},"status":{"containerStatuses":[{"name":"redis","restartCount":"four"}]}}]}"#.utf8)
        do {
            _ = try KubeJSON.pods(from: bad)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "items[0].status.containerStatuses[0].restartCount")
            #expect(error.description.contains("expected integer"))
        }
        #expect(throws: KubeDecodeError.self) { try KubeJSON.pod(from: Data("not json".utf8)) }
        do { _ = try KubeJSON.pod(from: Data("Error from server (NotFound): pods \"x\" not found".utf8)) } catch {
            #expect(error.message.contains("JSON"))
        }
        // Unknown fields ignored, missing fields nil.
        let minimal = try KubeJSON.pod(from: Data(#"{"whatever":{"deep":[1,2]},"metadata":{}}"#.utf8))
        #expect(minimal.metadata?.name == nil && minimal.status == nil)
        #expect(throws: KubeDecodeError.self) { try KubeJSON.pod(from: Data(#"{"kind":"List","items":[]}"#.utf8)) }
    }

    @Test func quantities() {
        #expect(Quantity.parse("512Mi") == 536_870_912)
        #expect(Quantity.parse("1Gi") == 1_073_741_824)
        #expect(Quantity.parse("500M") == 500_000_000)
        #expect(Quantity.parse("1e9") == 1_000_000_000)
        #expect(Quantity.parse("128974848") == 128_974_848)
        #expect(Quantity.parse("1.5Gi") == 1_610_612_736)
        #expect(Quantity.parse("64Ki") == 65536)
        #expect(Quantity.parse("1k") == 1000)
        #expect(Quantity.parse("1E") == 1_000_000_000_000_000_000)
        #expect(Quantity.parse("100m") == 1)
        #expect(Quantity.parse("") == nil)
        #expect(Quantity.parse("lots") == nil)
        #expect(Quantity.parse("-1Gi") == nil)
    }

    @Test(arguments: [
        ("k3s-io/k3s/issues/11428", KubectlError.Kind.notFound),
        ("heapster/issues/1362", .notFound),
        ("rancher/rancher/issues/22629", .notFound),
        ("rbac-online-talk/issues/1", .unauthorized),
        ("kubernetes/kubernetes/issues/127720", .unauthorized),
        ("microk8s/issues/2500", .unauthorized),
        ("kubernetes/website/issues/12075", .connectionRefused),
        ("kubernetes/kubernetes/issues/62997", .tlsHandshakeTimeout),
        ("container-hackfest/issues/13", .timeout),
        ("kops/issues/1526", .timeout),
        ("kubernetes/kubernetes/issues/21115", .timeout),
        ("kubernetes-starter/issues/8", .certificate),
        ("kubernetes/kubernetes/issues/73878", .serverTimeout),
        ("kubeflow-distribution/pull/381", .forbidden),
        ("cloudtty/issues/469", .forbidden),
        ("kubernetes-hands-on/pull/61", .containerNotFound),
        ("kubernetes/website/issues/14781", .containerNotFound),
        ("kind/issues/1666", .podNotFound),
        ("kubernetes/kubernetes/issues/55958", .containerWaiting),
        ("docker-mailserver-helm/issues/177", .containerWaiting),
        ("kubernetes/kubernetes/issues/44540", .metricsNotAvailable),
        ("metrics-server/issues/1558", .metricsNotAvailable),
        ("metrics-server/issues/1415", .metricsNotAvailable),
    ])
    func classifyErrorBlock(source: String, kind: KubectlError.Kind) throws {
        let blocks = try Fixture.blocks("kubectl/errors.txt")
        #expect(blocks.count == 23)
        let block = try #require(blocks.first { $0.header.contains(source) }, "no block for \(source)")
        let e = KubectlError.classify(stderr: block.body, exitCode: 1)
        #expect(e.kind == kind, "\(source): \(e.message)")
        #expect(!e.message.isEmpty && !e.message.contains("\n") && e.message.count < 260)
    }

    @Test func classifyMessagesAreReadable() {
        let nf = KubectlError.classify(stderr: #"Error from server (NotFound): pods "redis-0" not found"#, exitCode: 1)
        #expect(nf.message == #"Not found: pods "redis-0" not found"#)
        let cnf = KubectlError.classify(stderr: #"error: unable to upgrade connection: container not found ("redis")"#, exitCode: 1)
        #expect(cnf.message.contains(#""redis""#))
        let wait = KubectlError.classify(stderr: #"Error from server (BadRequest): container "archiva" in pod "archiva-deploy-868271406-p7v7q" is waiting to start: ContainerCreating"#, exitCode: 1)
        #expect(wait.message == #"Container "archiva" is waiting to start: ContainerCreating"#)
        let local = KubectlError.classify(stderr: "The connection to the server localhost:8080 was refused - did you specify the right host or port?", exitCode: 1)
        #expect(local.message.contains("localhost:8080"))
        let other = KubectlError.classify(stderr: "", exitCode: 137)
        #expect(other.kind == .failed && other.message.contains("137"))
    }

    /// A 500 or 429 is the API server answering: not a time-out of reaching it (the 500's text
    /// may say "timed out"), and not a cluster state (no banner, no frozen findings, no
    /// exporter-down from a read the API server itself failed).
    @Test func serverErrorsAreAnswersNotUnreachable() {
        let e500 = KubectlError.classify(stderr: #"Error from server (InternalError): Internal error occurred: etcdserver: request timed out"#, exitCode: 1)
        #expect(e500.kind == .serverError, "\(e500)")
        #expect(e500.message.contains("etcdserver: request timed out"))
        #expect(ClusterAccess.state(for: e500.kind) == nil)
        let e429 = KubectlError.classify(stderr: "Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later", exitCode: 1)
        #expect(e429.kind == .serverError, "\(e429)")
        let hung = KubectlError.classify(stderr: "Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)", exitCode: 1)
        #expect(hung.kind == .timeout)
    }
}
