import ArgumentParser
import Foundation
import ProcessRunner
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

// The sandbox's subcommands, for `redis-runbook-sandbox` (Sources/redis-runbook-sandbox, which
// adds the hidden `apiserver`). `SandboxControl` spawns the daemon, the pause processes and the
// API server from that executable.

public struct SandboxDirOption: ParsableArguments {
    public init() {}
    @Option(name: .long, help: "Sandbox directory (default ${XDG_STATE_HOME:-~/.local/state}/redis-runbook/sandbox).")
    var dir: String?

    public var url: URL {
        if let dir { return URL(fileURLWithPath: dir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL }
        return SandboxLayout.defaultRoot()
    }
    public var control: SandboxControl { SandboxControl(dir: url) }
}

public func sandboxFail(_ error: Error) -> Never {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

public struct SandboxUp: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "up", abstract: "Create (or repair) and start a sandbox; a no-op when it runs.")
    @OptionGroup public var dir: SandboxDirOption
    @Option(name: .customLong("redis-server"), help: "redis-server binary (default: on PATH), e.g. a Redis 6.2 one.")
    var redisServer: String?
    @Option(name: .customLong("redis-cli"), help: "redis-cli binary (default: next to redis-server, else on PATH).")
    var redisCli: String?
    @Option(name: .customLong("exporter"), help: "redis_exporter binary (default: redis_exporter or prometheus-redis-exporter on PATH).")
    var exporter: String?
    @Option(name: .customLong("memory-limit"), help: "Memory limit of the redis container (e.g. 256Mi); maxmemory becomes 75% of it.")
    var memoryLimit: String?
    @Flag(name: .customLong("redis-password-secret"),
          help: "Password-protected Redis: REDIS_PASSWORD/REDISCLI_AUTH from Secret redis-auth (DIR/secrets), --requirepass $(REDIS_PASSWORD).")
    var redisPasswordSecret = false
    @Flag(name: .customLong("redis-password-env-only"),
          help: "Like --redis-password-secret, but the redis container gets only REDIS_PASSWORD (the common chart convention): a plain redis-cli in the pod gets NOAUTH.")
    var redisPasswordEnvOnly = false
    @Flag(name: .customLong("fast"), help: .hidden)
    var fast = false
    @Flag(name: .customLong("no-wait"), help: "Return without waiting for redis-0 to be ready.")
    var noWait = false
    @Option(name: .long, help: "single (one pod, default) or sentinel (3 pods: redis, a real Sentinel and the exporter in each; master set mymaster, quorum 2). Chosen on the first up.")
    var topology: String = "single"
    @Option(name: .customLong("node-monitor-grace-period"),
            help: "Seconds without a kubelet heartbeat before the node controller calls the node Unknown (kube-controller-manager's flag; default 10, 3 with --fast; a real cluster: 40).")
    var nodeMonitorGracePeriod: Int?

    public func run() async throws {
        var o = SandboxControl.UpOptions()
        o.redisServer = redisServer
        o.redisCli = redisCli
        o.exporter = exporter
        o.memoryLimit = memoryLimit
        o.redisPasswordSecret = redisPasswordSecret
        o.redisPasswordEnvOnly = redisPasswordEnvOnly
        o.wait = !noWait
        guard let t = Topology(rawValue: topology) else { sandboxFail(ValidationError("--topology: single or sentinel, got \(topology)")) }
        o.topology = t
        if fast { o.timings = .fast }
        if let g = nodeMonitorGracePeriod {
            guard g >= 1 else { sandboxFail(ValidationError("--node-monitor-grace-period must be at least 1 second, got \(g)")) }
            o.timings.nodeMonitorGracePeriodSeconds = g
        }
        do { try await dir.control.up(o) } catch { sandboxFail(error) }
    }
}

public struct SandboxDown: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop every process of the sandbox (its data stays).")
    @OptionGroup public var dir: SandboxDirOption
    public func run() async throws {
        do { try await dir.control.down() } catch { sandboxFail(error) }
    }
}

public struct SandboxStatus: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "status", abstract: "What the sandbox runs.")
    @OptionGroup public var dir: SandboxDirOption
    public func run() async throws {
        print(dir.control.status())
    }
}

