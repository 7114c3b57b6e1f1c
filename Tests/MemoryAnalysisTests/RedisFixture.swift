import Foundation
import Testing
import MemoryAnalysis
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

// The production session type speaks the analysis' channel protocol (the CLI has the same one-liner).
extension LineSession: RedisLineChannel {}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

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

struct FixtureError: Error, CustomStringConvertible { var description: String }

/// A real redis-server (7.0.15) on a random free port in its own temp dir.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let dir: String
    let runner = Runner()
    private(set) var child: Child

    private init(port: Int, dir: String, child: Child) {
        self.port = port; self.dir = dir; self.child = child
    }

    static func start(_ extra: [String] = [], dir given: String? = nil, waitReady: Bool = true) async throws -> RedisServer {
        let dir = given ?? (NSTemporaryDirectory() + "rrb-mem-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let runner = Runner()
        var last = ""
        for _ in 0..<3 {
            let port = try freePort()
            let child = try Child.spawn(["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                         "--daemonize", "no", "--dir", dir] + extra,
                                        stdoutPath: dir + "/redis.log", stderrPath: dir + "/redis.log")
            let up = await eventually(timeout: .seconds(10)) {
                if child.poll() != nil { return true }
                let r = await runner.run(["redis-cli", "-p", "\(port)", waitReady ? "PING" : "INFO"], timeout: .seconds(2))
                return waitReady ? r.stdoutText.contains("PONG") : r.stdoutText.contains("redis_version")
            }
            if up, child.poll() == nil { return RedisServer(port: port, dir: dir, child: child) }
            last = (try? String(contentsOfFile: dir + "/redis.log", encoding: .utf8)) ?? ""
            await child.terminate()
        }
        throw FixtureError(description: "redis-server did not start: \(last.suffix(500))")
    }

    func cli(_ args: [String], stdin: Data? = nil, timeout: Duration = .seconds(30)) async -> CommandResult {
        await runner.run(CommandSpec(["redis-cli", "-p", "\(port)"] + args, stdin: stdin, timeout: timeout))
    }

    /// Loads RESP commands with `redis-cli --pipe`.
    func pipe(_ resp: Data) async throws {
        let r = await cli(["--pipe"], stdin: resp, timeout: .seconds(120))
        guard r.succeeded, r.stdoutText.contains("errors: 0") else {
            throw FixtureError(description: "pipe failed: \(r.termination) \(r.stdoutText.suffix(300)) \(r.stderrText.suffix(300))")
        }
    }

    func session(timeout: Duration = .seconds(10)) -> LineSession {
        LineSession(argv: ["redis-cli", "-p", "\(port)"], runner: runner, timeout: timeout, marker: SessionMarker.unknownCommand)
    }

    func stop() async {
        await child.terminate()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Runs `body` with a fresh server and always stops it.
func withRedis<T>(_ extra: [String] = [], _ body: (RedisServer) async throws -> T) async throws -> T {
    let server = try await RedisServer.start(extra)
    do {
        let r = try await body(server)
        await server.stop()
        return r
    } catch {
        await server.stop()
        throw error
    }
}

/// RESP encoding of commands, for `redis-cli --pipe`.
struct RESP {
    var data = Data()
    mutating func add(_ args: [[UInt8]]) {
        data.append(contentsOf: Array("*\(args.count)\r\n".utf8))
        for a in args {
            data.append(contentsOf: Array("$\(a.count)\r\n".utf8))
            data.append(contentsOf: a)
            data.append(contentsOf: [13, 10])
        }
    }
    mutating func add(_ args: String...) { add(args.map { Array($0.utf8) }) }
    mutating func add(strings args: [String]) { add(args.map { Array($0.utf8) }) }
}

/// Deterministic pseudo-random numbers for datasets.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// `MEMORY USAGE key SAMPLES 5` for each key, straight from Redis, through one session.
func directSizes(_ server: RedisServer, _ keys: [[UInt8]]) async throws -> [Int] {
    let s = server.session(timeout: .seconds(30))
    var out: [Int] = []
    var i = 0
    do {
        while i < keys.count {
            let chunk = keys[i..<min(keys.count, i + 500)]
            let replies = try await s.send(chunk.map { "MEMORY USAGE \(RedisCLIQuoting.quote(bytes: $0)) SAMPLES 5" })
            for r in replies {
                guard let v = Int(r.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw FixtureError(description: "MEMORY USAGE said \(r)") }
                out.append(v)
            }
            i += 500
        }
    } catch {
        await s.close()
        throw error
    }
    await s.close()
    return out
}

/// INFO commandstats as name → calls.
func commandStats(_ server: RedisServer) async -> [String: Int] {
    let r = await server.cli(["INFO", "commandstats"])
    var out: [String: Int] = [:]
    for line in r.stdoutText.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
        let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        for f in parts[1].split(separator: ",") where f.hasPrefix("calls=") {
            out[String(parts[0])] = Int(f.dropFirst(6))
        }
    }
    return out
}
