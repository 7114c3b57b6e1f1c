import Diagnosis
import MemoryAnalysis
import Foundation
import Render
import Runbooks

public enum AppMsg: Sendable {
    /// First message: asks for the first refresh and arms the tick.
    case start
    case key(Key)
    /// Clock tick (re-armed by the effect it returns).
    case tick(Date)
    case resize(width: Int, height: Int)
    case snapshotArrived(Snapshot)
    case logsArrived(container: String, previous: Bool, Result<String, SourceFailure>)
    case eventsArrived(Result<[EventSummary], SourceFailure>)
    case runbookArrived(id: String, Result<Runbook, RunbookOpenFailure>)
    /// A runbook started with `X` ended (its line-mode run is over): the outcome line.
    case runbookRunEnded(String)
    /// A source failed outside a snapshot (e.g. the data source itself crashed).
    case sourceFailed(source: String, message: String)
    /// A message for the status bar (from the runtime).
    case notice(String)
    /// SIGTERM/SIGHUP/SIGINT received.
    case terminate
    /// Progress of the keyspace analysis (once per batch).
    case analysisProgress(MemoryProgress)
    case analysisFinished(AnalysisOutcome)
}

public enum AppEffect: Sendable, Equatable {
    case refresh
    case fetchLogs(container: String, previous: Bool)
    case fetchEvents
    case openRunbook(id: String)
    /// Mutating: never produced in read-only mode.
    case startRunbook(id: String)
    /// Deliver `.tick` after this many seconds.
    case scheduleTick(after: Double)
    /// Read-only keyspace analysis; progress and the report come back as messages.
    case startMemoryAnalysis
    case cancelMemoryAnalysis
    case quit
}

public enum App {
    /// Seconds between clock ticks (ages on screen advance with it).
    public static let tickInterval: Double = 1

    public static func update(_ m: inout AppModel, _ msg: AppMsg) -> [AppEffect] {
        switch msg {
        case .start:
            m.lastRefreshRequest = m.now
            m.refreshInFlight = true
            return [.refresh, .scheduleTick(after: min(tickInterval, m.refreshInterval))]
        case .tick(let now):
            m.now = now
            var fx: [AppEffect] = [.scheduleTick(after: min(tickInterval, m.refreshInterval))]
            let due = m.lastRefreshRequest.map { now.timeIntervalSince($0) >= m.refreshInterval - 0.05 } ?? true
            if due && !m.refreshInFlight {
                m.lastRefreshRequest = now
                m.refreshInFlight = true
                fx.insert(.refresh, at: 0)
                if m.screen == .logs, let f = m.logsFetch { fx.append(f) }
                if m.screen == .events { fx.append(.fetchEvents) }
            }
            return fx
        case .resize(let w, let h):
            m.width = w; m.height = h
            return []
        case .snapshotArrived(let s):
            receive(&m, s)
            // The runbook screen shows the new values; elsewhere its preview is made when drawn.
            if m.screen == .runbook { preparePreview(&m) } else { m.runbook?.preview = nil }
            return []
        case .logsArrived(let container, let previous, let result):
            guard container == m.logs.container, previous == m.logs.previous else { return [] }
            switch result {
            case .success(let t): m.logs.text = t; m.logs.error = nil; m.logs.fetchedAt = m.now; m.logs.noPreviousAtRestarts = nil
            case .failure(let e) where previous && e.message.contains("previous terminated container"):
                // Not an error: the container never restarted. Shown once, asked again after a restart.
                m.logs.noPreviousAtRestarts = m.restarts(of: container) ?? 0
                m.logs.text = nil; m.logs.error = nil; m.logs.fetchedAt = m.now
            case .failure(let e): m.logs.error = e.message
            }
            return []
        case .eventsArrived(let result):
            switch result {
            case .success(let ev): m.events.items = ev; m.events.error = nil; m.events.fetchedAt = m.now
            case .failure(let e): m.events.error = e.message
            }
            return []
        case .runbookArrived(let id, let result):
            switch result {
            case .success(let rb): m.runbook = RunbookScreenState(id: id, content: .loaded(rb))
            case .failure(.unknown(let known)):
                m.runbook = RunbookScreenState(id: id, content: .unknown(known: RunbookPreview.closestFirst(to: id, in: known)))
            case .failure(.failed(let message)): m.runbook = RunbookScreenState(id: id, content: .failed(message))
            }
            // Each runbook opens at its top, with its variables hidden.
            m.selection[.runbook] = 0
            preparePreview(&m)
            go(&m, .runbook)
            return []
        case .runbookRunEnded(let outcome):
            // Back to the dashboard ("Press Enter to return to the dashboard"), with the outcome
            // in the status bar and fresh data (the run changed things).
            m.flash = outcome
            m.mode = .normal
            go(&m, .dashboard)
            guard !m.refreshInFlight else { return [] }
            m.refreshInFlight = true
            m.lastRefreshRequest = m.now
            return [.refresh]
        case .sourceFailed(let source, let message):
            m.refreshInFlight = false
            var s = m.snapshot ?? Snapshot()
            s.errors.removeAll { $0.source == source }
            s.errors.append(SourceError(source: source, message: message))
            m.snapshot = s
            if m.snapshotAt == nil { m.snapshotAt = m.now }
            return []
        case .notice(let text):
            m.flash = text
            return []
        case .terminate:
            m.quitting = true
            return [.quit]
        case .analysisProgress(let p):
            if m.analysis.running { m.analysis.progress = p }
            return []
        case .analysisFinished(let o):
            m.analysis.running = false
            m.analysis.reportText = o.text
            m.analysis.complete = o.complete
            m.analysis.stopReason = o.stopReason
            return []
        case .key(let k):
            return key(&m, k)
        }
    }