public struct SandboxFault: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "fault", abstract: "Inject a fault (a real cause; the symptoms follow).",
        discussion: Fault.allCases.map { "  \($0.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n"))
    @OptionGroup public var dir: SandboxDirOption
    @Argument(help: "Fault name: \(Fault.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String
    @Argument(help: "partition: the pod to cut off; replica-lag, stale-sentinel-config: the pod (default: a replica / the last pod).")
    var pod: String?
    @Option(name: .long, help: "node-down: seconds until the node comes back (default from the sandbox timings, 60); queue-rate-limited: seconds the limit lasts (default 600).")
    var duration: Int?
    @Option(name: .long, help: "api-slow: seconds every API response is delayed (default 5; 60 acts as a hung server).")
    var delay: Double?

    public func run() async throws {
        guard let f = Fault(rawValue: name) else {
            sandboxFail(SandboxError("unknown fault \(name); one of: \(Fault.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let c = dir.control
        guard c.daemonPid() != nil else { sandboxFail(SandboxError("no sandbox running in \(c.layout.root.path)")) }
        do { try await c.inject(f, duration: duration, delay: delay, target: pod) } catch { sandboxFail(error) }
    }
}

public struct SandboxHeal: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "heal", abstract: "Undo the faults that need no runbook; list the others.")
    @OptionGroup public var dir: SandboxDirOption
    public func run() async throws {
        do { try await dir.control.heal() } catch { sandboxFail(error) }
    }
}

public struct SandboxApp: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "app", abstract: "Switch how the sandbox's BullMQ application (producer and worker) connects: --connect sentinel|redis.")
    @OptionGroup public var dir: SandboxDirOption
    @Option(name: .long, help: "sentinel (master found through every pod's Sentinel, as after migrate-to-sentinel) or redis (the first pod's Redis).")
    var connect: String

    public func run() async throws {
        do { try dir.control.appConnect(connect) } catch { sandboxFail(error) }
    }
}

public struct SandboxEnv: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "env", abstract: "Print the shell line that points kubectl at the sandbox: export KUBECONFIG=DIR/kubeconfig.")
    @OptionGroup public var dir: SandboxDirOption
    public func run() async throws {
        let kubeconfig = dir.control.layout.kubeconfig
        guard FileManager.default.fileExists(atPath: kubeconfig.path) else {
            sandboxFail(SandboxError("no kubeconfig in \(dir.control.layout.root.path) (run: redis-runbook-sandbox up --dir \(dir.control.layout.root.path))"))
        }
        print("export KUBECONFIG=\(SandboxEnv.shellQuoted(kubeconfig.path))")
    }
    /// The path as one shell word (single quotes only when needed).
    static func shellQuoted(_ s: String) -> String {
        if s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+:@%".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

public struct SandboxSeed: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "seed", abstract: "Write cache/session keys and BullMQ queues into redis-0.")
    @OptionGroup public var dir: SandboxDirOption
    @Option(name: .long, help: "demo (a few thousand keys, 3 queues), bullmq (bigger queues) or large (--keys N, default 1000000).")
    var preset: String = "demo"
    @Option(name: .long, help: "Number of keys (large: total; demo/bullmq: cache keys).")
    var keys: Int?

    public func run() async throws {
        guard let p = Workload.Preset(rawValue: preset) else { sandboxFail(SandboxError("unknown preset \(preset): demo, bullmq or large")) }
        do { try await dir.control.seed(preset: p, keys: keys) } catch { sandboxFail(error) }
    }
}

public struct SandboxDaemonCommand: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "daemon", abstract: "The sandbox's kubelet and controllers (started by `up`).", shouldDisplay: false)
    @OptionGroup public var dir: SandboxDirOption
    public func run() async throws {
        setsid()
        let layout = SandboxLayout(root: dir.url)
        let daemon = SandboxDaemon(layout: layout, selfExecutable: SandboxControl.selfExecutable())
        Glibc.exit(await daemon.run())
    }
}

public struct SandboxPauseCommand: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "pause", abstract: "A pod's namespace holder (started by the daemon).", shouldDisplay: false)
    @Option(name: .long) var volume: String
    @Option(name: .customLong("ready-file")) var readyFile: String
    @Option(name: .long) var pod: String?
    public func run() async throws {
        let code = await PauseProcess.run(volume: volume, readyFile: readyFile) { argv in
            await Runner().run(argv, timeout: .seconds(5)).succeeded
        }
        Glibc.exit(code)
    }
}
