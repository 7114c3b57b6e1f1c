import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var daemonStopRequested: sig_atomic_t = 0

/// The sandbox's control plane and node in one process: kubelet, StatefulSet controller,
/// node lifecycle controller, scheduler. A ~200 ms loop over the StateStore. It owns every
/// process of the sandbox (pause processes, containers, probes, the BullMQ application).
public final class SandboxDaemon {
    let layout: SandboxLayout
    let store: StateStore
    let selfExe: String
    let runDir: String
    var pods: [String: PodRuntime] = [:]          // by pod uid
    var graveyard: [Child] = []                    // killed children still to reap
    /// The application's BullMQ producer and worker (Application.swift), where they are located,
    /// and when a role that failed may start again.
    var appProducer: AppProcess?
    var appWorker: AppProcess?
    var appClient: BullMQApp?
    var appRetry: [String: Date] = [:]
    /// Workers asked to stop (SIGTERM), killed if still there at `killAt`.
    var appStopping: [(child: Child, killAt: Date)] = []
    var lastHeartbeat = Date.distantPast
    var bootID = ClusterState.newUID()
    var logHandle: FileHandle?

    final class PodRuntime {
        let uid: String
        var pause: Child?
        var readyFile: String
        var sandboxReady = false
        var containers: [String: ContainerRuntime] = [:]
        var terminating = false
        var killDeadline: Date?
        var lastAttachEvent = Date.distantPast
        init(uid: String, readyFile: String) { self.uid = uid; self.readyFile = readyFile }
        var sandboxPid: Int32 { sandboxReady ? (pause?.pid ?? 0) : 0 }
    }

    final class ContainerRuntime {
        var child: Child?
        var started = Date()
        var startedAt = ""
        var cgroup: String?
        var oomBaseline = 0
        var killedForMemory = false
        var limitBytes: Int64?
        var probe: Child?
        var probeStarted = Date.distantPast
        var probeOut = ""
        var lastProbe = Date.distantPast
        var probeFailures = 0
        var probeMode: ProbeMode = .exitCode
    }

    enum ProbeMode { case redisPing, exitCode }

    public init(layout: SandboxLayout, selfExecutable: String) {
        self.layout = layout
        self.store = StateStore(layout: layout)
        self.selfExe = selfExecutable
        self.runDir = layout.root.appendingPathComponent("run").path
    }

