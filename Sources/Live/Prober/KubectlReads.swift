import Diagnosis
import Foundation
import ProcessRunner

// KubectlReads: the `kubectl` process behind `Prober.read` in one-shot mode, bounded by our own
// limit on the process and, unless the user gave one, by a --request-timeout below it; and the
// wording of a failed read (`Failure`: the operator's message and kubectl's classified kind). Also the small
// helpers the sources share: `WaitBounded` (await a task for at most a duration) and
// `ProbeFailure` (the public error of an on-demand read). It owns no state and must not touch
// any source's fields; it spawns only through `Runner`.

extension Prober {
    /// How long a 403 on `kubectl exec` (or on the exporter's proxy) is remembered before asking again.
    static let forbiddenRetry: TimeInterval = 300

    /// A one-shot read. Without the user's own --request-timeout it gets one shorter than our
    /// limit on the process, so a silent API server is reported by kubectl as a time-out (a
    /// cluster state) before we would have to kill a kubectl that says nothing.
    /// `bounded: false`: the args carry their own --request-timeout.
    func kubectl(_ args: [String], label: String, bounded: Bool = true) async -> CommandResult {
        let argv = bounded && target.requestTimeout == nil ? args + ["--request-timeout=\(Self.kubectlDuration(Self.oneShotRequestSeconds))"] : args
        return await runner.run(CommandSpec(target.kubectlArgv(argv), timeout: probeTimeout, outputLimit: 16 << 20, label: label))
    }

    /// The request time-out of one-shot reads (kubectl's --request-timeout, or the proxy
    /// request's deadline); probeTimeout, the kill of a kubectl process, is 12 s.
    static let oneShotRequestSeconds: Double = 5

    func failureMessage(_ r: CommandResult) -> Failure {
        switch r.termination {
        // Our own limit on the process, past twice kubectl's --request-timeout (the dispatcher's
        // /version, then the read): kubectl got no answer it could report in time. For a one-shot
        // `status`/`check` a silent API server (or a discovery retried against one) is by far the
        // likeliest cause, so it counts as a time-out there (only the API's own objects make that
        // a cluster state). The dashboard has its liveness probe to tell a silent server from a
        // stuck kubectl, and keeps this one out of the cluster state.
        case .timedOut:
            return Failure(message: "kubectl timed out after \(probeTimeout) (it reported nothing: the API server or kubectl hangs)",
                           kind: useWatches ? nil : KubectlError.Kind.timeout.rawValue, killed: true)
        case .failedToStart(let why): return Failure(message: why, kind: nil)
        case .exited(0):
            // Success, but the output did not decode (cut short, an HTML error page, wrong types).
            return unreadable(r.stdout)
        default:
            let err = r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            if err.isEmpty { return Failure(message: "kubectl \(r.termination)", kind: nil) }
            let k = KubectlError.classify(stderr: err, exitCode: r.exitCode ?? 1)
            return Failure(message: k.description, kind: k.kind.rawValue)
        }
    }
}

/// Awaits a task's value for at most a duration; the task itself is left running.
enum WaitBounded {
    final class Once<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var cont: CheckedContinuation<T?, Never>?
        init(_ c: CheckedContinuation<T?, Never>) { cont = c }
        func resume(_ v: T?) {
            lock.lock(); let c = cont; cont = nil; lock.unlock()
            c?.resume(returning: v)
        }
    }

    static func value<T: Sendable>(of task: Task<T, Never>, within d: Duration) async -> T? {
        await withCheckedContinuation { (c: CheckedContinuation<T?, Never>) in
            let once = Once(c)
            let timer = Task { if (try? await Task.sleep(for: d)) != nil { once.resume(nil) } }
            Task {
                let v = await task.value
                timer.cancel()
                once.resume(v)
            }
        }
    }
}

/// A failed read: the operator's message and, when kubectl failed, its classified kind.
struct Failure: Error, Sendable, Equatable {
    var message: String
    var kind: String?
    /// We killed kubectl at our own limit: it reported nothing itself (it may be stuck, not the
    /// API server), so this alone never marks the API server down in the dashboard.
    var killed = false

    /// The read failed only for not reaching the API server (an outage): asked again when it answers.
    static func outageOnly(_ f: Failure?) -> Bool {
        guard let k = f?.kind.flatMap(KubectlError.Kind.init(rawValue:)) else { return false }
        return ClusterAccess.state(for: k) != nil
    }
}

public struct ProbeFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
