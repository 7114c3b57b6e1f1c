import Diagnosis
import MemoryAnalysis
import Foundation
import Render
import Runbooks

public enum InputMode: Sendable, Equatable {
    case normal
    /// Typing a `:` command.
    case palette(String)
    /// Typing a `/` filter for the current screen.
    case filter(String)
    /// A mutating action waits for the operator to type `expected`.
    case confirm(action: String, expected: String, input: String)
}

public struct LogsState: Sendable, Equatable {
    public var container: String
    public var previous: Bool = false
    public var text: String?
    public var error: String?
    public var fetchedAt: Date?
    /// Top line shown; nil follows the tail.
    public var scroll: Int?
    /// The container's restart count when the server said it has no previous (terminated)
    /// container: `--previous` is not asked again until that count changes.
    public var noPreviousAtRestarts: Int?
    /// Long lines wrapped onto the next rows (`w`) instead of cut at the panel's edge.
    public var wrap: Bool = false
    public init(container: String) { self.container = container }
}

public struct EventsState: Sendable, Equatable {
    public var items: [EventSummary] = []
    public var error: String?
    public var fetchedAt: Date?
    public init() {}
}

/// The keyspace analysis screen (MemoryAnalysis over a read-only session).
public struct AnalysisState: Sendable, Equatable {
    public var running = false
    public var progress: MemoryProgress?
    /// The report as text (partial when stopped early), once finished.
    public var reportText: String?
    public var complete: Bool?
    public var stopReason: String?
    public var startedAt: Date?
    public init() {}
}

/// What an analysis ended with, as the data source reports it.
public struct AnalysisOutcome: Sendable, Equatable {
    public var text: String
    public var complete: Bool
    public var stopReason: String?
    public init(text: String, complete: Bool, stopReason: String?) { self.text = text; self.complete = complete; self.stopReason = stopReason }
}

/// The runbook screen: the runbook opened last (or why it could not be opened).
public struct RunbookScreenState: Sendable {
    public enum Content: Sendable {
        case loaded(Runbook)
        /// No runbook has this id: the known ids, the closest first.
        case unknown(known: [String])
        /// The library could not be read.
        case failed(String)
    }
    public var id: String
    public var content: Content
    /// The variables table, shown on demand (`v`).
    public var showVariables = false
    /// The runbook as steps with the values of the last snapshot: kept by `update` (made when
    /// the runbook or a snapshot arrives, so a frame does not redo it); nil: made when drawn.
    public var preview: RunbookPreview?
    public init(id: String, content: Content) { self.id = id; self.content = content }
    /// The runbook that `X` would start (nil: nothing to run).
    public var runbook: Runbook? { if case .loaded(let rb) = content { return rb }; return nil }
}

/// Everything the TUI shows. Only `update` changes it.
public struct AppModel: Sendable {
    public var screen: Screen = .dashboard
    /// Screens to return to with Esc.
    public var history: [Screen] = []
    public var mode: InputMode = .normal

    // Configuration.
    public var readOnly: Bool
    public var colors: Bool
    public var refreshInterval: Double
    public var kubectlPath: String
    /// What the dashboard is pointed at (the header shows its context, namespace and pod).
    public var target: Target
    public var context: String? { target.context }
    public var namespace: String { target.namespace }
    public var podName: String { target.pod }
    public var containers: [String]

    // Data.
    /// The last snapshot with the last good values of failed sources kept.
    public var snapshot: Snapshot?
    public var snapshotAt: Date?
    public var refreshInFlight = false
    public var lastRefreshRequest: Date?
    public var now: Date
    public var memoryUsed = RingBuffer<Double>(capacity: 1800)
    public var memoryMax = RingBuffer<Double>(capacity: 1800)
    public var memoryLimit = RingBuffer<Double>(capacity: 1800)
    /// Waiting counts of the previous snapshot, per queue, for trends when the source gives none.
    public var previousWaiting: [String: Int64] = [:]
    public var queueTrend: [String: Int64] = [:]
    public var logs: LogsState
    public var events = EventsState()
    public var runbook: RunbookScreenState?
    /// Where a runbook started from here runs (its kubectl flags and variables): the runbook
    /// screen shows each command exactly as that run would.
    public var runTarget: RunTarget
    public var analysis = AnalysisState()

