import CNcursesw
import Foundation
import Render
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by the SIGTERM/SIGHUP/SIGINT/SIGQUIT handlers; the loop reads it and shuts down.
private let pendingSignal = Atomic<Int32>(0)
/// Whether curses is active (the crash handler only calls endwin then).
private let cursesActive = Atomic<Bool>(false)

/// The ncurses backend: owns the screen between `start()` and `stop()`.
/// Only this module imports ncurses. Use it from one thread.
public final class Terminal {
    public let colors: Bool
    private var previous: Grid?
    private var pairs: [UInt16: Int16] = [:]
    private var nextPair: Int16 = 1
    private var started = false
    public private(set) var locale: String = ""

    public init(colors: Bool) { self.colors = colors }

    /// Installs the signal handlers. Call before `start()` (and as early as possible).
    /// Also unblocks them on the calling thread: a parent may hand us a mask that blocks SIGTERM,
    /// and a blocked SIGTERM would leave the dashboard impossible to stop politely.
    public static func installSignalHandlers() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
            signal(sig) { s in pendingSignal.store(s, ordering: .relaxed) }
        }
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            signal(sig) { s in
                if cursesActive.load(ordering: .relaxed) { endwin() }
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }

    /// The signal that asked us to stop, if any (SIGTERM, SIGHUP, SIGINT, SIGQUIT).
    public static var terminationSignal: Int32? {
        let s = pendingSignal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// Picks a UTF-8 locale: the environment's, else C.UTF-8. Returns the one in effect.
    @discardableResult
    public static func setUpLocale() -> String {
        var name = setlocale(LC_ALL, "").map { String(cString: $0) } ?? ""
        if !name.uppercased().contains("UTF-8") && !name.uppercased().contains("UTF8") {
            if let c = setlocale(LC_ALL, "C.UTF-8") { name = String(cString: c) }
        }
        return name
    }

    public func start() {
        guard !started else { return }
        locale = Terminal.setUpLocale()
        initscr()
        cursesActive.store(true, ordering: .relaxed)
        started = true
        // No typeahead check inside doupdate: ncurses would poll the keyboard and flush its
        // output after every few lines (~150 writes for the first 200x60 frame, each waking the
        // terminal); without it a frame goes out in one buffer. Keys are read between frames anyway.
        typeahead(-1)
        raw()          // Ctrl-C arrives as a key; signals still reach us from kill
        noecho()
        nonl()
        keypad(rr_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        timeout(80)
        if colors, has_colors() {
            start_color()
            use_default_colors()
        }
        previous = nil
    }

    public func stop() {
        guard started else { return }
        started = false
        curs_set(1)
        endwin()
        cursesActive.store(false, ordering: .relaxed)
        fflush(nil)
    }

    /// Leaves the full screen for a while (to run a runbook in line mode in the same terminal):
    /// the shell's screen and cooked mode come back until `resume()`.
    public func suspend() {
        guard started else { return }
        curs_set(1)
        endwin()
        cursesActive.store(false, ordering: .relaxed)
        fflush(nil)
    }

    /// Back to the full screen after `suspend()`; the next `present` repaints everything.
    public func resume() {
        guard started else { return }
        cursesActive.store(true, ordering: .relaxed)
        refresh()
        curs_set(0)
        clear()
        // Keys typed while the line-mode run was busy must not act on the dashboard.
        flushinp()
        previous = nil
    }

    deinit { if started { endwin(); cursesActive.store(false, ordering: .relaxed) } }

    /// Terminal size in cells.
    public var size: (width: Int, height: Int) {
        var y: Int32 = 0, x: Int32 = 0
        rr_getmaxyx(rr_stdscr(), &y, &x)
        return (Int(x), Int(y))
    }

    /// Forgets the last frame so the next `present` repaints every cell (after a resize).
    public func invalidate() { previous = nil }

    /// Paints only the cells that changed since the last frame, then one `doupdate`.
    /// Returns the number of runs written.
    @discardableResult
    public func present(_ grid: Grid) -> Int {
        let runs = grid.diff(from: previous)
        for r in runs {
            _ = rr_attrset(attributes(r.style), pair(for: r.style))
            _ = rr_mvaddstr(Int32(r.y), Int32(r.x), r.text)
        }
        _ = rr_attrset(rr_A_NORMAL(), 0)
        wnoutrefresh(rr_stdscr())
        doupdate()
        previous = grid
        return runs.count
    }

    private func attributes(_ s: Style) -> attr_t {
        var a = rr_A_NORMAL()
        if s.bold { a |= rr_A_BOLD() }
        if s.dim { a |= rr_A_DIM() }
        if s.reverse { a |= rr_A_REVERSE() }
        if s.underline { a |= rr_A_UNDERLINE() }
        return a
    }

    private func curses(_ c: Color) -> Int16 {
        switch c {
        case .default: return -1
        case .black: return Int16(COLOR_BLACK)
        case .red: return Int16(COLOR_RED)
        case .green: return Int16(COLOR_GREEN)
        case .yellow: return Int16(COLOR_YELLOW)
        case .blue: return Int16(COLOR_BLUE)
        case .magenta: return Int16(COLOR_MAGENTA)
        case .cyan: return Int16(COLOR_CYAN)
        case .white: return Int16(COLOR_WHITE)
        }
    }

    private func pair(for s: Style) -> Int16 {
        guard colors, has_colors(), s.fg != .default || s.bg != .default else { return 0 }
        let key = UInt16(s.fg.rawValue) << 8 | UInt16(s.bg.rawValue)
        if let p = pairs[key] { return p }
        guard Int32(nextPair) < rr_COLOR_PAIRS() else { return 0 }
        let p = nextPair
        nextPair += 1
        init_pair(p, curses(s.fg), curses(s.bg))
        pairs[key] = p
        return p
    }

    public enum Event: Sendable, Equatable {
        case key(Key)
        case resize(width: Int, height: Int)
    }

    /// Waits up to the input timeout (80 ms) for one event; nil on timeout.
    public func readEvent() -> Event? {
        readEvent(waitMilliseconds: 80)
    }

    /// Sleeps until the terminal has input, `fd` (e.g. a wake-up pipe, drained here) is readable,
    /// a signal arrives, or `milliseconds` pass. Use with `readEvent(waitMilliseconds: 0)`.
    public func waitForInput(milliseconds: Int32, alsoReadable fd: Int32) {
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        let n = poll(&fds, fd >= 0 ? 2 : 1, max(0, milliseconds))
        if n > 0, fd >= 0, fds[1].revents != 0 {
            var buf = [UInt8](repeating: 0, count: 256)
            while read(fd, &buf, buf.count) > 0 {}
        }
    }

    /// One event, waiting at most `waitMilliseconds` (0: only what is already there); nil if none.
    public func readEvent(waitMilliseconds: Int32) -> Event? {
        wtimeout(rr_stdscr(), waitMilliseconds)
        var ch: wint_t = 0
        let rc = rr_get_wch(&ch)
        if rc == ERR { return pollResize() }
        if rc == rr_KEY_CODE_YES() {
            let code = Int32(ch)
            switch code {
            case KEY_RESIZE:
                let s = size
                // The terminal's own contents are unknown after a resize: the next frame
                // repaints every cell from a cleared screen (the only full clear we do).
                previous = nil
                clearok(rr_stdscr(), true)
                return .resize(width: s.width, height: s.height)
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_ENTER: return .key(.enter)
            case KEY_BACKSPACE: return .key(.backspace)
            case KEY_DC: return .key(.delete)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_BTAB: return .key(.backTab)
            default:
                for n in 1...12 where code == rr_KEY_F(Int32(n)) { return .key(.function(n)) }
                return nil
            }
        }
        return Terminal.key(forScalar: UInt32(ch)).map { .key($0) }
    }

    /// SIGWINCH goes to any thread of the process, so ncurses may not see it while it waits for
    /// input: compare the real size with ours on every idle turn and resize when they differ.
    private func pollResize() -> Event? {
        var rows: Int32 = 0, cols: Int32 = 0
        guard rr_winsize(&rows, &cols) == 0 else { return nil }
        let s = size
        guard Int(rows) != s.height || Int(cols) != s.width else { return nil }
        resizeterm(rows, cols)
        previous = nil
        clearok(rr_stdscr(), true)
        return .resize(width: Int(cols), height: Int(rows))
    }

    /// Maps a character code from the terminal to a key (pure; tested without a terminal).
    public static func key(forScalar v: UInt32) -> Key? {
        switch v {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(v + 96)!))
        case 0, 28...31: return nil
        default:
            guard let s = Unicode.Scalar(v), Sanitize.replacement(for: s) == nil else { return nil }
            return .char(Character(s))
        }
    }
}
