import ArgumentParser
import Foundation
import Live
import MemoryAnalysis
import ProcessRunner
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The persistent redis-cli session speaks the memory analysis' channel protocol.
extension LineSession: RedisLineChannel {}

public struct MemoryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Where the memory went, without blocking Redis.",
        discussion: """
        Walks the keyspace of db0 with SCAN in small read-only Lua batches (EVALSHA_RO: SCAN, \
        MEMORY USAGE key SAMPLES 5, TYPE, PTTL) through one `kubectl exec -i POD -- redis-cli` session, \
        groups keys into patterns (ids, UUIDs, hashes, tokens, timestamps become placeholders), \
        and breaks BullMQ queues down per state. It never runs KEYS, never writes, works while \
        Redis rejects writes with OOM, pauses when Redis answers slowly, and stops cleanly \
        (partial results, exit status 2) on LOADING, BUSY, a lost session or Ctrl-C.

        --json prints the report with stable field names (schema redis-runbook/memory/v1): \
        complete, stopReason, progressPercent, server{usedMemory, usedMemoryRSS, \
        fragmentationBytes, maxmemory, dbSize, ...}, totals{keyBytes, unattributedBytes, \
        unattributedShare, ...}, scan{keysScanned, batches, durationSeconds, maxBatchLatencyMs, ...}, \
        sampling{fraction, estimated, scale}, patterns[{pattern, keys, bytes, share, averageBytes, type, keysWithTTL}], \
        otherPatterns, topKeys[{key, keyHex, type, bytes, pattern}], \
        bullmq{prefix, queues[{queue, keys, bytes, jobs, states[{state, structureKeys, structureBytes, \
        jobs, jobKeys, jobBytes, bytes}]}]}, notes[].
        """
    )

    @OptionGroup public var global: GlobalOptions

    @Option(name: .long, help: "Rows in the pattern and top-key lists.")
    public var top: Int = 20

    @Flag(name: .long, help: "Print the report as JSON.")
    public var json: Bool = false

    @Option(name: .long, help: ArgumentHelp("Size only this fraction of the keys (chosen by key hash) and scale up, e.g. 0.1.", valueName: "fraction"))
    public var sample: Double?

    @Option(name: .customLong("scan-count"), help: "SCAN COUNT per batch (upper bound; each batch's COUNT is scaled so it takes about 2.5 ms inside Redis).")
    public var scanCount: Int = 2000

    @Option(name: .long, help: "redis-cli sessions (kubectl exec) the batches go through, 1-4 (more than one: Redis can run one session's batch while another's reply is printed; measured no faster in the sandbox, see BENCHMARKS.md).")
    public var sessions: Int = 1

    public init() {}

    public mutating func validate() throws {
        guard (1...10_000).contains(top) else { throw ValidationError("--top must be between 1 and 10000, got \(top)") }
        guard (1...4).contains(sessions) else { throw ValidationError("--sessions must be between 1 and 4, got \(sessions)") }
        guard (1...100_000).contains(scanCount) else { throw ValidationError("--scan-count must be between 1 and 100000, got \(scanCount)") }
        if let f = sample {
            guard f.isFinite, f > 0, f <= 1 else { throw ValidationError("--sample must be a fraction in (0, 1], got \(f)") }
        }
    }

    public func run() async throws {
        try await global.ensureSandboxIfRequested()
        let target = try global.liveTarget()
        var options = MemoryAnalysisOptions(scanCount: scanCount, top: top, sampleFraction: sample ?? 1, bullPrefix: global.bullmqPrefix)
        options.topPatterns = top

        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1 && !json)
        let sessions = self.sessions
        let task = Task { await Self.analyze(target, options: options, runner: Runner(), sessions: sessions) { progress.show($0) } }
        // Ctrl-C: stop between batches and still print what was found.
        signal(SIGINT, SIG_IGN)
        let sigint = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        sigint.setEventHandler { task.cancel() }
        sigint.resume()
        let report = await task.value
        sigint.cancel()
        signal(SIGINT, SIG_DFL)
        progress.clear()
        // The memory command's end: nothing it started outlives it.
        await ChildRegistry.terminateAll()

        if json {
            var data = try report.jsonData()
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
        } else {
            FileHandle.standardOutput.write(Data(report.renderText().utf8))
        }
        if !report.complete {
            FileHandle.standardError.write(Data("redis-runbook memory: stopped at \(Int(report.progressPercent))% because \(report.stopReason ?? "of an unknown error")\n".utf8))
            throw ExitCode(2)
        }
    }

    /// The keyspace analysis behind `memory` and the runbooks' `keyspace-analysis` steps: one
    /// redis-cli session, bounded read-only SCAN batches (`MemoryAnalyzer`), closed at the end.
    /// Cancelling the task stops it between batches with a partial report.
    static func analyze(_ target: LiveTarget, options: MemoryAnalysisOptions, runner: Runner, sessions: Int = 1,
                        progress: @escaping @Sendable (MemoryProgress) -> Void) async -> MemoryReport {
        let (session, prelude) = await Self.openSession(target, runner: runner)
        // More sessions for the batches on request (MemoryAnalyzer.extraChannels): redis-cli sends a
        // line only once the reply before it is printed, and Redis waits for it in between. Each
        // starts on its first batch, beside the first session's work.
        let extra = (1..<max(1, sessions)).map { _ in Self.session(target, runner: runner, prelude: prelude) }
        let report = await MemoryAnalyzer(channel: session, options: options, extraChannels: extra).run(progress: progress)
        for s in extra { await s.close() }
        await session.close()
        return report
    }

    /// A session for the analysis, and the lines it sends first; when Redis answers NOAUTH, the
    /// pod's password variable is read in the pod and the session is reopened with it as its
    /// first line (`RedisAuth`): never on a command line.
    static func openSession(_ target: LiveTarget, runner: Runner) async -> (LineSession, [String]) {
        let session = Self.session(target, runner: runner, prelude: [])
        if let ping = try? await session.send(["PING"]).first, RedisAuth.wantsPassword(ping),
           let password = await RedisAuth.podPassword(target, runner: runner, timeout: .seconds(30)) {
            await session.close()
            let prelude = RedisAuth.prelude(password: password)
            return (Self.session(target, runner: runner, prelude: prelude), prelude)
        }
        return (session, [])
    }

    static func session(_ target: LiveTarget, runner: Runner, prelude: [String]) -> LineSession {
        LineSession(argv: target.redisCLIArgv, runner: runner, timeout: .seconds(30),
                    label: "session:memory", prelude: prelude, marker: SessionMarker.unknownCommand)
    }
}

/// One self-overwriting progress line on stderr (only when stderr is a terminal), at most 10 per second.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var last = ContinuousClock.now - .seconds(1)
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: MemoryProgress) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - last >= .milliseconds(100) else { return }
        last = now
        shown = true
        let total = p.dbSize.map { "/\($0)" } ?? ""
        let text = String(format: "\r\u{1b}[K[%3.0f%%] %d%@ keys, %@ sized, %d batches, %.1f s%@",
                          p.fraction * 100, p.keysScanned, total, ByteFormat.human(p.sizedBytes), p.batches,
                          p.elapsedSeconds, p.pausing ? " (Redis slow: pausing)" : "")
        FileHandle.standardError.write(Data(text.utf8))
    }

    func clear() {
        lock.lock(); defer { lock.unlock() }
        if enabled, shown { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
    }
}
