import Foundation
import Testing
@testable import Runbooks

// The Sentinel runbooks (issue 18.4): sentinel-failover, replica-resync and sentinel-reset,
// drilled unattended on one `--topology sentinel --fast` sandbox (three pods, each a real
// redis-server and a real redis-sentinel) with the real kubectl, each "no" path included. Every
// cell asserts what the live system shows afterwards: ROLE of each pod, what each Sentinel
// names (get-master-addr-by-name) and knows (SENTINEL master), key counts. The cells share the
// sandbox in an order where each one leaves the state the next needs: a failover, then a
// partitioned replica that only a restart fixes, whose new IP leaves every Sentinel listing
// a dead replica, which sentinel-reset clears.

private let sentinelDrillsEnabled = Drill.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-sentinel")
private let pods = ["redis-0", "redis-1", "redis-2"]

/// The live Sentinel picture, read straight from the pods (not through the tool).
private struct SentinelLive: CustomStringConvertible {
    var roles: [String: String]          // pod -> first line of ROLE ("master", "slave", "" when no answer)
    var named: [String: String]          // pod -> the master address its Sentinel gives (first line)
    var ips: [String: String]            // pod -> pod IP
    var masters: [String] { pods.filter { roles[$0] == "master" } }
    /// The pod whose IP every Sentinel names, when they agree.
    var agreedMaster: String? {
        let addrs = Set(pods.map { named[$0] ?? "" })
        guard addrs.count == 1, let a = addrs.first, !a.isEmpty else { return nil }
        return pods.first { ips[$0] == a }
    }
    var description: String { pods.map { "\($0)[\(ips[$0] ?? "?")]: role=\(roles[$0] ?? "?") sentinel-names=\(named[$0] ?? "?")" }.joined(separator: "; ") }
}

