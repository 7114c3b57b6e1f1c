import Foundation
import NIOCore
import NIOHTTP1
import Sandbox

/// get, list, watch, create, delete, patch and the scale subresource for one kind.
struct ObjectHandlers: Sendable {
    let router: Router
    let kind: ResourceKind
    let info: RequestInfo
    let request: APIRequest
    var store: StateStore { router.store }
    var layout: SandboxLayout { router.layout }

    var wantsTable: Bool { Tables.wantsTable(request.headers.first(name: "Accept")) }

    func checkNamespace(_ state: ClusterState, name: String?) throws -> Bool {
        guard kind.namespaced, let ns = info.namespace else { return true }
        return ns == state.namespace
    }

    // MARK: selection

    struct Selection {
        var labels: LabelSelector?
        var fields: [(path: [String], value: String, equal: Bool)] = []
    }

    func selection() throws -> Selection {
        var s = Selection()
        do {
            s.labels = try APIParse.labelSelector(request.query("labelSelector"))
            s.fields = try APIParse.fieldSelector(request.query("fieldSelector"), fieldLabels: kind.fieldLabels)
        } catch { throw APIStatus(error) }
        return s
    }

    func matches(_ o: KctlJSON, _ s: Selection) -> Bool {
        if let l = s.labels, !l.matches(o.labels) { return false }
        for f in s.fields {
            let v: String
            switch o.value(at: f.path) {
            case .string(let x)?: v = x
            case .bool(let b)?: v = b ? "true" : "false"
            case .int(let i)?: v = String(i)
            default: v = ""
            }
            if (v == f.value) != f.equal { return false }
        }
        return true
    }

    /// An item of a list: kind and apiVersion are the list's, not repeated (as on the wire).
    static func listItem(_ o: KctlJSON) -> KctlJSON {
        guard case .object(var m) = o else { return o }
        m.removeValue(forKey: "kind"); m.removeValue(forKey: "apiVersion")
        return .object(m)
    }

    // MARK: list

    func list() throws -> APIResponse {
        let state = try store.read()
        let sel = try selection()
        let nsOK = try checkNamespace(state, name: nil)
        // The state's objects, and the bulk ones (load tests) that match, rendered only once
        // they are on this page.
        var entries: [(name: String, object: KctlJSON?, bulk: Int)] = (nsOK ? ObjectCatalog(state: state, layout: layout).objects(kind) : [])
            .filter { matches($0, sel) }.map { ($0.metadataName, $0, -1) }
        let bulk = nsOK ? router.core.bulk.current() : nil
        if let bulk {
            for i in bulk.candidates(kind, fields: sel.fields) where matches(bulk.view(kind, i), sel) { entries.append((bulk.name(kind, i), nil, i)) }
        }
        entries.sort { $0.name < $1.name }
        let rv = String(state.generation)
        // limit / continue: the continue token is the last name sent (base64 JSON, as opaque as the real one).
        let start: String?
        do { start = try APIParse.continueStart(request.query("continue")) } catch { throw APIStatus(error) }
        if let start { entries = entries.filter { $0.name > start } }
        var next: String?
        var remaining: Int?
        if let limit = APIParse.limit(request.query("limit")), entries.count > limit {
            remaining = entries.count - limit
            entries = Array(entries.prefix(limit))
            let token: KctlJSON = ["v": "meta.k8s.io/v1", "rv": .int(Int64(state.generation)), "start": .string(entries.last?.name ?? "")]
            next = Data(token.compact().utf8).base64EncodedString()
        }
        let objects = entries.map { $0.object ?? bulk!.render(kind, $0.bulk, state: state) }
        if wantsTable {
            let rowState = bulk?.state(state, adding: kind, entries.filter { $0.bulk >= 0 }.map(\.bulk)) ?? state
            var t = Tables.table(kind, objects: objects, state: rowState, resourceVersion: rv, includeObject: request.query("includeObject"),
                                 continueToken: next)
            if let remaining, case .object(var o) = t, case .object(var m)? = o["metadata"] {
                m["remainingItemCount"] = .int(Int64(remaining)); o["metadata"] = .object(m); t = .object(o)
            }
            return .json(t)
        }
        var meta: [String: KctlJSON] = ["resourceVersion": .string(rv)]
        if let next { meta["continue"] = .string(next) }
        if let remaining { meta["remainingItemCount"] = .int(Int64(remaining)) }
        return .json([
            "kind": .string(kind.kind + "List"), "apiVersion": .string(kind.apiVersion),
            "metadata": .object(meta), "items": .array(objects.map(Self.listItem)),
        ])
    }

    // MARK: get

    func find(_ name: String, in state: ClusterState) throws -> KctlJSON { try findWithState(name, in: state).object }

    /// The object, and the state its Table row reads (with the bulk object, when it is one).
    func findWithState(_ name: String, in state: ClusterState) throws -> (object: KctlJSON, state: ClusterState) {
        guard try checkNamespace(state, name: name) else { throw APIStatus.notFound(resource: kind.rawValue, name: name, group: kind.group) }
        if let o = ObjectCatalog(state: state, layout: layout).objects(kind).first(where: { $0.metadataName == name }) { return (o, state) }
        if let bulk = router.core.bulk.current(), let i = bulk.index(kind, named: name) {
            return (bulk.render(kind, i, state: state), bulk.state(state, adding: kind, [i]))
        }
        throw APIStatus.notFound(resource: kind.rawValue, name: name, group: kind.group)
    }

