import Foundation
import ProcessRunner
import SandboxFixture
import Testing
@testable import Sandbox
#if canImport(Glibc)
import Glibc
#endif

@Suite("Sandbox runtime: lifecycle", .serialized)
struct RuntimeLifecycleTests {
    @Test func upStatusDownLeavesNothingRunning() async throws {
        let sb = try await TestSandbox.start()
        let s = try #require(sb.state)
        let pod = try #require(s.pods.first { $0.name == "redis-0" })
        let redisPid = try #require(pod.containerStatuses.first { $0.name == "redis" }?.pid)
        let exporterPid = try #require(pod.containerStatuses.first { $0.name == "redis-exporter" }?.pid)
        let daemonPid = Int32((try String(contentsOf: sb.layout.daemonPidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(TestSandbox.alive(redisPid) && TestSandbox.alive(exporterPid) && TestSandbox.alive(daemonPid) && TestSandbox.alive(pod.sandboxPid))
        // Inside the pod: redis-cli without arguments reaches this pod's Redis; /data is the PVC.
        #expect(await sb.redisCLI(["PING"]).trimmingCharacters(in: .whitespacesAndNewlines) == "PONG")
        #expect(FileManager.default.fileExists(atPath: sb.layout.volumeDir("data-redis-0").appendingPathComponent("appendonlydir/appendonly.aof.manifest").path))
        #expect(pod.pvcName == "data-redis-0" && s.pvcs.first?.name == "data-redis-0")
        #expect(s.events.contains { $0.reason == "SuccessfulCreate" && $0.message == "create Pod redis-0 in StatefulSet redis successful" })
        #expect(s.events.contains { $0.reason == "Started" && $0.message == "Started container redis" })
        #expect(FileManager.default.fileExists(atPath: sb.kubeconfig))
        // The real kubectl reads the pod through the sandbox's API server.
        let get = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.status.phase}"])
        #expect(get.stdoutText == "Running", "\(get.stderrText)")
        let status = await sb.sandbox("status")
        #expect(status.stdoutText.contains("running (daemon pid"))
        #expect(status.stdoutText.contains("redis: running"))
        // up again: a no-op that says so
        let again = await sb.sandbox("up", ["--fast"])
        #expect(again.succeeded && again.stdoutText.contains("already running"))
        #expect(sb.pod()?.uid == pod.uid)

        // The application (the real BullMQ client's producer and worker, started by the daemon
        // once queues exist) goes with `down` too, even when its daemon was killed outright.
        #expect(await sb.sandbox("seed").succeeded)
        var app: [Int32] = []
        _ = await SandboxProcess.eventually(20) {
            app = TestSandbox.processesMentioning(sb.dir.path).filter { ProcFS.cmdline($0).contains { $0.hasSuffix("bullmq-app.py") } }
            return app.count == 2
        }
        #expect(app.count == 2, "the producer and the worker: \(app)")
        kill(daemonPid, SIGKILL)

        let down = await sb.run(["down", "--dir", sb.dir.path])
        #expect(down.succeeded, "\(down.stderrText)")
        #expect(down.stdoutText.contains("nothing left running"))
        for pid in [redisPid, exporterPid, daemonPid, pod.sandboxPid] + app { #expect(!TestSandbox.alive(pid), "pid \(pid) survived down") }
        #expect(TestSandbox.processesMentioning(sb.dir.path).isEmpty)
        if let cg = s.runtime.cgroupRoot { #expect(!FileManager.default.fileExists(atPath: cg)) }
        await sb.stop()
    }

    @Test func staleSandboxIsRepairedByUpAndKeepsItsData() async throws {
        try await withTestSandbox { sb in
            #expect(await sb.redisCLI(["SET", "survivor", "42"]).contains("OK"))
            try await Task.sleep(for: .milliseconds(1200))      // appendfsync everysec
            let old = try #require(sb.state)
            let daemonPid = try #require(Int32((try String(contentsOf: sb.layout.daemonPidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
            // A "reboot": every process of the sandbox dies at once.
            kill(daemonPid, SIGKILL)
            let pod = try #require(old.pods.first)
            for c in pod.containerStatuses { kill(c.pid, SIGKILL) }
            kill(pod.sandboxPid, SIGKILL)
            try await Task.sleep(for: .milliseconds(300))
            let status = await sb.sandbox("status")
            #expect(status.stdoutText.contains("not running"))
            let up = await sb.sandbox("up", ["--fast"])
            #expect(up.succeeded, "\(up.stderrText)")
            #expect(up.stdoutText.contains("repairing stale sandbox"))
            #expect(await sb.waitUntil(30) { TestSandbox.isReady($0) })
            #expect(await sb.redisCLI(["GET", "survivor"]).trimmingCharacters(in: .whitespacesAndNewlines) == "42")
            let redis = try #require(sb.container("redis"))
            #expect(redis.restartCount == 1)
            if case .terminated(let reason, let code, _, _, _, _)? = redis.lastState {
                #expect(reason == "Unknown" && code == 255)
            } else { Issue.record("no lastState after the reboot: \(String(describing: redis.lastState))") }
            #expect(sb.state?.events.contains { $0.reason == "SandboxChanged" } == true)
        }
    }

    @Test func twoSandboxesRunSideBySide() async throws {
        async let a = TestSandbox.start()
        async let b = TestSandbox.start()
        let (sa, sb) = try await (a, b)
        defer { }
        #expect(await sa.redisCLI(["SET", "who", "a"]).contains("OK"))
        #expect(await sb.redisCLI(["SET", "who", "b"]).contains("OK"))
        #expect(await sa.redisCLI(["GET", "who"]).trimmingCharacters(in: .whitespacesAndNewlines) == "a")
        #expect(await sb.redisCLI(["GET", "who"]).trimmingCharacters(in: .whitespacesAndNewlines) == "b")
        #expect(sa.pod()?.sandboxPid != sb.pod()?.sandboxPid)
        // Stopping one leaves the other running.
        await sa.stop()
        #expect(await sb.redisCLI(["GET", "who"]).trimmingCharacters(in: .whitespacesAndNewlines) == "b")
        #expect(TestSandbox.processesMentioning(sa.dir.path).isEmpty)
        await sb.stop()
    }

    @Test func deleteScaleAndPatchAreReconciled() async throws {
        try await withTestSandbox { sb in
            let first = try #require(sb.pod())
            let pvcPath = try #require(sb.state?.pvcs.first?.hostPath)
            #expect(await sb.redisCLI(["SET", "kept", "yes"]).contains("OK"))
            try await Task.sleep(for: .milliseconds(1200))
            // kubectl delete pod: graceful termination, then the StatefulSet re-creates it with the same PVC.
            try sb.store.update { s in s.pods[s.podIndex("redis-0")!].deletionTimestamp = RFC3339.format() }
            #expect(await sb.waitUntil(40) { s in
                guard let p = s.pods.first(where: { $0.name == "redis-0" }) else { return false }
                return p.uid != first.uid && TestSandbox.isReady(s)
            }, "\(sb.daemonLog())")
            #expect(sb.pod()?.pvcName == first.pvcName && sb.state?.pvcs.first?.hostPath == pvcPath)
            #expect(await sb.redisCLI(["GET", "kept"]).trimmingCharacters(in: .whitespacesAndNewlines) == "yes")
            let events = sb.state?.events ?? []
            #expect(events.contains { $0.reason == "Killing" && $0.message == "Stopping container redis" })
            #expect(events.contains { $0.reason == "Scheduled" && $0.involvedUID == sb.pod()?.uid })

            // scale to 0 and back
            try sb.store.update { $0.statefulSet.replicas = 0 }
            #expect(await sb.waitUntil(40) { $0.pods.isEmpty })
            #expect(sb.state?.events.contains { $0.reason == "SuccessfulDelete" && $0.message == "delete Pod redis-0 in StatefulSet redis successful" } == true)
            try sb.store.update { $0.statefulSet.replicas = 1 }
            #expect(await sb.waitUntil(40) { TestSandbox.isReady($0) })

            // a template change (kubectl patch) rolls the pod
            let before = try #require(sb.pod())
            try sb.store.update { s in
                let i = s.statefulSet.template.containers.firstIndex { $0.name == "redis" }!
                s.statefulSet.template.containers[i].args! += ["--hz", "20"]
                s.statefulSet.templateGeneration += 1
            }
            #expect(await sb.waitUntil(40) { s in
                guard let p = s.pods.first(where: { $0.name == "redis-0" }) else { return false }
                return p.uid != before.uid && p.templateGeneration == 2 && TestSandbox.isReady(s)
            })
            #expect(await sb.redisCLI(["CONFIG", "GET", "hz"]).contains("20"))
        }
    }

