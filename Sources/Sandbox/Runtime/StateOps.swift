import Foundation

extension ClusterState {
    /// A new lowercase UUID, as the API server assigns to objects.
    public static func newUID() -> String { UUID().uuidString.lowercased() }

    /// Records an event the Kubernetes way: the same reason and message for the same object
    /// bump `count` and `lastTimestamp` instead of adding a new one. Keeps the newest 400.
    public mutating func recordEvent(type: String = "Normal", reason: String, message: String, kind: String, name: String,
                                     uid: String?, fieldPath: String? = nil, source: String, host: String? = nil, now: String) {
        if let i = events.lastIndex(where: { $0.reason == reason && $0.message == message && $0.involvedName == name
            && $0.involvedKind == kind && $0.involvedUID == uid && $0.involvedFieldPath == fieldPath }) {
            events[i].count += 1
            events[i].lastTimestamp = now
            return
        }
        let serial = nextSerial
        nextSerial += 1
        var e = EventRecord(name: "\(name).\(String(format: "%016x", UInt64(Date().timeIntervalSince1970 * 1e9) &+ UInt64(serial)))",
                            uid: ClusterState.newUID(), type: type, reason: reason, message: message,
                            involvedKind: kind, involvedName: name, source: source, firstTimestamp: now)
        e.involvedUID = uid
        e.involvedFieldPath = fieldPath
        e.sourceHost = host
        events.append(e)
        if events.count > 400 { events.removeFirst(events.count - 400) }
    }

    public func podIndex(_ name: String) -> Int? { pods.firstIndex { $0.name == name } }
}

/// Kubelet rules as pure functions (unit-tested without processes).
public enum KubeletRules {
    /// How a container's exit reads in `state.terminated`.
    /// exitCode: the code, or 128 + signal; reason: OOMKilled when the memory limit killed it,
    /// Completed for 0, Error otherwise.
    public static func terminated(exitCode: Int32?, signal: Int32?, oomKilled: Bool) -> (reason: String, exitCode: Int32) {
        let code = exitCode ?? (128 + (signal ?? 9))
        if oomKilled { return ("OOMKilled", 137) }
        return (code == 0 ? "Completed" : "Error", code)
    }

    /// The back-off after a container exits. `current` is the delay the previous failure set
    /// (0 = none yet). The first restart is immediate; then initial, doubling, capped at max.
    /// A container that ran at least `reset` seconds starts over.
    public static func nextBackoff(current: Int, ranSeconds: Double, timings: SandboxTimings) -> (delay: Int, next: Int) {
        let cur = ranSeconds >= Double(timings.backoffResetSeconds) ? 0 : current
        if cur == 0 { return (0, timings.backoffInitialSeconds) }
        return (cur, min(cur * 2, timings.backoffMaxSeconds))
    }

    /// kubectl's CrashLoopBackOff message: "back-off 20s restarting failed container=redis pod=redis-0_default(uid)".
    public static func backoffMessage(seconds: Int, container: String, pod: String, namespace: String, uid: String) -> String {
        "back-off \(duration(seconds)) restarting failed container=\(container) pod=\(pod)_\(namespace)(\(uid))"
    }

    /// Go's time.Duration formatting for whole seconds: 10s, 1m20s, 5m0s.
    public static func duration(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
        return "\(seconds / 3600)h\((seconds % 3600) / 60)m\(seconds % 60)s"
    }

    /// Readiness of a redis probe reply: only PONG is ready (LOADING, MISCONF, refused are not).
    public static func redisPingReady(_ output: String) -> Bool {
        output.trimmingCharacters(in: .whitespacesAndNewlines) == "PONG"
    }
}