    func get(_ name: String) throws -> APIResponse {
        let (o, rowState) = try findWithState(name, in: try store.read())
        if wantsTable {
            return .json(Tables.table(kind, objects: [o], state: rowState, resourceVersion: nil, includeObject: request.query("includeObject")))
        }
        return .json(o)
    }

    // MARK: watch

    func watch() throws -> APIResponse {
        let sel = try selection()
        let rvText = request.query("resourceVersion") ?? ""
        // Streaming lists (client-go's WatchListClient, on by default in kubectl 1.35+):
        // `sendInitialEvents=true`: the current objects as ADDED, then a BOOKMARK annotated
        // `k8s.io/initial-events-end`, then changes.
        let initialEventsEnd = request.query("sendInitialEvents") == "true"
        let from: Int?
        if initialEventsEnd || rvText.isEmpty || rvText == "0" { from = nil } else {
            guard let n = Int(rvText) else { throw APIStatus.badRequest("resourceVersion: Invalid value: \"\(rvText)\": must be a number") }
            from = n
        }
        let state = try store.read()
        let nsOK = try checkNamespace(state, name: nil)
        let table = wantsTable
        let includeObject = request.query("includeObject")
        let bookmarks = request.query("allowWatchBookmarks") == "true"
        let timeout = request.query("timeoutSeconds").flatMap(Double.init).map { max(1, $0) } ?? 1800
        let hub = router.core.hub
        let kind = self.kind
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        let subscription: WatchHub.Subscription
        do { subscription = try hub.subscribe(kind: kind, after: from) } catch WatchHub.SubscribeError.tooOld(let requested, let oldest) {
            // As the real server: 200, then an ERROR event carrying the 410 Status.
            let status = APIStatus.gone("too old resource version: \(requested) (\(oldest))")
            return APIResponse(status: .ok, headers: headers, body: .stream { w in
                try await w.write((["type": "ERROR", "object": status.json] as KctlJSON).compact() + "\n")
            })
        } catch {
            throw APIStatus(code: 503, reason: "ServiceUnavailable", message: "the watch cache is not ready yet", retryAfterSeconds: 1)
        }
        let handler = self
        // The bulk objects (load tests) never change: they are in the initial ADDED events only.
        let bulk = from == nil && nsOK ? router.core.bulk.current() : nil
        return APIResponse(status: .ok, headers: headers, body: .stream { w in
            defer { hub.unsubscribe(subscription.id) }
            var first = true
            var lastRV = max(from ?? 0, subscription.generation)
            func send(_ e: WatchEvent) async throws {
                guard e.kind == kind, nsOK, handler.matches(e.object, sel) else { return }
                var object = e.object
                if table {
                    object = Tables.table(kind, objects: [e.object], state: e.state, resourceVersion: String(e.rv), includeObject: includeObject,
                                          withColumns: first)
                    first = false
                }
                try await w.write((["type": .string(e.type), "object": object] as KctlJSON).compact() + "\n")
            }
            for e in subscription.initial { try await send(e); lastRV = max(lastRV, e.rv) }
            if let bulk {
                for i in bulk.candidates(kind, fields: sel.fields) where handler.matches(bulk.view(kind, i), sel) {
                    try await send(WatchEvent(rv: bulk.spec.resourceVersion, kind: kind, type: "ADDED", object: bulk.render(kind, i, state: state),
                                              state: table ? bulk.state(state, adding: kind, [i]) : state))
                }
            }
            if initialEventsEnd {
                let b: KctlJSON = ["kind": .string(kind.kind), "apiVersion": .string(kind.apiVersion),
                                   "metadata": ["resourceVersion": .string(String(subscription.generation)), "creationTimestamp": nil,
                                                "annotations": ["k8s.io/initial-events-end": "true"]]]
                try await w.write((["type": "BOOKMARK", "object": b] as KctlJSON).compact() + "\n")
            }
            // Events, and a tick each second for bookmarks, the timeout, watch-drop and a closed client.
            let (ticks, tickCont) = AsyncStream<WatchEvent?>.makeStream()
            let forward = Task {
                for await e in subscription.stream { tickCont.yield(e) }
                tickCont.finish()
            }
            let ticker = Task {
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(1)); tickCont.yield(nil) }
            }
            w.closeFuture.whenComplete { _ in tickCont.finish() }
            defer { forward.cancel(); ticker.cancel(); tickCont.finish() }
            let start = Date()
            var lastBookmark = Date()
            let dropAfter = Double.random(in: 3...8)
            for await item in ticks {
                if let e = item {
                    if let from, e.rv <= from { continue }
                    try await send(e)
                    lastRV = max(lastRV, e.rv)
                    continue
                }
                if !w.isOpen { return }
                if Date().timeIntervalSince(start) >= timeout { return }
                if hub.latestState()?.runtime.faults.watchDrop == true, Date().timeIntervalSince(start) >= dropAfter {
                    if Int.random(in: 0..<10) < 3 {
                        let status = APIStatus.gone("too old resource version: \(lastRV) (\(hub.generation))")
                        try await w.write((["type": "ERROR", "object": status.json] as KctlJSON).compact() + "\n")
                    }
                    return
                }
                if bookmarks, Date().timeIntervalSince(lastBookmark) >= 5 {
                    lastBookmark = Date()
                    let g = max(lastRV, hub.generation)
                    let b: KctlJSON = ["kind": .string(kind.kind), "apiVersion": .string(kind.apiVersion),
                                       "metadata": ["resourceVersion": .string(String(g)), "creationTimestamp": nil]]
                    try await w.write((["type": "BOOKMARK", "object": b] as KctlJSON).compact() + "\n")
                }
            }
        })
    }
}
