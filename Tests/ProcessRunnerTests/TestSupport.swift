import Foundation
import Testing
@testable import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` until it holds or `timeout` passes. Every wait in these tests is bounded.
func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// True if `pid` names a live (non-zombie) process.
func processIsAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    // Format: pid (comm) STATE ...; comm may contain spaces, so look after the last ')'.
    guard let close = stat.lastIndex(of: ")") else { return false }
    let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
    return !(rest.first == "Z" || rest.first == "X")
}

func makeTempDir() throws -> String {
    let path = NSTemporaryDirectory() + "rrb-proc-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A currently free TCP port on 127.0.0.1 (bind to 0, read it back, close).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Records everything a Runner reports.
final class TestRecorder: CommandRecorder, @unchecked Sendable {
    private let lock = NSLock()
    private var _started: [(UInt64, CommandSpec)] = []
    private var _finished: [(UInt64, CommandResult)] = []

    func commandStarted(id: UInt64, spec: CommandSpec) { lock.lock(); _started.append((id, spec)); lock.unlock() }
    func commandFinished(id: UInt64, result: CommandResult) { lock.lock(); _finished.append((id, result)); lock.unlock() }
    var started: [(UInt64, CommandSpec)] { lock.lock(); defer { lock.unlock() }; return _started }
    var finished: [(UInt64, CommandResult)] { lock.lock(); defer { lock.unlock() }; return _finished }
}

/// A real redis-server on a random free port, supervised as a Child. Stop it with `stop()`.
struct RedisServer {
    let port: Int
    let child: Child
    let dir: String

    static func start(runner: Runner) async throws -> RedisServer {
        let dir = try makeTempDir()
        var lastError = ""
        for _ in 0..<3 {
            let port = try freePort()
            let child = try Child.spawn(["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                         "--daemonize", "no", "--dir", dir],
                                        stdoutPath: dir + "/redis.log", stderrPath: dir + "/redis.log")
            let up = await eventually(timeout: .seconds(10)) {
                if child.poll() != nil { return true }
                let r = await runner.run(["redis-cli", "-p", "\(port)", "PING"], timeout: .seconds(2))
                return r.stdoutText.contains("PONG")
            }
            if up, child.poll() == nil { return RedisServer(port: port, child: child, dir: dir) }
            lastError = (try? String(contentsOfFile: dir + "/redis.log", encoding: .utf8)) ?? ""
            await child.terminate()
        }
        throw ChildSpawnError(argv: ["redis-server"], reason: "did not answer PING: \(lastError)")
    }

    func stop() async {
        await child.terminate()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