    @Test func oneOffPodWaitsForTheVolumeThenRuns() async throws {
        try await withTestSandbox { sb in
            // What `kubectl run` writes: a pod of its own with the PVC, restartPolicy Never.
            try sb.store.update { s in
                var c = ContainerSpec(name: "repair", image: "redis:7.0.15-alpine")
                c.command = ["redis-check-aof", "appendonlydir/appendonly.aof.manifest"]
                c.volumeMounts = [VolumeMount(name: "data", mountPath: "/data")]
                var p = PodState(name: "repair", uid: ClusterState.newUID(), createdAt: RFC3339.format(), labels: ["run": "repair"],
                                 templateGeneration: 0, containers: [c])
                p.restartPolicy = "Never"
                p.pvcName = "data-redis-0"
                p.containerStatuses = [ContainerStatus(name: "repair", image: c.image, state: .waiting(reason: "ContainerCreating", message: nil))]
                s.pods.append(p)
            }
            // redis-0 holds the volume: ReadWriteOnce refuses a second attachment.
            #expect(await sb.waitUntil(15) { s in
                s.events.contains { $0.reason == "FailedAttachVolume" && $0.involvedName == "repair" && $0.message.contains("Multi-Attach error for volume") }
            })
            #expect(sb.pod("repair")?.phase == "Pending")
            try sb.store.update { $0.statefulSet.replicas = 0 }
            #expect(await sb.waitUntil(60) { s in s.pods.first { $0.name == "repair" }?.phase == "Succeeded" }, "\(sb.daemonLog())")
            let log = sb.containerLog("repair", restart: 0, pod: "repair")
            #expect(log.contains("is valid"), "\(log)")
            if case .terminated(let reason, let code, _, _, _, _)? = sb.container("repair", pod: "repair")?.state {
                #expect(reason == "Completed" && code == 0)
            } else { Issue.record("repair container not terminated") }
        }
    }
}
