import Diagnosis
import Foundation
import ProcessRunner
import Runbooks
import Synchronization

/// The signal a runbook run caught (0: none) and how many came, set by plain C handlers (as the
/// Terminal's): a handler may only touch atomics; `SignalFlag`'s watcher acts on them.
private let runbookSignal = Atomic<Int32>(0)
private let runbookSignalCount = Atomic<Int>(0)

/// SIGINT / SIGTERM / SIGHUP as a flag while a runbook runs; the dispositions before it (the
/// dashboard's own handlers when it runs a runbook) are restored after.
///
/// Plain sigaction handlers, not dispatch signal sources: on Linux a second dispatch source for
/// a signal, made after the first was cancelled and the disposition restored, never fires (the
/// signal stays ignored), so a runbook started a second time from the dashboard, or a run after
/// its rights check, could not be stopped by SIGTERM.
final class SignalFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var previous: [Int32: sigaction] = [:]
    private var watcher: Task<Void, Never>?
    private var nested = 0
    private var active = false

    var signal: String? {
        switch runbookSignal.load(ordering: .relaxed) {
        case 0: return nil
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case let s: return "signal \(s)"
        }
    }

    /// Installs the handlers (a nested install, e.g. the run after its rights check, shares them).
    func install() {
        lock.lock()
        defer { lock.unlock() }
        if active { nested += 1; return }
        active = true
        runbookSignal.store(0, ordering: .relaxed)
        runbookSignalCount.store(0, ordering: .relaxed)
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var old = sigaction()
            sigaction(sig, nil, &old)
            previous[sig] = old
            Foundation.signal(sig) { s in
                if runbookSignalCount.add(1, ordering: .relaxed).newValue == 1 { runbookSignal.store(s, ordering: .relaxed) }
            }
        }
        // The first signal ends the running step's process group now (the driver also does, then
        // records it); a second one ends every child and exits.
        watcher = Task.detached {
            var handled = 0
            while !Task.isCancelled {
                let n = runbookSignalCount.load(ordering: .relaxed)
                if n >= 2 {
                    for pid in ChildRegistry.pids { kill(-pid, SIGKILL) }
                    _exit(130)
                }
                if n == 1, handled == 0 {
                    handled = 1
                    await ChildRegistry.terminateAll()
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Undoes `install` (the outermost one: a nested install/uninstall pair leaves it in place).
    func uninstall() {
        lock.lock()
        defer { lock.unlock() }
        guard active else { return }
        if nested > 0 { nested -= 1; return }
        active = false
        watcher?.cancel()
        watcher = nil
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            if var old = previous[sig] { sigaction(sig, &old, nil) } else { Foundation.signal(sig, SIG_DFL) }
        }
    }
}

/// Exit statuses of `runbook run` (README: "Verdict line and exit codes").
public enum RunbookExit {
    public static let finished: Int32 = 0
    public static let error: Int32 = 1
    public static let stoppedSafe: Int32 = 3
    public static let stoppedChanged: Int32 = 4
    public static func meaning(_ code: Int) -> String {
        switch code {
        case 0: return "finished: the end state holds"
        case 3: return "stopped: nothing this run changed is left in place"
        case 4: return "stopped: changes of this run are still in place"
        default: return "error"
        }
    }
}

/// Drives a `RunbookRun` in line mode: prints every message, runs commands through
/// ProcessRunner (never a shell), reads answers from stdin (EOF or an empty line takes the
/// prompt's safe default), writes the incident log and saves the run state after each step.
public final class RunbookLineRunner: @unchecked Sendable {
    let runner: Runner
    let kubectl: String
    let log: IncidentLog
    let store: RunStateStore
    let snapshot: any SnapshotSource
    let output: (String) -> Void
    let readAnswer: () -> String?
    var stdinClosed = false
    /// `kubectl exec POD -c C -- printenv NAME` for the redis container's password variable:
    /// read when a redis-cli step meets NOAUTH (the container has REDIS_PASSWORD but no
    /// REDISCLI_AUTH), kept in memory only, sent as `AUTH` on redis-cli's stdin.
    var passwordArgv: [String]?
    /// Runs a `keyspace-analysis` step: the analysis of `redis-runbook memory` (set by the
    /// launch, which knows the live target). Without it the step reports that it could not run.
    var keyspaceAnalyzer: (@Sendable (KeyspaceRequest) async -> KeyspaceOutcome)?
    /// The run ended through `.finished` and its incident log path was printed.
    private(set) var printedLogPath = false
    private var password: String?
    /// When the password was last asked for in vain (the container not running yet, say, during
    /// a crash loop): asked again on a later NOAUTH, at most every 5 s.
    private var passwordFailedAt: Date?
    private var authNoticeShown = false

    public init(runner: Runner, kubectl: String, log: IncidentLog, store: RunStateStore, snapshot: any SnapshotSource,
                output: @escaping (String) -> Void = { print($0); fflush(nil) },
                readAnswer: @escaping () -> String? = { readLine(strippingNewline: true) }) {
        self.runner = runner; self.kubectl = kubectl; self.log = log; self.store = store; self.snapshot = snapshot
        self.output = output; self.readAnswer = readAnswer
    }

    func write(_ entry: IncidentEntry) {
        do { try log.append(entry) } catch { output("warning: could not write the incident log \(log.path): \(error)") }
    }

    /// Set by SIGINT/SIGTERM/SIGHUP while a run is driven (the same flag as the rights check's,
    /// installed once: see SignalFlag).
    var interruption = SignalFlag()

    /// Runs to the end; returns the final status. SIGINT, SIGTERM and SIGHUP end the running
    /// step's process group (every child of this process), record the interruption and end the
    /// run with its verdict; a second signal exits at once.
    public func drive(_ run: inout RunbookRun) async -> RunStatus {
        interruption.install()
        defer { interruption.uninstall() }
        var queue = run.handle(.start)
        var interruptedHandled = false
        while true {
            if !interruptedHandled, let sig = interruption.signal {
                interruptedHandled = true
                await ChildRegistry.terminateAll()
                queue = run.handle(.interrupted(sig))
            }
            guard !queue.isEmpty else { break }
            let effect = queue.removeFirst()
            switch effect {
            case .show(let m):
                // Shown text is redacted like the log (a CONFIG GET * lists requirepass's value);
                // before formatting, which prefixes output lines with "| ".
                let redactor = log.redactor
                output(Self.format(RunMessage(m.kind, m.shown(redactor.redact))))
            case .progress:
                break // progress text comes as a .show(.progress) message too
            case .log(let e):
                write(e)
            case .saveState(let s):
                do { try store.save(s) } catch { output("warning: could not save the run state: \(error)") }
            case .recordSnapshot(let phase, let idx):
                var e = IncidentEntry(type: .snapshot, runbook: run.runbook.id)
                e.phase = phase; e.stepIndex = idx
                e.text = await snapshot.infoText()
                write(e)
            case .fetchSnapshot:
                let lookup = await snapshot.lookup()
                queue = run.handle(.snapshot(lookup)) + queue
            case .runCommand(let rc):
                let outcome = await execute(rc)
                // A CONFIG GET * (or a config file) shows requirepass's value: learned as a
                // literal secret before anything shows or logs it, masked wherever it turns up.
                for secret in Redactor.secretValues(in: outcome.stdout + "\n" + outcome.stderr) { log.addSecret(secret) }
                if interruption.signal != nil && !interruptedHandled { continue }
                queue = run.handle(.commandFinished(outcome)) + queue
            case .wait(let seconds):
                let until = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
                while ContinuousClock.now < until, interruption.signal == nil { try? await Task.sleep(for: .milliseconds(50)) }
                if interruption.signal != nil && !interruptedHandled { continue }
                queue = run.handle(.waited) + queue
            case .ask(let p):
                queue = run.handle(.answer(ask(p))) + queue
            case .analyzeKeyspace(let req):
                let out = await analyzeKeyspace(req)
                if interruption.signal != nil && !interruptedHandled { continue }
                queue = run.handle(.keyspaceAnalyzed(out)) + queue
            case .finished(let status, _):
                await accountData(run)
                output("Incident log: \(log.path)")
                printedLogPath = true
                if status != .finished { output("Run state saved; continue with: redis-runbook runbook run \(run.runbook.id) --resume") }
                output("exit status \(run.state.exitCode ?? 1) (\(RunbookExit.meaning(run.state.exitCode ?? 1)))")
                return status
            }
        }
        return run.state.status
    }

    /// The run's one data accounting line (after the verdict), printed and logged, when the
    /// launch set the data before the run.
    func accountData(_ run: RunbookRun) async {
        let st = run.state
        guard let source = st.dataBeforeSource, interruption.signal == nil else { return }
        let after = await snapshot.data()
        var cuts: [AofCut] = []
        if let a = run.runbook.endState.aofFiles, let b = st.variables[a.before], let af = st.variables[a.after] {
            cuts = FileListing.cuts(before: b, after: af)
        }
        var age: TimeInterval? = nil
        if source.hasPrefix("last seen"), let b = st.dataBefore { age = LastSeen.seconds(from: b.seenAt, to: st.startedAt) }
        let account = DataAccount.make(before: st.dataBefore, beforeSource: source, beforeAge: age, after: after, aofCuts: cuts)
        output(account.line)
        var e = IncidentEntry(type: .data, runbook: run.runbook.id)
        e.message = account.line
        e.data = account
        write(e)
    }

    /// The keyspace analysis, stopped between batches when a signal arrives.
    func analyzeKeyspace(_ req: KeyspaceRequest) async -> KeyspaceOutcome {
        guard let analyzer = keyspaceAnalyzer else {
            return KeyspaceOutcome(complete: false, stopReason: "this driver cannot run the keyspace analysis", report: "", values: [:], durationSeconds: 0)
        }
        let work = Task { await analyzer(req) }
        let flag = interruption
        let watcher = Task {
            while !Task.isCancelled {
                if flag.signal != nil { work.cancel(); return }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let out = await work.value
        watcher.cancel()
        return out
    }

    /// Runs a step's command. A `kubectl exec ... -- redis-cli CMD ARGS` that Redis answers with
    /// NOAUTH runs again as `kubectl exec -i ... -- redis-cli` with `AUTH <password>` and the
    /// command as lines on its stdin: the password never appears on a command line, in the
    /// output or in the incident log (the log keeps the step's own argv).
    func execute(_ rc: RenderedCommand) async -> CommandOutcome {
        let split = Self.redisCLIExec(rc.argv)
        // Once Redis has asked for the password, every later redis-cli step authenticates at once.
        let first: CommandOutcome
        if password != nil, let sp = split, sp.options.isEmpty, rc.stdin == nil {
            first = CommandOutcome(exitCode: 0, termination: "", stdout: "NOAUTH", stderr: "", durationSeconds: 0)
        } else {
            first = await executeRaw(rc)
        }
        guard let split, rc.stdin == nil, (first.stdout + first.stderr).contains("NOAUTH") else { return first }
        if password == nil, passwordFailedAt.map({ Date().timeIntervalSince($0) >= 5 }) ?? true, let argv = passwordArgv {
            passwordFailedAt = Date()
            let r = await runner.run(CommandSpec(argv, timeout: .seconds(20), outputLimit: 1 << 16, label: "runbook:redis-password"))
            var v = r.stdoutText
            if v.hasSuffix("\n") { v.removeLast() }
            if r.succeeded && !v.isEmpty {
                password = v
                passwordFailedAt = nil
                log.addSecret(v)
            }
        }
        guard let pw = password else {
            var out = first
            out.stderr += "\n(Redis wants a password; the container's password variable could not be read with printenv: see --redis-password-env)"
            return out
        }
        if !authNoticeShown {
            authNoticeShown = true
            output("   (Redis answered NOAUTH: from now on redis-cli steps send AUTH on redis-cli's stdin, with the password read in the pod by printenv; it is never shown, logged or on a command line)")
        }
        var argv = split.exec + ["redis-cli"] + split.options
        if let i = argv.firstIndex(of: "exec") { argv.insert("-i", at: i + 1) }
        let lines = "AUTH " + RedisCLI.quote(pw) + "\n" + RedisCLI.line(split.command) + "\n"
        var authed = await executeRaw(RenderedCommand(argv: argv, stdin: lines, timeoutSeconds: rc.timeoutSeconds, mutates: rc.mutates, destructive: rc.destructive))
        // The first reply is AUTH's own ("OK"); the rest is the command's.
        var replyLines = authed.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let authReply = replyLines.isEmpty ? "" : String(replyLines.removeFirst())
        if authReply != "OK" {
            authed.stdout = ""
            authed.stderr = "AUTH failed: " + log.redactor.redact(authReply)
            authed.exitCode = 1
            authed.termination = "AUTH failed"
            return authed
        }
        authed.stdout = replyLines.joined(separator: "\n")
        return authed
    }

    /// `kubectl ... exec ... -- redis-cli [-h HOST] [-p PORT] [-n DB] CMD...`: (everything before
    /// redis-cli, those options, the command and its arguments). nil for anything else (options
    /// such as --scan need REDISCLI_AUTH in the container). With `-h`/`-p` the step talks to
    /// another server of the same StatefulSet (a write probe through the address Sentinel
    /// gives), which has the same password; a Sentinel never answers NOAUTH, so its steps are
    /// never sent AUTH (only a step that met NOAUTH is retried with it).
    static func redisCLIExec(_ argv: [String]) -> (exec: [String], options: [String], command: [String])? {
        guard argv.first == "kubectl", argv.contains("exec"), let dd = argv.firstIndex(of: "--"), dd + 1 < argv.count,
              argv[dd + 1] == "redis-cli" else { return nil }
        var i = dd + 2
        var options: [String] = []
        while i < argv.count, argv[i].hasPrefix("-") {
            guard ["-h", "-p", "-n"].contains(argv[i]), i + 1 < argv.count else { return nil }
            options += [argv[i], argv[i + 1]]
            i += 2
        }
        let command = Array(argv[i...])
        guard !command.isEmpty else { return nil }
        return (Array(argv[...dd]), options, command)
    }

    func executeRaw(_ rc: RenderedCommand) async -> CommandOutcome {
        var argv = rc.argv
        if argv.first == "kubectl" { argv[0] = kubectl }
        let spec = CommandSpec(argv, stdin: rc.stdin.map { Data($0.utf8) },
                               timeout: .milliseconds(Int(rc.timeoutSeconds * 1000)), label: "runbook")
        let r = await runner.run(spec)
        let secs = Double(r.duration.components.seconds) + Double(r.duration.components.attoseconds) / 1e18
        // Plain switch instead of `r.exitCode.map(Int.init)`: the latter crashes the Swift 6.3.1
        // optimizer in release builds ("Found ownership error", borrow of CommandResult).
        let termination = r.termination
        var exitCode: Int?
        switch termination {
        case .exited(let c): exitCode = Int(c)
        default: exitCode = nil
        }
        return CommandOutcome(exitCode: exitCode, termination: termination.description,
                              stdout: r.stdoutText, stderr: r.stderrText, durationSeconds: secs)
    }

    func ask(_ p: RunPrompt) -> RunAnswer {
        // On a terminal, keys typed before the question was shown must not answer it
        // (type-ahead must never confirm a destructive step).
        if isatty(STDIN_FILENO) == 1 { tcflush(STDIN_FILENO, TCIFLUSH) }
        while true {
            output("? \(p.text) \(p.hint)")
            if case .choice(let opts, _) = p.kind {
                for o in opts { output("    \(o.key)) \(o.label)") }
            }
            guard !stdinClosed, let line = readAnswer() else {
                stdinClosed = true
                output("  (no input: taking the safe default)")
                return .useDefault
            }
            let a = line.trimmingCharacters(in: .whitespaces)
            let l = a.lowercased()
            switch p.kind {
            case .confirm, .proceed:
                if a.isEmpty { return .useDefault }
                if ["y", "yes"].contains(l) { return .yes }
                if ["n", "no"].contains(l) { return .no }
                output("  Please answer y or n.")
            case .choice:
                return a.isEmpty ? .useDefault : .choice(a)
            case .typed:
                return a.isEmpty ? .useDefault : .text(a)
            case .text:
                return a.isEmpty ? .useDefault : .text(a)
            case .recovery:
                if a.isEmpty { return .useDefault }
                if ["r", "retry"].contains(l) { return .retry }
                if ["s", "skip"].contains(l) { return .skip }
                if ["a", "abort"].contains(l) { return .abort }
                output("  Please answer r, s or a.")
            }
        }
    }

    static func format(_ m: RunMessage) -> String {
        switch m.kind {
        case .heading: return "== \(m.text) =="
        case .step: return "\n-- \(m.text)"
        case .text: return m.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { "   \($0)" }.joined(separator: "\n")
        case .command: return m.text
        case .output: return m.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { "   | \($0)" }.joined(separator: "\n")
        case .success: return "   ok: \(m.text)"
        case .warning: return "   warning: \(m.text)"
        case .error: return "   error: \(m.text)"
        case .dryRun: return "   \(m.text)"
        case .progress: return "   \(m.text)"
        case .verdict: return "\n" + m.text
        }
    }
}