    func log(_ s: String) {
        let line = "\(RFC3339.format()) \(s)\n"
        if let h = logHandle { h.write(Data(line.utf8)) } else { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Runs until SIGTERM/SIGINT (then stops every process it started) or the state disappears.
    public func run() async -> Int32 {
        signal(SIGTERM) { _ in daemonStopRequested = 1 }
        signal(SIGINT) { _ in daemonStopRequested = 1 }
        signal(SIGHUP, SIG_IGN)
        FS.mkdirs(runDir)
        FS.write("\(getpid())\n", to: layout.daemonPidFile.path)
        log("daemon started, pid \(getpid())")
        var failures = 0
        while daemonStopRequested == 0 {
            let now = Date()
            do {
                try store.update { s in tick(&s, now: now) }
                failures = 0
            } catch {
                failures += 1
                log("tick failed: \(error)")
                if !store.exists || failures > 50 { break }
            }
            runApplication(now: now)
            graveyard.removeAll { $0.poll() != nil }
            try? await Task.sleep(for: .milliseconds(200))
        }
        log("stopping: terminating every pod process")
        await shutdownAll()
        if FS.read(layout.daemonPidFile.path)?.trimmingCharacters(in: .whitespacesAndNewlines) == String(getpid()) {
            try? FileManager.default.removeItem(at: layout.daemonPidFile)
        }
        log("daemon stopped")
        return 0
    }

    // MARK: - One pass

    func tick(_ s: inout ClusterState, now: Date) {
        let nowS = RFC3339.format(now)
        nodeOutage(&s, now: now, nowS: nowS)
        if lastHeartbeat == .distantPast {
            // Daemon (re)start: the last lease renewal known is the last status the node posted.
            lastHeartbeat = RFC3339.parse(s.node.lastHeartbeatTime) ?? now
        }
        if !s.node.kubeletStopped, now.timeIntervalSince(lastHeartbeat) >= Double(s.runtime.timings.heartbeatSeconds) {
            lastHeartbeat = now   // the lease renewal
            let posted = RFC3339.parse(s.node.lastHeartbeatTime) ?? .distantPast
            if now.timeIntervalSince(posted) >= Double(s.runtime.timings.nodeStatusReportSeconds) {
                s.node.lastHeartbeatTime = nowS
            }
        }
        nodeController(&s, now: now, nowS: nowS)
        statefulSetController(&s, nowS: nowS)
        scheduler(&s, nowS: nowS)
        if !s.node.kubeletStopped {
            kubelet(&s, now: now, nowS: nowS)
            sentinelSyncHosts(s)
        }
    }

    // MARK: - Node outage (fault node-down): the kubelet stops, every pod process is frozen.

    func nodeOutage(_ s: inout ClusterState, now: Date, nowS: String) {
        let until = s.runtime.faults.nodeDownUntil.flatMap(RFC3339.parse)
        if !s.node.kubeletStopped, let until, now < until {
            s.node.kubeletStopped = true
            for p in allPodProcesses() { kill(p, SIGSTOP) }
            log("node-down: kubelet stopped, \(allPodProcesses().count) pod processes frozen until \(RFC3339.format(until))")
        } else if s.node.kubeletStopped, until == nil || now >= until! {
            // The node comes back as after a reboot: nothing of the old pods survives.
            for p in allPodProcesses() { kill(p, SIGKILL); kill(p, SIGCONT) }
            for (_, rt) in pods { retire(rt) }
            pods.removeAll()
            s.node.kubeletStopped = false
            s.runtime.faults.nodeDownUntil = nil
            s.runtime.faults.nodeDownSince = nil
            s.node.lastHeartbeatTime = nowS
            lastHeartbeat = now
            bootID = ClusterState.newUID()
            s.recordEvent(reason: "Starting", message: "Starting kubelet.", kind: "Node", name: s.node.name, uid: s.node.uid,
                          source: "kubelet", host: s.node.name, now: nowS)
            s.recordEvent(type: "Warning", reason: "Rebooted", message: "Node \(s.node.name) has been rebooted, boot id: \(bootID)",
                          kind: "Node", name: s.node.name, uid: s.node.uid, source: "kubelet", host: s.node.name, now: nowS)
            log("node-down over: node rebooted, kubelet restarting pods")
        }
    }

    func allPodProcesses() -> [Int32] {
        var out: [Int32] = []
        for (_, rt) in pods {
            if let p = rt.pause, p.poll() == nil { out.append(p.pid) }
            for (_, c) in rt.containers {
                if let ch = c.child, ch.poll() == nil { out.append(ch.pid); out += ProcFS.descendants(of: ch.pid) }
                if let pr = c.probe, pr.poll() == nil { out.append(pr.pid) }
            }
        }
        return out
    }

    // MARK: - Node lifecycle controller

    func nodeController(_ s: inout ClusterState, now: Date, nowS: String) {
        let t = s.runtime.timings
        // Liveness is the lease (renewed every heartbeatSeconds), as for the real node controller.
        let stale = now.timeIntervalSince(lastHeartbeat) > Double(t.nodeMonitorGracePeriodSeconds)
        if s.node.readyStatus == "True", stale {
            s.node.readyStatus = "Unknown"
            s.node.readyReason = "NodeStatusUnknown"
            s.node.readyMessage = "Kubelet stopped posting node status."
            s.node.lastTransitionTime = nowS
            s.node.taints = [Taint(key: "node.kubernetes.io/unreachable", effect: "NoSchedule", timeAdded: nowS),
                             Taint(key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: nowS)]
            s.recordEvent(reason: "NodeNotReady", message: "Node \(s.node.name) status is now: NodeNotReady", kind: "Node",
                          name: s.node.name, uid: s.node.uid, source: "node-controller", now: nowS)
            for i in s.pods.indices where s.pods[i].nodeName == s.node.name && s.pods[i].phase == "Running" || s.pods[i].phase == "Pending" && s.pods[i].nodeName == s.node.name {
                setCondition(&s.pods[i], "Ready", "False", reason: nil, message: nil, now: nowS)
                s.recordEvent(type: "Warning", reason: "NodeNotReady", message: "Node is not ready", kind: "Pod",
                              name: s.pods[i].name, uid: s.pods[i].uid, source: "node-controller", now: nowS)
            }
            log("node controller: \(s.node.name) Ready=Unknown (lease not renewed since \(RFC3339.format(lastHeartbeat)))")
        } else if s.node.readyStatus != "True", !stale, !s.node.kubeletStopped {
            s.node.readyStatus = "True"
            s.node.readyReason = "KubeletReady"
            s.node.readyMessage = "kubelet is posting ready status"
            s.node.lastTransitionTime = nowS
            s.node.taints.removeAll { $0.key == "node.kubernetes.io/unreachable" }
            s.recordEvent(reason: "NodeReady", message: "Node \(s.node.name) status is now: NodeReady", kind: "Node",
                          name: s.node.name, uid: s.node.uid, source: "kubelet", host: s.node.name, now: nowS)
            log("node controller: \(s.node.name) Ready=True")
        }
        // Taint-based eviction: pods without a toleration leave an unreachable node.
        if let taint = s.node.taints.first(where: { $0.key == "node.kubernetes.io/unreachable" && $0.effect == "NoExecute" }),
           let added = taint.timeAdded.flatMap(RFC3339.parse),
           now.timeIntervalSince(added) >= Double(t.podEvictionTimeoutSeconds) {
            for i in s.pods.indices where s.pods[i].nodeName == s.node.name && s.pods[i].deletionTimestamp == nil
                && s.pods[i].phase != "Succeeded" && s.pods[i].phase != "Failed" {
                s.pods[i].deletionTimestamp = nowS
                s.pods[i].deletionGracePeriodSeconds = s.statefulSet.template.terminationGracePeriodSeconds
                s.pods[i].reason = "NodeLost"
                s.pods[i].message = "Node \(s.node.name) which was running pod \(s.pods[i].name) is unresponsive"
                s.recordEvent(reason: "TaintManagerEviction", message: "Marking for deletion Pod \(s.namespace)/\(s.pods[i].name)",
                              kind: "Pod", name: s.pods[i].name, uid: s.pods[i].uid, source: "taint-eviction-controller", now: nowS)
                log("node controller: evicting \(s.pods[i].name)")
            }
        }
    }

    // MARK: - StatefulSet controller (OrderedReady, RollingUpdate)

    func statefulSetController(_ s: inout ClusterState, nowS: String) {
        let sts = s.statefulSet
        if s.statefulSet.observedGeneration != sts.templateGeneration { s.statefulSet.observedGeneration = sts.templateGeneration }
        let owned = s.pods.filter { $0.ownerKind == "StatefulSet" && $0.ownerName == sts.name }
        // Scale down: highest ordinal first, one at a time.
        let excess = owned.filter { ordinal($0.name, sts.name).map { $0 >= sts.replicas } ?? false }
        if let victim = excess.max(by: { ordinal($0.name, sts.name)! < ordinal($1.name, sts.name)! }) {
            if victim.deletionTimestamp == nil, let i = s.podIndex(victim.name) {
                markDeleted(&s, i, nowS: nowS)
            }
            return
        }
        for ord in 0..<max(0, sts.replicas) {
            let name = "\(sts.name)-\(ord)"
            guard let i = s.podIndex(name) else {
                createPod(&s, ordinal: ord, nowS: nowS)
                return
            }
            let pod = s.pods[i]
            if pod.deletionTimestamp != nil { return }      // wait for graceful deletion
            if pod.phase == "Failed" || pod.phase == "Succeeded" {
                markDeleted(&s, i, nowS: nowS)
                return
            }
            // OrderedReady: a pod that is not Running and Ready blocks everything after it,
            // including the rolling update (kubernetes/kubernetes#67250: a broken pod is not replaced).
            if !(pod.phase == "Running" && condition(pod, "Ready") == "True") { return }
        }
        // RollingUpdate: replace the highest-ordinal pod built from an older template.
        for ord in stride(from: sts.replicas - 1, through: 0, by: -1) {
            if let i = s.podIndex("\(sts.name)-\(ord)"), s.pods[i].templateGeneration != sts.templateGeneration {
                markDeleted(&s, i, nowS: nowS)
                return
            }
        }
    }

    func ordinal(_ pod: String, _ sts: String) -> Int? {
        guard pod.hasPrefix(sts + "-") else { return nil }
        return Int(pod.dropFirst(sts.count + 1))
    }

    func markDeleted(_ s: inout ClusterState, _ i: Int, nowS: String) {
        s.pods[i].deletionTimestamp = nowS
        s.pods[i].deletionGracePeriodSeconds = s.pods[i].deletionGracePeriodSeconds ?? s.statefulSet.template.terminationGracePeriodSeconds
        s.recordEvent(reason: "SuccessfulDelete", message: "delete Pod \(s.pods[i].name) in StatefulSet \(s.statefulSet.name) successful",
                      kind: "StatefulSet", name: s.statefulSet.name, uid: s.statefulSet.uid, source: "statefulset-controller", now: nowS)
    }

    func createPod(_ s: inout ClusterState, ordinal: Int, nowS: String) {
        let sts = s.statefulSet
        let name = "\(sts.name)-\(ordinal)"
        let claim = "\(sts.claimTemplateName)-\(name)"
        if !s.pvcs.contains(where: { $0.name == claim }) {
            let uid = ClusterState.newUID()
            let host = layout.volumeDir(claim).path
            prepareVolume(host, runtime: s.runtime)
            var pvc = PVCState(name: claim, uid: uid, createdAt: nowS, storageClassName: sts.storageClassName,
                               request: sts.storageRequest, volumeName: "pvc-\(uid)", hostPath: host)
            pvc.labels = sts.template.labels
            s.pvcs.append(pvc)
            s.recordEvent(reason: "SuccessfulCreate", message: "create Claim \(claim) Pod \(name) in StatefulSet \(sts.name) success",
                          kind: "StatefulSet", name: sts.name, uid: sts.uid, source: "statefulset-controller", now: nowS)
        }
        var labels = sts.template.labels
        labels["statefulset.kubernetes.io/pod-name"] = name
        labels["apps.kubernetes.io/pod-index"] = String(ordinal)
        labels["controller-revision-hash"] = "\(sts.name)-rev\(sts.templateGeneration)"
        var pod = PodState(name: name, uid: ClusterState.newUID(), createdAt: nowS, labels: labels,
                           templateGeneration: sts.templateGeneration, containers: sts.template.containers)
        pod.ownerKind = "StatefulSet"
        pod.ownerName = sts.name
        pod.pvcName = claim
        pod.containerStatuses = pod.containers.map {
            ContainerStatus(name: $0.name, image: $0.image, state: .waiting(reason: "ContainerCreating", message: nil))
        }
        s.pods.append(pod)
        s.recordEvent(reason: "SuccessfulCreate", message: "create Pod \(name) in StatefulSet \(sts.name) successful",
                      kind: "StatefulSet", name: sts.name, uid: sts.uid, source: "statefulset-controller", now: nowS)
        log("statefulset controller: created pod \(name) (uid \(pod.uid))")
    }

    /// The PVC's directory; a tmpfs of the configured size when the sandbox uses them (disk-full).
    func prepareVolume(_ path: String, runtime: SandboxRuntime) {
        FS.mkdirs(path)
        if let size = runtime.volumeTmpfsBytes, !Mounts.isMountPoint(path) {
            if Mounts.mountTmpfs(path, sizeBytes: size) {
                Mounts.restorePersisted(volume: path, from: layout.root.appendingPathComponent("volumes/.persist").path)
            } else {
                log("cannot mount a tmpfs on \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: - Scheduler

    func scheduler(_ s: inout ClusterState, nowS: String) {
        let unschedulable = s.node.taints.contains { $0.effect == "NoSchedule" }
        for i in s.pods.indices where s.pods[i].nodeName == nil && s.pods[i].deletionTimestamp == nil {
            if unschedulable {
                let taint = s.node.taints.first { $0.effect == "NoSchedule" }!
                s.recordEvent(type: "Warning", reason: "FailedScheduling",
                              message: "0/1 nodes are available: 1 node(s) had untolerated taint {\(taint.key): }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
                              kind: "Pod", name: s.pods[i].name, uid: s.pods[i].uid, source: "default-scheduler", now: nowS)
                if condition(s.pods[i], "PodScheduled") != "False" {
                    setCondition(&s.pods[i], "PodScheduled", "False", reason: "Unschedulable",
                                 message: "0/1 nodes are available: 1 node(s) had untolerated taint {\(taint.key): }.", now: nowS)
                }
                continue
            }
            s.pods[i].nodeName = s.node.name
            setCondition(&s.pods[i], "PodScheduled", "True", reason: nil, message: nil, now: nowS)
            s.recordEvent(reason: "Scheduled", message: "Successfully assigned \(s.namespace)/\(s.pods[i].name) to \(s.node.name)",
                          kind: "Pod", name: s.pods[i].name, uid: s.pods[i].uid, source: "default-scheduler", now: nowS)
        }
    }

    // MARK: - Kubelet

    func kubelet(_ s: inout ClusterState, now: Date, nowS: String) {
        // Forget runtimes of pods that no longer exist (deleted with --force, say).
        for (uid, rt) in pods where !s.pods.contains(where: { $0.uid == uid }) {
            retire(rt)
            pods[uid] = nil
        }
        var i = 0
        while i < s.pods.count {
            if s.pods[i].nodeName == s.node.name {
                if syncPod(&s, i, now: now, nowS: nowS) == .removed { continue }
            }
            i += 1
        }
    }

    enum SyncResult { case kept, removed }

    func syncPod(_ s: inout ClusterState, _ i: Int, now: Date, nowS: String) -> SyncResult {
        let pod = s.pods[i]
        if pod.deletionTimestamp != nil { return terminatePod(&s, i, now: now, nowS: nowS) }
        if pod.phase == "Succeeded" || pod.phase == "Failed" {
            if let rt = pods[pod.uid] { stopSandboxIfIdle(rt, &s.pods[i]) }
            return .kept
        }
        let rt: PodRuntime
        if let existing = pods[pod.uid] {
            rt = existing
        } else {
            // Volume attach: ReadWriteOnce, and never two pods' processes on one AOF.
            if let claim = pod.pvcName {
                let holders = s.pods.filter { other in
                    other.uid != pod.uid && other.pvcName == claim && (pods[other.uid]?.pause.map { $0.poll() == nil } ?? false)
                }
                if !holders.isEmpty {
                    if now.timeIntervalSince(pods[pod.uid]?.lastAttachEvent ?? attachEvents[pod.uid] ?? .distantPast) >= 10 {
                        attachEvents[pod.uid] = now
                        let vol = s.pvcs.first { $0.name == claim }?.volumeName ?? claim
                        s.recordEvent(type: "Warning", reason: "FailedAttachVolume",
                                      message: "Multi-Attach error for volume \"\(vol)\" Volume is already used by pod(s) \(holders.map(\.name).joined(separator: ", "))",
                                      kind: "Pod", name: pod.name, uid: pod.uid, source: "attachdetach-controller", now: nowS)
                    }
                    return .kept
                }
            }
            rt = PodRuntime(uid: pod.uid, readyFile: runDir + "/pause-\(pod.uid).ready")
            pods[pod.uid] = rt
            let hadRun = pod.containerStatuses.contains { if case .waiting(let r, _) = $0.state { return r != "ContainerCreating" } else { return true } }
            if hadRun || pod.sandboxPid != 0 {
                // The kubelet (re)started and finds the pod's old sandbox gone (reboot, daemon restart).
                s.recordEvent(reason: "SandboxChanged", message: "Pod sandbox changed, it will be killed and re-created.",
                              kind: "Pod", name: pod.name, uid: pod.uid, source: "kubelet", host: s.node.name, now: nowS)
                for c in s.pods[i].containerStatuses.indices {
                    var st = s.pods[i].containerStatuses[c]
                    if case .running(let started) = st.state {
                        st.lastState = .terminated(reason: "Unknown", exitCode: 255, signal: nil, message: nil, startedAt: started, finishedAt: nowS)
                        st.state = .waiting(reason: "ContainerCreating", message: nil)
                        st.nextStartAt = nil
                        st.pid = 0
                        st.ready = false
                        st.started = false
                    }
                    s.pods[i].containerStatuses[c] = st
                }
                s.pods[i].sandboxPid = 0
            }
            if !startSandbox(rt, &s, i, nowS: nowS) { return .kept }
        }
        guard let pause = rt.pause else { return .kept }
        if let t = pause.poll() {
            // The pod sandbox died: every container dies with its namespaces' holder gone.
            log("pod \(pod.name): sandbox exited (\(t)); re-creating")
            for (_, c) in rt.containers { c.child?.signal(SIGKILL) }
            s.recordEvent(reason: "SandboxChanged", message: "Pod sandbox changed, it will be killed and re-created.",
                          kind: "Pod", name: pod.name, uid: pod.uid, source: "kubelet", host: s.node.name, now: nowS)
            retire(rt)
            pods[pod.uid] = nil
            s.pods[i].sandboxPid = 0
            return .kept
        }
        if !rt.sandboxReady {
            guard FS.exists(rt.readyFile) else { return .kept }
            rt.sandboxReady = true
            s.pods[i].sandboxPid = pause.pid
            if s.pods[i].podIP == nil { s.pods[i].podIP = "10.244.0.\(2 + (s.nextSerial % 250))"; s.nextSerial += 1 }
            if s.pods[i].startTime == nil { s.pods[i].startTime = nowS }
            setCondition(&s.pods[i], "Initialized", "True", reason: nil, message: nil, now: nowS)
            log("pod \(pod.name): sandbox ready (pid \(pause.pid))")
            sentinelAttachNetwork(s, pod: s.pods[i], sandboxPid: pause.pid)
        }
        if s.pods[i].sandboxPid != pause.pid { s.pods[i].sandboxPid = pause.pid }
        for spec in s.pods[i].containers {
            syncContainer(&s, i, spec: spec, rt: rt, now: now, nowS: nowS)
        }
        updatePodStatus(&s.pods[i], nowS: nowS)
        if s.pods[i].phase == "Succeeded" || s.pods[i].phase == "Failed" { stopSandboxIfIdle(rt, &s.pods[i]) }
        return .kept
    }

    var attachEvents: [String: Date] = [:]

    func startSandbox(_ rt: PodRuntime, _ s: inout ClusterState, _ i: Int, nowS: String) -> Bool {
        let pod = s.pods[i]
        let volume: String
        if let claim = pod.pvcName, let pvc = s.pvcs.first(where: { $0.name == claim }) {
            volume = pvc.hostPath
            prepareVolume(volume, runtime: s.runtime)
        } else {
            volume = layout.root.appendingPathComponent("pods/\(pod.name)/empty-dir").path
            FS.mkdirs(volume)
        }
        try? FileManager.default.removeItem(atPath: rt.readyFile)
        var argv = ["unshare"]
        if s.runtime.rootless { argv += ["--user", "--map-root-user"] }
        argv += ["--net", "--mount", "--propagation", "private", "--"] + SandboxControl.subcommandArgv(selfExe, "pause") + [
                 "--volume", volume, "--ready-file", rt.readyFile, "--pod", "\(pod.name)_\(s.namespace)(\(pod.uid))"]
        let logPath = layout.root.appendingPathComponent("pods/\(pod.name)/pause.log").path
        FS.mkdirs((logPath as NSString).deletingLastPathComponent)
        do {
            let child = try Child.spawn(argv, stdoutPath: logPath, stderrPath: logPath, newProcessGroup: true)
            rt.pause = child
            if let root = s.runtime.cgroupRoot, let cg = MemoryCgroup.child(root, name: "pause-\(pod.uid.prefix(8))", limitBytes: nil) {
                _ = MemoryCgroup.addProcess(child.pid, to: cg)
            }
            log("pod \(pod.name): starting sandbox pid \(child.pid): \(argv.joined(separator: " "))")
            return true
        } catch {
            s.recordEvent(type: "Warning", reason: "FailedCreatePodSandBox", message: "Failed to create pod sandbox: \(error)",
                          kind: "Pod", name: pod.name, uid: pod.uid, source: "kubelet", host: s.node.name, now: nowS)
            pods[pod.uid] = nil
            return false
        }
    }

    func syncContainer(_ s: inout ClusterState, _ i: Int, spec: ContainerSpec, rt: PodRuntime, now: Date, nowS: String) {
        let pod = s.pods[i]
        guard let ci = s.pods[i].containerStatuses.firstIndex(where: { $0.name == spec.name }) else {
            s.pods[i].containerStatuses.append(ContainerStatus(name: spec.name, image: spec.image, state: .waiting(reason: "ContainerCreating", message: nil)))
            return
        }
        let crt = rt.containers[spec.name] ?? { let c = ContainerRuntime(); rt.containers[spec.name] = c; return c }()
        var st = s.pods[i].containerStatuses[ci]
        defer { s.pods[i].containerStatuses[ci] = st }

        if let child = crt.child {
            if let term = child.poll() {
                containerExited(&s, pod: pod, spec: spec, st: &st, crt: crt, term: term, now: now, nowS: nowS)
                crt.child = nil
            } else {
                enforceMemory(crt, pod: pod, spec: spec)
                probe(&s, pod: pod, spec: spec, st: &st, crt: crt, now: now, nowS: nowS)
                return
            }
        }
        // Not running: start it when its back-off allows.
        switch st.state {
        case .terminated:
            return      // restartPolicy Never / OnFailure success: stays terminated
        case .waiting(let reason, _):
            if reason == "CrashLoopBackOff", let next = st.nextStartAt.flatMap(RFC3339.parse), now < next { return }
            if let held = heldDown(s, pod: pod, container: spec.name, now: now) {
                st.state = .waiting(reason: "CrashLoopBackOff", message: KubeletRules.backoffMessage(seconds: held, container: spec.name, pod: pod.name, namespace: s.namespace, uid: pod.uid))
                return
            }
            if !sentinelInit(&s, pod: pod, spec: spec, nowS: nowS) { return }
            startContainer(&s, pod: pod, spec: spec, st: &st, crt: crt, rt: rt, now: now, nowS: nowS)
        case .running:
            // A status says running but we have no process (daemon restarted): it is gone.
            st.state = .waiting(reason: "ContainerCreating", message: nil)
        }
    }

    func startContainer(_ s: inout ClusterState, pod: PodState, spec: ContainerSpec, st: inout ContainerStatus,
                        crt: ContainerRuntime, rt: PodRuntime, now: Date, nowS: String) {
        let fieldPath = "spec.containers{\(spec.name)}"
        let wasStarted = st.containerID != nil
        if wasStarted { st.restartCount += 1 }
        guard var argv = PodExec.containerArgv(spec, runtime: s.runtime) else {
            st.state = .waiting(reason: "CreateContainerError", message: "no command specified")
            return
        }
        if spec.name == "redis-exporter" || PodExec.imageRepository(spec.image).hasSuffix("redis_exporter"),
           let extra = s.runtime.faults.exporterExtraArgs {
            argv += extra
        }
        if spec.name == "redis", let delay = s.runtime.faults.redisKeyLoadDelayMicros, delay != 0 {
            argv += ["--key-load-delay", String(delay)]
        }
        let logPath = layout.containerLog(pod: pod.name, container: spec.name, restart: st.restartCount).path
        FS.mkdirs((logPath as NSString).deletingLastPathComponent)
        try? FileManager.default.removeItem(atPath: logPath)
        var env = ProcessInfo.processInfo.environment.filter { ["PATH", "LANG", "LC_ALL", "TZ"].contains($0.key) }
        env["HOSTNAME"] = pod.name
        let containerEnv = SandboxSecrets.environment(spec.env, root: layout.root)
        env.merge(containerEnv) { $1 }
        // Kubernetes expands $(VAR) in command and args from the container's environment.
        let full = PodExec.prefix(sandboxPid: rt.sandboxPid, rootless: s.runtime.rootless)
            + [argv[0]] + argv.dropFirst().map { SandboxSecrets.expand($0, containerEnv) }
        if !wasStarted {
            s.recordEvent(reason: "Pulled", message: "Container image \"\(spec.image)\" already present on machine", kind: "Pod",
                          name: pod.name, uid: pod.uid, fieldPath: fieldPath, source: "kubelet", host: s.node.name, now: nowS)
        } else {
            s.recordEvent(reason: "Pulled", message: "Container image \"\(spec.image)\" already present on machine", kind: "Pod",
                          name: pod.name, uid: pod.uid, fieldPath: fieldPath, source: "kubelet", host: s.node.name, now: nowS)
        }
        do {
            let child = try Child.spawn(full, environment: env, stdoutPath: logPath, stderrPath: logPath, newProcessGroup: true)
            crt.child = child
            crt.started = now
            crt.startedAt = nowS
            crt.killedForMemory = false
            crt.limitBytes = spec.limitsMemory.flatMap(Quantity.parse)
            crt.cgroup = nil
            if let root = s.runtime.cgroupRoot,
               let cg = MemoryCgroup.child(root, name: "\(pod.name)-\(pod.uid.prefix(8))-\(spec.name)", limitBytes: nil) {
                if let limit = crt.limitBytes { MemoryCgroup.adjustForShmem(cg, limit: limit) }
                crt.oomBaseline = MemoryCgroup.oomKills(cg)
                if MemoryCgroup.addProcess(child.pid, to: cg) { crt.cgroup = cg }
            }
            crt.probeFailures = 0
            crt.lastProbe = now.addingTimeInterval(Double(spec.readinessProbe?.initialDelaySeconds ?? 0) - 10)
            st.containerID = "containerd://" + (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "").lowercased()
            st.state = .running(startedAt: nowS)
            st.started = true
            st.ready = spec.readinessProbe == nil
            st.pid = child.pid
            st.nextStartAt = nil
            st.cgroupPath = crt.cgroup
            s.recordEvent(reason: "Created", message: "Created container \(spec.name)", kind: "Pod", name: pod.name, uid: pod.uid,
                          fieldPath: fieldPath, source: "kubelet", host: s.node.name, now: nowS)
            s.recordEvent(reason: "Started", message: "Started container \(spec.name)", kind: "Pod", name: pod.name, uid: pod.uid,
                          fieldPath: fieldPath, source: "kubelet", host: s.node.name, now: nowS)
            log("pod \(pod.name): started container \(spec.name) pid \(child.pid) restart \(st.restartCount): \(argv.joined(separator: " "))")
        } catch {
            st.state = .waiting(reason: "RunContainerError", message: "\(error)")
            s.recordEvent(type: "Warning", reason: "Failed", message: "Error: \(error)", kind: "Pod", name: pod.name, uid: pod.uid,
                          fieldPath: fieldPath, source: "kubelet", host: s.node.name, now: nowS)
            let (delay, next) = KubeletRules.nextBackoff(current: st.backoffSeconds, ranSeconds: 0, timings: s.runtime.timings)
            st.backoffSeconds = next
            st.nextStartAt = RFC3339.format(now.addingTimeInterval(Double(max(delay, 1))))
        }
    }

    func containerExited(_ s: inout ClusterState, pod: PodState, spec: ContainerSpec, st: inout ContainerStatus,
                         crt: ContainerRuntime, term: Termination, now: Date, nowS: String) {
        var code: Int32? = nil
        var sig: Int32? = nil
        switch term {
        case .exited(let c): code = c
        case .signaled(let g): sig = g
        default: code = 128
        }
        var oom = crt.killedForMemory
        if let cg = crt.cgroup, MemoryCgroup.oomKills(cg) > crt.oomBaseline, sig == SIGKILL { oom = true }
        if let probe = crt.probe { probe.signal(SIGKILL); graveyard.append(probe); crt.probe = nil }
        let (reason, exitCode) = KubeletRules.terminated(exitCode: code, signal: sig, oomKilled: oom)
        let terminated = ContainerStateValue.terminated(reason: reason, exitCode: exitCode, signal: nil, message: nil,
                                                        startedAt: crt.startedAt, finishedAt: nowS)
        log("pod \(pod.name): container \(spec.name) \(term) -> \(reason) \(exitCode)")
        st.pid = 0
        st.ready = false
        st.started = false
        if oom {
            s.recordEvent(type: "Warning", reason: "OOMKilling",
                          message: "Memory cgroup out of memory: Killed process \(crt.child?.pid ?? 0) (\((spec.command?.first ?? spec.name) as String)) in container \(spec.name) of pod \(pod.name)",
                          kind: "Node", name: s.node.name, uid: s.node.uid, source: "kernel-monitor", host: s.node.name, now: nowS)
        }
        let restart: Bool
        switch pod.restartPolicy {
        case "Never": restart = false
        case "OnFailure": restart = exitCode != 0
        default: restart = true
        }
        guard restart else {
            st.state = terminated
            return
        }
        st.lastState = terminated
        let (delay, next) = KubeletRules.nextBackoff(current: st.backoffSeconds, ranSeconds: now.timeIntervalSince(crt.started),
                                                     timings: s.runtime.timings)
        st.backoffSeconds = next
        if delay == 0 {
            st.state = .waiting(reason: "ContainerCreating", message: nil)   // restarted on this pass
            st.nextStartAt = nil
        } else {
            st.state = .waiting(reason: "CrashLoopBackOff",
                                message: KubeletRules.backoffMessage(seconds: delay, container: spec.name, pod: pod.name, namespace: s.namespace, uid: pod.uid))
            st.nextStartAt = RFC3339.format(now.addingTimeInterval(Double(delay)))
            s.recordEvent(type: "Warning", reason: "BackOff",
                          message: "Back-off restarting failed container \(spec.name) in pod \(pod.name)_\(s.namespace)(\(pod.uid))",
                          kind: "Pod", name: pod.name, uid: pod.uid, fieldPath: "spec.containers{\(spec.name)}", source: "kubelet",
                          host: s.node.name, now: nowS)
        }
    }

    /// Holds the container's own memory to its limit, SIGKILL above it (reason OOMKilled). With a
    /// memory cgroup: anonymous + mapped memory from memory.stat (the tmpfs volume's pages left
    /// out; the kernel's limit is the backstop, see `MemoryCgroup.effectiveLimit`). Without one:
    /// the RSS of the container's processes.
    func enforceMemory(_ crt: ContainerRuntime, pod: PodState, spec: ContainerSpec) {
        guard let limit = crt.limitBytes else { return }
        if let cg = crt.cgroup { MemoryCgroup.adjustForShmem(cg, limit: limit) }
        guard let child = crt.child, !crt.killedForMemory else { return }
        let used: Int64
        let what: String
        if let cg = crt.cgroup {
            guard let over = MemoryCgroup.overLimit(cg, limit: limit) else { return }
            (used, what) = (over, "memory (anonymous + mapped, cgroup \(cg))")
        } else {
            var rss = ProcFS.rssBytes(child.pid) ?? 0
            for d in ProcFS.descendants(of: child.pid) { rss += ProcFS.rssBytes(d) ?? 0 }
            guard rss > limit else { return }
            (used, what) = (rss, "rss")
        }
        crt.killedForMemory = true
        child.signal(SIGKILL)
        log("pod \(pod.name): container \(spec.name) \(what) \(used) > limit \(limit): killed")
    }

    // MARK: - Readiness probes

    func probe(_ s: inout ClusterState, pod: PodState, spec: ContainerSpec, st: inout ContainerStatus,
               crt: ContainerRuntime, now: Date, nowS: String) {
        guard let probe = spec.readinessProbe, let rt = pods[pod.uid] else { st.ready = true; return }
        if let running = crt.probe {
            if let t = running.poll() {
                crt.probe = nil
                let out = (FS.read(crt.probeOut) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let ok: Bool
                switch crt.probeMode {
                case .redisPing: ok = KubeletRules.redisPingReady(out)
                case .exitCode: ok = t == .exited(0)
                }
                if ok {
                    crt.probeFailures = 0
                    st.ready = true
                } else {
                    crt.probeFailures += 1
                    let shown = out.isEmpty ? (crt.probeMode == .redisPing ? "" : "command exited: \(t)") : out
                    s.recordEvent(type: "Warning", reason: "Unhealthy", message: "Readiness probe failed: \(shown)", kind: "Pod",
                                  name: pod.name, uid: pod.uid, fieldPath: "spec.containers{\(spec.name)}", source: "kubelet",
                                  host: s.node.name, now: nowS)
                    if crt.probeFailures >= probe.failureThreshold || !st.ready { st.ready = false }
                }
            } else if now.timeIntervalSince(crt.probeStarted) > Double(max(probe.timeoutSeconds, 1)) + 1 {
                running.signal(SIGKILL)
                graveyard.append(running)
                crt.probe = nil
                crt.probeFailures += 1
                s.recordEvent(type: "Warning", reason: "Unhealthy",
                              message: "Readiness probe errored: command \(probe.command.debugDescription) timed out", kind: "Pod",
                              name: pod.name, uid: pod.uid, fieldPath: "spec.containers{\(spec.name)}", source: "kubelet",
                              host: s.node.name, now: nowS)
                if crt.probeFailures >= probe.failureThreshold { st.ready = false }
            }
            return
        }
        let period = Double(min(probe.periodSeconds, s.runtime.timings.probePeriodSeconds))
        guard now.timeIntervalSince(crt.lastProbe) >= period else { return }
        crt.lastProbe = now
        // `sh -c "redis-cli ping | grep -q PONG"` (and plain `redis-cli ping`) run as redis-cli ping,
        // ready only on PONG: no shell is ever spawned.
        var command = probe.command
        if command.joined(separator: " ").contains("redis-cli") {
            // An exec-form `redis-cli [-p PORT] ping` (the sentinel container's) runs as written.
            if !(command.first == "redis-cli" && command.last == "ping") { command = ["redis-cli", "ping"] }
            crt.probeMode = .redisPing
        } else {
            crt.probeMode = .exitCode
            if ["sh", "/bin/sh", "bash", "/bin/bash"].contains(command.first ?? "") { st.ready = true; return }
        }
        guard let argv = PodExec.argv(state: s, pod: { var p = pod; p.sandboxPid = rt.sandboxPid; return p }(), command: command) else { return }
        crt.probeOut = runDir + "/probe-\(pod.uid)-\(spec.name).out"
        try? FileManager.default.removeItem(atPath: crt.probeOut)
        // The container's environment (REDISCLI_AUTH from a Secret authenticates the probe's redis-cli).
        let containerEnv = SandboxSecrets.scriptAssignments(probe.command.joined(separator: " "),
                                                            SandboxSecrets.environment(spec.env, root: layout.root))
        let probeEnv = ProcessInfo.processInfo.environment.merging(containerEnv) { $1 }
        if let child = try? Child.spawn(argv, environment: probeEnv, stdoutPath: crt.probeOut, stderrPath: crt.probeOut, newProcessGroup: true) {
            crt.probe = child
            crt.probeStarted = now
        }
    }

    // MARK: - Pod status

    func updatePodStatus(_ pod: inout PodState, nowS: String) {
        let sts = pod.containerStatuses
        let allTerminated = !sts.isEmpty && sts.allSatisfy { if case .terminated = $0.state { return true } else { return false } }
        if allTerminated {
            let ok = sts.allSatisfy { if case .terminated(_, let c, _, _, _, _) = $0.state { return c == 0 } else { return false } }
            pod.phase = ok ? "Succeeded" : "Failed"
            let reason = ok ? "PodCompleted" : "PodFailed"
            setCondition(&pod, "ContainersReady", "False", reason: reason, message: nil, now: nowS)
            setCondition(&pod, "Ready", "False", reason: reason, message: nil, now: nowS)
            return
        }
        let anyStarted = sts.contains { $0.containerID != nil }
        if anyStarted { pod.phase = "Running" }
        let unready = sts.filter { !$0.ready }.map(\.name)
        if unready.isEmpty {
            setCondition(&pod, "ContainersReady", "True", reason: nil, message: nil, now: nowS)
            setCondition(&pod, "Ready", "True", reason: nil, message: nil, now: nowS)
        } else {
            let msg = "containers with unready status: [\(unready.joined(separator: " "))]"
            setCondition(&pod, "ContainersReady", "False", reason: "ContainersNotReady", message: msg, now: nowS)
            setCondition(&pod, "Ready", "False", reason: "ContainersNotReady", message: msg, now: nowS)
        }
    }

    func condition(_ pod: PodState, _ type: String) -> String? { pod.conditions.first { $0.type == type }?.status }

    func setCondition(_ pod: inout PodState, _ type: String, _ status: String, reason: String?, message: String?, now: String) {
        let order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        if let i = pod.conditions.firstIndex(where: { $0.type == type }) {
            if pod.conditions[i].status != status { pod.conditions[i].lastTransitionTime = now }
            pod.conditions[i].status = status
            pod.conditions[i].reason = reason
            pod.conditions[i].message = message
        } else {
            var c = PodCondition(type: type, status: status, lastTransitionTime: now)
            c.reason = reason
            c.message = message
            pod.conditions.append(c)
            pod.conditions.sort { (order.firstIndex(of: $0.type) ?? 9) < (order.firstIndex(of: $1.type) ?? 9) }
        }
    }

    // MARK: - Termination

    func terminatePod(_ s: inout ClusterState, _ i: Int, now: Date, nowS: String) -> SyncResult {
        let pod = s.pods[i]
        guard let rt = pods[pod.uid] else {
            remove(&s, i)
            return .removed
        }
        if !rt.terminating {
            rt.terminating = true
            let grace = pod.deletionGracePeriodSeconds ?? s.statefulSet.template.terminationGracePeriodSeconds
            rt.killDeadline = now.addingTimeInterval(Double(grace))
            for (name, c) in rt.containers {
                guard let ch = c.child, ch.poll() == nil else { continue }
                s.recordEvent(reason: "Killing", message: "Stopping container \(name)", kind: "Pod", name: pod.name, uid: pod.uid,
                              fieldPath: "spec.containers{\(name)}", source: "kubelet", host: s.node.name, now: nowS)
                ch.signal(SIGTERM)
            }
            log("pod \(pod.name): terminating (grace \(grace)s)")
        }
        var running = 0
        for (name, c) in rt.containers {
            guard let ch = c.child else { continue }
            if let t = ch.poll() {
                if let ci = s.pods[i].containerStatuses.firstIndex(where: { $0.name == name }) {
                    let (reason, code) = { () -> (String, Int32) in
                        switch t {
                        case .exited(let c): return KubeletRules.terminated(exitCode: c, signal: nil, oomKilled: false)
                        case .signaled(let g): return KubeletRules.terminated(exitCode: nil, signal: g, oomKilled: false)
                        default: return ("Error", 128)
                        }
                    }()
                    s.pods[i].containerStatuses[ci].state = .terminated(reason: reason, exitCode: code, signal: nil, message: nil,
                                                                         startedAt: c.startedAt, finishedAt: nowS)
                    s.pods[i].containerStatuses[ci].ready = false
                    s.pods[i].containerStatuses[ci].pid = 0
                }
                c.child = nil
            } else {
                running += 1
                if let d = rt.killDeadline, now >= d { ch.signal(SIGKILL) }
            }
            if let pr = c.probe { pr.signal(SIGKILL); graveyard.append(pr); c.probe = nil }
        }
        if running > 0 { return .kept }
        if let p = rt.pause {
            if p.poll() == nil { p.signal(SIGKILL); return .kept }
        }
        retire(rt)
        pods[pod.uid] = nil
        remove(&s, i)
        return .removed
    }

    func remove(_ s: inout ClusterState, _ i: Int) {
        let pod = s.pods[i]
        log("pod \(pod.name) (uid \(pod.uid)) removed")
        s.pods.remove(at: i)
        attachEvents[pod.uid] = nil
    }

    /// A finished run pod keeps its object but releases its sandbox (and the volume).
    func stopSandboxIfIdle(_ rt: PodRuntime, _ pod: inout PodState) {
        guard rt.containers.values.allSatisfy({ $0.child == nil }) else { return }
        if let p = rt.pause, p.poll() == nil { p.signal(SIGKILL); graveyard.append(p) }
        rt.pause = nil
        pod.sandboxPid = 0
    }

    /// Kills whatever a pod runtime still runs and releases its cgroups.
    func retire(_ rt: PodRuntime) {
        for (_, c) in rt.containers {
            if let ch = c.child, ch.poll() == nil { ch.signal(SIGCONT); ch.signal(SIGKILL); graveyard.append(ch) }
            if let pr = c.probe, pr.poll() == nil { pr.signal(SIGKILL); graveyard.append(pr) }
            if let cg = c.cgroup { for p in MemoryCgroup.procs(cg) { kill(p, SIGKILL) } }
        }
        if let p = rt.pause, p.poll() == nil { p.signal(SIGCONT); p.signal(SIGKILL); graveyard.append(p) }
        try? FileManager.default.removeItem(atPath: rt.readyFile)
    }

    // MARK: - Shutdown

    func shutdownAll() async {
        stopApp(&appProducer)
        stopApp(&appWorker)
        for s in appStopping { s.child.signal(SIGKILL); graveyard.append(s.child) }
        appStopping.removeAll()
        for (_, rt) in pods {
            for (_, c) in rt.containers {
                c.child?.signal(SIGCONT)
                c.child?.signal(SIGTERM)
            }
        }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let alive = pods.values.flatMap { $0.containers.values.compactMap { $0.child } }.filter { $0.poll() == nil }
            if alive.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        for (_, rt) in pods { retire(rt) }
        let reapBy = Date().addingTimeInterval(5)
        while !graveyard.isEmpty && Date() < reapBy {
            graveyard.removeAll { $0.poll() != nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? store.update { s in
            for i in s.pods.indices {
                s.pods[i].sandboxPid = 0
                for c in s.pods[i].containerStatuses.indices { s.pods[i].containerStatuses[c].pid = 0 }
            }
        }
        pods.removeAll()
    }
}
