import Diagnosis
import Foundation
import Render
import Testing

/// Every INFO corpus file through RedisInfo, CONFIG GET parsing, the exporter and log parsers and
/// the snapshot builder, as the INFO reply and as the session's error text (the prober hands a
/// non-INFO reply over as `redisSessionError`).
@Suite("Hostile INFO")
struct InfoHostileTests {
    static let files = Corpus.files("info")

    /// Replies that are a Redis state, not INFO: shown as that state.
    static let states: [String: String] = ["loading-reply.txt": "loading", "noauth-reply.txt": "noauth"]

    @Test func corpusIsComplete() { #expect(Self.files.count >= 20) }

    static func renderAll(_ snap: Snapshot, _ name: String) {
        let status = StatusText.render(snap)
        #expect(TerminalSafety.report(status.replacingOccurrences(of: "\n", with: "")) == "",
                "\(name): `status` output carries control characters: \(status.debugDescription.prefix(300))")
        TerminalSafety.expectSafeOnGrid(status.split(separator: "\n").map(String.init))
        let check = CheckReport.make(snap).text
        #expect(TerminalSafety.report(check.replacingOccurrences(of: "\n", with: "")) == "", "\(name): `check` output carries control characters")
        let fields = [snap.redisVersion, snap.redisServer, snap.redisError, snap.memory.policy, snap.persistence.aofLastWriteStatus,
                      snap.persistence.appendfsync] + snap.findings.map { Optional($0.summary + " " + $0.evidence) }
        TerminalSafety.expectSafeOnGrid(fields.compactMap { $0 })
        #expect((try? SnapshotJSON.decode(SnapshotJSON.encode(snap))) != nil, "\(name): status --json does not round-trip")
    }

    @Test("each INFO file parses without a crash and renders safely", arguments: files)
    func parse(_ name: String) throws {
        let data = try Corpus.data("info", name)
        let text = String(decoding: data, as: UTF8.self)
        let info = RedisInfo.parse(text)
        _ = info.keyspace; _ = info.errorStats; _ = info.commandStats
        _ = RedisConfig.parseGetReply(text)
        _ = PrometheusText.parse(text).redisUp
        _ = LogScan.scan(text)
        for e in info.entries { #expect(!e.key.isEmpty && !e.key.contains(":"), "\(name): bad key \(e.key.debugDescription)") }

        var input = SnapshotInputs(now: Date(timeIntervalSince1970: 1_800_000_000))
        input.infoText = text
        Self.renderAll(SnapshotBuilder.build(input), name)

        // The same text as the session's answer to PING (what the prober does with a non-PONG reply).
        var asError = SnapshotInputs(now: Date(timeIntervalSince1970: 1_800_000_000))
        asError.redisSessionError = text
        asError.errors = [SourceError(source: "redis", message: text, staleSeconds: 30)]
        let snap = SnapshotBuilder.build(asError)
        if let state = Self.states[name] {
            #expect(snap.redisState == state, "\(name): redisState \(snap.redisState ?? "nil"), expected \(state)")
            #expect(snap.redisError?.isEmpty == false)
        }
        Self.renderAll(snap, name)
    }

    @Test func escapeSequencesInVersionAreShownAsSymbols() throws {
        let text = String(decoding: try Corpus.data("info", "escape-sequences.txt"), as: UTF8.self)
        var input = SnapshotInputs(now: Date())
        input.infoText = text
        let snap = SnapshotBuilder.build(input)
        let v = try #require(snap.redisVersion)
        var g = Grid(width: 40, height: 1)
        g.write("version \(v)", x: 0, y: 0)
        #expect(!g.lines()[0].contains("\u{1B}"))
        #expect(g.lines()[0].contains("␛"), "the ESC should be visible as ␛: \(g.lines()[0])")
    }

    @Test("every Redis error state is recognised", arguments: [
        ("LOADING Redis is loading the dataset in memory", "loading"),
        ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", "misconf"),
        ("OOM command not allowed when used memory > 'maxmemory'.", "oom"),
        ("NOAUTH Authentication required.", "noauth"),
        ("WRONGPASS invalid username-password pair or user is disabled.", "wrongpass"),
        ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.", "busy"),
        ("Error: Server closed the connection", "unreachable"),
        ("Could not connect to Redis at 127.0.0.1:6379: Connection refused", "unreachable"),
    ])
    func states(_ reply: String, _ state: String) {
        var input = SnapshotInputs(now: Date())
        input.redisSessionError = reply
        let snap = SnapshotBuilder.build(input)
        #expect(snap.redisState == state, "\(reply) -> \(snap.redisState ?? "nil")")
        #expect(StatusText.render(snap).contains("Redis   \(state)"))
    }

    // MARK: generated, big

    @Test func oneMegabyteInfoLine() {
        let big = String(repeating: "v", count: 1 << 20)
        let text = "# Server\r\nredis_version:\(big)\r\nos:\u{1B}]0;\(big)\u{07}\r\n# Memory\r\nused_memory:\(big)\r\nmaxmemory_policy:\(big)\r\n"
        let info = RedisInfo.parse(text)
        #expect(info.string("redis_version")?.count == 1 << 20)
        #expect(info.int("used_memory") == nil, "a megabyte of letters is not a number")
        var input = SnapshotInputs(now: Date())
        input.infoText = text
        let snap = SnapshotBuilder.build(input)
        Self.renderAll(snap, "1 MB line")
        var g = Grid(width: 100, height: 1)
        #expect(g.write(StatusText.render(snap), x: 0, y: 0) <= 100)
    }

    @Test func hundredThousandKeyspaceLines() {
        var lines = ["# Keyspace"]
        lines.reserveCapacity(100_001)
        for i in 0..<100_000 { lines.append(i % 10 == 9 ? "db\(i):keys=\u{1B}[2J,expires=x" : "db\(i):keys=\(i),expires=0,avg_ttl=0") }
        let text = lines.joined(separator: "\n")
        let info = RedisInfo.parse(text)
        #expect(info.entries.count == 100_000)
        let ks = info.keyspace
        #expect(ks.count == 90_000, "lines with a non-numeric count are skipped, got \(ks.count)")
        var input = SnapshotInputs(now: Date())
        input.infoText = text
        let snap = SnapshotBuilder.build(input)
        #expect(snap.keyspace.count == 90_000)
        TerminalSafety.expectSafeOnGrid(StatusText.render(snap).split(separator: "\n").map(String.init))
    }

    @Test func binaryGarbageOfEveryByte() {
        var bytes: [UInt8] = []
        for round in 0..<64 { for b in 0...255 { bytes.append(UInt8((b + round * 7) & 0xFF)); if b % 13 == 0 { bytes.append(0x3A) } } }
        let text = String(decoding: bytes, as: UTF8.self)
        var input = SnapshotInputs(now: Date())
        input.infoText = text
        input.metricsText = text
        input.previousLogText = text
        input.redisSessionError = text
        Self.renderAll(SnapshotBuilder.build(input), "binary")
    }
}
