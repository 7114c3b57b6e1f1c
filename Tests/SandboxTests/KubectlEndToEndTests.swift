import Foundation
import ProcessRunner
import Testing
@testable import Sandbox

/// DIR/bin/kubectl against a real sandbox (real redis-server and exporter in pod namespaces).
@Suite(.timeLimit(.minutes(5))) struct KubectlEndToEndTests {
    @Test func getExecLogsMetricsAndCp() async throws {
        try await withKctlSandbox { sb in
            #expect(await sb.waitUntil(60) { KctlSandbox.ready($0) }, "redis-0 never became ready")

            // get -o json: Running, both containers ready
            let get = await sb.kubectl(["get", "pod", "redis-0", "-o", "json"])
            #expect(get.succeeded)
            let pod = try KctlJSON.parse(get.stdoutText)
            #expect(pod["status"]?["phase"] == "Running")
            #expect(pod["status"]?["containerStatuses"]?.arrayValue?.allSatisfy { $0["ready"] == true } == true)
            #expect(pod["status"]?["containerStatuses"]?.arrayValue?.first?["state"]?["running"] != nil)
            let table = await sb.kubectl(["get", "pods"])
            #expect(table.stdoutText.hasPrefix("NAME      READY   STATUS    RESTARTS   AGE\nredis-0   2/2     Running   0 "))

            // exec -i: stdin lines reach redis-cli inside the pod, answers come back
            let cli = await sb.kubectl(["exec", "-i", "redis-0", "-c", "redis", "--", "redis-cli"], stdin: Data("PING\nSET k v\nGET k\nINFO server\n".utf8))
            #expect(cli.succeeded)
            let lines = cli.stdoutText.split(separator: "\n")
            #expect(lines.prefix(3) == ["PONG", "OK", "v"])
            #expect(cli.stdoutText.contains("redis_version:"))

            // A signal stops what exec became, as with a real kubectl: `timeout` ends a MONITOR.
            let monitor = await sb.runner.run(CommandSpec(["timeout", "-s", "TERM", "2", sb.kubectl, "exec", "-i", "redis-0", "-c", "redis",
                                                           "--", "redis-cli", "MONITOR"], timeout: .seconds(30)))
            #expect(monitor.exitCode == 124, "timeout did not stop kubectl exec redis-cli MONITOR: \(monitor.termination)")

            // exit code passes through
            let bogus = await sb.kubectl(["exec", "redis-0", "--", "redis-cli", "-e", "bogus"])
            #expect(bogus.exitCode == 1)
            #expect((bogus.stdoutText + bogus.stderrText).contains("ERR unknown command"))
            let notFound = await sb.kubectl(["exec", "nope", "--", "ls"])
            #expect(notFound.exitCode == 1 && notFound.stderrText == "Error from server (NotFound): pods \"nope\" not found\n")

            // logs
            let logs = await sb.kubectl(["logs", "redis-0", "-c", "redis", "--tail", "50"])
            #expect(logs.succeeded && logs.stdoutText.contains("Ready to accept connections"))

            // metrics through the API-server proxy path
            let raw = await sb.kubectl(["get", "--raw", "/api/v1/namespaces/default/pods/redis-0:9121/proxy/metrics"])
            #expect(raw.succeeded)
            #expect(raw.stdoutText.split(separator: "\n").contains("redis_up 1"))

            // cp in and out of /data
            let local = sb.dir.appendingPathComponent("note.txt")
            try "written by the test\n".write(to: local, atomically: true, encoding: .utf8)
            let cpIn = await sb.kubectl(["cp", local.path, "redis-0:/data/note.txt", "-c", "redis"])
            #expect(cpIn.succeeded, "\(cpIn.stderrText)")
            let cat = await sb.kubectl(["exec", "redis-0", "-c", "redis", "--", "cat", "/data/note.txt"])
            #expect(cat.stdoutText == "written by the test\n")
            let outDir = sb.dir.appendingPathComponent("copied")
            let cpOut = await sb.kubectl(["cp", "redis-0:/data", outDir.path, "-c", "redis"])
            #expect(cpOut.succeeded, "\(cpOut.stderrText)")
            #expect((try? String(contentsOf: outDir.appendingPathComponent("note.txt"), encoding: .utf8)) == "written by the test\n")

            // top
            let top = await sb.kubectl(["top", "pod", "redis-0", "--containers"])
            #expect(top.succeeded && top.stdoutText.hasPrefix("POD       NAME             CPU(cores)   MEMORY(bytes)\nredis-0   redis   "))
        }
    }

    @Test func deleteScalePatchRollout() async throws {
        try await withKctlSandbox { sb in
            #expect(await sb.waitUntil(60) { KctlSandbox.ready($0) })
            let oldUID = try #require(sb.state?.pods.first?.uid)

            // delete waits until the object is gone; the StatefulSet makes a new one
            let del = await sb.kubectl(["delete", "pod", "redis-0"], timeout: .seconds(90))
            #expect(del.succeeded && del.stdoutText == "pod \"redis-0\" deleted\n")
            #expect(await sb.waitUntil(60) { s in KctlSandbox.ready(s) && s.pods.first?.uid != oldUID })
            let after = try KctlJSON.parse((await sb.kubectl(["get", "pod", "redis-0", "-o", "json"])).stdoutText)
            #expect(after["metadata"]?["uid"]?.stringValue != oldUID)
            #expect(after["status"]?["containerStatuses"]?.arrayValue?.first?["restartCount"] == 0)

            // scale to 0 and back
            #expect((await sb.kubectl(["scale", "statefulset", "redis", "--replicas", "0"])).stdoutText == "statefulset.apps/redis scaled\n")
            #expect(await sb.waitUntil(60) { $0.pods.isEmpty })
            let none = await sb.kubectl(["get", "pods"])
            #expect(none.succeeded && none.stderrText == "No resources found in default namespace.\n")
            #expect((await sb.kubectl(["scale", "sts", "redis", "--replicas=1"])).succeeded)
            let rollout = await sb.kubectl(["rollout", "status", "statefulset", "redis", "--timeout=90s"], timeout: .seconds(100))
            #expect(rollout.succeeded)
            #expect(rollout.stdoutText.hasSuffix("partitioned roll out complete: 1 new pods have been updated...\n"))

            // patch args: the pod comes back with them
            let patch = await sb.kubectl(["patch", "statefulset", "redis", "-p",
                                          #"{"spec":{"template":{"spec":{"containers":[{"name":"redis","args":["--appendonly","yes","--maxmemory","123mb","--maxmemory-policy","noeviction"]}]}}}}"#])
            #expect(patch.stdoutText == "statefulset.apps/redis patched\n", "\(patch.stderrText)")
            let rollout2 = await sb.kubectl(["rollout", "status", "sts/redis", "--timeout=90s"], timeout: .seconds(100))
            #expect(rollout2.succeeded)
            let mm = await sb.kubectl(["exec", "redis-0", "-c", "redis", "--", "redis-cli", "config", "get", "maxmemory"])
            #expect(mm.stdoutText == "maxmemory\n\(123 << 20)\n")
            let args = await sb.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.spec.containers[0].args}"])
            #expect(args.stdoutText.contains("123mb"))
        }
    }

    @Test func repairPodWithThePVCAndPortForward() async throws {
        try await withKctlSandbox { sb in
            #expect(await sb.waitUntil(60) { KctlSandbox.ready($0) })
            // Something on the volume, written from inside the pod.
            let write = await sb.kubectl(["exec", "redis-0", "-c", "redis", "--", "redis-cli", "set", "x", "1"])
            #expect(write.stdoutText == "OK\n")
            _ = await sb.kubectl(["exec", "redis-0", "-c", "redis", "--", "cp", "/etc/hostname", "/data/marker"])

            // port-forward relays a host port into the pod
            let port = Int.random(in: 20000...40000)
            let forward = Task { await sb.kubectl(["port-forward", "pod/redis-0", "\(port):6379"], timeout: .seconds(6)) }
            var pong = ""
            for _ in 0..<20 {
                try await Task.sleep(for: .milliseconds(250))
                let r = await sb.runner.run(CommandSpec(["redis-cli", "-p", "\(port)", "ping"], timeout: .seconds(3)))
                if r.stdoutText == "PONG\n" { pong = r.stdoutText; break }
            }
            let pf = await forward.value
            #expect(pong == "PONG\n")
            #expect(pf.stdoutText.contains("Forwarding from 127.0.0.1:\(port) -> 6379\n"))
            #expect(pf.stdoutText.contains("Handling connection for \(port)\n"))

            // RWO: scale to 0 first, then a one-off pod mounts data-redis-0 at /data
            #expect((await sb.kubectl(["scale", "sts", "redis", "--replicas=0"])).succeeded)
            #expect(await sb.waitUntil(60) { $0.pods.isEmpty })
            let overrides = #"{"spec":{"containers":[{"name":"fix","image":"redis:7.0.15-alpine","command":["ls","/data","/data/appendonlydir"],"volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data-redis-0"}}]}}"#
            let run = await sb.kubectl(["run", "fix", "--image=redis:7.0.15-alpine", "--restart=Never", "-i", "--rm", "--overrides", overrides],
                                       timeout: .seconds(90))
            #expect(run.succeeded, "\(run.stderrText)")
            #expect(run.stdoutText.contains("marker"))
            #expect(run.stdoutText.contains("appendonly.aof.manifest"), "\(run.stdoutText)")
            #expect(run.stdoutText.hasSuffix("pod \"fix\" deleted\n"))
            #expect(sb.state?.pods.contains { $0.name == "fix" } == false)

            let fail = await sb.kubectl(["run", "fail", "--image=busybox", "--restart=Never", "-i", "--rm", "--", "sh", "-c", "echo oops; exit 3"],
                                        timeout: .seconds(90))
            #expect(fail.exitCode == 3)
            #expect(fail.stdoutText.hasPrefix("oops\n"))
        }
    }
}
