import Foundation
import NIOHTTP1
import Testing
@testable import Sandbox
@testable import SandboxAPI

/// The pod streams' request handling without a sandbox: options, container choice, status
/// payloads, log selection and formatting, proxy targets.
@Suite struct StreamsUnitTests {
    func request(_ uri: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) -> APIRequest {
        APIRequest(method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    func pod(containers: [String] = ["redis", "redis-exporter"]) -> PodState {
        var p = PodState(name: "redis-0", uid: "u1", createdAt: "2026-12-04T12:00:00Z", labels: [:], templateGeneration: 1,
                         containers: containers.map { ContainerSpec(name: $0, image: "redis:7") })
        p.nodeName = "sandbox-node-1"
        p.sandboxPid = 1
        p.containerStatuses = containers.map { ContainerStatus(name: $0, image: "redis:7", state: .running(startedAt: "2026-12-04T12:00:00Z")) }
        return p
    }

    // MARK: exec

    @Test func execOptionsKeepEveryCommandItemInOrder() throws {
        let r = request("/api/v1/namespaces/default/pods/redis-0/exec?command=redis-cli&command=--memkeys&command=a%20b&container=redis&stdin=true&stdout=true&stderr=true")
        let o = try ExecOptions.parse(r)
        #expect(o.command == ["redis-cli", "--memkeys", "a b"])
        #expect(o.container == "redis")
        #expect(o.stdin && o.stdout && o.stderr && !o.tty)
    }

    @Test func execWithoutCommandOrStreamsIsABadRequest() {
        #expect(throws: APIStatus.self) { try ExecOptions.parse(request("/x/exec?stdout=true")) }
        do throws(APIStatus) {
            _ = try ExecOptions.parse(request("/x/exec?command=ls"))
            Issue.record("accepted an exec without any stream")
        } catch {
            #expect(error.code == 400)
            #expect(error.message == "you must specify at least 1 of stdin, stdout, stderr")
        }
        do throws(APIStatus) {
            _ = try ExecOptions.parse(request("/x/exec?command=ls&stdout=maybe"))
            Issue.record("accepted stdout=maybe")
        } catch {
            #expect(error.code == 400)
            #expect(error.message.contains("strconv.ParseBool: parsing \"maybe\": invalid syntax"))
        }
    }

    @Test func containerChoiceAsTheAPIServerMakesIt() throws {
        #expect(try resolveContainer(nil, pod: pod(containers: ["redis"])).name == "redis")
        #expect(try resolveContainer("redis-exporter", pod: pod()).name == "redis-exporter")
        do throws(APIStatus) {
            _ = try resolveContainer(nil, pod: pod())
            Issue.record("no container chosen")
        } catch {
            #expect(error.message == "a container name must be specified for pod redis-0, choose one of: [redis redis-exporter]")
            #expect(error.code == 400)
        }
        do throws(APIStatus) {
            _ = try resolveContainer("x", pod: pod())
            Issue.record("container x accepted")
        } catch {
            #expect(error.message == "container x is not valid for pod redis-0")
        }
    }

    @Test func aContainerThatIsNotRunningIsReportedAfterTheUpgrade() throws {
        var p = pod()
        p.containerStatuses[0].state = .waiting(reason: "CrashLoopBackOff", message: nil)
        let state = ClusterState(createdAt: "2026-12-04T12:00:00Z", node: NodeState(uid: "n", createdAt: "2026-12-04T12:00:00Z", capacityMemoryBytes: 1 << 30),
                                 statefulSet: StatefulSetState(uid: "s", createdAt: "2026-12-04T12:00:00Z", template: PodTemplate(labels: [:], containers: [])))
        let plan = try ExecPlan.make(request: request("/x/exec?command=redis-cli&container=redis&stdout=true"), pod: p, state: state,
                                     layout: SandboxLayout(root: URL(fileURLWithPath: "/nonexistent")))
        guard case .refuse(let status) = plan else { Issue.record("\(plan)"); return }
        #expect(status.message == "Internal error occurred: unable to upgrade connection: container not found (\"redis\")")
        #expect(status.reason == "InternalError")
    }

    @Test func aMissingProgramIsExitCode127WithTheRuntimesText() throws {
        let state = ClusterState(createdAt: "2026-12-04T12:00:00Z", node: NodeState(uid: "n", createdAt: "2026-12-04T12:00:00Z", capacityMemoryBytes: 1 << 30),
                                 statefulSet: StatefulSetState(uid: "s", createdAt: "2026-12-04T12:00:00Z", template: PodTemplate(labels: [:], containers: [])))
        let plan = try ExecPlan.make(request: request("/x/exec?command=no-such-program-here&container=redis&stdout=true&stderr=true"), pod: pod(),
                                     state: state, layout: SandboxLayout(root: URL(fileURLWithPath: "/nonexistent")))
        guard case .cannotExecute(let text, let code, _, _) = plan else { Issue.record("\(plan)"); return }
        #expect(code == 127)
        #expect(text.contains("exec: \"no-such-program-here\": executable file not found in $PATH"))
    }

    @Test func statusChannelPayloadsAreTheTranslatorsJSON() throws {
        #expect(ExecFrames.exitStatus(0).compact() == KctlJSON.object(["metadata": [:], "status": "Success"]).compact())
        let failure = try KctlJSON.parse(ExecFrames.exitStatus(3).compact())
        #expect(failure["status"]?.stringValue == "Failure")
        #expect(failure["reason"]?.stringValue == "NonZeroExitCode")
        #expect(failure["details"]?["causes"]?.arrayValue?.first?["reason"]?.stringValue == "ExitCode")
        #expect(failure["details"]?["causes"]?.arrayValue?.first?["message"]?.stringValue == "3")
        #expect(failure["message"]?.stringValue == "command terminated with non-zero exit code: command terminated with exit code 3")
        #expect(ExecFrames.exitCode(.signaled(9)) == 137)
    }

    @Test func subprotocolNegotiationPrefersV5() {
        #expect(ExecProtocol.negotiate(HTTPHeaders([("Sec-WebSocket-Protocol", "v5.channel.k8s.io")])) == "v5.channel.k8s.io")
        #expect(ExecProtocol.negotiate(HTTPHeaders([("Sec-WebSocket-Protocol", "v4.channel.k8s.io, v5.channel.k8s.io")])) == "v5.channel.k8s.io")
        #expect(ExecProtocol.negotiate(HTTPHeaders([("Sec-WebSocket-Protocol", "v4.channel.k8s.io")])) == "v4.channel.k8s.io")
        #expect(ExecProtocol.negotiate(HTTPHeaders([("Sec-WebSocket-Protocol", "channel.k8s.io")])) == nil)
        #expect(ExecProtocol.negotiate(HTTPHeaders()) == nil)
    }

    // MARK: logs

    @Test func logOptionsValidation() throws {
        let o = try LogOptions.parse(request("/x/log?container=redis&tailLines=5&timestamps=true&follow=true&limitBytes=10"), pod: "redis-0")
        #expect(o.tailLines == 5 && o.timestamps && o.follow && o.limitBytes == 10 && o.container == "redis")
        do throws(APIStatus) {
            _ = try LogOptions.parse(request("/x/log?tailLines=-1"), pod: "redis-0")
            Issue.record("tailLines=-1 accepted")
        } catch {
            #expect(error.code == 422)
            #expect(error.message == "PodLogOptions \"redis-0\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0")
        }
        #expect(throws: APIStatus.self) { try LogOptions.parse(request("/x/log?sinceSeconds=abc"), pod: "redis-0") }
        #expect(throws: APIStatus.self) { try LogOptions.parse(request("/x/log?sinceSeconds=5&sinceTime=2026-12-04T12:00:00Z"), pod: "redis-0") }
    }

    @Test func previousWithoutARestartIsTheKubeletsBadRequest() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streams-logs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let layout = SandboxLayout(root: dir)
        var p = pod()
        do throws(APIStatus) {
            _ = try LogSource.resolve(pod: p, container: "redis", previous: true, layout: layout)
            Issue.record("previous without a restart")
        } catch {
            #expect(error.code == 400)
            #expect(error.message == "previous terminated container \"redis\" in pod \"redis-0\" not found")
        }
        // Restarted once: the running container wrote 1.log, the previous one 0.log.
        p.containerStatuses[0].restartCount = 1
        p.containerStatuses[0].lastState = .terminated(reason: "Error", exitCode: 1, signal: nil, message: nil, startedAt: nil, finishedAt: "2026-12-04T12:00:00Z")
        for n in 0...1 {
            let f = layout.containerLog(pod: "redis-0", container: "redis", restart: n)
            try FileManager.default.createDirectory(at: f.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("run \(n)\n".utf8).write(to: f)
        }
        #expect(try LogSource.resolve(pod: p, container: "redis", previous: true, layout: layout).restart == 0)
        #expect(try LogSource.resolve(pod: p, container: "redis", previous: false, layout: layout).restart == 1)
        // Waiting to start again after a crash: both read the run that just ended.
        p.containerStatuses[0].state = .waiting(reason: "CrashLoopBackOff", message: nil)
        #expect(try LogSource.resolve(pod: p, container: "redis", previous: false, layout: layout).restart == 1)
        #expect(try LogSource.resolve(pod: p, container: "redis", previous: true, layout: layout).restart == 1)
        // Never ran: waiting to start.
        p.containerStatuses[1].state = .waiting(reason: "ContainerCreating", message: nil)
        do throws(APIStatus) {
            _ = try LogSource.resolve(pod: p, container: "redis-exporter", previous: false, layout: layout)
            Issue.record("logs of a container that never ran")
        } catch {
            #expect(error.message == "container \"redis-exporter\" in pod \"redis-0\" is waiting to start: ContainerCreating")
        }
    }

    @Test func logFormatterTailTimestampsSinceAndLimit() {
        let text = """
        7:C 04 Dec 2026 12:00:01.250 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
        7:M 04 Dec 2026 12:00:02.000 * Ready to accept connections tcp
        a line without a time
        time="2026-12-04T12:00:05Z" level=info msg="exporter"

        """
        let now = Date(timeIntervalSince1970: 1_796_385_600 + 10)  // 2026-12-04T12:00:10Z
        var tail = LogFormatter(options: LogOptions(tailLines: 2), startedAt: nil, now: now)
        #expect(String(decoding: tail.initial(Array(text.utf8), final: true, now: now), as: UTF8.self)
                == "a line without a time\ntime=\"2026-12-04T12:00:05Z\" level=info msg=\"exporter\"\n")
        var ts = LogFormatter(options: LogOptions(timestamps: true), startedAt: nil, now: now)
        let lines = String(decoding: ts.initial(Array(text.utf8), final: true, now: now), as: UTF8.self).split(separator: "\n")
        #expect(lines[0].hasPrefix("2026-12-04T12:00:01.25Z 7:C"))
        #expect(lines[1].hasPrefix("2026-12-04T12:00:02Z 7:M"))
        #expect(lines[2] == "2026-12-04T12:00:02Z a line without a time")
        #expect(lines[3].hasPrefix("2026-12-04T12:00:05Z time="))
        var since = LogFormatter(options: LogOptions(sinceSeconds: 6), startedAt: nil, now: now)
        #expect(String(decoding: since.initial(Array(text.utf8), final: true, now: now), as: UTF8.self)
                == "time=\"2026-12-04T12:00:05Z\" level=info msg=\"exporter\"\n")
        var limited = LogFormatter(options: LogOptions(limitBytes: 5), startedAt: nil, now: now)
        #expect(limited.initial(Array(text.utf8), final: true, now: now) == Array("7:C 0".utf8))
        #expect(limited.exhausted)
    }

    // MARK: proxy

    @Test func proxyTargets() throws {
        let r = request("/api/v1/namespaces/default/pods/redis-0:9121/proxy/metrics?name%5B%5D=redis_up")
        let t = try ProxyTarget.parse(r, subpath: "/metrics")
        #expect(t.pod == "redis-0" && t.port == 9121 && t.target == "/metrics?name%5B%5D=redis_up")
        let plain = try ProxyTarget.parse(request("/api/v1/namespaces/default/pods/http:redis-0/proxy"), subpath: "")
        #expect(plain.port == 80 && plain.target == "/")
        #expect(throws: APIStatus.self) { try ProxyTarget.parse(request("/api/v1/namespaces/default/pods/redis-0:99999/proxy/"), subpath: "/") }
        #expect(throws: APIStatus.self) { try ProxyTarget.parse(request("/api/v1/namespaces/default/pods/https:redis-0:9121/proxy/"), subpath: "/") }
    }
}
