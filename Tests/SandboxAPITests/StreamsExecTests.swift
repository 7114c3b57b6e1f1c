import Foundation
import ProcessRunner
import Sandbox
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kubectl exec` and `kubectl cp` with the real kubectl 1.30, 1.33 and 1.37 against the sandbox's
/// API server (WebSocket v5). One sandbox for the whole suite.
@Suite(.serialized) struct StreamsExecTests {
    @Test func execAndCopyWithRealKubectl() async throws {
        let kubectls = try StreamsSandbox.kubectls()
        try await StreamsSandbox.with { sb in
            for k in kubectls {
                try await execBasics(sb, k)
                try await execInteractiveSession(sb, k)
                try await execLargeOutput(sb, k)
                try await copyBothWays(sb, k)
            }
            try await clientLeavingKillsTheProcess(sb, kubectls[0])
            try await spdyOnlyClientGetsAClearRefusal(sb)
            try await copyWithTheRepairPod(sb, kubectls[1])
        }
    }

    func execBasics(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        let ping = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "PING"])
        #expect(ping.exitCode == 0, "\(k): \(ping.stderrText)")
        #expect(ping.stdoutText == "PONG\n", "\(k)")

        let three = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "sh", "-c", "exit 3"])
        #expect(three.exitCode == 3, "\(k): \(three.termination)")
        #expect(three.stderrText.contains("command terminated with exit code 3"), "\(k): \(three.stderrText)")

        // stdout and stderr stay apart; argv items reach the process whole.
        let split = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "sh", "-c", "echo \"$1\"; echo to-stderr >&2", "sh", "a b  'c'"])
        #expect(split.exitCode == 0, "\(k): \(split.stderrText)")
        #expect(split.stdoutText == "a b  'c'\n", "\(k)")
        #expect(split.stderrText.contains("to-stderr"), "\(k)")

        // The container's environment, as kubectl exec gives it.
        let env = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "printenv", "HOSTNAME"])
        #expect(env.stdoutText == "redis-0\n", "\(k): \(env.stderrText)")

        let missing = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "no-such-program"])
        #expect(missing.exitCode == 127, "\(k): \(missing.termination)")
        #expect(missing.stderrText.contains("executable file not found in $PATH"), "\(k): \(missing.stderrText)")
        #expect(missing.stderrText.contains("command terminated with exit code 127"), "\(k): \(missing.stderrText)")

        let badContainer = await sb.kubectl(k, ["exec", "redis-0", "-c", "nope", "--", "true"])
        #expect(badContainer.exitCode == 1, "\(k)")
        #expect(badContainer.stderrText.contains("container nope is not valid for pod redis-0"), "\(k): \(badContainer.stderrText)")
    }

    /// The product's own session: `kubectl exec -i ... -- redis-cli`, commands on stdin, replies
    /// in order, exit 0 at EOF (v5 close-stdin).
    func execInteractiveSession(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        let key = "streams:\(k.version)"
        let input = "DEL \(key)\nINCR \(key)\nINCR \(key)\nSET \(key):s hello\nGET \(key):s\nPING\n"
        let r = await sb.kubectl(k, ["exec", "-i", "redis-0", "-c", "redis", "--", "redis-cli"], stdin: Data(input.utf8), timeout: .seconds(30))
        #expect(r.exitCode == 0, "\(k): \(r.termination) \(r.stderrText)")
        #expect(r.stdoutText == "0\n1\n2\nOK\nhello\nPONG\n", "\(k): \(r.stdoutText)")
    }

    func execLargeOutput(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        // 5 MB and more of known text through stdout.
        let r = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "seq", "1", "800000"], timeout: .seconds(120))
        #expect(r.exitCode == 0, "\(k): \(r.stderrText)")
        let expected = (1...800_000).map(String.init).joined(separator: "\n") + "\n"
        #expect(r.stdout.count == expected.utf8.count, "\(k): \(r.stdout.count) bytes")
        #expect(r.stdout.count > 5_000_000)
        #expect(r.stdout == Data(expected.utf8), "\(k): output differs")

        // And 5 MB through stdin (sha256 on both sides).
        var bytes = [UInt8](repeating: 0, count: 5 << 20)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let input = Data(bytes)
        let sum = await Runner().run(CommandSpec(["sha256sum"], stdin: input, timeout: .seconds(30)))
        let remote = await sb.kubectl(k, ["exec", "-i", "redis-0", "-c", "redis", "--", "sha256sum"], stdin: input, timeout: .seconds(120))
        #expect(remote.exitCode == 0, "\(k): \(remote.stderrText)")
        #expect(remote.stdoutText == sum.stdoutText, "\(k)")
    }

    /// `kubectl cp` both ways (tar through exec), byte-identical: a file and a directory.
    func copyBothWays(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        let local = sb.dir.appendingPathComponent("cp-\(k.version)")
        let src = local.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: src.appendingPathComponent("sub"), withIntermediateDirectories: true)
        var blob = [UInt8](repeating: 0, count: 3 << 20)
        for i in blob.indices { blob[i] = UInt8(truncatingIfNeeded: (i &* 7919) ^ (i >> 11)) }
        try Data(blob).write(to: src.appendingPathComponent("appendonly.aof.1.incr.aof"))
        try Data("file appendonly.aof.1.base.rdb seq 1 type b\n".utf8).write(to: src.appendingPathComponent("sub/manifest"))
        let remoteDir = "/data/streams-cp-\(k.version)"

        let up = await sb.kubectl(k, ["cp", src.path, "redis-0:\(remoteDir)", "-c", "redis"], timeout: .seconds(120))
        #expect(up.exitCode == 0, "\(k): cp up: \(up.stderrText)")
        let down = local.appendingPathComponent("back")
        let back = await sb.kubectl(k, ["cp", "redis-0:\(remoteDir)", down.path, "-c", "redis"], timeout: .seconds(120))
        #expect(back.exitCode == 0, "\(k): cp down: \(back.stderrText)")
        #expect(FileManager.default.contents(atPath: down.appendingPathComponent("appendonly.aof.1.incr.aof").path) == Data(blob), "\(k)")
        #expect(FileManager.default.contents(atPath: down.appendingPathComponent("sub/manifest").path)
                == Data("file appendonly.aof.1.base.rdb seq 1 type b\n".utf8), "\(k)")

        // A single file, as runbooks/backup.yaml copies dump.rdb.
        let one = local.appendingPathComponent("one.rdb")
        let single = await sb.kubectl(k, ["cp", "redis-0:\(remoteDir)/appendonly.aof.1.incr.aof", one.path, "-c", "redis"], timeout: .seconds(120))
        #expect(single.exitCode == 0, "\(k): \(single.stderrText)")
        #expect(FileManager.default.contents(atPath: one.path) == Data(blob), "\(k)")
        _ = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "rm", "-rf", remoteDir])
    }

    /// A client that goes away mid-command leaves no process in the pod.
    func clientLeavingKillsTheProcess(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        let marker = "31337\(getpid())"
        let r = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "sh", "-c", "sleep \(marker) & sleep \(marker)0"],
                                 timeout: .seconds(3))
        #expect(r.termination == .timedOut || r.exitCode != 0)
        let gone = await sb.eventually(10) { StreamsSandbox.processes(containing: "sleep \(marker)").isEmpty }
        #expect(gone, "left behind: \(StreamsSandbox.processes(containing: "sleep \(marker)"))")
    }

    /// kubectl 1.29 speaks SPDY only: its POST gets a Status naming what this server speaks.
    func spdyOnlyClientGetsAClearRefusal(_ sb: StreamsSandbox) async throws {
        let path = "/usr/lib/google-cloud-sdk/bin/kubectl.1.29"
        // Debian's kubectl package (installed by scripts/install-deps.sh) ships 1.27 to 1.33.
        try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) missing: Debian's kubectl package is not installed")
        let r = await sb.kubectl(.init(version: "1.29", path: path), ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "PING"])
        #expect(r.exitCode == 1)
        #expect(r.stderrText.contains("Error from server (BadRequest): this sandbox API server speaks only the WebSocket exec protocol of kubectl 1.30 and newer"),
                "\(r.stderrText)")
    }

    /// The runbooks' repair-pod pattern (runbooks/aof-corruption.yaml, backup.yaml): Redis scaled
    /// to 0, a pod that only sleeps mounts the volume, `kubectl cp` out of it and into it.
    func copyWithTheRepairPod(_ sb: StreamsSandbox, _ k: StreamsSandbox.Kubectl) async throws {
        let state = try #require(sb.state)
        let pvc = try #require(state.pvcs.first { $0.name.hasSuffix("redis-0") })
        _ = await sb.kubectl(k, ["exec", "redis-0", "-c", "redis", "--", "redis-cli", "SET", "repair:key", "value"])
        let scaled = await sb.kubectl(k, ["scale", "statefulset", "redis", "--replicas=0"])
        #expect(scaled.exitCode == 0, "\(scaled.stderrText)")
        #expect(await sb.eventually(60) { sb.state?.pods.contains { $0.name == "redis-0" } == false })
        let overrides = #"{"apiVersion":"v1","spec":{"containers":[{"name":"redis-repair","image":"redis:7","command":["sleep","3600"],"volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"\#(pvc.name)"}}]}}"#
        let run = await sb.kubectl(k, ["run", "redis-repair", "--image=redis:7", "--restart=Never", "--overrides=\(overrides)", "--", "sleep", "3600"])
        #expect(run.exitCode == 0, "\(run.stderrText)")
        let ready = await sb.eventually(60) {
            let r = await sb.kubectl(k, ["get", "pod", "redis-repair", "-o", #"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#])
            return r.stdoutText == "True"
        }
        #expect(ready)
        // Out of the pod: the AOF directory, byte-identical with the volume on disk.
        let local = sb.dir.appendingPathComponent("repair-backup")
        let out = await sb.kubectl(k, ["cp", "redis-repair:/data/appendonlydir", local.path], timeout: .seconds(120))
        #expect(out.exitCode == 0, "\(out.stderrText)")
        let volume = URL(fileURLWithPath: pvc.hostPath).appendingPathComponent("appendonlydir")
        let names = try FileManager.default.contentsOfDirectory(atPath: volume.path).sorted()
        #expect(!names.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.path).sorted() == names)
        for name in names {
            #expect(FileManager.default.contents(atPath: local.appendingPathComponent(name).path)
                    == FileManager.default.contents(atPath: volume.appendingPathComponent(name).path), "\(name)")
        }
        // Into the pod: a file lands in the volume unchanged.
        let file = sb.dir.appendingPathComponent("fixed.aof")
        let bytes = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try bytes.write(to: file)
        let into = await sb.kubectl(k, ["cp", file.path, "redis-repair:/data/fixed.aof"], timeout: .seconds(120))
        #expect(into.exitCode == 0, "\(into.stderrText)")
        #expect(FileManager.default.contents(atPath: URL(fileURLWithPath: pvc.hostPath).appendingPathComponent("fixed.aof").path) == bytes)
        _ = await sb.kubectl(k, ["delete", "pod", "redis-repair", "--wait=true"], timeout: .seconds(90))
        _ = await sb.kubectl(k, ["scale", "statefulset", "redis", "--replicas=1"])
    }
}