    // MARK: data

    static func receive(_ m: inout AppModel, _ new: Snapshot) {
        m.refreshInFlight = false
        var merged = new
        let redisFailed = new.errors.contains { $0.source == "redis" }
        if let old = m.snapshot {
            // Keep the last good values of a failed source.
            if redisFailed {
                let limit = new.memory.limitBytes ?? old.memory.limitBytes
                merged.memory = old.memory
                merged.memory.limitBytes = limit
                merged.persistence = old.persistence
                merged.clients = old.clients
                merged.keyspace = old.keyspace
                merged.config = old.config
                merged.redisVersion = merged.redisVersion ?? old.redisVersion
            }
            if new.errors.contains(where: { $0.source == "pod" }), new.pod == nil { merged.pod = old.pod }
            if new.errors.contains(where: { $0.source == "queues" || $0.source == "redis" }), new.queues.isEmpty { merged.queues = old.queues }
            if new.errors.contains(where: { $0.source == "exporter" }), new.exporter.up == nil { merged.exporter = old.exporter }
        }
        if !redisFailed, let used = new.memory.usedBytes {
            m.memoryUsed.append(Double(used))
            m.memoryMax.append(Double(new.memory.maxmemoryBytes ?? 0))
            m.memoryLimit.append(Double(new.memory.limitBytes ?? 0))
        }
        var trend: [String: Int64] = [:]
        for q in merged.queues {
            let id = "\(q.prefix):\(q.name)"
            if let d = q.waitingDelta { trend[id] = d } else if let w = q.waiting, let p = m.previousWaiting[id] { trend[id] = w - p }
        }
        if !new.queues.isEmpty {
            m.previousWaiting = Dictionary(new.queues.compactMap { q in q.waiting.map { ("\(q.prefix):\(q.name)", $0) } }, uniquingKeysWith: { a, _ in a })
            m.queueTrend = trend
        }
        m.snapshot = merged
        m.snapshotAt = m.now
        let n = m.findings(filter: .dashboard).count
        for s in [Screen.dashboard, .findings] { if let sel = m.selection[s], sel >= n { m.selection[s] = max(0, n - 1) } }
    }

    // MARK: keys

    static func key(_ m: inout AppModel, _ k: Key) -> [AppEffect] {
        switch m.mode {
        case .palette(let text):
            switch k {
            case .escape: m.mode = .normal
            case .enter: m.mode = .normal; return palette(&m, text)
            case .backspace: if text.isEmpty { m.mode = .normal } else { m.mode = .palette(String(text.dropLast())) }
            case .ctrl("c"): m.quitting = true; return [.quit]
            case .char(let c): m.mode = .palette(text + String(c))
            default: break
            }
            return []
        case .filter(let text):
            switch k {
            case .escape: m.mode = .normal; m.filters[m.screen] = nil
            case .enter: m.mode = .normal
            case .backspace:
                let t = String(text.dropLast()); m.mode = .filter(t); m.filters[m.screen] = t.isEmpty ? nil : t
            case .ctrl("c"): m.quitting = true; return [.quit]
            case .char(let c):
                let t = text + String(c); m.mode = .filter(t); m.filters[m.screen] = t
            default: break
            }
            m.selection[m.screen] = 0
            if m.screen == .logs { m.logs.scroll = nil }
            return []
        case .confirm(let action, let expected, let input):
            switch k {
            case .escape: m.mode = .normal; m.flash = "cancelled"
            case .ctrl("c"): m.quitting = true; return [.quit]
            case .backspace: m.mode = .confirm(action: action, expected: expected, input: String(input.dropLast()))
            case .char(let c): m.mode = .confirm(action: action, expected: expected, input: input + String(c))
            case .enter:
                m.mode = .normal
                guard !m.readOnly else { m.flash = "read-only: nothing was started"; return [] }
                if input == expected { m.flash = "starting runbook \(expected)"; return [.startRunbook(id: expected)] }
                m.flash = "confirmation did not match: nothing was started"
            default: break
            }
            return []
        case .normal:
            guard let action = Keymap.action(for: k, on: m.screen, readOnly: m.readOnly) else { return [] }
            return perform(&m, action)
        }
    }

