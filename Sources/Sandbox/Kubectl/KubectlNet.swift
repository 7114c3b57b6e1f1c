import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sockets inside a pod's network namespace.
public enum PodNet {
    public enum ConnectError: Error, Equatable {
        case refused
        case other(String)
    }

    /// A TCP socket created inside the network namespace of `sandboxPid` and connected to
    /// 127.0.0.1:`port` there. The namespace switch is per thread and undone before returning.
    public static func connect(sandboxPid: Int32, port: UInt16, timeoutSeconds: Double = 5) throws -> Int32 {
        let selfNS = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard selfNS >= 0 else { throw ConnectError.other("open own netns: \(String(cString: strerror(errno)))") }
        defer { close(selfNS) }
        let podNS = open("/proc/\(sandboxPid)/ns/net", O_RDONLY | O_CLOEXEC)
        guard podNS >= 0 else { throw ConnectError.other("no route to host") }
        defer { close(podNS) }
        guard let setns = PodNet.setnsFunction else { throw ConnectError.other("setns is not available") }
        guard setns(podNS, PodNet.cloneNewNet) == 0 else {
            throw ConnectError.other("setns: \(String(cString: strerror(errno)))")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let socketErrno = errno
        if setns(selfNS, PodNet.cloneNewNet) != 0 {
            // Never leave this thread in the pod's namespace.
            fatalError("cannot return to the host network namespace: \(String(cString: strerror(errno)))")
        }
        guard fd >= 0 else { throw ConnectError.other("socket: \(String(cString: strerror(socketErrno)))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        setTimeouts(fd, timeoutSeconds)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            if e == ECONNREFUSED { throw ConnectError.refused }
            throw ConnectError.other(String(cString: strerror(e)).lowercased())
        }
        return fd
    }

    static let cloneNewNet: Int32 = 0x40000000
    typealias SetnsFn = @convention(c) (Int32, Int32) -> Int32
    nonisolated(unsafe) static let setnsFunction: SetnsFn? = {
        guard let p = dlsym(dlopen(nil, RTLD_NOW), "setns") else { return nil }
        return unsafeBitCast(p, to: SetnsFn.self)
    }()

    static func setTimeouts(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func writeAll(_ fd: Int32, _ data: [UInt8]) -> Bool {
        var off = 0
        while off < data.count {
            let n = data[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }

    /// HTTP/1.0 GET inside the pod: (status code, body).
    public static func httpGet(sandboxPid: Int32, port: UInt16, path: String, timeoutSeconds: Double = 10) throws -> (Int, Data) {
        let fd = try connect(sandboxPid: sandboxPid, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        let request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: kubectl/\(KctlObjects.kubeletVersion)\r\nAccept: */*\r\n\r\n"
        guard writeAll(fd, Array(request.utf8)) else { throw ConnectError.other("connection reset by peer") }
        var response = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 { if errno == EINTR { continue }; throw ConnectError.other("i/o timeout") }
            if n == 0 { break }
            response.append(contentsOf: buf[0..<n])
        }
        guard let sep = response.range(of: Data("\r\n\r\n".utf8)) else { throw ConnectError.other("malformed HTTP response") }
        let head = String(decoding: response[..<sep.lowerBound], as: UTF8.self)
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, Data(response[sep.upperBound...]))
    }
}

extension Kubectl {
    // MARK: get --raw

    func getRaw(_ raw: String) async throws {
        // /api/v1/namespaces/NS/pods/[http:]POD[:PORT]/proxy/PATH
        let parts = raw.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 8, parts[1] == "api", parts[2] == "v1", parts[3] == "namespaces", parts[5] == "pods", parts[7] == "proxy" else {
            if raw == "/healthz" || raw == "/livez" || raw == "/readyz" { io.out("ok"); return }
            throw KubectlError("Error from server (NotFound): the server could not find the requested resource")
        }
        let ns = parts[4]
        var target = parts[6].split(separator: ":").map(String.init)
        if target.first == "http" || target.first == "https" { target.removeFirst() }
        let podName = target.first ?? ""
        let port = target.count > 1 ? UInt16(target[1]) ?? 80 : 80
        let path = "/" + parts[8...].joined(separator: "/")
        let state = try readState()
        guard ns == state.namespace, let pod = state.pods.first(where: { $0.name == podName }) else {
            throw KubectlError.notFound("pods", podName)
        }
        let ip = pod.podIP ?? ""
        guard pod.sandboxPid > 0 else {
            throw KubectlError("Error from server (ServiceUnavailable): error trying to reach service: dial tcp \(ip.isEmpty ? "<nil>" : ip):\(port): connect: no route to host")
        }
        do {
            let (status, body) = try PodNet.httpGet(sandboxPid: pod.sandboxPid, port: port, path: path)
            guard (200..<300).contains(status) else {
                let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let reason = status == 404 ? "NotFound" : status == 503 ? "ServiceUnavailable" : status >= 500 ? "InternalError" : "BadRequest"
                throw KubectlError("Error from server (\(reason)): \(text.isEmpty ? "the server could not find the requested resource" : text)")
            }
            io.out(String(decoding: body, as: UTF8.self))
        } catch PodNet.ConnectError.refused {
            throw KubectlError("Error from server (ServiceUnavailable): error trying to reach service: dial tcp \(ip.isEmpty ? "127.0.0.1" : ip):\(port): connect: connection refused")
        } catch PodNet.ConnectError.other(let why) {
            throw KubectlError("Error from server (ServiceUnavailable): error trying to reach service: dial tcp \(ip.isEmpty ? "127.0.0.1" : ip):\(port): \(why)")
        }
    }

    // MARK: top

    struct Usage { var milliCPU: Int; var bytes: Int64 }

    static func processTree(_ root: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for e in entries {
                guard let pid = Int32(e), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 2, let ppid = Int32(fields[1]) { children[ppid, default: []].append(pid) }
            }
        }
        var out: [Int32] = []
        var queue = [root]
        while let p = queue.popLast() {
            out.append(p)
            queue += children[p] ?? []
        }
        return out
    }

    static func cpuTicks(_ pids: [Int32]) -> Int {
        pids.reduce(0) { sum, pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return sum }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            guard f.count > 13, let u = Int(f[11]), let s = Int(f[12]) else { return sum }
            return sum + u + s
        }
    }

    static func memoryBytes(_ pids: [Int32], cgroup: String?) -> Int64 {
        if let cgroup, let usage = try? String(contentsOfFile: cgroup + "/memory.usage_in_bytes", encoding: .utf8),
           var bytes = Int64(usage.trimmingCharacters(in: .whitespacesAndNewlines)) {
            // Working set, as metrics-server reports: usage minus inactive file cache.
            if let stat = try? String(contentsOfFile: cgroup + "/memory.stat", encoding: .utf8) {
                for line in stat.split(separator: "\n") where line.hasPrefix("total_inactive_file ") {
                    bytes -= Int64(line.split(separator: " ")[1]) ?? 0
                }
            }
            return max(0, bytes)
        }
        return pids.reduce(Int64(0)) { sum, pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return sum }
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                let kb = Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
                return sum + kb * 1024
            }
            return sum
        }
    }

    func top(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("containers", value: false), KctlFlag("no-headers", value: false),
                                                         KctlFlag("selector", "l"), KctlFlag("sort-by"), KctlFlag("all-namespaces", "A", value: false),
                                                         KctlFlag("use-protocol-buffers", value: false), KctlFlag("sum", value: false)], command: "top")
        guard let what = args.positionals.first else {
            throw KubectlError("error: Required resource not specified.")
        }
        let state = try readState()
        if what == "node" || what == "nodes" || what == "no" {
            let all = Kubectl.processTree(1)
            let t0 = Kubectl.cpuTicks(all)
            try await Task.sleep(for: .milliseconds(500))
            let t1 = Kubectl.cpuTicks(all)
            let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
            let milli = Int(Double(t1 - t0) / hz / 0.5 * 1000)
            let cores = Double(Int(state.node.capacityCPU) ?? 2)
            var mem: [String: Int64] = [:]
            for line in ((try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? "").split(separator: "\n") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                if f.count >= 2 { mem[String(f[0].dropLast())] = Int64(f[1]) }
            }
            let used: Int64 = ((mem["MemTotal"] ?? 0) - (mem["MemAvailable"] ?? 0)) * 1024
            let cpuPercent = Int(Double(milli) / (cores * 10))
            let memPercent = Int(Double(used) * 100 / Double(max(1, state.node.capacityMemoryBytes)))
            let row: [String] = [state.node.name, "\(milli)m", "\(cpuPercent)%", "\(used / (1 << 20))Mi", "\(memPercent)%"]
            io.out(KctlTable.render(header: ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"], rows: [row]))
            return
        }
        guard KctlKind.from(what) == .pod else {
            throw KubectlError("error: unknown command \"\(what)\" for \"kubectl top\"")
        }
        var pods = state.pods.filter { $0.deletionTimestamp == nil || true }
        if let name = args.positionals.dropFirst().first {
            let pod = try findPod(state, name, args)
            pods = [pod]
        } else if namespace(args, state) != state.namespace {
            io.err("No resources found in \(namespace(args, state)) namespace.\n")
            return
        }
        if let sel = args.value("selector") {
            let s = try LabelSelector(sel)
            pods = pods.filter { s.matches(KctlObjects(state: state).podLabels($0)) }
        }
        // Sample every running container twice, 0.5 s apart.
        var trees: [String: [Int32]] = [:]
        for pod in pods {
            for c in pod.containerStatuses where c.pid > 0 {
                if case .running = c.state { trees["\(pod.name)/\(c.name)"] = Kubectl.processTree(c.pid) }
            }
        }
        let before = trees.mapValues(Kubectl.cpuTicks)
        let started = Date()
        if !trees.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        let elapsed = max(0.1, Date().timeIntervalSince(started))
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        var usage: [String: Usage] = [:]
        for (key, pids) in trees {
            let ticks = Kubectl.cpuTicks(pids) - (before[key] ?? 0)
            let pod = key.split(separator: "/").first.map(String.init) ?? ""
            let cname = key.split(separator: "/").last.map(String.init) ?? ""
            let cg = state.pods.first { $0.name == pod }?.containerStatuses.first { $0.name == cname }?.cgroupPath
            usage[key] = Usage(milliCPU: Int(Double(max(0, ticks)) / hz / elapsed * 1000), bytes: Kubectl.memoryBytes(pids, cgroup: cg))
        }
        var rows: [[String]] = []
        for pod in pods {
            let keys = pod.containers.map { "\(pod.name)/\($0.name)" }.filter { usage[$0] != nil }
            if keys.isEmpty {
                if args.positionals.count > 1 {
                    let age = Date().timeIntervalSince(KctlTime.parse(pod.createdAt) ?? Date())
                    throw KubectlError("error: Metrics not available for pod \(state.namespace)/\(pod.name), age: \(KctlTime.goDuration(age))")
                }
                continue
            }
            if args.bool("containers") {
                for k in keys {
                    let u = usage[k]!
                    rows.append([pod.name, String(k.split(separator: "/").last ?? ""), "\(u.milliCPU)m", "\(u.bytes / (1 << 20))Mi"])
                }
            } else {
                let cpu = keys.reduce(0) { $0 + usage[$1]!.milliCPU }
                let mem = keys.reduce(Int64(0)) { $0 + usage[$1]!.bytes }
                rows.append([pod.name, "\(cpu)m", "\(mem / (1 << 20))Mi"])
            }
        }
        if rows.isEmpty {
            throw KubectlError("error: metrics not available yet")
        }
        let header = args.bool("containers") ? ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"] : ["NAME", "CPU(cores)", "MEMORY(bytes)"]
        io.out(KctlTable.render(header: args.bool("no-headers") ? nil : header, rows: rows))
    }

    // MARK: port-forward

    func portForward(_ argv: [String]) async throws {
        let args = try KctlArgParser.parse(argv, flags: [KctlFlag("address"), KctlFlag("pod-running-timeout")], command: "port-forward")
        guard let ref = args.positionals.first, args.positionals.count >= 2 else {
            throw KubectlError("error: TYPE/NAME and list of ports are required for port-forward\nSee 'kubectl port-forward -h' for help and examples")
        }
        let state = try readState()
        var name = ref
        if ref.contains("/") {
            let parts = ref.split(separator: "/", maxSplits: 1).map(String.init)
            if KctlKind.from(parts[0]) == .statefulset {
                guard parts[1] == state.statefulSet.name, let p = state.pods.first(where: { $0.ownerName == parts[1] }) else {
                    throw KubectlError.notFound("statefulsets.apps", parts[1])
                }
                name = p.name
            } else if parts[0] == "svc" || parts[0] == "service" || parts[0] == "services" {
                guard let p = state.pods.first(where: { $0.ownerName == state.statefulSet.name }) else {
                    throw KubectlError.notFound("services", parts[1])
                }
                name = p.name
            } else {
                name = try podName(ref)
            }
        }
        let pod = try findPod(state, name, args)
        guard pod.phase == "Running" else {
            throw KubectlError("error: unable to forward port because pod is not running. Current status=\(pod.phase)")
        }
        var mappings: [(local: UInt16, remote: UInt16)] = []
        for spec in args.positionals.dropFirst() {
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let remoteText = parts.count == 2 ? parts[1] : parts[0]
            let localText = parts.count == 2 ? parts[0] : parts[0]
            guard let remote = UInt16(remoteText) ?? Kubectl.namedPort(remoteText, pod) else {
                throw KubectlError("error: Error parsing remote port '\(remoteText)': strconv.ParseUint: parsing \"\(remoteText)\": invalid syntax")
            }
            let local = localText.isEmpty ? 0 : (UInt16(localText) ?? remote)
            mappings.append((local, remote))
        }
        let addresses = (args.value("address") ?? "localhost").split(separator: ",").map(String.init)
        var listeners: [(fd: Int32, local: UInt16, remote: UInt16)] = []
        for m in mappings {
            var port = m.local
            var opened: [Int32] = []
            for address in addresses {
                let hosts = address == "localhost" ? ["127.0.0.1", "::1"] : [address]
                for host in hosts {
                    if let (fd, bound) = Kubectl.listen(host: host, port: port) {
                        port = bound
                        opened.append(fd)
                        let shown = host.contains(":") ? "[\(host)]" : host
                        io.out("Forwarding from \(shown):\(bound) -> \(m.remote)\n")
                        listeners.append((fd, bound, m.remote))
                    } else if host == "127.0.0.1" || !address.hasPrefix("localhost") && hosts.count == 1 {
                        io.err("Unable to listen on port \(port): Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 \(host):\(port): bind: address already in use]\n")
                    }
                }
            }
            if opened.isEmpty {
                throw KubectlError("error: unable to listen on any of the requested ports: [{\(m.local) \(m.remote)}]")
            }
        }
        let layout = self.layout
        let io = self.io
        let podName = pod.name
        for l in listeners {
            let thread = Thread {
                while true {
                    let conn = accept(l.fd, nil, nil)
                    if conn < 0 { if errno == EINTR { continue }; return }
                    io.out("Handling connection for \(l.local)\n")
                    let relay = Thread {
                        defer { close(conn) }
                        guard let state = try? StateStore(layout: layout).read(),
                              let pod = state.pods.first(where: { $0.name == podName }), pod.sandboxPid > 0 else {
                            io.err("E\(Kubectl.klogTime()) portforward.go:409] an error occurred forwarding \(l.local) -> \(l.remote): error forwarding port \(l.remote) to pod \(podName): pod not found\n")
                            return
                        }
                        do {
                            let upstream = try PodNet.connect(sandboxPid: pod.sandboxPid, port: l.remote)
                            PodNet.setTimeouts(upstream, 0)
                            defer { close(upstream) }
                            Kubectl.relay(conn, upstream)
                        } catch {
                            io.err("E\(Kubectl.klogTime()) portforward.go:409] an error occurred forwarding \(l.local) -> \(l.remote): error forwarding port \(l.remote) to pod \(pod.uid), uid : failed to execute portforward in network namespace: failed to connect to localhost:\(l.remote) inside namespace, IPv4: dial tcp4 127.0.0.1:\(l.remote): connect: connection refused\n")
                        }
                    }
                    relay.start()
                }
            }
            thread.start()
        }
        // Runs until killed.
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    static func namedPort(_ name: String, _ pod: PodState) -> UInt16? {
        for c in pod.containers { for p in c.ports where p.name == name { return UInt16(p.containerPort) } }
        return nil
    }

    static func klogTime() -> String {
        let f = DateFormatter()
        f.dateFormat = "MMdd HH:mm:ss.SSSSSS"
        return f.string(from: Date()) + "   \(getpid())"
    }

    static func listen(host: String, port: UInt16) -> (Int32, UInt16)? {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            _ = inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr(host)
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0, Glibc.listen(fd, 128) == 0 else { close(fd); return nil }
        var bound = port
        if port == 0 {
            var addr = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            bound = withUnsafePointer(to: &addr) { p in
                v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                   : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        }
        return (fd, bound)
    }

    /// Copies both ways until both sides closed.
    static func relay(_ a: Int32, _ b: Int32) {
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var buf = [UInt8](repeating: 0, count: 65536)
        var open = [true, true]
        while open[0] || open[1] {
            for i in 0..<2 { fds[i].fd = open[i] ? (i == 0 ? a : b) : -1; fds[i].revents = 0 }
            let n = poll(&fds, 2, -1)
            if n < 0 { if errno == EINTR { continue }; return }
            for i in 0..<2 where open[i] && fds[i].revents != 0 {
                let from = i == 0 ? a : b
                let to = i == 0 ? b : a
                let r = recv(from, &buf, buf.count, 0)
                if r <= 0 {
                    open[i] = false
                    shutdown(to, Int32(SHUT_WR))
                    if !open[1 - i] { return }
                    continue
                }
                if !PodNet.writeAll(to, Array(buf[0..<r])) { return }
            }
        }
    }
}
