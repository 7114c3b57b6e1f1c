import Foundation
import SandboxFixture
import Testing

// Issue 18 point 4, from today's single StatefulSet for real: the sandbox starts as ADR 0005's
// one pod (`up`, the single topology) with the demo data written by the real BullMQ client and
// its producer and worker running. migrate-to-sentinel applies
// deploy/redis-sentinel-statefulset.yaml with the real `kubectl apply` (replicas 3, a sentinel
// container whose first start writes a minimal config); the sandbox's StatefulSet controller
// creates redis-1 and redis-2 and re-creates redis-0 from the new template (rolling update), the
// pods reach each other on the pod network, and the runbook makes the new pods replicas and the
// Sentinels monitor redis-0. The operator's own part, switching the app to Sentinel, is
// `sandbox app --connect sentinel`. Every answer's path is judged by the live system.

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func podNames(_ box: DrillBox) async throws -> [String] {
    try await box.kubectl(["get", "pods", "-l", "app=redis", "-o", "jsonpath={.items[*].metadata.name}"]).trimmed
        .split(separator: " ").map(String.init).sorted()
}

private func uid(_ box: DrillBox, _ pod: String) async throws -> String {
    try await box.kubectl(["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"]).trimmed
}

@Suite("Drills: migrate-to-sentinel from the single StatefulSet", .serialized, .enabled(if: Drill.available && getuid() == 0))
struct MigrateFromSingleDrillTests {
    @Test(.timeLimit(.minutes(12)))
    func singleStatefulSetGrowsIntoThreePodsWithSentinels() async throws {
        let manifest = repoRoot.appendingPathComponent("deploy/redis-sentinel-statefulset.yaml").path
        try await DrillBox.with([]) { box in
            let pods = Pods(box: box)
            let started = Date()
            let seeded = try await box.sandbox("seed", ["--preset", "demo"], timeout: 300)
            #expect(seeded.status == 0, "\(seeded.output.suffix(1500))")
            #expect(try await podNames(box) == ["redis-0"])
            let uid0 = try await uid(box, "redis-0")
            let keysSeeded = try #require(Int(try await pods.cli("redis-0", ["DBSIZE"])))
            #expect(keysSeeded > 1000)
            let set = ["--set", "sentinel_manifest=\(manifest)"]

            // --yes: the growing question's default is "I apply my own change": the run stops at
            // the manual step, which shows the container to add. Nothing changed.
            let (r0, v0) = try await run(box, "migrate-to-sentinel", "(single) --yes (grow: manual)", ["--yes"] + set)
            #expect(r0.status != 0 && v0.hasPrefix("stopped"), "\(r0.output.suffix(2500))")
            #expect(r0.output.contains("exec redis-sentinel /data/sentinel.conf"), "the manual step shows the sentinel container")
            #expect(!r0.output.contains("$ kubectl apply -f"), "nothing applied")
            #expect(try await podNames(box) == ["redis-0"])
            #expect(try await uid(box, "redis-0") == uid0, "redis-0 not re-created")
            #expect(try await box.kubectl(["get", "statefulset", "redis", "-o", "jsonpath={.spec.replicas}"]).trimmed == "1")

            // The API server's dry run (the runbook's manifest check) validates and stores nothing.
            let dry = try await box.kubectl(["apply", "--dry-run=server", "-f", manifest])
            try #require(dry.status == 0 && dry.output.contains("statefulset.apps/redis configured (server dry run)"), "\(dry.output)")
            #expect(try await box.kubectl(["get", "statefulset", "redis", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[*].name}"]).trimmed == "1 redis redis-exporter")

            // grow=apply, then the start question's default (no): the manifest is applied, the
            // rolling update runs (two new pods, then redis-0 re-created with its data), and
            // Redis and the Sentinels are left untouched.
            let (r1, v1) = try await run(box, "migrate-to-sentinel", "(single) grow=apply, start: default no", ["--yes", "--answer", "grow=apply"] + set, timeout: 420)
            #expect(r1.status == 3 && v1.hasPrefix("stopped"), "\(r1.output.suffix(3000))")
            #expect(r1.output.contains("statefulset.apps/redis configured"), "kubectl apply ran: \(r1.output.suffix(2000))")
            #expect(try await podNames(box) == ["redis-0", "redis-1", "redis-2"])
            #expect(try await uid(box, "redis-0") != uid0, "the rolling update re-created redis-0")
            for p in ["redis-0", "redis-1", "redis-2"] {
                let containers = try await box.kubectl(["get", "pod", p, "-o", "jsonpath={.spec.containers[*].name}"]).trimmed
                #expect(containers == "redis sentinel redis-exporter", "\(p): \(containers)")
                #expect(try await pods.info(p)["role"] == "master", "\(p) untouched: a lone master")
                #expect(try await pods.cli(p, ["-p", "26379", "SENTINEL", "MASTERS"], container: "sentinel") == "", "\(p)'s Sentinel monitors nothing yet")
            }
            let keysAfterRestart = try #require(Int(try await pods.cli("redis-0", ["DBSIZE"])))
            #expect(keysAfterRestart >= keysSeeded - 50, "redis-0 reloaded its AOF: \(keysSeeded) -> \(keysAfterRestart)")
            #expect(try await pods.cli("redis-1", ["DBSIZE"]) == "0")
            let ip0 = try await box.kubectl(["get", "pod", "redis-0", "-o", "jsonpath={.status.podIP}"]).trimmed

            // start=yes: replicas, offsets, Sentinels; the BullMQ switch not confirmed yet (its default).
            let (r2, v2) = try await run(box, "migrate-to-sentinel", "(single) start=yes, switch not confirmed", ["--yes", "--answer", "start=yes"] + set, timeout: 420)
            #expect(r2.status == 4 && v2.hasPrefix("stopped"), "\(r2.output.suffix(3000))")
            for p in ["redis-1", "redis-2"] {
                let i = try await pods.info(p)
                #expect(i["role"] == "slave" && i["master_host"] == ip0 && i["master_link_status"] == "up", "\(p): \(i)")
                let addr = try await pods.cli(p, ["-p", "26379", "SENTINEL", "get-master-addr-by-name", "mymaster"], container: "sentinel")
                #expect(addr.split(whereSeparator: \.isNewline).first.map(String.init) == ip0, "\(p)'s Sentinel: \(addr)")
            }
            try await box.eventually("the three Sentinels reach their quorum", timeout: 30) {
                try await pods.cli("redis-2", ["-p", "26379", "SENTINEL", "CKQUORUM", "mymaster"], container: "sentinel").hasPrefix("OK 3 usable Sentinels")
            }

            // The operator switches the app to Sentinel and confirms: --resume verifies keys and queues.
            let jobIDBefore = Int(try await pods.cli("redis-0", ["GET", "bull:email:id"])) ?? 0
            let sw = try await box.sandbox("app", ["--connect", "sentinel"])
            #expect(sw.status == 0 && sw.output.contains("through the Sentinels"), "\(sw.output)")
            let (r3, v3) = try await run(box, "migrate-to-sentinel", "(single) --resume, switched", ["--resume", "--yes", "--answer", "bullmq-switched=yes"] + set)
            #expect(r3.status == 0 && v3.hasPrefix("finished"), "\(r3.output.suffix(3000))")
            // The app's producer, now through Sentinel, still adds jobs on redis-0, and they reach the replicas.
            try await box.eventually("new jobs through Sentinel", timeout: 30) {
                (Int(try await pods.cli("redis-0", ["GET", "bull:email:id"])) ?? 0) > jobIDBefore + 2
            }
            let producerLog = (try? String(contentsOfFile: URL(fileURLWithPath: box.sbx).appendingPathComponent("bullmq-producer.log").path, encoding: .utf8)) ?? ""
            #expect(producerLog.contains("connecting through Sentinel"), "the producer connects through Sentinel: \(producerLog.suffix(800))")
            #expect(try await pods.info("redis-0")["connected_slaves"] == "2")
            print("migrate-to-sentinel from the single StatefulSet: \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
        }
    }
}
