import Foundation
import NIOConcurrencyHelpers
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// One change of one object, as a watch sends it.
public struct WatchEvent: Sendable {
    public var rv: Int
    public var kind: ResourceKind
    /// ADDED, MODIFIED or DELETED.
    public var type: String
    public var object: KctlJSON
    /// The state the object was rendered from (before the deletion for DELETED), for Table rows.
    public var state: ClusterState
}

/// Follows state.json (the sandbox's etcd): every 100 ms a stat, on change a read, a diff of
/// every kind's objects by uid + resourceVersion, and the resulting events appended to a
/// bounded history (for watches that resume from a resourceVersion) and sent to subscribers.
public final class WatchHub: Sendable {
    struct Inner {
        var state: ClusterState?
        var objects: [ResourceKind: [String: KctlJSON]] = [:]
        var history: [WatchEvent] = []
        /// Events after this generation are in `history`; a watch from an older one gets 410.
        var oldestRV = 0
        var subscribers: [UUID: AsyncStream<WatchEvent>.Continuation] = [:]
        var fileStamp: [Int] = []
    }
    static let historyLimit = 5000
    private let inner = NIOLockedValueBox(Inner())
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    let store: StateStore

    init(store: StateStore) { self.store = store }

    func start() {
        poll()
        let t = Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                self.poll()
            }
        }
        task.withLockedValue { $0 = t }
    }

    func stop() {
        task.withLockedValue { $0?.cancel(); $0 = nil }
        let subs = inner.withLockedValue { i in defer { i.subscribers = [:] }; return Array(i.subscribers.values) }
        for s in subs { s.finish() }
    }

    public func latestState() -> ClusterState? { inner.withLockedValue { $0.state } }
    public var generation: Int { inner.withLockedValue { $0.state?.generation ?? 0 } }

    private func stamp() -> [Int] {
        var st = stat()
        guard stat(store.layout.stateFile.path, &st) == 0 else { return [] }
        return [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
    }

    /// Reads state.json if it changed and publishes the differences. Also called after a write
    /// by the API itself, so its own changes reach watchers at once.
    public func poll() {
        let s = stamp()
        if s == inner.withLockedValue({ $0.fileStamp }) && !s.isEmpty { return }
        guard let state = try? store.read() else { return }
        defer {
            // Tells `redis-runbook-sandbox fault|heal` which generation the server now serves with.
            try? String(state.generation).write(to: store.layout.apiServerGenerationFile, atomically: true, encoding: .utf8)
        }
        let catalog = ObjectCatalog(state: state, layout: store.layout)
        var fresh: [ResourceKind: [String: KctlJSON]] = [:]
        for kind in ResourceKind.allCases {
            var m: [String: KctlJSON] = [:]
            for o in catalog.objects(kind) { m[o.metadataUID] = o }
            fresh[kind] = m
        }
        inner.withLockedValue { i in
            guard let old = i.state else {
                i.fileStamp = s
                i.state = state; i.objects = fresh; i.oldestRV = state.generation
                return
            }
            // Polls may race (the ticker, and requests after their own writes): only a newer
            // state moves the hub on, so it never goes back nor publishes a change twice.
            guard state.generation > old.generation else {
                if state.generation == old.generation { i.fileStamp = s }
                return
            }
            i.fileStamp = s
            var events: [WatchEvent] = []
            let g = state.generation
            for kind in ResourceKind.allCases {
                let before = i.objects[kind] ?? [:], after = fresh[kind] ?? [:]
                for (uid, o) in after.sorted(by: { $0.value.metadataName < $1.value.metadataName }) {
                    if let b = before[uid] {
                        if b != o { events.append(WatchEvent(rv: max(o.metadataRV, g), kind: kind, type: "MODIFIED", object: o, state: state)) }
                    } else {
                        events.append(WatchEvent(rv: max(o.metadataRV, g), kind: kind, type: "ADDED", object: o, state: state))
                    }
                }
                for (uid, b) in before where after[uid] == nil {
                    events.append(WatchEvent(rv: g, kind: kind, type: "DELETED", object: WatchHub.withRV(b, g), state: old))
                }
            }
            i.state = state
            i.objects = fresh
            i.history += events
            if i.history.count > WatchHub.historyLimit {
                let drop = i.history.count - WatchHub.historyLimit
                i.oldestRV = i.history[drop - 1].rv
                i.history.removeFirst(drop)
            }
            for e in events { for c in i.subscribers.values { c.yield(e) } }
        }
    }

    static func withRV(_ o: KctlJSON, _ rv: Int) -> KctlJSON {
        guard case .object(var top) = o, case .object(var meta)? = top["metadata"] else { return o }
        meta["resourceVersion"] = .string(String(rv))
        top["metadata"] = .object(meta)
        return .object(top)
    }

    public struct Subscription: Sendable {
        public var id: UUID
        /// Events to send first: synthetic ADDED (from 0) or the history after the given version.
        public var initial: [WatchEvent]
        public var stream: AsyncStream<WatchEvent>
        /// The generation the initial events bring the watcher to.
        public var generation: Int
    }

    public enum SubscribeError: Error { case tooOld(requested: Int, oldest: Int), notReady }

    /// Starts a subscription: from nil (synthetic ADDED for every current object of `kind`),
    /// or after resourceVersion `rv` (replayed history; 410 when older than the history).
    public func subscribe(kind: ResourceKind, after rv: Int?) throws -> Subscription {
        poll()
        let (stream, cont) = AsyncStream<WatchEvent>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        return try inner.withLockedValue { i in
            let g = i.state?.generation ?? 0
            var initial: [WatchEvent] = []
            guard let current = i.state else { throw SubscribeError.notReady }
            if let rv {
                if rv < i.oldestRV { throw SubscribeError.tooOld(requested: rv, oldest: i.oldestRV) }
                initial = i.history.filter { $0.kind == kind && $0.rv > rv }
            } else {
                initial = (i.objects[kind] ?? [:]).values.sorted { $0.metadataName < $1.metadataName }
                    .map { WatchEvent(rv: $0.metadataRV, kind: kind, type: "ADDED", object: $0, state: current) }
            }
            i.subscribers[id] = cont
            return Subscription(id: id, initial: initial, stream: stream, generation: g)
        }
    }

    public func unsubscribe(_ id: UUID) {
        let c = inner.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        c?.finish()
    }
}
