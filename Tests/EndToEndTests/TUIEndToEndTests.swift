import Foundation
import TmuxTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real binary in a real tmux (private socket). Build it first:
/// `swift build --scratch-path .build-tui` (the test runner sits next to it).
@Suite(.serialized) struct TUIEndToEndTests {
    static func isDashboard(_ l: [String]) -> Bool {
        l.contains { $0.contains("Pod health") } && l.contains { $0.contains("Findings") } && l.contains { $0.contains("? help") }
    }

    /// Terminal modes after the app: canonical input and echo back on.
    static func expectSaneTTY(_ stty: String) {
        let words = Set(stty.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
        #expect(words.contains("icanon"), "stty: \(stty)")
        #expect(words.contains("echo"), "stty: \(stty)")
        #expect(words.contains("isig"), "stty: \(stty)")
        #expect(!words.contains("-icanon") && !words.contains("-echo"))
    }

    @Test func startResizeAndQuit() throws {
        let t = try TmuxSession(width: 120, height: 40)
        defer { t.close() }
        // No cluster reachable: kubectl is missing. The dashboard still opens and says so.
        try t.launchApp(["--refresh", "1", "--kubectl", "/nonexistent/kubectl"])
        var screen = try t.waitFor("the dashboard without a cluster at 120x40") { l in
            Self.isDashboard(l) && l.contains { $0.contains("error:") && $0.contains("not found") || $0.contains("cannot execute") }
        }
        #expect(try t.display("#{alternate_on}") == "1")
        #expect(screen[0].contains("/nonexistent/kubectl"), "the kubectl in use is shown in the header")
        #expect(screen.count == 40 && screen.allSatisfy { $0.count <= 120 })

        try t.resize(80, 24)
        screen = try t.waitFor("the dashboard at 80x24") { l in Self.isDashboard(l) && l.count == 24 && l[1].hasPrefix("┌ Pod health") && l[1].count == 80 }
        #expect(screen.allSatisfy { $0.count <= 80 })
        #expect(screen.contains { $0.contains("Memory") } && screen.contains { $0.contains("ADR compliance") })
        #expect(screen[23].hasPrefix(" ? help"))

        try t.resize(200, 60)
        // A complete frame: three columns, and every body row drawn to the right edge (no
        // left-overs of the narrower frame).
        screen = try t.waitFor("three full columns at 200x60") { l in
            l.count == 60 && l[1].filter { $0 == "┌" }.count == 3
                && l[1...58].allSatisfy { $0.count == 200 && ($0.hasSuffix("┐") || $0.hasSuffix("│") || $0.hasSuffix("┘")) }
        }
        #expect(screen.allSatisfy { $0.count <= 200 })
        #expect(screen.contains { $0.contains("Persistence / AOF") })
        #expect(screen[59].hasPrefix(" ? help"))

        try t.resize(60, 20)
        screen = try t.waitFor("the too-small screen") { l in l.contains { $0.contains("terminal too small") } }
        #expect(screen.joined(separator: " ").contains("need 80x24, have 60x20"))
        #expect(!screen.contains { $0.contains("Pod health") })

        try t.resize(120, 40)
        try t.waitFor("the dashboard again", Self.isDashboard)
        try t.type("?")
        // (Wait for the whole frame: a capture can land between two painted runs.)
        screen = try t.waitFor("help") { l in l.contains { $0.contains("Help: keys") } && l.contains { $0.contains("memory chart (full width)") } }
        #expect(screen.contains { $0.contains("memory chart (full width)") })
        try t.sendKeys("Escape")
        try t.type("m")
        try t.waitFor("memory chart") { l in l.contains { $0.contains("Memory over this session") } }
        try t.sendKeys("Escape")
        try t.waitFor("back to the dashboard", Self.isDashboard)

        try t.type("q")
        let (status, stty) = try t.waitForExit()
        #expect(status == 0)
        #expect(try t.display("#{alternate_on}") == "0")
        Self.expectSaneTTY(stty)
    }

    func quitsCleanly(by stop: (TmuxSession, pid_t) throws -> Void, expectStatus: Int) throws {
        let t = try TmuxSession(width: 100, height: 30)
        defer { t.close() }
        try t.launchApp()
        try t.waitFor("the dashboard", Self.isDashboard)
        #expect(try t.display("#{alternate_on}") == "1")
        let pid = try t.appPid()
        try stop(t, pid)
        let (status, stty) = try t.waitForExit()
        #expect(status == expectStatus)
        #expect(try t.display("#{alternate_on}") == "0")
        Self.expectSaneTTY(stty)
        // The shell still works: typed text echoes and runs.
        try t.type("echo still-$((40+2))\n")
        try t.waitFor("the shell to answer") { $0.contains("still-42") }
    }

    @Test func sigtermRestoresTheTerminal() throws {
        try quitsCleanly(by: { _, pid in kill(pid, SIGTERM) }, expectStatus: 128 + Int(SIGTERM))
    }

    /// A crash (a fatal signal, as a segfault or a trap would raise) still leaves a sane
    /// terminal: the handler leaves curses and re-raises, so the exit status is the signal's.
    @Test func crashRestoresTheTerminal() throws {
        try quitsCleanly(by: { _, pid in kill(pid, SIGSEGV) }, expectStatus: 128 + Int(SIGSEGV))
        try quitsCleanly(by: { _, pid in kill(pid, SIGABRT) }, expectStatus: 128 + Int(SIGABRT))
    }

    @Test func sighupRestoresTheTerminal() throws {
        try quitsCleanly(by: { _, pid in kill(pid, SIGHUP) }, expectStatus: 128 + Int(SIGHUP))
    }

    @Test func ctrlCQuits() throws {
        try quitsCleanly(by: { t, _ in try t.sendKeys("C-c") }, expectStatus: 0)
    }

    @Test func readOnlyAndNoColor() throws {
        let t = try TmuxSession(width: 120, height: 40)
        defer { t.close() }
        try t.launchApp(["--read-only", "--no-color"])
        let screen = try t.waitFor("the dashboard", Self.isDashboard)
        #expect(screen[0].contains("READ-ONLY"))
        #expect(!screen[39].contains("X run"))
        let colored = try t.tmux(["capture-pane", "-p", "-e", "-t", "e2e"]).out
        let fg = try NSRegularExpression(pattern: "\u{1b}\\[([0-9;]*;)?3[0-7](;[0-9;]*)?m")
        #expect(fg.firstMatch(in: colored, range: NSRange(colored.startIndex..., in: colored)) == nil, "a foreground colour in --no-color mode")
        try t.type("q")
        _ = try t.waitForExit()
    }
}
