import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a lock. Small, internal, and Sendable by construction.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    @discardableResult
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}

/// Process-wide unique ids for recorded commands.
let commandIDs = Locked<UInt64>(0)
func nextCommandID() -> UInt64 { commandIDs.withLock { $0 += 1; return $0 } }

/// Writing to a pipe whose reader died must give EPIPE, not kill this process.
/// Children get default signal dispositions back (`Child.spawn` resets them).
let ignoreSIGPIPEOnce: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

/// True when `pid` (our child) has exited. Does not reap it (WNOWAIT), so the pid and its
/// process group id stay reserved until whoever owns the reaping does it.
func childHasExited(_ pid: pid_t) -> Bool {
    var info = siginfo_t()
    let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
    if rc != 0 { return errno == ECHILD }  // already reaped (or not ours): not running
    return childPID(of: info) != 0
}

func childPID(of info: siginfo_t) -> pid_t {
    #if canImport(Glibc)
    return info._sifields._sigchld.si_pid
    #else
    return info.si_pid
    #endif
}

/// Is any process still a member of process group `pgid`?
func processGroupExists(_ pgid: pid_t) -> Bool {
    kill(-pgid, 0) == 0 || errno == EPERM
}

/// Maps a raw wait status to our Termination.
func termination(fromWaitStatus status: Int32) -> Termination {
    let sig = status & 0x7f
    if sig == 0 { return .exited((status >> 8) & 0xff) }
    return .signaled(sig)
}

/// Reasonable message for an errno value.
func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}

/// Data → String, replacing invalid UTF-8.
func lossyText(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }
