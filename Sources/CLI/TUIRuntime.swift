import App
import Diagnosis
import Foundation
import Render
import Synchronization
import Terminal

/// Thread-safe inbox: I/O tasks push messages, the UI loop drains them.
final class TUIInbox: Sendable {
    private let queue = Mutex<[AppMsg]>([])
    func push(_ m: AppMsg) { queue.withLock { $0.append(m) } }
    func drain() -> [AppMsg] { queue.withLock { q in defer { q.removeAll() }; return q } }
}

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
                    inbox.push(.notice(outcome))
                }
            }
            return true
        }

        var running = perform(App.update(&model, .start))
        var dirty = true
        while running {
            if let sig = Terminal.terminationSignal {
                exitCode = 128 + sig
                _ = App.update(&model, .terminate)
                break
            }
            if dirty {
                term.present(App.render(model, width: model.width, height: model.height))
                dirty = false
            }
            // Waits up to the input timeout; never blocked by a probe.
            if let ev = term.readEvent() {
                dirty = true
                switch ev {
                case .resize(let w, let h):
                    running = perform(App.update(&model, .resize(width: w, height: h)))
                case .key(let k):
                    running = perform(App.update(&model, .key(k)))
                }
                // Drain any keys already typed before painting again.
                continue
            }
            for msg in inbox.drain() where running {
                running = perform(App.update(&model, msg))
                dirty = true
            }
            if running, let t = nextTick, Date() >= t {
                nextTick = nil
                running = perform(App.update(&model, .tick(Date())))
                dirty = true
            }
        }
        return Outcome(exitCode: exitCode)
    }
}
