// Micro-benchmark (issue 7, figure 3a): composing the full dashboard into the cell grid.
// Not a test: built and run by scripts/bench-render.sh with `swift build -c release`.
//
// Usage: RenderBench [--width 200] [--height 60] [--iterations 2000] [--runs 5] [--goal-ms 1]
// Prints one line per run (median of that run's iterations) and a summary; exits 1 when the
// median of the run medians is not under the goal.
import App
import Diagnosis
import Foundation
import Render

func arg(_ name: String, _ def: Int) -> Int {
    let a = CommandLine.arguments
    if let i = a.firstIndex(of: name), i + 1 < a.count, let v = Int(a[i + 1]) { return v }
    return def
}
func argD(_ name: String, _ def: Double) -> Double {
    let a = CommandLine.arguments
    if let i = a.firstIndex(of: name), i + 1 < a.count, let v = Double(a[i + 1]) { return v }
    return def
}

let width = arg("--width", 200)
let height = arg("--height", 60)
let iterations = arg("--iterations", 2000)
let runs = arg("--runs", 5)
let goalMs = argD("--goal-ms", 1.0)

/// A realistic incident snapshot: pod with an OOMKilled restart and warnings, Redis near its
/// limit, eight BullMQ queues, findings of every severity, log evidence and ADR checks.
func snapshot(step: Int) -> Snapshot {
    var s = Snapshot()
    s.takenAt = "2027-01-15T08:00:00Z"
    s.context = "prod-eu-west-1"
    s.namespace = "jobs"
    s.redisState = "ok"
    s.redisVersion = "7.0.15"
    var pod = PodSummary(name: "redis-0")
    pod.phase = "Running"; pod.ready = true; pod.node = "ip-10-0-12-34.eu-west-1.compute.internal"; pod.nodeReady = true; pod.restarts = 4
    var c = ContainerSummary(name: "redis")
    c.state = "running"; c.ready = true; c.restarts = 4
    c.lastTermination = Termination(reason: "OOMKilled", exitCode: 137, finishedAt: "2027-01-15T07:55:00Z")
    var e = ContainerSummary(name: "redis-exporter")
    e.state = "running"; e.ready = true; e.restarts = 0
    pod.containers = [c, e]
    pod.warnings = [
        EventSummary(type: "Warning", reason: "BackOff", message: "Back-off restarting failed container redis in pod redis-0", lastTimestamp: "2027-01-15T07:58:00Z", count: 3),
        EventSummary(type: "Warning", reason: "Unhealthy", message: "Readiness probe failed: Could not connect to Redis at localhost:6379: Connection refused", lastTimestamp: "2027-01-15T07:56:00Z", count: 7),
    ]
    s.pod = pod
    let used = Int64(900 << 20) + Int64(step % 97) * (1 << 18)
    s.memory.usedBytes = used; s.memory.rssBytes = used + (60 << 20); s.memory.peakBytes = 1000 << 20
    s.memory.maxmemoryBytes = 1000 << 20; s.memory.limitBytes = 1 << 30; s.memory.policy = "noeviction"
    s.memory.oomRejectionsPerSec = 14; s.memory.evictedKeys = 0; s.memory.fragmentationRatio = 1.09
    s.memory.aofLastCowBytes = 300 << 20
    s.persistence.aofEnabled = true; s.persistence.appendfsync = "everysec"; s.persistence.aofLastWriteStatus = "ok"
    s.persistence.aofLastBgrewriteStatus = "ok"; s.persistence.rdbLastBgsaveStatus = "ok"; s.persistence.loading = false
    s.config.appendonly = "yes"; s.config.appendfsync = "everysec"; s.config.maxmemoryPolicy = "noeviction"; s.config.maxmemory = 1000 << 20
    s.clients.connected = 112; s.clients.blocked = 38; s.clients.opsPerSec = Int64(950 + step % 50); s.clients.rejectedConnections = 0
    s.keyspace = ["db0": 1_234_567 + step, "db1": 42]
    s.exporter.up = true; s.exporter.present = true
    s.queues = ["emails", "webhooks", "thumbnails", "billing", "search-index", "notifications", "reports", "imports"].enumerated().map { i, n in
        var q = QueueCounts(prefix: "bull", name: n)
        q.waiting = Int64(120 * (i + 1) + step % 13); q.active = Int64(4 + i); q.delayed = Int64(i * 3); q.prioritized = 0
        q.completed = Int64(10_000 + i * 777); q.failed = Int64(2 * i); q.paused = 0; q.waitingChildren = 0
        q.waitingDelta = Int64(step % 7) - 3; q.waitingGrowthStreak = i % 3
        return q
    }
    s.findings = [
        Finding(id: "oom-rejections", severity: .critical, summary: "Redis rejects writes (OOM, noeviction)", evidence: "used 0.99 of maxmemory, 14 rejections/s", runbook: "memory-pressure"),
        Finding(id: "oom-killed", severity: .critical, summary: "redis was OOMKilled", evidence: "exit 137 at 07:55, 4 restarts", runbook: "oom-killed"),
        Finding(id: "maxmemory-headroom", severity: .warning, summary: "maxmemory leaves too little room under the limit for fork copy-on-write", evidence: "maxmemory 1000M, limit 1G, last COW 300M", runbook: "maxmemory-headroom"),
        Finding(id: "queue-backlog", severity: .warning, summary: "emails waiting grows", evidence: "waiting 120 (+20) for 5 refreshes", runbook: "queue-backlog"),
        Finding(id: "blocked-clients", severity: .info, summary: "38 clients blocked (BullMQ workers waiting)", evidence: "blocked_clients 38", runbook: nil),
    ]
    s.logEvidence = [
        LogEvidence(kind: "oom", line: "1:M 15 Jan 2027 07:54:59.123 # Can't save in background: fork: Cannot allocate memory"),
        LogEvidence(kind: "aof", line: "1:M 15 Jan 2027 07:54:58.001 * Background append only file rewriting started by pid 77"),
    ]
    s.adr = [
        AdrCheck(id: "appendonly", title: "appendonly yes", status: .pass, detail: "appendonly yes"),
        AdrCheck(id: "appendfsync", title: "appendfsync everysec", status: .pass, detail: "appendfsync everysec"),
        AdrCheck(id: "maxmemory-policy", title: "maxmemory-policy noeviction", status: .pass, detail: "noeviction"),
        AdrCheck(id: "maxmemory-set", title: "maxmemory set", status: .pass, detail: "1000M"),
        AdrCheck(id: "maxmemory-headroom", title: "maxmemory <= 0.75 x limit", status: .fail, detail: "0.98 x limit"),
        AdrCheck(id: "exporter", title: "exporter present", status: .pass, detail: "up"),
    ]
    return s
}