    static func go(_ m: inout AppModel, _ s: Screen) {
        guard s != m.screen else { return }
        m.history.append(m.screen)
        if m.history.count > 20 { m.history.removeFirst() }
        m.screen = s
        if m.mode != .normal { m.mode = .normal }
    }

    static func enter(_ m: inout AppModel, _ s: Screen) -> [AppEffect] {
        go(&m, s)
        switch s {
        case .logs: return [m.logsFetch].compactMap { $0 }
        case .events: return [.fetchEvents]
        default: return []
        }
    }

    static let cycle: [Screen] = [.dashboard, .memory, .logs, .events, .findings]

    static func listCount(_ m: AppModel) -> Int {
        switch m.screen {
        case .dashboard, .findings: m.findings(filter: m.screen).count
        case .events: m.filteredEvents().count
        case .logs: m.logLines().count
        case .help: Keymap.helpRows(readOnly: m.readOnly).count
        case .runbook: runbookRows(m).rows.count
        case .analysis: (m.analysis.reportText ?? "").split(separator: "\n", omittingEmptySubsequences: false).count
        case .memory: 0
        }
    }

    static func pageSize(_ m: AppModel) -> Int { max(1, m.height - 6) }

    static func move(_ m: inout AppModel, by delta: Int?, to absolute: Int? = nil) {
        let n = listCount(m)
        if m.screen == .logs {
            let page = max(1, m.height - 4)
            let maxTop = max(0, n - page)
            let cur = m.logs.scroll ?? maxTop
            var next = absolute ?? (cur + (delta ?? 0))
            next = max(0, min(maxTop, next))
            m.logs.scroll = next >= maxTop ? nil : next
            return
        }
        if m.screen == .runbook {
            // A scroll offset: the last page ends with the last row.
            let maxTop = max(0, n - runbookVisibleRows(m))
            let next = absolute ?? ((m.selection[.runbook] ?? 0) + (delta ?? 0))
            m.selection[.runbook] = max(0, min(maxTop, next))
            return
        }
        guard n > 0 else { m.selection[m.screen] = 0; return }
        let cur = m.selection[m.screen] ?? 0
        let next = absolute ?? (cur + (delta ?? 0))
        m.selection[m.screen] = max(0, min(n - 1, next))
    }

