import Render

public enum Screen: String, Sendable, CaseIterable, Hashable {
    case dashboard, memory, logs, events, findings, help, runbook, analysis

    public var title: String {
        switch self {
        case .dashboard: "Dashboard"
        case .memory: "Memory"
        case .logs: "Pod logs"
        case .events: "Events"
        case .findings: "Findings"
        case .help: "Help"
        case .runbook: "Runbook"
        case .analysis: "Memory analysis"
        }
    }
}

public enum Action: String, Sendable, CaseIterable, Hashable {
    case quit, help, back, palette, filter
    case up, down, pageUp, pageDown, top, bottom
    case open, nextScreen, previousScreen
    case dashboard, memory, logs, events, findings
    case refresh, togglePrevious, switchContainer, toggleWrap
    case startRunbook
    /// The runbook screen's variables table (shown on demand).
    case toggleVariables
    /// Start the keyspace analysis (read-only: SCAN + MEMORY USAGE in bounded batches).
    case analyze
}

/// One key binding. The table below is the single source for dispatch, help and status bar.
public struct KeyBinding: Sendable, Hashable {
    public var key: Key
    public var action: Action
    public var help: String
    /// Screens where the key works; nil means everywhere.
    public var screens: Set<Screen>?
    /// Changes the cluster or Redis: removed entirely in read-only mode.
    public var mutates: Bool
    /// Shown in the status bar.
    public var hint: Bool
    /// Screens whose status bar lists this hint first (the keys that screen is about), so a
    /// narrow terminal cuts the general ones instead.
    public var leadOn: Set<Screen>
    public init(key: Key, action: Action, help: String, screens: Set<Screen>? = nil, mutates: Bool = false, hint: Bool = false,
                leadOn: Set<Screen> = []) {
        self.key = key; self.action = action; self.help = help; self.screens = screens; self.mutates = mutates; self.hint = hint
        self.leadOn = leadOn
    }
    public func applies(to screen: Screen) -> Bool { screens?.contains(screen) ?? true }
}

public enum Keymap {
    static let lists: Set<Screen> = [.dashboard, .findings, .events, .logs, .help, .runbook]

    public static let all: [KeyBinding] = [
        KeyBinding(key: .char("?"), action: .help, help: "help: every key", hint: true),
        KeyBinding(key: .char(":"), action: .palette, help: "command palette", hint: true),
        KeyBinding(key: .char("/"), action: .filter, help: "filter / search", screens: [.dashboard, .findings, .events, .logs, .help], hint: true),
        KeyBinding(key: .escape, action: .back, help: "back (clears the filter first)", hint: true),
        KeyBinding(key: .char("q"), action: .quit, help: "quit", hint: true),
        KeyBinding(key: .ctrl("c"), action: .quit, help: "quit"),
        KeyBinding(key: .char("j"), action: .down, help: "down", screens: lists),
        KeyBinding(key: .down, action: .down, help: "down", screens: lists),
        KeyBinding(key: .char("k"), action: .up, help: "up", screens: lists),
        KeyBinding(key: .up, action: .up, help: "up", screens: lists),
        KeyBinding(key: .pageDown, action: .pageDown, help: "page down", screens: lists),
        KeyBinding(key: .pageUp, action: .pageUp, help: "page up", screens: lists),
        KeyBinding(key: .char("g"), action: .top, help: "first", screens: lists),
        KeyBinding(key: .home, action: .top, help: "first", screens: lists),
        KeyBinding(key: .char("G"), action: .bottom, help: "last (logs: follow)", screens: lists),
        KeyBinding(key: .end, action: .bottom, help: "last (logs: follow)", screens: lists),
        KeyBinding(key: .enter, action: .open, help: "open the runbook of the selected finding", screens: [.dashboard, .findings], hint: true),
        KeyBinding(key: .tab, action: .nextScreen, help: "next screen"),
        KeyBinding(key: .backTab, action: .previousScreen, help: "previous screen"),
        KeyBinding(key: .char("d"), action: .dashboard, help: "dashboard"),
        KeyBinding(key: .char("m"), action: .memory, help: "memory chart (full width)", hint: true),
        KeyBinding(key: .char("l"), action: .logs, help: "pod logs", hint: true),
        KeyBinding(key: .char("e"), action: .events, help: "events", hint: true),
        KeyBinding(key: .char("f"), action: .findings, help: "findings", hint: true),
        KeyBinding(key: .char("r"), action: .refresh, help: "refresh now"),
        KeyBinding(key: .char("a"), action: .analyze, help: "analyse the keyspace: where the memory went (read-only; Esc cancels)", screens: [.memory, .analysis], hint: true),
        KeyBinding(key: .char("p"), action: .togglePrevious, help: "toggle --previous (logs of the last container)", screens: [.logs], hint: true),
        KeyBinding(key: .char("c"), action: .switchContainer, help: "switch container", screens: [.logs], hint: true),
        KeyBinding(key: .char("w"), action: .toggleWrap, help: "wrap long lines (on/off): see a whole log line", screens: [.logs], hint: true),
        KeyBinding(key: .char("X"), action: .startRunbook, help: "start the selected finding's runbook (may change the cluster)",
                   screens: [.dashboard, .findings, .runbook], mutates: true, hint: true, leadOn: [.runbook]),
        KeyBinding(key: .char("v"), action: .toggleVariables, help: "show / hide the runbook's variables and their values now",
                   screens: [.runbook], hint: true, leadOn: [.runbook]),
    ]

