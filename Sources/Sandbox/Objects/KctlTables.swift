import Foundation

/// Table rows for each kind, as the API server's table convertor computes them.
public struct KctlRows: Sendable {
    public let state: ClusterState
    public let now: Date
    public init(state: ClusterState, now: Date) { self.state = state; self.now = now }

    public static let podHeader = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    public static let podWideHeader = podHeader + ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    public static let stsHeader = ["NAME", "READY", "AGE"]
    public static let stsWideHeader = stsHeader + ["CONTAINERS", "IMAGES"]
    public static let pvcHeader = ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"]
    public static let pvcWideHeader = pvcHeader + ["VOLUMEMODE"]
    public static let eventHeader = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    public static let eventWideHeader = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"]
    public static let nodeHeader = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    public static let nodeWideHeader = nodeHeader + ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]

    /// kubectl's STATUS column for a pod (printPod).
    public static func podStatus(_ pod: PodState) -> String {
        var reason = pod.reason ?? pod.phase
        if pod.reason == "" { reason = pod.phase }
        var hasRunning = false
        for c in pod.containerStatuses.reversed() {
            switch c.state {
            case .waiting(let r, _) where !r.isEmpty:
                reason = r
            case .terminated(let r, let code, let signal, _, _, _):
                if !r.isEmpty {
                    reason = r
                } else if let signal, signal != 0 {
                    reason = "Signal:\(signal)"
                } else {
                    reason = "ExitCode:\(code)"
                }
            case .running:
                if c.ready { hasRunning = true }
            default:
                break
            }
        }
        if reason == "Completed" && hasRunning {
            reason = pod.conditions.contains { $0.type == "Ready" && $0.status == "True" } ? "Running" : "NotReady"
        }
        if pod.deletionTimestamp != nil && pod.reason == "NodeLost" {
            reason = "Unknown"
        } else if pod.deletionTimestamp != nil && pod.phase != "Succeeded" && pod.phase != "Failed" {
            reason = "Terminating"
        }
        return reason
    }

    public func podRow(_ pod: PodState, wide: Bool) -> [String] {
        var restarts = 0
        var ready = 0
        var lastRestart: Date?
        for c in pod.containerStatuses {
            restarts += c.restartCount
            if case .terminated(_, _, _, _, _, let finished)? = c.lastState, let d = RFC3339.parse(finished) {
                if lastRestart == nil || d > lastRestart! { lastRestart = d }
            }
            if c.ready, case .running = c.state { ready += 1 }
        }
        var restartsText = String(restarts)
        if restarts != 0, let lastRestart {
            restartsText = "\(restarts) (\(KctlTime.humanDuration(now.timeIntervalSince(lastRestart))) ago)"
        }
        var row = [pod.name, "\(ready)/\(pod.containers.count)", KctlRows.podStatus(pod), restartsText,
                   KctlTime.since(pod.createdAt, now: now)]
        if wide {
            let ip = (pod.podIP?.isEmpty ?? true) ? "<none>" : pod.podIP!
            row += [ip, pod.nodeName ?? "<none>", "<none>", "<none>"]
        }
        return row
    }

    public func statefulSetRow(wide: Bool) -> [String] {
        let sts = state.statefulSet
        let status = KctlObjects(state: state).statefulSetStatus()
        var row = [sts.name, "\(status.readyReplicas)/\(sts.replicas)", KctlTime.since(sts.createdAt, now: now)]
        if wide {
            row += [sts.template.containers.map(\.name).joined(separator: ","), sts.template.containers.map(\.image).joined(separator: ",")]
        }
        return row
    }

    static func accessModesShort(_ modes: [String]) -> String {
        modes.map { m -> String in
            switch m {
            case "ReadWriteOnce": return "RWO"
            case "ReadOnlyMany": return "ROX"
            case "ReadWriteMany": return "RWX"
            case "ReadWriteOncePod": return "RWOP"
            default: return m
            }
        }.joined(separator: ",")
    }

    public func pvcRow(_ p: PVCState, wide: Bool) -> [String] {
        let bound = p.phase == "Bound"
        var row = [p.name, p.phase, p.volumeName, bound ? p.request : "", bound ? KctlRows.accessModesShort(p.accessModes) : "",
                   p.storageClassName, KctlTime.since(p.createdAt, now: now)]
        if wide { row.append("Filesystem") }
        return row
    }

    public func eventRow(_ e: EventRecord, wide: Bool) -> [String] {
        let first = KctlTime.since(e.firstTimestamp, now: now)
        let last = KctlTime.since(e.lastTimestamp, now: now)
        let target = "\(e.involvedKind.lowercased())/\(e.involvedName)"
        let message = e.message.trimmingCharacters(in: .whitespacesAndNewlines)
        if wide {
            let source = e.sourceHost.map { "\(e.source), \($0)" } ?? e.source
            return [last, e.type, e.reason, target, e.involvedFieldPath ?? "", source, message, first, String(e.count), e.name]
        }
        return [last, e.type, e.reason, target, message]
    }

    public func nodeRow(wide: Bool) -> [String] {
        let n = state.node
        var status = n.readyStatus == "True" ? "Ready" : "NotReady"
        if n.taints.contains(where: { $0.key == "node.kubernetes.io/unschedulable" }) { status += ",SchedulingDisabled" }
        var row = [n.name, status, "control-plane", KctlTime.since(n.createdAt, now: now), KctlObjects.kubeletVersion]
        if wide {
            row += [KctlObjects.nodeIP, "<none>", "Debian GNU/Linux 12 (bookworm)", KctlObjects.kernelVersion(), "containerd://1.7.15"]
        }
        return row
    }
}
