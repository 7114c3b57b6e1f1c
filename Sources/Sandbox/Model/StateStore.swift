import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum StateStoreError: Error, CustomStringConvertible {
    case noSandbox(String)
    case unreadable(String, String)
    case lockFailed(String, Int32)
    public var description: String {
        switch self {
        case .noSandbox(let dir): return "no sandbox in \(dir) (run: redis-runbook sandbox up --dir \(dir))"
        case .unreadable(let path, let why):
            let dir = (path as NSString).deletingLastPathComponent
            return "sandbox state \(path) is unreadable: \(why)\n(made by another version of redis-runbook? `redis-runbook sandbox down --dir \(dir)`, move \(dir) away, then `sandbox up` makes a fresh sandbox)"
        case .lockFailed(let path, let errno): return "cannot lock \(path): \(String(cString: strerror(errno)))"
        }
    }
}

/// Reads and writes `state.json` under an exclusive `flock` on `state.lock`.
/// Every read-modify-write goes through `update`, so the daemon and any number of
/// kubectl processes never lose each other's writes.
public struct StateStore: Sendable {
    public let layout: SandboxLayout
    public init(layout: SandboxLayout) { self.layout = layout }

    public var exists: Bool { FileManager.default.fileExists(atPath: layout.stateFile.path) }

    /// A consistent copy of the state (taken under the lock).
    public func read() throws -> ClusterState {
        try withLock { try load() }
    }

    /// Read-modify-write under the lock. The closure's changes are written atomically
    /// (generation incremented) unless it throws.
    @discardableResult
    public func update<T>(_ body: (inout ClusterState) throws -> T) throws -> T {
        try withLock {
            var state = try load()
            let before = state
            let result = try body(&state)
            if state != before {
                state.generation = before.generation + 1
                ResourceVersions.stamp(&state, before: before)
                try save(state)
            }
            return result
        }
    }

    /// Creates the state file (used by `sandbox up` for a new sandbox).
    public func create(_ state: ClusterState) throws {
        try FileManager.default.createDirectory(at: layout.root, withIntermediateDirectories: true)
        var state = state
        state.generation = max(1, state.generation)
        ResourceVersions.stamp(&state, before: nil)
        try withLock { try save(state) }
    }

    private func load() throws -> ClusterState {
        guard let data = FileManager.default.contents(atPath: layout.stateFile.path) else {
            throw StateStoreError.noSandbox(layout.root.path)
        }
        do {
            return try JSONDecoder().decode(ClusterState.self, from: data)
        } catch {
            throw StateStoreError.unreadable(layout.stateFile.path, "\(error)")
        }
    }

    private func save(_ state: ClusterState) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(state)
        let tmp = layout.root.appendingPathComponent("state.json.tmp-\(getpid())")
        try data.write(to: tmp)
        if rename(tmp.path, layout.stateFile.path) != 0 {
            throw StateStoreError.unreadable(layout.stateFile.path, String(cString: strerror(errno)))
        }
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(at: layout.root, withIntermediateDirectories: true)
        let fd = open(layout.lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateStoreError.lockFailed(layout.lockFile.path, errno) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw StateStoreError.lockFailed(layout.lockFile.path, errno) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

/// Per-object `metadata.resourceVersion`, stamped centrally on every write so the daemon, the
/// faults and the API server all get it right: an object that changed (or is new) gets the new
/// state generation; the list resourceVersion is the generation itself. Watches diff by uid + rv.
public enum ResourceVersions {
    public static func stamp(_ state: inout ClusterState, before: ClusterState?) {
        let g = state.generation
        func changed<T: Equatable>(_ new: T, _ old: T?, rv: WritableKeyPath<T, Int?>) -> Bool {
            guard var o = old else { return true }
            o[keyPath: rv] = new[keyPath: rv]
            return o != new
        }
        if changed(state.node, before?.node, rv: \.resourceVersion) || state.node.resourceVersion == nil { state.node.resourceVersion = g }
        if changed(state.statefulSet, before?.statefulSet, rv: \.resourceVersion) || state.statefulSet.resourceVersion == nil {
            state.statefulSet.resourceVersion = g
        }
        let oldPods = Dictionary((before?.pods ?? []).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        for i in state.pods.indices where changed(state.pods[i], oldPods[state.pods[i].uid], rv: \.resourceVersion) || state.pods[i].resourceVersion == nil {
            state.pods[i].resourceVersion = g
        }
        let oldPVCs = Dictionary((before?.pvcs ?? []).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        for i in state.pvcs.indices where changed(state.pvcs[i], oldPVCs[state.pvcs[i].uid], rv: \.resourceVersion) || state.pvcs[i].resourceVersion == nil {
            state.pvcs[i].resourceVersion = g
        }
        let oldEvents = Dictionary((before?.events ?? []).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        for i in state.events.indices where changed(state.events[i], oldEvents[state.events[i].uid], rv: \.resourceVersion) || state.events[i].resourceVersion == nil {
            state.events[i].resourceVersion = g
        }
    }
}