    /// The bindings in effect: read-only mode removes every mutating one.
    public static func bindings(readOnly: Bool) -> [KeyBinding] {
        readOnly ? all.filter { !$0.mutates } : all
    }

    public static func action(for key: Key, on screen: Screen, readOnly: Bool) -> Action? {
        bindings(readOnly: readOnly).first { $0.key == key && $0.applies(to: screen) }?.action
    }

    /// Status bar hints for a screen, derived from the table: the screen's own keys first,
    /// without the actions that do nothing there now (`unavailable`).
    public static func hints(for screen: Screen, readOnly: Bool, unavailable: Set<Action> = []) -> [KeyHint] {
        var seen = unavailable
        var out: [KeyHint] = []
        let applicable = bindings(readOnly: readOnly).filter { $0.hint && $0.applies(to: screen) }
        for b in applicable.filter({ $0.leadOn.contains(screen) }) + applicable where !seen.contains(b.action) {
            seen.insert(b.action)
            out.append(KeyHint(b.key.description, shortLabel(b.action)))
        }
        return out
    }

    static func shortLabel(_ a: Action) -> String {
        switch a {
        case .help: "help"
        case .palette: "cmd"
        case .filter: "filter"
        case .back: "back"
        case .quit: "quit"
        case .open: "runbook"
        case .memory: "memory"
        case .logs: "logs"
        case .events: "events"
        case .findings: "findings"
        case .togglePrevious: "previous"
        case .switchContainer: "container"
        case .toggleWrap: "wrap"
        case .startRunbook: "run"
        case .analyze: "analyse"
        case .toggleVariables: "variables"
        default: a.rawValue
        }
    }

    /// Help rows: one per action and screen set, listing all its keys.
    public static func helpRows(readOnly: Bool) -> [(keys: String, help: String, screens: String)] {
        var order: [String] = []
        var rows: [String: (keys: [String], help: String, screens: String)] = [:]
        for b in bindings(readOnly: readOnly) {
            let scr = b.screens.map { s in Screen.allCases.filter { s.contains($0) }.map(\.rawValue).joined(separator: ",") } ?? "all"
            let id = "\(b.action.rawValue)|\(scr)"
            if rows[id] == nil { order.append(id); rows[id] = ([], b.help + (b.mutates ? " [mutates]" : ""), scr) }
            rows[id]!.keys.append(b.key.description)
        }
        return order.map { (rows[$0]!.keys.joined(separator: " "), rows[$0]!.help, rows[$0]!.screens) }
    }
}

/// Palette commands (`:name args`).
public enum PaletteCommand {
    public static let names: [(name: String, help: String)] = [
        ("dashboard", "the dashboard"), ("memory", "memory chart"), ("logs [container]", "pod logs"),
        ("previous", "toggle logs --previous"), ("wrap", "wrap long log lines"), ("events", "events"), ("findings", "findings"),
        ("runbook <id>", "open a runbook"), ("refresh", "refresh now"), ("help", "help"), ("quit", "quit"),
    ]
}
