import App
import Diagnosis
import Foundation
import Render
import Synchronization
import Terminal

/// Thread-safe inbox: I/O tasks push messages, the UI loop drains them. A push also writes a
/// byte to a pipe the UI loop sleeps on, so the loop wakes for a message at once and otherwise
/// sleeps until input or its next deadline (no polling every few milliseconds).
final class TUIInbox: Sendable {
    private let queue = Mutex<[AppMsg]>([])
    /// Read end (the UI loop polls it) and write end (pushes), both non-blocking; -1 if no pipe.
    let wakeRead: Int32
    private let wakeWrite: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            wakeRead = fds[0]; wakeWrite = fds[1]
        } else {
            wakeRead = -1; wakeWrite = -1
        }
    }
    deinit {
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }
    func push(_ m: AppMsg) {
        queue.withLock { $0.append(m) }
        if wakeWrite >= 0 {
            var b: UInt8 = 1
            _ = write(wakeWrite, &b, 1)   // a full pipe already means "wake up"
        }
    }
    func drain() -> [AppMsg] { queue.withLock { q in defer { q.removeAll() }; return q } }
}

#if canImport(Glibc)
/// glibc's `malloc_trim` (declared in malloc.h, which the Glibc module does not bring in).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Which fetches are running, so a new one that would overlap is dropped.
final class TUIInFlight: Sendable {
    private let running = Mutex<Set<String>>([])
    /// True when `key` was free and is now taken.
    func begin(_ key: String) -> Bool { running.withLock { $0.insert(key).inserted } }
    func end(_ key: String) { _ = running.withLock { $0.remove(key) } }
}

/// The TUI main loop, generic over the data source. The UI runs on its own thread (ncurses is
/// used from that thread only); every data source call runs in a task and comes back as a message.
public enum TUIRuntime {
    public struct Outcome: Sendable {
        /// 0 after q / Ctrl-C, 128+n after signal n.
        public var exitCode: Int32
    }

    /// Runs a runbook in line mode in the same terminal (the full screen is suspended meanwhile).
    public typealias RunbookRunner = @Sendable (_ id: String) async -> String