var model = AppModel(readOnly: false, colors: true, refreshInterval: 1, kubectlPath: "/usr/local/bin/kubectl",
                     target: Target(context: "prod-eu-west-1", namespace: "jobs"), now: Date(timeIntervalSince1970: 1_800_000_000))
model.width = width; model.height = height
// Fill the memory history ring buffers (1800 samples) through the real update path.
for i in 0..<(model.memoryUsed.capacity + 10) {
    model.now = Date(timeIntervalSince1970: 1_800_000_000 + Double(i))
    _ = App.update(&model, .snapshotArrived(snapshot(step: i)))
}
precondition(model.memoryUsed.count == model.memoryUsed.capacity, "memory history not full")

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted(); let n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

// Warm-up.
var sink = 0
for _ in 0..<200 { sink &+= App.render(model, width: width, height: height).cells.count }

let clock = ContinuousClock()
var runMedians: [Double] = []
for run in 1...runs {
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let t0 = clock.now
        let g = App.render(model, width: width, height: height)
        let d = clock.now - t0
        sink &+= g.cells.count
        let c = d.components
        samples.append(Double(c.seconds) * 1e3 + Double(c.attoseconds) / 1e15)
    }
    let med = median(samples)
    let p90 = samples.sorted()[Int(Double(samples.count) * 0.9)]
    runMedians.append(med)
    print(String(format: "run %d: median %.3f ms, p90 %.3f ms over %d renders at %dx%d", run, med, p90, iterations, width, height))
}
let m = median(runMedians)
let lo = runMedians.min() ?? 0, hi = runMedians.max() ?? 0
// Check the frame really is the full dashboard (guards against measuring an empty screen).
let g = App.render(model, width: width, height: height)
var text = ""
for y in 0..<g.height { for x in 0..<g.width { text += g[x, y].width == 0 ? "" : g[x, y].text } }
let complete = text.contains("Running") && text.contains("used/max") && text.contains("emails")
print(String(format: "RESULT render_ms median=%.3f min=%.3f max=%.3f goal<%.3f ratio=%.2f frame_complete=%@ (sink %d)",
             m, lo, hi, goalMs, m / goalMs, complete ? "yes" : "no", sink % 10))
exit(m < goalMs && complete ? 0 : 1)