extension DrillBox {
    fileprivate func exec(_ pod: String, _ container: String, _ args: [String], timeout: TimeInterval = 15) async throws -> String {
        let r = try await kubectl(["exec", pod, "-c", container, "--"] + args, timeout: timeout)
        return SandboxFixtureNotices.strip(r.output).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    fileprivate func redis(_ pod: String, _ args: [String]) async throws -> String { try await exec(pod, "redis", ["redis-cli"] + args) }
    fileprivate func sentinel(_ pod: String, _ args: [String]) async throws -> String { try await exec(pod, "sentinel", ["redis-cli", "-p", "26379"] + args) }

    fileprivate func sentinelLive() async throws -> SentinelLive {
        var l = SentinelLive(roles: [:], named: [:], ips: [:])
        for p in pods {
            l.roles[p] = (try? await redis(p, ["ROLE"]))?.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            l.named[p] = (try? await sentinel(p, ["SENTINEL", "get-master-addr-by-name", "mymaster"]))?.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            l.ips[p] = try await kubectl(["get", "pod", p, "-o", "jsonpath={.status.podIP}"]).trimmed
        }
        return l
    }

    /// `SENTINEL master mymaster` of one pod's Sentinel as a field -> value map.
    fileprivate func sentinelMaster(_ pod: String) async throws -> [String: String] {
        let lines = try await sentinel(pod, ["SENTINEL", "master", "mymaster"]).split(whereSeparator: \.isNewline).map(String.init)
        var out: [String: String] = [:]
        var i = 0
        while i + 1 < lines.count { out[lines[i]] = lines[i + 1]; i += 2 }
        return out
    }

    fileprivate func infoField(_ pod: String, _ field: String) async throws -> String? {
        try await redis(pod, ["INFO", "replication"]).split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix(field + ":") }.map { String($0.dropFirst(field.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    /// The master's view of the replica at `ip`: no slaveN line for it, or its offset below
    /// master_repl_offset (it lacks writes).
    fileprivate func behind(master: String, replicaIP ip: String) async throws -> Bool {
        let lines = try await redis(master, ["INFO", "replication"]).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let m = lines.first(where: { $0.hasPrefix("master_repl_offset:") }).flatMap({ Int($0.dropFirst("master_repl_offset:".count)) }) else { return false }
        guard let line = lines.first(where: { $0.contains("ip=\(ip),") }) else { return true }
        let off = line.split(separator: ",").first { $0.hasPrefix("offset=") }.flatMap { Int($0.dropFirst(7)) } ?? 0
        return off < m
    }

    fileprivate func uid(_ pod: String) async throws -> String { try await kubectl(["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"]).trimmed }

    /// One master, both replicas linked to it, every Sentinel naming it.
    fileprivate func settled(timeout: TimeInterval = 60) async throws -> SentinelLive {
        var last = SentinelLive(roles: [:], named: [:], ips: [:])
        try await eventually("one master, every Sentinel naming it, two replicas linked", timeout: timeout) {
            last = try await sentinelLive()
            guard last.masters.count == 1, let m = last.agreedMaster, m == last.masters[0] else { return false }
            return try await infoField(m, "connected_slaves") == "2"
        }
        return last
    }
}

/// kubectl's own client notices are not a pod's answer (as SandboxProcess.withoutKubectlNotices).
private enum SandboxFixtureNotices {
    static func strip(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !($0.contains("websocket.go:") && $0.contains("Unknown stream id")) }
            .joined(separator: "\n")
    }
}

@Suite("Sentinel runbooks: load and are named by the findings")
struct SentinelRunbooksTests {
    @Test func theyValidateAndTheFindingsNameThem() throws {
        let lib = RunbookLibrary.load(folders: [bundledRunbooksDir()])
        #expect(lib.diagnostics.isEmpty, "\(lib.diagnostics.map(\.description).joined(separator: "\n"))")
        let expected = ["sentinel-failover": ["writes-to-replica"], "sentinel-reset": ["sentinel-no-quorum", "sentinel-stale-replica"],
                        "replica-resync": ["replica-link-down", "replica-lag"]]
        for (id, when) in expected {
            let rb = try #require(lib.runbook(id: id), "missing runbook \(id)")
            #expect(rb.when == when, "\(id) when: \(rb.when)")
            // Every question has a stated default that changes nothing: --yes alone never mutates.
            for s in rb.steps { if case .confirm(_, let yes, _, _) = s.kind { #expect(!yes, "\(id): \(s.id ?? s.title) defaults to yes") } }
            // No fixed address anywhere: the master comes from Sentinel.
            for s in rb.steps { for a in s.command?.argv ?? [] { #expect(a.raw.range(of: #"\d+\.\d+\.\d+\.\d+"#, options: .regularExpression) == nil, "\(id): fixed IP in \(a.raw)") } }
        }
    }

    /// SENTINEL FAILOVER / RESET change state (a check or wait-until may not run them; --read-only refuses them).
    @Test func sentinelCommandsThatChangeStateAreMutating() throws {
        func t(_ a: [String]) -> CommandTemplate { CommandTemplate(argv: a.map { try! Template.parse($0) }, timeoutSeconds: 5) }
        let base = ["kubectl", "exec", "redis-0", "-c", "sentinel", "--", "redis-cli", "-p", "26379", "SENTINEL"]
        #expect(MutationLint.looksMutating(t(base + ["FAILOVER", "mymaster"])) == "redis-cli SENTINEL FAILOVER")
        #expect(MutationLint.looksMutating(t(base + ["reset", "mymaster"])) != nil)
        #expect(MutationLint.looksMutating(t(base + ["CONFIG", "SET", "resolve-hostnames", "yes"])) != nil)
        #expect(MutationLint.looksMutating(t(base + ["get-master-addr-by-name", "mymaster"])) == nil)
        #expect(MutationLint.looksMutating(t(base + ["CKQUORUM", "mymaster"])) == nil)
        #expect(MutationLint.looksMutating(t(base + ["CONFIG", "GET", "*"])) == nil)
    }

    /// migrate-to-sentinel's manifest check: `kubectl apply --dry-run=server` stores nothing (a
    /// check may run it); the apply itself, and `--dry-run=none`, change state.
    @Test func serverDryRunIsReadOnly() throws {
        func t(_ a: [String]) -> CommandTemplate { CommandTemplate(argv: a.map { try! Template.parse($0) }, timeoutSeconds: 5) }
        #expect(MutationLint.looksMutating(t(["kubectl", "apply", "--dry-run=server", "-f", "sts.yaml"])) == nil)
        #expect(MutationLint.looksMutating(t(["kubectl", "apply", "-f", "sts.yaml"])) == "kubectl apply")
        #expect(MutationLint.looksMutating(t(["kubectl", "apply", "--dry-run=none", "-f", "sts.yaml"])) == "kubectl apply")
        #expect(MutationLint.looksMutating(t(["kubectl", "delete", "pod", "redis-0", "--dry-run=server"])) == nil)
    }
}

/// The runbook-format pieces the Sentinel runbooks need: `capture-match` (one line of two), a
/// wait-until's `on-timeout`, `end-state: pod:` and a `matches` pattern holding a variable.
@Suite("Runbook format: capture-match, on-timeout, the end state on a captured pod")
struct SentinelFormatTests {
    static let rb = parse(header + """
    end-state:
      pod: "{{master_pod}}"
      serving: true
    variables:
      - name: master_ip
        description: first line
        capture: true
      - name: master_pod
        description: the pod
        capture: true
    steps:
      - id: addr
        kind: check
        title: Address
        command: [kubectl, exec, "{{pod}}", -c, sentinel, --, redis-cli, -p, "26379", SENTINEL, get-master-addr-by-name, mymaster]
        capture: master_ip
        capture-match: '\\A(\\S+)'
      - id: pod
        kind: check
        title: Pod
        command: [kubectl, get, pods, -o, 'jsonpath={.items[?(@.status.podIP=="{{master_ip}}")].metadata.name}']
        capture: master_pod
      - id: wait
        kind: wait-until
        title: Link
        command: [kubectl, exec, "{{pod}}", --, redis-cli, INFO, replication]
        condition: 'stdout matches "master_host:{{master_ip}}\\\\s"'
        interval: 1
        timeout: 2
        on-timeout: slow
      - id: fine
        kind: explain
        title: Fine
        text: fine
        next: end
      - id: slow
        kind: explain
        title: Slow
        text: the link stayed down
        stop: undo
    """)

    /// Sentinel names 10.244.0.7 (redis-2); the replica's INFO says it follows `replicaFollows`.
    static func live(replicaFollows host: String) -> (RenderedCommand) -> CommandOutcome? {
        { rc in
            if rc.argv.contains("get-master-addr-by-name") { return Harness.ok("10.244.0.7\n6379\n") }
            if rc.argv.contains("pods") { return Harness.ok("redis-2") }
            if rc.argv.contains("replication") { return Harness.ok("role:slave\r\nmaster_host:\(host)\r\n") }
            return Harness.ok("PONG")
        }
    }

    @Test func captureMatchTakesOneLineAndOnTimeoutBranches() {
        var run = RunbookRun(runbook: Self.rb, target: target, options: RunOptions(yes: true))
        var h = Harness()
        h.respond = Self.live(replicaFollows: "10.244.0.77")   // another address: never true
        h.drive(&run)
        #expect(h.logs.contains { $0.type == .capture && $0.name == "master_ip" && $0.value == "10.244.0.7" })
        #expect(h.ran.contains { $0.display.contains("@.status.podIP==\"10.244.0.7\"") })
        #expect(h.text.contains("going on with 'slow'"), "\(h.text)")
        #expect(h.text.contains("the link stayed down"))
        #expect(h.status == .aborted)
        // end-state pod: "{{master_pod}}": the end state's serving checks ask the captured pod.
        #expect(h.ran.contains { $0.argv.contains("redis-2") && $0.argv.contains("PING") })
        #expect(!h.ran.contains { $0.argv.contains("redis-0") && $0.argv.contains("PING") })
    }

    @Test func theSameWaitPassesWhenItsPatternHolds() {
        var run = RunbookRun(runbook: Self.rb, target: target, options: RunOptions(yes: true))
        var h = Harness()
        h.respond = Self.live(replicaFollows: "10.244.0.7")
        h.drive(&run)
        #expect(h.text.contains("fine") && !h.text.contains("the link stayed down"), "\(h.text)")
    }

    @Test func theLoaderChecksTheNewKeys() {
        let bad = header + """
        end-state:
          pod: "{{nope}}"
          serving: true
        steps:
          - id: a
            kind: check
            title: A
            command: [kubectl, get, pods]
            capture-match: '^(x'
          - id: w
            kind: wait-until
            title: W
            condition: stdout contains x
            command: [kubectl, get, pods]
            timeout: 2
            on-timeout: nowhere
        """
        let (rb, d, _) = validate(bad)
        #expect(rb == nil)
        let text = d.map(\.description).joined(separator: "\n")
        #expect(text.contains("'capture-match' without 'capture'"), "\(text)")
        #expect(text.contains("branch to unknown step 'nowhere'"), "\(text)")
        #expect(text.contains("undeclared variable '{{nope}}'"), "\(text)")
    }
}

@Suite("Sentinel drills", .serialized, .enabled(if: sentinelDrillsEnabled))
struct SentinelDrillTests {
    @Test(.timeLimit(.minutes(8))) func failoverResyncAndResetOnOneSandbox() async throws {
        try await DrillBox.with(["--topology", "sentinel"]) { box in
            var live = try await box.settled()
            let first = try #require(live.agreedMaster)
            let seeded = 400
            let script = "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'drill:' .. i, 'v' .. i) end return 1"
            #expect(try await box.redis(first, ["EVAL", script, "0", String(seeded)]) == "1")
            func keys(_ pod: String) async throws -> Int? { Int(try await box.redis(pod, ["DBSIZE"])) }
            try await box.eventually("every pod holds the seeded keys", timeout: 30) {
                for p in pods where try await keys(p) != seeded { return false }
                return true
            }
            let started = Date()
            func lap(_ what: String) { print("SENTINEL-DRILL|\(what)|\(String(format: "%.0f", Date().timeIntervalSince(started))) s") }

            // ---- sentinel-failover, "no" (the --yes default): nothing changes.
            var c = try await box.cell("sentinel-failover", "--yes (no at decide)", ["--yes"], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("Nothing was changed: no failover was started. \(first)"), "\(c.result.output.suffix(1500))")
            #expect(c.result.output.contains("$ kubectl -n default exec redis-0 -c sentinel -- redis-cli -p 26379 SENTINEL CKQUORUM mymaster"))
            #expect(c.verdict.contains("The end state holds"), "\(c.verdict)")
            live = try await box.sentinelLive()
            #expect(live.masters == [first] && live.agreedMaster == first, "after no: \(live)")
            lap("failover no")

            // ---- sentinel-failover, yes: another pod is the only master, every Sentinel names it, no key lost.
            c = try await box.cell("sentinel-failover", "yes at decide", ["--yes", "--answer", "decide=yes"], exit: 0, verdict: "finished: ")
            #expect(c.result.output.contains("SENTINEL FAILOVER mymaster"))
            live = try await box.settled(timeout: 30)
            let second = try #require(live.agreedMaster)
            #expect(second != first && live.masters == [second], "after the failover: \(live)")
            #expect(live.roles[first] == "slave", "the old master does not follow: \(live)")
            #expect(try await keys(second) == seeded)
            #expect(try await box.redis(second, ["EXISTS", "redis-runbook:failover-write-probe"]) == "0", "the write probe was left")
            let entries = try box.logEntries()
            #expect(entries.contains { ($0["argv"] as? [String])?.contains("FAILOVER") == true && ($0["mutates"] as? Bool) == true })
            lap("failover yes")

            // ---- replica-resync on the master: refused before anything changes.
            let masterUID = try await box.uid(second)
            c = try await box.cell("replica-resync", "--pod <the master>: refused", ["--yes", "--yes-destructive", "--pod", second,
                                                                                    "--answer", "decide-replicaof=yes", "--answer", "decide-restart=yes"],
                                   exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("Refused - \(second) is (or may be) the master"), "\(c.result.output.suffix(1500))")
            #expect(!(try box.logEntries()).contains { ($0["argv"] as? [String])?.contains("REPLICAOF") == true }, "a REPLICAOF ran on the master")
            #expect(try await box.uid(second) == masterUID, "the master was restarted")
            #expect(try await box.sentinelLive().masters == [second])

            // ---- replica-resync: a partitioned replica; REPLICAOF cannot help, the restart does.
            let replica = try #require(pods.first { $0 != second && $0 != first } ?? pods.first { $0 != second })
            let replicaIP = try #require(live.ips[replica])
            try await box.fault("partition", [replica])
            // A write the partitioned replica cannot get (PUBLISH is replicated, it adds no key).
            _ = try await box.redis(second, ["PUBLISH", "drill", "after-the-partition"])
            try await box.eventually("\(replica) behind the master", timeout: 30) {
                guard try await box.behind(master: second, replicaIP: replicaIP) else { return false }
                try await Task.sleep(for: .seconds(2))
                return try await box.behind(master: second, replicaIP: replicaIP)
            }
            let replicaUID = try await box.uid(replica)
            c = try await box.cell("replica-resync", "--yes (no at decide-replicaof)", ["--yes", "--pod", replica], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("Nothing was changed. \(replica) keeps its current replication state"), "\(c.result.output.suffix(1500))")
            #expect(!(try box.logEntries()).contains { ($0["argv"] as? [String])?.contains("REPLICAOF") == true }, "a 'no' ran REPLICAOF")
            #expect(try await box.behind(master: second, replicaIP: replicaIP))
            #expect(try await box.uid(replica) == replicaUID)
            lap("resync no")

            c = try await box.cell("replica-resync", "yes, then no at decide-restart",
                                   ["--yes", "--yes-destructive", "--pod", replica, "--answer", "decide-replicaof=yes", "--answer", "decide-restart=no"],
                                   exit: 3, verdict: "stopped: ")
            #expect(try box.logEntries().contains { ($0["argv"] as? [String])?.contains("REPLICAOF") == true }, "REPLICAOF did not run")
            #expect(c.result.output.contains("Stopped at step 29: Replica not restarted."), "\(c.result.output.suffix(1500))")
            #expect(try await box.uid(replica) == replicaUID, "a 'no' restarted the replica")
            #expect(try await box.behind(master: second, replicaIP: replicaIP))
            lap("resync no at restart")

            let oldReplicaIP = replicaIP
            c = try await box.cell("replica-resync", "yes, yes (restart)",
                                   ["--yes", "--yes-destructive", "--pod", replica, "--answer", "decide-replicaof=yes", "--answer", "decide-restart=yes"],
                                   exit: 0, verdict: "finished: ", timeout: 360)
            #expect(c.result.output.contains("$ kubectl -n default delete pod \(replica) --wait=true"))
            #expect(try await box.uid(replica) != replicaUID, "the replica was not recreated")
            #expect(try await box.uid(second) == masterUID, "the master was restarted")
            #expect(try await box.infoField(replica, "master_link_status") == "up")
            #expect(try await keys(replica) == seeded)
            live = try await box.settled(timeout: 30)
            #expect(live.masters == [second] && live.agreedMaster == second, "after the resync: \(live)")
            #expect(live.ips[replica] != oldReplicaIP, "the recreated replica kept its IP: no stale replica for sentinel-reset")
            lap("resync yes")

            // ---- sentinel-reset: every Sentinel still lists the replica's old IP (down).
            try await box.eventually("every Sentinel lists 3 replicas (one dead)", timeout: 40) {
                for p in pods where try await box.sentinelMaster(p)["num-slaves"] != "3" { return false }
                return true
            }
            c = try await box.cell("sentinel-reset", "--yes (no at decide)", ["--yes"], exit: 3, verdict: "stopped: ")
            #expect(c.result.output.contains("Nothing was changed; the Sentinels keep the state shown above."))
            #expect(c.result.output.contains(oldReplicaIP), "the replicas shown before do not list the dead one")
            for p in pods { #expect(try await box.sentinelMaster(p)["num-slaves"] == "3", "a 'no' reset \(p)'s Sentinel") }
            lap("reset no")

            c = try await box.cell("sentinel-reset", "yes (reset_gap 2 s)", ["--yes", "--answer", "decide=yes", "--set", "reset_gap=2"],
                                   exit: 0, verdict: "finished: ", timeout: 300)
            #expect(c.result.output.contains("SENTINEL RESET mymaster"))
            #expect(c.result.output.contains("-r 1 -i 2 PING"))
            for p in pods {
                let m = try await box.sentinelMaster(p)
                #expect(m["num-slaves"] == "2" && m["num-other-sentinels"] == "2" && m["ip"] == live.ips[second], "\(p)'s Sentinel after the reset: \(m)")
                let replicas = try await box.sentinel(p, ["SENTINEL", "replicas", "mymaster"])
                #expect(!replicas.contains(oldReplicaIP) && !replicas.contains("s_down"), "\(p)'s Sentinel still lists the dead replica: \(replicas)")
            }
            #expect(try await box.sentinel(second, ["SENTINEL", "CKQUORUM", "mymaster"]).hasPrefix("OK "))
            live = try await box.sentinelLive()
            #expect(live.masters == [second] && live.agreedMaster == second, "after the reset: \(live)")
            for p in pods { #expect(try await keys(p) == seeded, "\(p) keys") }
            lap("reset yes")
        }
    }
}
