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
