import ArgumentParser
import Live
import Foundation
import MemoryAnalysis
import ProcessRunner
import Runbooks

public struct RunbookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "List, show, validate, export and run runbooks.",
        subcommands: [RunbookList.self, RunbookShow.self, RunbookExport.self, RunbookValidate.self, RunbookRunCommand.self, RunbookPages.self]
    )
    public init() {}
}

/// Loads the library and prints its errors (stderr); exits 1 when a needed runbook is invalid.
func loadLibrary(_ global: GlobalOptions) -> RunbookLibrary {
    let lib = RunbookFolders.library(teamFolder: global.runbooksDir)
    for d in lib.diagnostics { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
    if RunbookFolders.bundled() == nil && global.runbooksDir == nil {
        FileHandle.standardError.write(Data("error: no runbooks folder found (set REDIS_RUNBOOK_RUNBOOKS or pass --runbooks DIR)\n".utf8))
    }
    return lib
}

func requireRunbook(_ lib: RunbookLibrary, _ id: String) throws -> Runbook {
    if let rb = lib.runbook(id: id) { return rb }
    let known = lib.runbooks.map(\.id).joined(separator: ", ")
    throw ValidationError("no valid runbook '\(id)'\(lib.diagnostics.isEmpty ? "" : " (see the errors above)"); known: \(known)")
}

struct RunbookList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the runbooks (bundled and --runbooks DIR).")
    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "JSON output.") var json = false
    func run() async throws {
        let lib = loadLibrary(global)
        if json {
            let items: [[String: Any]] = lib.runbooks.map { rb in
                ["id": rb.id, "title": rb.title, "summary": rb.summary, "when": rb.when, "file": rb.file,
                 "steps": rb.steps.count, "mutates": rb.hasMutatingSteps, "readOnly": rb.isReadOnly,
                 "mutatingRights": rb.mutatingRights.map(\.description),
                 "overrides": lib.overridden[rb.id] as Any? ?? NSNull()]
            }
            let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let w = max(2, lib.runbooks.map(\.id.count).max() ?? 2)
            for rb in lib.runbooks {
                // Which runbooks only read (offered to a view-only user) and which need write rights.
                let access = rb.isReadOnly ? "read-only  " : "needs write"
                print(rb.id.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + access + "  " + rb.title + (lib.overridden[rb.id] != nil ? "  (team override)" : ""))
            }
        }
        if !lib.diagnostics.isEmpty { throw ExitCode(1) }
    }
}

struct RunbookShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a runbook's steps and commands.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Runbook id.") var id: String
    func run() async throws {
        let rb = try requireRunbook(loadLibrary(global), id)
        print("\(rb.title)  [\(rb.id)]  \(rb.file)")
        print(rb.summary.trimmingCharacters(in: .whitespacesAndNewlines))
        if !rb.when.isEmpty { print("Answers findings: \(rb.when.joined(separator: ", "))") }
        print("")
        for (i, s) in rb.steps.enumerated() {
            var flags: [String] = []
            if s.mutates { flags.append("changes state") }
            if s.destructive { flags.append("DESTRUCTIVE") }
            print("\(i + 1). [\(s.kind.name)\(s.id.map { " \($0)" } ?? "")] \(s.title)\(flags.isEmpty ? "" : "  (\(flags.joined(separator: ", ")))")")
            if let c = s.command { print("     $ " + RunbookMarkdown.display(c)) }
            if case .keyspace(let top, let scanCount) = s.kind { print("     $ redis-runbook memory --top \(top) --scan-count \(scanCount)   (read-only)") }
            if let b = s.batches { print("     (in batches: again with each {{\(b.cursor)}} it returns until 0, at most \(b.maxBatches))") }
            switch s.kind {
            case .check(_, let e, let p, let f, _):
                if let e { print("     expect: \(e)") }
                if let p { print("     if met -> \(p)") }
                if let f { print("     if not -> \(f)") }
            case .confirm(let q, let d, let y, let n):
                print("     ? \(q) [\(d ? "Y/n" : "y/N")]\(y.map { " yes -> \($0)" } ?? "")\(n.map { " no -> \($0)" } ?? "")")
            case .choice(let q, let opts, let d):
                print("     ? \(q)")
                for o in opts { print("       \(o.key)\(o.key == d ? " (default)" : ""): \(o.label) -> \(o.goto)") }
            case .waitUntil(let c, _, let iv, let to):
                print("     until \(c) (every \(Int(iv)) s, at most \(Int(to)) s)")
            default: break
            }
            if let p = s.precheck { print("     precheck: \(p)") }
            if let p = s.postcheck { print("     postcheck: \(p)") }
            if let n = s.next { print("     then -> \(n)") }
        }
    }
}

