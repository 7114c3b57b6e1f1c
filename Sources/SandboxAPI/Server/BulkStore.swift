import Foundation
import NIOConcurrencyHelpers
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// The inert load-test objects of `redis-runbook-sandbox bulk` (see Sandbox/Model/BulkObjects.swift),
/// generated once from DIR/bulk.json and served beside the state's objects.
///
/// What a request pays: selection runs on a small view of each object (name, namespace, labels
/// and the kind's field-selector fields, built once at load), and only the objects that match
/// are rendered in full. So `fieldSelector=metadata.name=redis-0` costs a pass over 25,000
/// small views, while a namespace-wide LIST renders and sends every object, as on a real server.
public final class BulkStore: Sendable {
    public struct Loaded: Sendable {
        public var spec: BulkSpec
        /// Sorted by name.
        var pods: [PodState]
        var events: [EventRecord]
        var podViews: [KctlJSON]
        var eventViews: [KctlJSON]
        var podIndex: [String: Int]
        var eventIndex: [String: Int]
        /// Events by involvedObject.name (the tool's own event reads select on it).
        var eventsByInvolved: [String: [Int]]

        func count(_ kind: ResourceKind) -> Int { kind == .pods ? pods.count : kind == .events ? events.count : 0 }
        func name(_ kind: ResourceKind, _ i: Int) -> String { kind == .pods ? pods[i].name : events[i].name }
        func view(_ kind: ResourceKind, _ i: Int) -> KctlJSON { kind == .pods ? podViews[i] : eventViews[i] }
        func index(_ kind: ResourceKind, named name: String) -> Int? { kind == .pods ? podIndex[name] : kind == .events ? eventIndex[name] : nil }

        /// `state` with bulk objects added, for the Table rows (which read the state's records).
        func state(_ state: ClusterState, adding kind: ResourceKind, _ indices: [Int]) -> ClusterState {
            var s = state
            if kind == .pods { s.pods += indices.map { pods[$0] } }
            if kind == .events { s.events += indices.map { events[$0] } }
            return s
        }

        /// The indices worth matching against a selection: one object for an exact
        /// `metadata.name`, an event's involved object's events, else every object.
        func candidates(_ kind: ResourceKind, fields: [(path: [String], value: String, equal: Bool)]) -> [Int] {
            for f in fields where f.equal {
                if f.path == ["metadata", "name"] { return index(kind, named: f.value).map { [$0] } ?? [] }
                if kind == .events, f.path == ["involvedObject", "name"] { return eventsByInvolved[f.value] ?? [] }
            }
            return Array(0..<count(kind))
        }

        func render(_ kind: ResourceKind, _ i: Int, state: ClusterState) -> KctlJSON {
            let r = KctlObjects(state: state)
            return kind == .pods ? r.pod(pods[i]) : r.event(events[i])
        }
    }

    let layout: SandboxLayout
    // [-1]: nothing read yet, so the first refresh always answers (also "0 0" without bulk.json).
    private let box = NIOLockedValueBox<(stamp: [Int], loaded: Loaded?)>(([-1], nil))

    init(layout: SandboxLayout) { self.layout = layout }

    /// The objects served now (nil without bulk.json).
    public func current() -> Loaded? { box.withLockedValue { $0.loaded } }

    private func stamp() -> [Int] {
        var st = stat()
        guard stat(layout.bulkFile.path, &st) == 0 else { return [] }
        return [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
    }

    /// Reloads when bulk.json changed (or went away); writes DIR/apiserver.bulk ("PODS EVENTS")
    /// afterwards, which `bulk` waits for. Called from the server's housekeeping loop.
    public func refresh(state: ClusterState?) {
        let s = stamp()
        if s == box.withLockedValue({ $0.stamp }) { return }
        var loaded: Loaded?
        if !s.isEmpty, let spec = BulkObjects.read(layout), let state {
            loaded = Self.load(spec, state: state)
        }
        if !s.isEmpty && loaded == nil { return }  // no state yet, or a half-written file: next time
        box.withLockedValue { $0 = (s, loaded) }
        let text = "\(loaded?.pods.count ?? 0) \(loaded?.events.count ?? 0)\n"
        try? text.write(to: layout.apiServerBulkFile, atomically: true, encoding: .utf8)
    }

    static func load(_ spec: BulkSpec, state: ClusterState) -> Loaded {
        let pods = BulkObjects.pods(spec, node: state.node.name).sorted { $0.name < $1.name }
        let events = BulkObjects.events(spec, node: state.node.name, namespace: state.namespace).sorted { $0.name < $1.name }
        let r = KctlObjects(state: state)
        let podViews = pods.map { view(r.pod($0), kind: .pods) }
        let eventViews = events.map { view(r.event($0), kind: .events) }
        return Loaded(spec: spec, pods: pods, events: events, podViews: podViews, eventViews: eventViews,
                      podIndex: Dictionary(uniqueKeysWithValues: pods.enumerated().map { ($1.name, $0) }),
                      eventIndex: Dictionary(uniqueKeysWithValues: events.enumerated().map { ($1.name, $0) }),
                      eventsByInvolved: Dictionary(grouping: events.indices, by: { events[$0].involvedName }))
    }

    /// The parts of an object selectors look at: metadata.labels and the kind's field labels.
    static func view(_ full: KctlJSON, kind: ResourceKind) -> KctlJSON {
        var out: KctlJSON = .object([:])
        var paths = Array(kind.fieldLabels.values)
        paths.append(["metadata", "labels"])
        for p in paths { if let v = full.value(at: p) { out = set(out, p[...], v) } }
        return out
    }

    private static func set(_ o: KctlJSON, _ path: ArraySlice<String>, _ v: KctlJSON) -> KctlJSON {
        guard let key = path.first else { return v }
        var m: [String: KctlJSON] = [:]
        if case .object(let x) = o { m = x }
        m[key] = set(m[key] ?? .object([:]), path.dropFirst(), v)
        return .object(m)
    }
}