    public static func run(source: some DashboardDataSource, model: AppModel, runbookRunner: RunbookRunner? = nil) async -> Outcome {
        await withCheckedContinuation { (cont: CheckedContinuation<Outcome, Never>) in
            let box = UncheckedBox(model)
            let thread = Thread {
                let out = loop(source: source, model: box.value, runbookRunner: runbookRunner)
                cont.resume(returning: out)
            }
            thread.name = "tui"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    final class UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }

    static func loop(source: some DashboardDataSource, model initial: AppModel, runbookRunner: RunbookRunner? = nil) -> Outcome {
        var model = initial
        let inbox = TUIInbox()
        let inflight = TUIInFlight()
        let term = Terminal(colors: model.colors)
        Terminal.installSignalHandlers()
        term.start()
        defer { term.stop() }

        let size = term.size
        model.width = size.width; model.height = size.height
        model.now = Date()
        var nextTick: Date?
        var exitCode: Int32 = 0
        let analysisTask = Mutex<Task<Void, Never>?>(nil)
        defer { analysisTask.withLock { $0?.cancel() } }

        func perform(_ fx: [AppEffect]) -> Bool {
            for e in fx {
                switch e {
                case .quit:
                    return false
                case .scheduleTick(let after):
                    nextTick = Date().addingTimeInterval(after)
                case .refresh:
                    guard inflight.begin("snapshot") else { continue }  // still running: dropped
                    Task.detached {
                        let s = await source.snapshot()
                        inflight.end("snapshot")
                        inbox.push(.snapshotArrived(s))
                    }
                case .fetchLogs(let container, let previous):
                    let key = "logs:\(container):\(previous)"
                    guard inflight.begin(key) else { continue }
                    Task.detached {
                        let r = await source.logs(container: container, previous: previous)
                        inflight.end(key)
                        inbox.push(.logsArrived(container: container, previous: previous, r))
                    }
                case .fetchEvents:
                    guard inflight.begin("events") else { continue }
                    Task.detached {
                        let r = await source.events()
                        inflight.end("events")
                        inbox.push(.eventsArrived(r))
                    }
                case .startMemoryAnalysis:
                    guard inflight.begin("analysis") else { continue }
                    let task = Task.detached {
                        let outcome = await source.analyzeMemory { p in inbox.push(.analysisProgress(p)) }
                        inflight.end("analysis")
                        inbox.push(.analysisFinished(outcome))
                    }
                    analysisTask.withLock { $0 = task }
                case .cancelMemoryAnalysis:
                    analysisTask.withLock { $0?.cancel() }
                case .openRunbook(let id):
                    Task.detached { inbox.push(.runbookArrived(id: id, await source.runbook(id: id))) }
                case .startRunbook(let id):
                    guard let runbookRunner else {
                        inbox.push(.notice("runbooks cannot be run from this dashboard (\(id))"))
                        continue
                    }
                    // The runbook talks to the operator in the same terminal, in line mode; the
                    // dashboard is suspended (not closed) and comes back when it ends.
                    term.suspend()
                    let done = DispatchSemaphore(value: 0)
                    let result = Mutex<String>("")
                    Task.detached {
                        let outcome = await runbookRunner(id)
                        result.withLock { $0 = outcome }
                        done.signal()
                    }
                    done.wait()
                    let outcome = result.withLock { $0 }
                    print("\n\(outcome)\nPress Enter to return to the dashboard.", terminator: "")
                    fflush(nil)
                    _ = readLine()
                    term.resume()
                    // "Press Enter to return to the dashboard": the dashboard, not the runbook screen.
                    inbox.push(.runbookRunEnded(outcome))
                }
            }
            return true
        }

        var running = perform(App.update(&model, .start))
        var dirty = true
        // Frame coalescing: a tick that starts a refresh holds its frame until the snapshot
        // arrives (or `holdLimit` passes), so a refresh paints once, not once for the clock and
        // again for the data. Keys and resizes paint at once.
        var holdUntil: Date?
        let holdLimit: TimeInterval = 0.3
        var nextTrim = Date().addingTimeInterval(30)
        while running {
            if let sig = Terminal.terminationSignal {
                exitCode = 128 + sig
                _ = App.update(&model, .terminate)
                break
            }
            if let h = holdUntil, !model.refreshInFlight || Date() >= h { holdUntil = nil }
            if dirty && holdUntil == nil {
                term.present(App.render(model, width: model.width, height: model.height))
                dirty = false
            }
            // Keys already typed (or buffered by curses) first, without waiting.
            if let ev = term.readEvent(waitMilliseconds: 0) {
                dirty = true
                holdUntil = nil
                switch ev {
                case .resize(let w, let h):
                    running = perform(App.update(&model, .resize(width: w, height: h)))
                case .key(let k):
                    running = perform(App.update(&model, .key(k)))
                }
                continue
            }
            // Idle: sleep until input, a message, the next tick or the end of a held frame;
            // never blocked by a probe. At most 250 ms, so a resize seen only by polling the
            // window size (SIGWINCH may land on another thread) is picked up quickly.
            var deadline = Date().addingTimeInterval(0.25)
            if let t = nextTick, t < deadline { deadline = t }
            if let h = holdUntil, h < deadline { deadline = h }
            term.waitForInput(milliseconds: Int32(max(0, min(250, deadline.timeIntervalSinceNow * 1000)).rounded(.up)),
                              alsoReadable: inbox.wakeRead)
            for msg in inbox.drain() where running {
                running = perform(App.update(&model, msg))
                dirty = true
            }
            if running, let t = nextTick, Date() >= t {
                nextTick = nil
                if Date() >= nextTrim {
                    // Hand freed heap pages back to the system once a minute: the dashboard stays
                    // open for hours and its peaks (a memory analysis, a log view) are transient.
                    nextTrim = Date().addingTimeInterval(60)
                    #if canImport(Glibc)
                    _ = glibcMallocTrim(0)
                    #endif
                }
                running = perform(App.update(&model, .tick(Date())))
                dirty = true
                if model.refreshInFlight, model.lastRefreshRequest.map({ Date().timeIntervalSince($0) < 0.05 }) == true {
                    holdUntil = Date().addingTimeInterval(holdLimit)
                }
            }
        }
        return Outcome(exitCode: exitCode)
    }
}