    // UI state.
    public var selection: [Screen: Int] = [:]
    public var filters: [Screen: String] = [:]
    /// A one-line message in the status bar (last error, confirmation result...).
    public var flash: String?
    public var width = 80
    public var height = 24
    public var quitting = false

    public init(readOnly: Bool = false, colors: Bool = true, refreshInterval: Double = 2, kubectlPath: String = "kubectl",
                target: Target = Target(), now: Date = Date(timeIntervalSince1970: 0)) {
        self.readOnly = readOnly; self.colors = colors; self.refreshInterval = refreshInterval; self.kubectlPath = kubectlPath
        self.target = target; self.containers = [target.container, target.exporterContainer]
        self.now = now
        self.logs = LogsState(container: containers.first ?? "redis")
        self.runTarget = RunTarget(target: target)
    }

    public var keyBindings: [KeyBinding] { Keymap.bindings(readOnly: readOnly) }

    /// Findings in the snapshot's order (root causes first, each followed by what it explains;
    /// `Findings.causalOrder`), filtered by the current filter of `screen`.
    public func findings(filter screen: Screen) -> [Finding] {
        let all = Findings.causalOrder(snapshot?.findings ?? [])
        guard let f = filters[screen], !f.isEmpty else { return all }
        return all.filter { "\($0.id) \($0.severity.rawValue) \($0.summary) \($0.evidence) \($0.runbook ?? "")".localizedCaseInsensitiveContains(f) }
    }

    /// How many findings the filter of `screen` hides (0 without a filter).
    public func findingsHidden(filter screen: Screen) -> Int {
        (snapshot?.findings.count ?? 0) - findings(filter: screen).count
    }

    /// The dashboard's filter, applied to every panel that lists things (findings, queues, pod warnings).
    public func dashboardMatches(_ text: String) -> Bool {
        guard let f = filters[.dashboard], !f.isEmpty else { return true }
        return text.localizedCaseInsensitiveContains(f)
    }

    public func filteredEvents() -> [EventSummary] {
        guard let f = filters[.events], !f.isEmpty else { return events.items }
        return events.items.filter { "\($0.type) \($0.reason) \($0.message)".localizedCaseInsensitiveContains(f) }
    }

    /// The restart count of a container as the last snapshot shows it.
    public func restarts(of container: String) -> Int? {
        snapshot?.pod?.containers.first { $0.name == container }?.restarts
    }

    /// `--previous` logs of the selected container are known not to exist (no restart since).
    public var noPreviousContainer: Bool {
        logs.previous && logs.noPreviousAtRestarts != nil && logs.noPreviousAtRestarts == (restarts(of: logs.container) ?? 0)
    }

    /// The logs to ask for on a refresh, if any.
    public var logsFetch: AppEffect? {
        noPreviousContainer ? nil : .fetchLogs(container: logs.container, previous: logs.previous)
    }

    public func logLines() -> [String] {
        let lines = (logs.text ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let trimmed = lines.last == "" ? Array(lines.dropLast()) : lines
        guard let f = filters[.logs], !f.isEmpty else { return trimmed }
        return trimmed.filter { $0.localizedCaseInsensitiveContains(f) }
    }

    /// The error of a source in the current snapshot.
    public func error(for source: String) -> SourceError? { snapshot?.errors.first { $0.source == source } }

    /// Seconds since the snapshot arrived.
    public var snapshotAge: Int? { snapshotAt.map { max(0, Int(now.timeIntervalSince($0))) } }

    /// Age of the oldest data on screen: the last snapshot's age plus the staleness of the most
    /// stale source in it (a panel whose source failed shows data that old).
    public var oldestDataAge: Int? {
        guard let age = snapshotAge else { return nil }
        return age + (snapshot?.errors.compactMap(\.staleSeconds).max() ?? 0)
    }

    /// Inline status of a panel fed by `sources`: "stale 14s: <error>", "error: <error>" or "2s".
    public func panelStatus(_ sources: [String]) -> (text: String, isError: Bool)? {
        guard let age = snapshotAge else { return ("waiting for data", false) }
        if let e = sources.lazy.compactMap({ self.error(for: $0) }).first {
            if let d = AccessDenial(e) { return (d.plain, false) }
            if let s = e.staleSeconds { return ("stale \(s + age)s: \(e.message)", true) }
            return ("error: \(e.message)", true)
        }
        return ("\(age)s", false)
    }
}
