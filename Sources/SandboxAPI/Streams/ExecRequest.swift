import Foundation
import NIOHTTP1
import ProcessRunner
import Sandbox

/// `pods/exec` query options (`PodExecOptions`): one `command=` per argv item, `container=`,
/// and the stream switches `stdin`, `stdout`, `stderr`, `tty`.
struct ExecOptions: Equatable, Sendable {
    var command: [String]
    var container: String?
    var stdin = false
    var stdout = false
    var stderr = false
    var tty = false

    /// Reads the options as the API server does; a malformed value is a 400 Status.
    static func parse(_ request: APIRequest) throws(APIStatus) -> ExecOptions {
        var o = ExecOptions(command: request.queryAll("command"))
        let container = request.query("container") ?? ""
        o.container = container.isEmpty ? nil : container
        o.stdin = try request.queryBool("stdin", kind: "PodExecOptions")
        o.stdout = try request.queryBool("stdout", kind: "PodExecOptions")
        o.stderr = try request.queryBool("stderr", kind: "PodExecOptions")
        o.tty = try request.queryBool("tty", kind: "PodExecOptions")
        if o.command.isEmpty || o.command.first?.isEmpty == true {
            throw APIStatus.badRequest("you must specify at least 1 command")
        }
        if !o.stdin && !o.stdout && !o.stderr {
            throw APIStatus.badRequest("you must specify at least 1 of stdin, stdout, stderr")
        }
        if o.command.contains(where: { $0.utf8.contains(0) }) {
            throw APIStatus.badRequest("command must not contain NUL bytes")
        }
        return o
    }

}

/// The container a pod subresource request is for (the API server's `validateContainer`):
/// the one named, or the only one; several and none named is a 400 naming the choices.
func resolveContainer(_ name: String?, pod: PodState) throws(APIStatus) -> ContainerSpec {
    if let name {
        guard let spec = pod.containers.first(where: { $0.name == name }) else {
            throw APIStatus.badRequest("container \(name) is not valid for pod \(pod.name)")
        }
        return spec
    }
    switch pod.containers.count {
    case 1: return pod.containers[0]
    case 0: throw APIStatus.badRequest("a container name must be specified for pod \(pod.name)")
    default:
        throw APIStatus.badRequest("a container name must be specified for pod \(pod.name), choose one of: [\(pod.containers.map(\.name).joined(separator: " "))]")
    }
}

/// What an accepted exec runs: the argv (nsenter into the pod's namespaces, then the command)
/// and the environment `kubectl exec` gives (the container's env with Secret values), or why
/// it cannot run (sent on the status channel after the upgrade, as the real API server's
/// stream translator reports a kubelet refusal).
enum ExecPlan: Sendable {
    case run(argv: [String], environment: [String: String], stdin: Bool, stdout: Bool, stderr: Bool)
    /// The container is not running: `Internal error occurred: unable to upgrade connection: container not found ("redis")`.
    case refuse(APIStatus)
    /// The program does not exist / cannot be executed in the container: stderr text and exit code 127 / 126.
    case cannotExecute(stderr: String, exitCode: Int32, stdout: Bool, stderrWanted: Bool)

    /// Checks done before the upgrade (a 400 Status otherwise): options, container name, the pod
    /// has a node. The rest is decided here and reported after the upgrade.
    @discardableResult
    static func validate(request: APIRequest, pod: PodState) throws(APIStatus) -> (ExecOptions, ContainerSpec) {
        let options = try ExecOptions.parse(request)
        let spec = try resolveContainer(options.container, pod: pod)
        if pod.nodeName == nil && pod.sandboxPid <= 0 {
            throw APIStatus.badRequest("pod \(pod.name) does not have a host assigned")
        }
        return (options, spec)
    }

    static func make(request: APIRequest, pod: PodState, state: ClusterState, layout: SandboxLayout) throws(APIStatus) -> ExecPlan {
        let (options, spec) = try validate(request: request, pod: pod)
        // A tty is not allocated by the sandbox: the streams are plain pipes. kubectl -t without
        // stderr still works (its stderr goes to stdout's channel as a terminal would merge it).
        let wantStderr = options.stderr
        let running: Bool = {
            guard pod.sandboxPid > 0, let st = pod.containerStatuses.first(where: { $0.name == spec.name }) else { return false }
            if case .running = st.state { return true }
            return false
        }()
        guard running, let argv = PodExec.argv(state: state, pod: pod, command: options.command) else {
            return .refuse(APIStatus.internalError("unable to upgrade connection: container not found (\"\(spec.name)\")"))
        }
        var env: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME": pod.name,
            "HOME": "/root",
        ]
        if options.tty { env["TERM"] = "xterm" }
        for key in ["LANG", "LC_ALL", "TZ"] { if let v = ProcessInfo.processInfo.environment[key] { env[key] = v } }
        env.merge(SandboxSecrets.environment(spec.env, root: layout.root)) { $1 }

        // A runtime reports a program it cannot start as OCI runtime exec failure with 126/127;
        // nsenter would say it in its own words, so look the program up first, as the runtime does.
        let program = options.command[0]
        let resolved = PodExec.resolve(program, runtime: state.runtime)
        if !resolved.contains("/") {
            if resolveExecutable(resolved, path: env["PATH"]) == nil {
                return .cannotExecute(
                    stderr: "OCI runtime exec failed: exec failed: unable to start container process: exec: \"\(program)\": executable file not found in $PATH: unknown\r\n",
                    exitCode: 127, stdout: options.stdout, stderrWanted: wantStderr)
            }
        }
        return .run(argv: argv, environment: env, stdin: options.stdin, stdout: options.stdout, stderr: wantStderr)
    }
}

/// The WebSocket subprotocols of remote command execution this server speaks, best first.
enum ExecProtocol {
    static let v5 = "v5.channel.k8s.io"
    static let v4 = "v4.channel.k8s.io"
    static let supported = [v5, v4]

    /// The answer to kubectl's SPDY retry (and to kubectl 1.27–1.29, which speak only SPDY).
    static let spdyRefusal = "this sandbox API server speaks only the WebSocket exec protocol of kubectl 1.30 and newer (\(v5), \(v4)); SPDY/3.1 is not supported: use kubectl 1.30 or newer (kubectl 1.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true)"

    /// A list as Go's %v prints it: [a b].
    static func goList(_ items: [String]) -> String { "[" + items.joined(separator: " ") + "]" }

    /// The subprotocol to answer with, from the client's `Sec-WebSocket-Protocol` offers; nil if none fits.
    static func negotiate(_ headers: HTTPHeaders) -> String? {
        let offered = headers[canonicalForm: "Sec-WebSocket-Protocol"].map { String($0).trimmingCharacters(in: .whitespaces) }
        return supported.first { offered.contains($0) }
    }
}