struct RunbookExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Print a runbook as Markdown (for a wiki), with every command.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Runbook id.") var id: String
    func run() async throws {
        let rb = try requireRunbook(loadLibrary(global), id)
        print(RunbookMarkdown.export(rb))
    }
}

struct RunbookValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate",
        abstract: "Validate runbook files or folders (default: the bundled ones and --runbooks DIR).",
        discussion: "Every error is printed as file:line:column: error: <what was wrong>, expected <what>. Exit status 1 on any error.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Runbook YAML files or folders.") var paths: [String] = []
    func run() async throws {
        var folders: [String] = []
        var files: [String] = []
        if paths.isEmpty {
            if let b = RunbookFolders.bundled() { folders.append(b) }
            if let t = global.runbooksDir { folders.append(t) }
            if folders.isEmpty {
                print("error: no runbooks folder found (set REDIS_RUNBOOK_RUNBOOKS, pass --runbooks DIR or paths)")
                throw ExitCode(1)
            }
        }
        for p in paths {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue { folders.append(p) } else { files.append(p) }
        }
        let lib = RunbookLibrary.load(folders: folders, files: files)
        for d in lib.diagnostics { print(d.description) }
        let fileCount = folders.reduce(files.count) { $0 + RunbookLibrary.yamlFiles(in: $1).count }
        if lib.diagnostics.isEmpty {
            print("\(lib.runbooks.count) runbook\(lib.runbooks.count == 1 ? "" : "s") valid (\(fileCount) file\(fileCount == 1 ? "" : "s"), \(lib.runbooks.reduce(0) { $0 + $1.steps.count }) steps)")
        } else {
            print("\(lib.diagnostics.count) error\(lib.diagnostics.count == 1 ? "" : "s") in \(Set(lib.diagnostics.map(\.location.file)).count) file(s)")
            throw ExitCode(1)
        }
    }
}

struct RunbookRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a runbook in line mode.",
        discussion: "Prompts on stdin with the default shown; with no input (EOF) the safe default is taken. Ends with one verdict line, 'finished: ...' or 'stopped: ...'. Exit status: 0 finished (the end state holds), 3 stopped with nothing this run changed left in place, 4 stopped with changes of this run still in place (the undo commands are printed), 1 error (also: refused before any step because the user may not make the runbook's changes, as `kubectl auth can-i` answers).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Runbook id.") var id: String
    @Flag(name: .long, help: "Answer questions with their stated default (the path that restores service without destroying data) and 'continue?' prompts with yes. Manual steps are never answered: the run stops there.") var yes = false
    @Flag(name: .customLong("yes-destructive"), help: "With --yes, also answer the typed confirmation of destructive steps and 'yes' to questions whose yes destroys data.") var yesDestructive = false
    @Flag(name: .long, help: "Resume the unfinished run of this runbook at the step where it stopped.") var resume = false
    @Option(name: .customLong("set"), help: "Set a variable: --set name=value (repeatable).") var sets: [String] = []
    @Option(name: .customLong("answer"), help: "Answer a confirm/choice step in advance: --answer STEP-ID=yes|no|KEY (repeatable; never a typed confirmation).") var answers: [String] = []

    func run() async throws {
        let launch = RunbookLaunch(id: id, yes: yes, yesDestructive: yesDestructive, resume: resume, sets: sets, answers: answers)
        let code: Int
        do {
            (_, code) = try await launch.run(global: global, prober: nil)
        } catch let refused as RunbookRefused {
            // Not a usage error: the user's rights. One line on stderr, exit 1, nothing ran.
            FileHandle.standardError.write(Data("error: \(refused)\n".utf8))
            throw ExitCode(1)
        }
        if code != 0 { throw ExitCode(Int32(code)) }
    }
}