    static func perform(_ m: inout AppModel, _ a: Action) -> [AppEffect] {
        m.flash = nil
        switch a {
        case .quit: m.quitting = true; return [.quit]
        case .help: go(&m, .help)
        case .palette: m.mode = .palette("")
        case .filter: m.mode = .filter(m.filters[m.screen] ?? "")
        case .back:
            if let f = m.filters[m.screen], !f.isEmpty { m.filters[m.screen] = nil; return [] }
            if m.screen == .analysis, m.analysis.running {
                // Esc stops the analysis between batches; the partial report stays on screen.
                m.flash = "stopping the analysis…"
                return [.cancelMemoryAnalysis]
            }
            if let prev = m.history.popLast() { m.screen = prev } else { m.screen = .dashboard }
        case .up: move(&m, by: -1)
        case .down: move(&m, by: 1)
        case .pageUp: move(&m, by: -pageSize(m))
        case .pageDown: move(&m, by: pageSize(m))
        case .top: move(&m, by: nil, to: 0)
        case .bottom: move(&m, by: nil, to: Int.max / 2)
        case .open:
            let list = m.findings(filter: m.screen)
            let i = m.selection[m.screen] ?? 0
            guard i < list.count else { m.flash = "no finding selected"; return [] }
            guard let rb = list[i].runbook else { m.flash = "\(list[i].id) has no runbook"; return [] }
            return [.openRunbook(id: rb)]
        case .nextScreen, .previousScreen:
            let idx = cycle.firstIndex(of: m.screen) ?? 0
            let next = cycle[(idx + (a == .nextScreen ? 1 : cycle.count - 1)) % cycle.count]
            return enter(&m, next)
        case .dashboard: return enter(&m, .dashboard)
        case .memory: return enter(&m, .memory)
        case .logs: return enter(&m, .logs)
        case .events: return enter(&m, .events)
        case .findings:
            if m.screen == .dashboard { m.selection[.findings] = m.selection[.dashboard] }
            return enter(&m, .findings)
        case .refresh:
            var fx: [AppEffect] = []
            if !m.refreshInFlight { m.refreshInFlight = true; m.lastRefreshRequest = m.now; fx.append(.refresh) }
            if m.screen == .logs, let f = m.logsFetch { fx.append(f) }
            if m.screen == .events { fx.append(.fetchEvents) }
            return fx
        case .togglePrevious:
            m.logs.previous.toggle(); m.logs.text = nil; m.logs.error = nil; m.logs.scroll = nil
            return [m.logsFetch].compactMap { $0 }
        case .toggleWrap:
            m.logs.wrap.toggle()
            return []
        case .switchContainer:
            let i = m.containers.firstIndex(of: m.logs.container) ?? -1
            m.logs.container = m.containers.isEmpty ? m.logs.container : m.containers[(i + 1) % m.containers.count]
            m.logs.text = nil; m.logs.error = nil; m.logs.scroll = nil; m.logs.noPreviousAtRestarts = nil
            return [m.logsFetch].compactMap { $0 }
        case .analyze:
            go(&m, .analysis)
            guard !m.analysis.running else { return [] }
            m.analysis = AnalysisState()
            m.analysis.running = true
            m.analysis.startedAt = m.now
            m.selection[.analysis] = 0
            return [.startMemoryAnalysis]
        case .toggleVariables:
            guard m.screen == .runbook, m.runbook?.runbook != nil else { return [] }
            m.runbook?.showVariables.toggle()
            // Shown: scrolled to them (they follow the header); hidden: back to the top.
            let rows = runbookRows(m)
            m.selection[.runbook] = m.runbook?.showVariables == true ? rows.variablesStart : 0
            move(&m, by: 0)
        case .startRunbook:
            guard !m.readOnly else { return [] }
            let id: String?
            if m.screen == .runbook {
                guard let rb = m.runbook?.runbook else {
                    m.flash = "no runbook '\(m.runbook?.id ?? "")': nothing to run"
                    return []
                }
                id = rb.id
            } else {
                let list = m.findings(filter: m.screen)
                let i = m.selection[m.screen] ?? 0
                id = i < list.count ? list[i].runbook : nil
            }
            guard let rb = id else { m.flash = "no runbook selected"; return [] }
            m.mode = .confirm(action: "start runbook", expected: rb, input: "")
        }
        return []
    }

    static func palette(_ m: inout AppModel, _ text: String) -> [AppEffect] {
        let parts = text.split(separator: " ").map(String.init)
        guard let cmd = parts.first?.lowercased() else { return [] }
        let arg = parts.dropFirst().joined(separator: " ")
        switch cmd {
        case "q", "quit", "exit": m.quitting = true; return [.quit]
        case "d", "dash", "dashboard": return enter(&m, .dashboard)
        case "m", "mem", "memory": return enter(&m, .memory)
        case "l", "log", "logs":
            if !arg.isEmpty {
                m.logs.container = arg; m.logs.text = nil; m.logs.error = nil; m.logs.scroll = nil; m.logs.noPreviousAtRestarts = nil
                if m.screen == .logs { return [.fetchLogs(container: arg, previous: m.logs.previous)] }
            }
            return enter(&m, .logs)
        case "previous", "prev":
            if m.screen != .logs { go(&m, .logs) }
            return perform(&m, .togglePrevious)
        case "wrap", "w":
            if m.screen != .logs { go(&m, .logs) }
            return perform(&m, .toggleWrap)
        case "e", "ev", "events": return enter(&m, .events)
        case "f", "findings": return enter(&m, .findings)
        case "h", "help", "?": go(&m, .help); return []
        case "r", "refresh": return perform(&m, .refresh)
        case "a", "analyse", "analyze": return perform(&m, .analyze)
        case "rb", "runbook":
            guard !arg.isEmpty else { m.flash = "usage: runbook <id>"; return [] }
            return [.openRunbook(id: arg)]
        default:
            m.flash = "unknown command: \(cmd) (try :help)"
            return []
        }
    }
}
