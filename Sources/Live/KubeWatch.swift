import Foundation
import ProcessRunner

/// A long-lived `kubectl get ... -o json --watch`: one process for as long as it lives, instead
/// of a spawn per refresh. Its output goes to a private temp file that `poll()` reads
/// incrementally (no pipe to keep drained, nothing blocks). When the watch dies it is restarted
/// with back-off; until it is healthy again the caller falls back to a one-shot `get`.
public final class KubeWatch: @unchecked Sendable {
    public let argv: [String]
    private let lock = NSLock()
    private var child: Child?
    private var outFile: URL?
    private var errFile: URL?
    private var offset: UInt64 = 0
    private var splitter = JSONStreamSplitter()
    private var nextStart = Date.distantPast
    private var backoff: TimeInterval = 1
    private var startedAt = Date.distantPast
    private let recorder: (any CommandRecorder)?
    private let dir: URL
    /// The last error the watch printed before dying.
    public private(set) var lastError: String?
    /// Spawns made by this watch (for the spawn budget).
    public private(set) var spawns = 0

    public init(argv: [String], recorder: (any CommandRecorder)? = nil) {
        self.argv = argv
        self.recorder = recorder
        self.dir = FileManager.default.temporaryDirectory.appendingPathComponent("redis-runbook-watch-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    deinit { stop() }

    /// When this watch process last delivered a document (nil: nothing since it started). A
    /// running process proves nothing: a hung API server keeps it alive and silent.
    public private(set) var lastDelivery: Date?

    /// True while the watch process runs and has delivered its object since it started (kubectl
    /// prints the current object first): the process is attached to a server that answered.
    /// Whether the server still answers is the caller's liveness question (`Prober`).
    public var isHealthy: Bool {
        lock.lock(); defer { lock.unlock() }
        guard let child, lastDelivery != nil else { return false }
        return child.poll() == nil
    }

    /// Ends the process (if any) and starts a new one at the next `poll`, without back-off: the
    /// API server is back, or the watch may be attached to a connection that hung.
    public func restartNow() {
        lock.lock()
        let c = child
        child = nil
        lock.unlock()
        if let c {
            c.signal(SIGTERM)
            let deadline = Date().addingTimeInterval(0.3)
            while c.poll() == nil && Date() < deadline { usleep(10_000) }
            if c.poll() == nil { c.signal(SIGKILL) }
            _ = c.wait()
        }
        lock.lock()
        backoff = 1
        nextStart = .distantPast
        lastDelivery = nil
        lock.unlock()
    }

    /// New whole JSON documents since the last call. Starts or restarts the process as needed;
    /// `mayStart: false` (the API server is known unreachable) leaves a dead watch down, so an
    /// outage costs the liveness probe's requests, not one restart per watch.
    public func poll(now: Date = Date(), mayStart: Bool = true) -> [Data] {
        lock.lock(); defer { lock.unlock() }
        if let c = child, let term = c.poll() {
            lastError = readError() ?? "watch ended: \(term)"
            child = nil
            // A watch that lived long is restarted quickly; one that died young backs off.
            backoff = now.timeIntervalSince(startedAt) > 30 ? 1 : min(backoff * 2, 60)
            nextStart = now.addingTimeInterval(backoff)
        }
        var docs: [Data] = []
        if let out = outFile, let h = try? FileHandle(forReadingFrom: out) {
            defer { try? h.close() }
            try? h.seek(toOffset: offset)
            if let data = try? h.readToEnd(), !data.isEmpty {
                offset += UInt64(data.count)
                docs = splitter.feed(data)
                if !docs.isEmpty, child != nil { lastDelivery = now }
            }
        }
        if child == nil, mayStart, now >= nextStart { start(now: now) }
        // Keep the file small: restart a watch whose file grew large (its state is re-sent on start).
        if offset > 32 << 20, let c = child { c.signal(SIGTERM); _ = c.wait(); child = nil; nextStart = now }
        return docs
    }

    public func stop() {
        lock.lock(); defer { lock.unlock() }
        if let c = child {
            // SIGTERM, then SIGKILL after a short grace: a watch that ignores SIGTERM (a hung
            // kubectl) must not keep the tool from quitting or outlive it.
            c.signal(SIGTERM)
            let deadline = Date().addingTimeInterval(0.5)
            while c.poll() == nil && Date() < deadline { usleep(10_000) }
            if c.poll() == nil { c.signal(SIGKILL) }
            _ = c.wait()
        }
        child = nil
        try? FileManager.default.removeItem(at: dir)
    }

    private func start(now: Date) {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let out = dir.appendingPathComponent("out.json")
        let err = dir.appendingPathComponent("err.txt")
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
        FileManager.default.createFile(atPath: out.path, contents: nil, attributes: [.posixPermissions: 0o600])
        offset = 0
        splitter = JSONStreamSplitter()
        outFile = out
        errFile = err
        startedAt = now
        lastDelivery = nil
        spawns += 1
        do {
            child = try Child.spawn(argv, stdoutPath: out.path, stderrPath: err.path, newProcessGroup: true, recorder: recorder, label: "watch")
        } catch {
            lastError = "\(error)"
            backoff = min(backoff * 2, 60)
            nextStart = now.addingTimeInterval(backoff)
        }
    }

    private func readError() -> String? {
        guard let errFile, let d = FileManager.default.contents(atPath: errFile.path), !d.isEmpty else { return nil }
        let s = String(decoding: d.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? nil : s
    }
}