/// One line-mode run of a runbook: used by `runbook run` and by the dashboard (which suspends
/// the full screen, runs it in the same terminal, and comes back).
struct RunbookLaunch: Sendable {
    var id: String
    var yes = false
    var yesDestructive = false
    var resume = false
    var sets: [String] = []
    var answers: [String] = []

    /// Where a run goes: the target's names and kubectl flags, and the values of `option:`
    /// variables (`bullmq_prefix` from the global option, then `--set`).
    static func target(global: GlobalOptions, options: [String: String]? = nil) -> RunTarget {
        RunTarget(target: global.target, options: options ?? ["bullmq_prefix": global.bullmqPrefix])
    }

    /// The final status and the exit code (0 finished, 3 stopped safe, 4 stopped with changes in place).
    func run(global: GlobalOptions, prober existing: Prober?) async throws -> (RunStatus, Int) {
        let lib = loadLibrary(global)
        let rb = try requireRunbook(lib, id)
        var values: [String: String] = ["bullmq_prefix": global.bullmqPrefix]
        for s in sets {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw ValidationError("--set expects name=value, got '\(s)'") }
            values[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        var preset: [String: String] = [:]
        for a in answers {
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else { throw ValidationError("--answer expects step-id=answer, got '\(a)'") }
            let stepId = String(a[..<eq])
            guard rb.stepIndex(id: stepId) != nil else { throw ValidationError("--answer: runbook '\(rb.id)' has no step '\(stepId)'") }
            preset[stepId] = String(a[a.index(after: eq)...])
        }
        let options = RunOptions(yes: yes, yesDestructive: yesDestructive, dryRun: global.dryRun, readOnly: global.readOnly, presetAnswers: preset)
        let now = Date()
        var target = RunbookLaunch.target(global: global, options: values)
        // Backups on this machine go to a folder of this run in the state directory, never the
        // current directory.
        if rb.mentions(variable: "backup_dir") {
            target.backupDir = Paths.stateHome().appendingPathComponent("backups").appendingPathComponent("\(rb.id)-\(Timestamps.compact(now))").path
        }
        let kubectl = try global.resolveKubectl()
        // A user without the rights the runbook's changes need is refused now, before any step
        // (not halfway, at the first 403). --read-only and --dry-run change nothing: no check.
        // A signal meanwhile ends the kubectl calls (as during a step) and then the run, which
        // stops with "interrupted" like any run.
        // One signal flag for the check and the run, installed here and kept until the run ends.
        let flag = SignalFlag()
        flag.install()
        defer { flag.uninstall() }
        if !global.readOnly, !global.dryRun {
            let access = RunbookAccess(target: try global.liveTarget(), runner: Runner())
            let refused = await access.refusal(rb, library: lib.runbooks)
            if let refused, flag.signal == nil { throw refused }
        }
        let store = RunStateStore(directory: Paths.stateHome().appendingPathComponent("runs"))

        var run: RunbookRun
        var logPath: String
        if resume {
            guard let saved = store.load(runbookId: rb.id), saved.resumable else {
                throw ValidationError("no unfinished run of '\(rb.id)' to resume")
            }
            run = RunbookRun(runbook: rb, resuming: saved, options: options)
            logPath = global.auditLog ?? saved.logPath ?? IncidentLog.defaultPath(incidentsDir: Paths.incidentsDir(), runbookId: rb.id)
        } else {
            if let saved = store.load(runbookId: rb.id), saved.resumable, saved.status == .running || saved.stepIndex > 0 {
                print("note: an unfinished run of '\(rb.id)' stopped at step \(saved.stepIndex + 1); starting a new run (use --resume to continue that one).")
            }
            logPath = global.auditLog ?? IncidentLog.defaultPath(incidentsDir: Paths.incidentsDir(), runbookId: rb.id)
            run = RunbookRun(runbook: rb, target: target, options: options, logPath: logPath, now: now)
        }
        if let dir = run.state.target.backupDir {
            if !global.dryRun {
                do { try SecureFiles.makePrivateDirectory(URL(fileURLWithPath: dir)) } catch {
                    throw ValidationError("cannot create the backup folder \(dir): \(error.localizedDescription)")
                }
            }
            print("Backups of this run on this machine go to: \(dir)")
        }
        let log = try IncidentLog(path: logPath, tightenParent: global.auditLog == nil)
        let runner = Runner()
        let prober: Prober
        if let existing { prober = existing } else { prober = Prober(target: try global.liveTarget(), runner: runner, useWatches: false) }
        // The data before the run: live now, else the target's last-seen record (Redis down).
        let dataTarget = LastSeen.target(global)
        let lastSeen = LastSeen.load(dataTarget)
        let oneShot = try global.liveTarget()
        let source = ProberSnapshotSource(prober: prober, lastSeen: lastSeen, recordAs: (dataTarget, "runbook \(rb.id)"),
                                          fresh: { Prober(target: oneShot, runner: runner, useWatches: false) })
        // Only a run that may change something is accounted for (a read-only runbook, --dry-run
        // and --read-only change no data), and not after a signal (the operator asked to stop now).
        if rb.hasMutatingSteps, !global.dryRun, !global.readOnly, flag.signal == nil {
            if let live = await source.data() {
                run.setDataBefore(live, source: "live at the start of the run")
            } else if let r = lastSeen {
                run.setDataBefore(r.data, source: "last seen at \(r.data.seenAt) by \(r.by)")
            } else {
                run.setDataBefore(nil, source: "unknown: Redis did not answer at the start and no last-seen record of this target")
            }
        }
        print("kubectl: \(kubectl)\(global.context.map { "  context: \($0)" } ?? "")  namespace: \(run.state.target.namespace)")
        let driver = RunbookLineRunner(runner: runner, kubectl: kubectl, log: log, store: store, snapshot: source)
        driver.interruption = flag
        driver.passwordArgv = (try? global.liveTarget())?.passwordArgv
        if let target = try? global.liveTarget() {
            // The same analysis as `redis-runbook memory` (MemoryCommand.analyze), for keyspace-analysis steps.
            driver.keyspaceAnalyzer = { req in
                var options = MemoryAnalysisOptions(scanCount: req.scanCount, top: req.top, sampleFraction: 1, bullPrefix: req.bullPrefix)
                options.topPatterns = req.top
                let started = ContinuousClock.now
                let report = await MemoryCommand.analyze(target, options: options, runner: Runner()) { _ in }
                let d = ContinuousClock.now - started
                return KeyspaceOutcome(complete: report.complete, stopReason: report.stopReason, report: report.renderText(),
                                       values: report.runbookValues(),
                                       durationSeconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            }
        }
        let status = await driver.drive(&run)
        if existing == nil { await prober.shutdown() }
        // No process started by this run outlives it (a snapshot probe still in its timeout, ...).
        if existing == nil { await ChildRegistry.terminateAll() }
        // The driver prints "Incident log: PATH" when the run ends; only a run it left early says it here.
        if !driver.printedLogPath { print("Incident log: \(logPath)") }
        return (status, run.state.exitCode ?? (status == .finished ? 0 : 1))
    }
}
