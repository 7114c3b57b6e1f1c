import Foundation
import ProcessRunner
import Testing
#if canImport(Glibc)
import Glibc
#endif

struct RelFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Helpers for the reliability suites: the real `redis-runbook` binary (built next to the test
/// runner), a private temp dir per test, fake kubectl scripts (test scaffolding only: product code
/// never runs a shell) and /proc inspection.
final class RelEnv: @unchecked Sendable {
    let dir: URL
    let binary: String

    init() throws {
        guard let b = RelEnv.binaryPath() else { throw RelFailure("redis-runbook is not built next to the test runner") }
        binary = b
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rrrel-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("state"), withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    static func binaryPath() -> String? {
        var d = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let c = d.appendingPathComponent("redis-runbook").path
            if FileManager.default.isExecutableFile(atPath: c) { return c }
            d = d.deletingLastPathComponent()
        }
        return nil
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The sandbox's own executable, built beside redis-runbook.
    var sandboxBinary: String { URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("redis-runbook-sandbox").path }

    /// `redis-runbook-sandbox ARGS`.
    func runSandbox(_ args: [String], timeout: Duration = .seconds(150)) async -> CommandResult {
        await Runner().run(CommandSpec([sandboxBinary] + args, environment: environment, timeout: timeout))
    }

    /// The real kubectl (Debian's dispatcher).
    static let kubectl = "/usr/bin/kubectl"

    /// What points the tool at a sandbox: the real kubectl and the sandbox's kubeconfig.
    static func target(_ sandboxDir: String, kubectl: String = RelEnv.kubectl) -> [String] {
        ["--kubectl", kubectl, "--kubeconfig", sandboxDir + "/kubeconfig"]
    }

    /// The real kubectl against a sandbox, argv prefix (kubeconfig and a discovery cache of its own).
    static func kubectlArgv(_ sandboxDir: String) -> [String] {
        [kubectl, "--kubeconfig", sandboxDir + "/kubeconfig", "--cache-dir", sandboxDir + "/kcache"]
    }

    /// Writes an executable test script.
    @discardableResult
    func script(_ name: String, _ body: String) throws -> String {
        let p = path(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try ("#!/bin/sh\n" + body + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        chmod(p, 0o755)
        return p
    }

    /// The environment of every run: our own XDG_STATE_HOME (run state, incident logs).
    var environment: [String: String] {
        ["XDG_STATE_HOME": path("state"), "NO_COLOR": "1", "LANG": "C.UTF-8"]
    }

    /// Runs the binary (argv, no shell) with a timeout.
    func run(_ args: [String], environment extra: [String: String] = [:], cwd: String? = nil, stdin: Data? = Data(),
             timeout: Duration = .seconds(60)) async -> CommandResult {
        await Runner().run(CommandSpec([binary] + args, environment: environment.merging(extra) { $1 },
                                       workingDirectory: cwd, stdin: stdin, timeout: timeout))
    }

    // MARK: fake kubectl

    static let podJSON = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"redis-0","namespace":"default","uid":"u1"},"spec":{"nodeName":"node-1","containers":[{"name":"redis","image":"redis:7.0.15"},{"name":"redis-exporter","image":"oliver006/redis_exporter:v1.45.0"}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"redis","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}"#
    static let nodeJSON = #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#

    /// A kubectl that records every call (args separated by 0x1F, calls by 0x1E, in `calls`)
    /// and answers `get pod/node/events` with canned JSON; `extra` runs first (shell case arms
    /// or commands) and may exit.
    @discardableResult
    func fakeKubectl(_ name: String = "kubectl", extra: String = "") throws -> String {
        let calls = path("calls")
        return try script(name, """
        for a in "$@"; do printf '%s\\037' "$a"; done >> '\(calls)'
        printf '\\036' >> '\(calls)'
        \(extra)
        case "$*" in
          *"get pod"*) printf '%s\\n' '\(Self.podJSON)' ;;
          *"get node"*) printf '%s\\n' '\(Self.nodeJSON)' ;;
          *"get events"*) printf '%s\\n' '{"kind":"EventList","items":[]}' ;;
          *) echo "error: unable to upgrade connection: container not found (\\"redis\\")" >&2; exit 1 ;;
        esac
        """)
    }

    /// Recorded kubectl calls, each as its argv (without the program).
    func calls() -> [[String]] {
        let text = (try? String(contentsOfFile: path("calls"), encoding: .utf8)) ?? ""
        return text.split(separator: "\u{1E}").map { line in
            line.split(separator: "\u{1F}", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    /// The JSON of `status --json` (stdout), or nil.
    static func json(_ r: CommandResult) -> [String: Any]? {
        guard let start = r.stdoutText.firstIndex(of: "{") else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(r.stdoutText[start...].utf8)) as? [String: Any]
    }

    static func errors(_ json: [String: Any]?) -> [[String: Any]] { json?["errors"] as? [[String: Any]] ?? [] }
}

/// /proc inspection.
enum Procs {
    /// Direct children of `pid` (all threads).
    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var out: [pid_t] = []
        for t in tasks {
            let s = (try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/children", encoding: .utf8)) ?? ""
            out += s.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return out
    }

    /// One-letter state (R, S, Z...) or nil when gone.
    static func state(_ pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    }

    static func alive(_ pid: pid_t) -> Bool { if let s = state(pid) { return s != "Z" } else { return false } }

    static func cmdline(_ pid: pid_t) -> [String] {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return d.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    static func all() -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
    }

    static func pids(in file: String) -> [pid_t] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Polls until `cond` or `seconds` pass.
    static func eventually(_ seconds: Double, _ cond: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if cond() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return cond()
    }
}

/// Error blocks of /work/shared/reference/kubectl/errors.txt (the verbatim stderr texts).
enum KubectlErrorTexts {
    static func load() -> [(source: String, text: String)] {
        let candidates = ["/work/shared/reference/kubectl/errors.txt"]
            + [URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../DiagnosisTests/Fixtures/kubectl/errors.txt").path]
        guard let text = candidates.lazy.compactMap({ try? String(contentsOfFile: $0, encoding: .utf8) }).first else { return [] }
        var out: [(String, String)] = []
        var current: (String, [String])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("=== source:") {
                if let c = current { out.append((c.0, c.1.joined(separator: "\n"))) }
                current = (String(line.dropFirst(12)), [])
            } else if current != nil {
                current!.1.append(String(line))
            }
        }
        if let c = current { out.append((c.0, c.1.joined(separator: "\n"))) }
        return out.map { (source: $0.0, text: $0.1.trimmingCharacters(in: .whitespacesAndNewlines)) }.filter { !$0.text.isEmpty }
    }
}
