import Foundation
import Testing
@testable import Diagnosis

/// A read-only user (no pods/exec, no pods/proxy): the pod is shown, Redis is "not readable" in
/// plain words with kubectl's own 403, and nothing about Redis or the exporter is concluded.
@Suite struct AccessDenialTests {
    static let execStderr = #"Error from server (Forbidden): pods "redis-0" is forbidden: User "oncall-viewer" cannot create resource "pods/exec" in API group "" in the namespace "default""#
    static let proxyStderr = #"Error from server (Forbidden): pods "redis-0:9121" is forbidden: User "oncall-viewer" cannot get resource "pods/proxy" in API group "" in the namespace "default""#

    static func error(_ source: String, _ stderr: String) -> SourceError {
        let k = KubectlError.classify(stderr: stderr, exitCode: 1)
        return SourceError(source: source, message: k.description, kind: k.kind.rawValue)
    }

    /// The healthy pod as a viewer reads it: no INFO, no config, no metrics, two 403s.
    static func viewerSnapshot(_ edit: (inout SnapshotInputs) throws -> Void = { _ in }) throws -> Snapshot {
        var i = try Healthy.inputs()
        i.infoText = nil; i.config = nil; i.metricsText = nil; i.queues = nil
        i.redisSessionError = error("redis", execStderr).message
        i.errors = [error("redis", execStderr), error("exporter", proxyStderr)]
        try edit(&i)
        return SnapshotBuilder.build(i)
    }

    @Test func parsesUserVerbAndResourceFromKubectls403() {
        let d = AccessDenial(Self.error("redis", Self.execStderr))
        #expect(d?.user == "oncall-viewer" && d?.verb == "create" && d?.resource == "pods/exec")
        #expect(d?.plain == "no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden)")
        #expect(d?.kubectlMessage.contains(#"User "oncall-viewer" cannot create resource "pods/exec""#) == true)
        // Not a 403: no denial.
        #expect(AccessDenial(SourceError(source: "redis", message: "connection refused", kind: "connectionRefused")) == nil)
        // A 403 in another shape still gives a plain sentence.
        let odd = AccessDenial(SourceError(source: "redis", message: "Forbidden by RBAC: nope", kind: "forbidden"))
        #expect(odd?.plain == "no Redis data: user of this context may not exec into pods (forbidden)")
    }

    @Test func redisNotReadableIsNotRedisDown() throws {
        let s = try Self.viewerSnapshot()
        #expect(s.cluster?.state == .reachable)
        #expect(s.redisState == nil)
        #expect(s.redisError == "no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden)")
        #expect(s.pod?.ready == true)
        #expect(!s.findings.contains { $0.id == "redis-unreachable" }, "\(s.findings)")
        #expect(!s.findings.contains { $0.id == "exporter-down" }, "a 403 on the proxy is not the exporter down: \(s.findings)")
        #expect(s.denied.map(\.source) == ["redis", "exporter"])
    }

    @Test func checkIsUnknownSayingWhy() throws {
        let c = CheckReport.make(try Self.viewerSnapshot())
        #expect(c.status == .unknown && c.exitCode == 3)
        #expect(c.text.hasPrefix("REDIS UNKNOWN - no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden); kubectl: Forbidden by RBAC:"), "\(c.text)")
        // What the pod itself shows still pages: a pod that is not ready is CRITICAL for a viewer too.
        let notReady = try Self.viewerSnapshot { $0.pod = try KubeJSON.pod(from: PodJSON.pod(ready: false)) }
        #expect(CheckReport.make(notReady).status == .critical)
    }

    @Test func statusTextSaysWhatIsMissing() throws {
        let t = StatusText.render(try Self.viewerSnapshot())
        #expect(t.contains("Redis   not readable: no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden)"), "\(t)")
        #expect(t.contains("Export  not readable: no exporter metrics: user oncall-viewer may not read the pod proxy (get pods/proxy is forbidden)"), "\(t)")
    }
}
