import Foundation
import Testing
@testable import Runbooks

/// Which runbooks only read and which rights the others need, from the runbook data (the steps'
/// `mutates` flag and their kubectl verbs), written once in Rights.swift.
@Suite struct RightsTests {
    @Test func kubectlVerbsMapToTheRightsTheAPIServerChecks() {
        func r(_ a: String...) -> String? { KubeRight.needed(by: a).map(\.description) }
        #expect(r("kubectl", "exec", "{{pod}}", "-c", "redis", "--", "redis-cli", "PING") == "create pods/exec")
        #expect(r("kubectl", "cp", "-c", "redis", "redis-0:/data/x", "x") == "create pods/exec")
        #expect(r("kubectl", "logs", "redis-0", "-c", "redis", "--previous") == "get pods/log")
        #expect(r("kubectl", "get", "pod", "redis-0", "-o", "json") == "get pods")
        #expect(r("kubectl", "delete", "pod", "redis-0", "--wait=true") == "delete pods")
        #expect(r("kubectl", "scale", "statefulset", "redis", "--replicas=0") == "patch statefulsets/scale")
        #expect(r("kubectl", "rollout", "status", "statefulset", "redis") == "get statefulsets")
        #expect(r("kubectl", "rollout", "undo", "statefulset", "redis") == "patch statefulsets")
        #expect(r("kubectl", "patch", "pvc", "data-redis-0", "-p={}") == "patch persistentvolumeclaims")
        #expect(r("kubectl", "run", "redis-repair", "--image=x") == "create pods")
        #expect(r("redis-cli", "PING") == nil)
    }

    @Test func bundledRunbooksAreMarkedReadOnlyOrWrite() throws {
        let lib = RunbookLibrary.load(folders: [bundledRunbooksDir()])
        let loading = try #require(lib.runbook(id: "loading"))
        #expect(loading.isReadOnly && loading.mutatingRights.isEmpty)
        #expect(loading.requiredRights.map(\.description).contains("create pods/exec"))
        let restart = try #require(lib.runbook(id: "pod-restart"))
        #expect(!restart.isReadOnly)
        #expect(restart.mutatingRights.map(\.description).contains("delete pods"), "\(restart.mutatingRights)")
        // Every runbook with a mutating step names at least one write right (else a read-only
        // user would not be refused up front).
        for rb in lib.runbooks where !rb.isReadOnly {
            #expect(rb.mutatingRights.contains { !$0.isRead }, "\(rb.id): \(rb.mutatingRights)")
        }
        // The page says it too.
        #expect(RunbookMarkdown.export(loading).contains("Read-only: no step changes anything"))
        #expect(RunbookMarkdown.export(restart).contains("Changes the cluster: needs write rights (`delete pods`"))
    }
}
