/// Shared by the end-to-end and reliability tests: a private tmux server driving the real binary.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a short command (argv, no shell) with a timeout; stdout and stderr go to files.
/// posix_spawn rather than Foundation.Process: the tmux server is a grandchild and must not
/// inherit Foundation's exit-detection descriptors (they make Process hang).
public enum Spawn {
    /// The tmux server outlives the test; it must not keep the test runner's pipes open.
    public static func markInheritedDescriptorsCloseOnExec() {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in fds {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static func run(_ argv: [String], timeout: Double = 10, in dir: URL) throws -> (status: Int32, out: String, err: String) {
        let outPath = dir.appendingPathComponent("spawn-\(UUID().uuidString).out").path
        let errPath = outPath + ".err"
        defer { unlink(outPath); unlink(errPath) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&fa, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        markInheritedDescriptorsCloseOnExec()
        let cargs = argv.map { strdup($0) } + [nil]
        let env = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cargs.forEach { free($0) }; env.forEach { free($0) } }
        // Children start with no blocked signals and default dispositions, whatever the runner has.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        sigdelset(&all, SIGKILL); sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &fa, &attr, cargs, env)
        guard rc == 0 else { throw Failure(description: "spawn \(argv[0]) failed: \(rc)") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if Date() > deadline {
                kill(pid, SIGKILL); _ = waitpid(pid, &status, 0)
                throw Failure(description: "\(argv.joined(separator: " ")) timed out after \(timeout)s")
            }
            usleep(5_000)
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, out, err)
    }
}

/// A private tmux server (own socket, own config) with one window running an interactive bash,
/// torn down by `close()`.
public final class TmuxSession {
    public let dir: URL
    public let socket: String
    public let binary: String

    public static func binaryPath() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var d = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The runner may sit inside an .xctest bundle directory.
        while !FileManager.default.fileExists(atPath: d.appendingPathComponent("redis-runbook").path), d.path != "/" {
            d = d.deletingLastPathComponent()
        }
        return d.appendingPathComponent("redis-runbook").path
    }

    public init(width: Int, height: Int) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rr-tui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        socket = dir.appendingPathComponent("sock").path
        binary = TmuxSession.binaryPath()
        let conf = dir.appendingPathComponent("tmux.conf")
        try "set -g status off\nset -g remain-on-exit on\nset -g escape-time 10\n".write(to: conf, atomically: true, encoding: .utf8)
        let rc = try tmux(["-f", conf.path, "new-session", "-d", "-s", "e2e", "-x", "\(width)", "-y", "\(height)",
                           "env", "PS1=$ ", "HOME=\(dir.path)", "bash", "--norc", "--noprofile", "-i"])
        guard rc.status == 0 else { throw Spawn.Failure(description: "tmux new-session: \(rc.err)") }
    }

    @discardableResult
    public func tmux(_ args: [String], timeout: Double = 10) throws -> (status: Int32, out: String, err: String) {
        try Spawn.run(["tmux", "-S", socket] + args, timeout: timeout, in: dir)
    }

    public func capture() throws -> [String] {
        var l = try tmux(["capture-pane", "-p", "-t", "e2e"]).out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    public func display(_ format: String) throws -> String {
        try tmux(["display", "-p", "-t", "e2e", format]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func sendKeys(_ keys: String...) throws { try tmux(["send-keys", "-t", "e2e"] + keys) }
    public func type(_ text: String) throws { try tmux(["send-keys", "-t", "e2e", "-l", text]) }

    public func resize(_ w: Int, _ h: Int) throws { try tmux(["resize-window", "-t", "e2e", "-x", "\(w)", "-y", "\(h)"]) }

    /// Polls the screen until `condition` holds; returns the last capture (bounded wait).
    @discardableResult
    public func waitFor(timeout: Double = 10, _ what: String, _ condition: ([String]) -> Bool) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String] = []
        while Date() < deadline {
            last = try capture()
            if condition(last) { return last }
            usleep(50_000)
        }
        throw Spawn.Failure(description: "timed out waiting for \(what); screen:\n" + last.joined(separator: "\n"))
    }

    public var pidFile: String { dir.appendingPathComponent("app.pid").path }
    public var sttyFile: String { dir.appendingPathComponent("stty.txt").path }
    public var exitFile: String { dir.appendingPathComponent("exit.txt").path }

    /// Runs the app from the shell (its pid written first); afterwards the shell records the exit
    /// status and the terminal modes and prints a marker.
    public func launchApp(_ args: [String] = []) throws {
        let quoted = ([binary] + args).map { "'\($0)'" }.joined(separator: " ")
        try type("bash -c 'echo $$ > \(pidFile); exec \"$0\" \"$@\"' \(quoted); echo $? > \(exitFile); stty -a > \(sttyFile); echo APP-EXITED\n")
    }

    public func appPid() throws -> pid_t {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let s = try? String(contentsOfFile: pidFile, encoding: .utf8), let p = pid_t(s.trimmingCharacters(in: .whitespacesAndNewlines)) { return p }
            usleep(20_000)
        }
        throw Spawn.Failure(description: "no pid file")
    }

    /// Waits for the shell marker; returns (exit status, stty -a).
    public func waitForExit() throws -> (status: Int, stty: String) {
        try waitFor("the app to exit and the shell to run again") { $0.contains { $0 == "APP-EXITED" } }
        let status = Int((try? String(contentsOfFile: exitFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
        return (status, (try? String(contentsOfFile: sttyFile, encoding: .utf8)) ?? "")
    }

    public func close() {
        _ = try? tmux(["kill-server"], timeout: 5)
        try? FileManager.default.removeItem(at: dir)
    }
}
