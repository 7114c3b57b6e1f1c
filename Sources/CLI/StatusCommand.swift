import ArgumentParser
import Diagnosis
import Foundation
import Live
import ProcessRunner
import Runbooks

/// `redis-runbook status [--json]`: one snapshot of the pod and Redis. Exit 0 when it could be
/// taken (whatever it shows: `check` grades it), 3 when the target could not be read.
public struct StatusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "status", abstract: "One snapshot, human summary or --json (schemaVersion 1).")
    @OptionGroup public var global: GlobalOptions
    @Flag(name: .long, help: "Print the snapshot as JSON.") public var json = false
    public init() {}

    public func run() async throws {
        try await global.ensureSandboxIfRequested()
        let snap = try await takeSnapshot(global)
        print(json ? SnapshotJSON.encode(snap) : StatusText.render(snap))
        // The snapshot is printed either way; the exit code says whether it could be taken:
        // 3 (check's UNKNOWN) when the target does not exist or the cluster cannot be read.
        if CheckReport.make(snap).status == .unknown { throw ExitCode(3) }
    }
}

/// `redis-runbook check`: Nagios plugin convention.
public struct CheckCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "check", abstract: "Health and ADR compliance as a monitoring check: REDIS OK|WARNING|CRITICAL|UNKNOWN, exit 0/1/2/3.")
    @OptionGroup public var global: GlobalOptions
    public init() {}

    public func run() async throws {
        let snap: Snapshot
        do {
            try await global.ensureSandboxIfRequested()
            snap = try await takeSnapshot(global, by: "check")
        } catch {
            print("REDIS UNKNOWN - \(error)")
            throw ExitCode(3)
        }
        let report = CheckReport.make(snap)
        print(report.text)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

/// One refresh, one-shot probes (no watches: a single snapshot does not need them).
func takeSnapshot(_ global: GlobalOptions, by: String = "status") async throws -> Snapshot {
    let prober = Prober(target: try global.liveTarget(), runner: Runner(), useWatches: false)
    let snap = await prober.snapshot()
    await prober.shutdown()
    // A full answer is this target's "last seen" data (what a runbook run accounts against
    // when Redis is down at its start).
    if let err = LastSeen.record(snap, target: LastSeen.target(global), by: by) {
        FileHandle.standardError.write(Data("warning: \(err)\n".utf8))
    }
    return snap
}
