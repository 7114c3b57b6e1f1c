import Foundation
import Testing
@testable import Diagnosis

@Suite struct RedisInfoTests {
    func info(_ name: String) throws -> RedisInfo { RedisInfo.parse(try Fixture.text("redis-info/" + name)) }

    @Test func everyReferenceFileParsesToEntries() throws {
        let files = try Fixture.list("redis-info").filter { $0.hasSuffix(".txt") && $0 != "logs.txt" }
        #expect(files.count == 18)
        for f in files {
            let i = try info(f)
            #expect(!i.isEmpty, "no entries in \(f)")
            // No key may keep a CR or a section header be read as a key.
            #expect(i.entries.allSatisfy { !$0.value.hasSuffix("\r") && !$0.key.hasPrefix("#") }, "\(f)")
        }
    }

    @Test func redis609RawRespHeaderAndCommandstats() throws {
        let i = try info("redis-6.0.9_info_all_raw_resp.txt")
        #expect(i.sections.first == "Server")
        #expect(i.string("redis_version") == "6.0.9")
        #expect(i.int("used_memory") == 867160)
        #expect(i.int("maxmemory") == 0)
        #expect(i.double("mem_fragmentation_ratio") == 4.96)
        #expect(i.keyspace == ["db0": 4])
        #expect(i.commandStats["set"]?["calls"] == 3)
        #expect(i.commandStats["info"]?["usec_per_call"] == 282.55)
        #expect(i.entries.contains { $0.key.hasPrefix("$") } == false)
    }

    @Test func redis7015AtRestAndDuringRewrite() throws {
        let rest = try info("redis-7.0.15_info_all_at-rest.txt")
        #expect(rest.string("redis_version") == "7.0.15")
        #expect(rest.int("aof_last_cow_size") == 2928640)
        #expect(rest.int("aof_current_size") == 6446811)
        #expect(rest.bool("aof_rewrite_in_progress") == false)
        #expect(rest.keyspace["db0"] == 200003)
        #expect(rest.hasSection("Errorstats"))
        #expect(rest.errorStats.isEmpty)
        // The capture's first comment line is not a section.
        #expect(!rest.sections.contains { $0.hasPrefix("INFO") })
        #expect(rest.sections.contains("Commandstats") && rest.sections.contains("Keyspace"))
        let during = try info("redis-7.0.15_info_all_during-bgrewriteaof.txt")
        #expect(during.bool("aof_rewrite_in_progress") == true)
        #expect(during.int("aof_current_size") == 25189992)
    }

    @Test func redis621LoadingAndPercentSuffix() throws {
        let i = try info("redis-6.2.1_info-excerpt_loading1_crash-report.txt")
        #expect(i.bool("loading") == true)
        #expect(i.double("loading_loaded_perc") == 2.19)
        #expect(i.int("loading_eta_seconds") == 1)
        #expect(i.double("current_fork_perc") == 0)
        #expect(i.double("used_memory_peak_perc") == 162.37)
        #expect(i.string("maxmemory_policy") == "allkeys-lru")
        #expect(i.int("maxmemory") == 8589934592)
        // Lines before any header belong to section "".
        #expect(i.section("").contains { $0.key == "blocked_clients" })
    }

    @Test func redis3And5AofRewriteErrors() throws {
        let r3 = try info("redis-3.0.7_info-excerpt_slave-link-down_aof-bgrewrite-err.txt")
        #expect(r3.string("aof_last_bgrewrite_status") == "err")
        #expect(r3.bool("aof_rewrite_scheduled") == true)
        #expect(r3.string("role") == "slave")
        #expect(r3.string("master_link_status") == "down")
        #expect(r3.int("master_last_io_seconds_ago") == -1)
        let r5 = try info("redis-5.0.9_info-persistence_aof-bgrewrite-err.txt")
        #expect(r5.string("aof_last_bgrewrite_status") == "err")
        #expect(r5.int("aof_current_size") == 75346528853)
        #expect(r5.sections == ["Persistence"])
    }

    @Test func elasticacheNearMaxmemory() throws {
        let i = try info("redis-5.0.3-elasticache_info-all-excerpt_used-memory-near-maxmemory.txt")
        #expect(i.string("redis_version") == "5.0.3")
        #expect(i.int("used_memory") == 424273208)
        #expect(i.int("maxmemory") == 436469760)
        #expect(i.string("maxmemory_policy") == "volatile-lru")
        #expect(i.int("connected_clients") == 24)
        #expect(i.string("executable") == "-")
    }

    @Test func redis704And72And8Excerpts() throws {
        let r704 = try info("redis-7.0.4_info-excerpt_persistence-stats.txt")
        #expect(r704.bool("aof_enabled") == false)
        #expect(r704.string("rdb_last_bgsave_status") == "ok")
        let r72 = try info("redis-7.2.x_info-excerpt_memory-peak-13G.txt")
        #expect(r72.int("used_memory") == 281650984)
        #expect(r72.int("used_memory_peak") == 13953735392)
        #expect(r72.double("mem_fragmentation_ratio") == 1.44)
        let r8 = try info("redis-8.0.2_info-excerpt_crash-report-replica.txt")
        #expect(r8.string("redis_version") == "8.0.2")
        #expect(r8.int("used_memory") == 2167372880)
        #expect(r8.int("used_memory_peak") == 3558648104)
        #expect(r8.int("connected_clients") == 6)
    }

    @Test func valkeyKeydbDragonfly() throws {
        let v9 = try info("valkey-9.1.2_info_all.txt")
        #expect(v9.string("valkey_version") == "9.1.2")
        #expect(v9.string("redis_version") == "7.2.4")
        #expect(v9.double("mem_fragmentation_ratio") == 20.67)
        #expect(v9.hasSection("Scripting Engines"))
        let v8 = try info("valkey-8.1.2_info-excerpt_crash-report-server-section.txt")
        #expect(v8.string("valkey_version") == "8.1.2")
        #expect(v8.int("tcp_port") == 0)
        #expect(v8.fields("listener1")?["name"] == "unix")
        let k = try info("keydb-6.3.4_info_all.txt")
        #expect(k.string("redis_version") == "6.3.4")
        #expect(k.double("mem_fragmentation_ratio") == 9.03)
        #expect(k.int("mvcc_depth") == 0)
        #expect(k.hasSection("KeyDB"))
        let k6 = try info("keydb-6.0.13_info-stats-excerpt_evicted-keys.txt")
        #expect(k6.int("evicted_keys") == 350145)
        let d = try info("dragonfly-df-v2.0.0_info_all.txt")
        #expect(d.string("dragonfly_version") == "df-v2.0.0")
        #expect(d.int("maxmemory") == 48540578611)
        #expect(d.int("rejected_connections") == -1)
        #expect(d.int("oom_rejections") == 0)
        #expect(d.keyspace["db0"] == 0)
        let dr = try info("dragonfly_info-replication_replica-excerpt.txt")
        #expect(dr.string("master_link_status") == "up")
        #expect(dr.int("master_last_io_seconds_ago") == 18446744073)
    }

    @Test func sentinel() throws {
        let s = try info("redis-sentinel-5.0.5_info.txt")
        #expect(s.string("redis_mode") == "sentinel")
        #expect(s.int("sentinel_masters") == 2)
        // Duplicate master0: the first wins for accessors, both are kept.
        #expect(s.fields("master0")?["address"] == "127.0.0.1:6380")
        #expect(s.entries.filter { $0.key == "master0" }.count == 2)
        #expect(s.fields("master1")?["name"] == "mymaster")
        let odown = try info("redis-sentinel_info-master-line_odown.txt")
        #expect(odown.fields("master1")?["status"] == "odown")
        #expect(odown.fields("master1")?["sentinels"] == "3")
    }

    @Test func garbageAndSubfields() {
        let text = "$123\r\n127.0.0.1:6379> info\r\n# Errorstats\r\nerrorstat_OOM:count=8\r\nerrorstat_ERR:count=30\r\nnot a line\r\n:novalue\r\nweird key:1\r\ncmdstat_set:calls=1012,usec=5,rejected_calls=4,failed_calls=0\r\n"
        let i = RedisInfo.parse(text)
        #expect(i.errorStats == ["OOM": 8, "ERR": 30])
        #expect(i.commandStats["set"]?["rejected_calls"] == 4)
        #expect(i.entries.count == 3)
        #expect(RedisInfo.parse("").isEmpty)
        #expect(RedisInfo.parse("LOADING Redis is loading the dataset in memory\n").isEmpty)
    }

    @Test func liveCaptureFixtureWithCRLF() throws {
        let raw = try Fixture.text("live/redis-7.0.15_info_all_live_crlf.txt")
        #expect(raw.contains("\r\n"))
        let i = RedisInfo.parse(raw)
        #expect(i.string("redis_version") == "7.0.15")
        #expect(i.bool("aof_enabled") == true)
        #expect(i.errorStats["ERR"] == 1)
        #expect(i.keyspace["db0"] == 6)
        #expect(RedisConfig.parseGetReply(try Fixture.text("live/config-get-maxmemory-policy.txt")) == ["maxmemory-policy": "noeviction"])
        let batch = RedisConfig.parseGetReply(try Fixture.text("live/config-get-batch.txt"))
        #expect(batch == ["appendonly": "yes", "appendfsync": "everysec", "maxmemory": "0", "maxmemory-policy": "noeviction", "save": ""])
    }

    @Test func replyStates() {
        #expect(RedisReplyState.classify("LOADING Redis is loading the dataset in memory") == "loading")
        #expect(RedisReplyState.classify("MISCONF Errors writing to the AOF file: No space left on device") == "misconf")
        #expect(RedisReplyState.classify("OOM command not allowed when used memory > 'maxmemory'.") == "oom")
        #expect(RedisReplyState.classify("NOAUTH Authentication required.") == "noauth")
        #expect(RedisReplyState.classify("AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\nNOAUTH Authentication required.") == "wrongpass")
        #expect(RedisReplyState.classify("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.") == "busy")
        #expect(RedisReplyState.classify("Could not connect to Redis at 127.0.0.1:6419: Connection refused") == "unreachable")
        #expect(RedisReplyState.classify("PONG") == nil)
    }
}

/// Against a real redis-server 7.0.15 started here (random port, temp dir, --appendonly yes).
@Suite struct LiveRedisTests {
    @Test func infoAndConfigGetFromRealServer() throws {
        let server = try RedisServer(args: ["--appendonly", "yes"])
        defer { server.stop() }
        _ = try server.cli("SET", "k1", "v")
        _ = try server.cli("RPUSH", "bull:my queue:wait", "1", "2", "3")
        _ = try server.cli("HSET", "bull:my queue:meta", "opts.maxLenEvents", "10000")
        _ = try server.cli("HSET", #"bull:we"ird\q:meta"#, "a", "1")
        let raw = try server.cli("INFO", "all")
        #expect(raw.contains("\r\n"), "redis-cli keeps INFO's CRLF when not on a tty")
        let info = RedisInfo.parse(raw)
        #expect(info.string("redis_version") == "7.0.15")
        #expect(info.bool("aof_enabled") == true)
        #expect(info.string("aof_last_write_status") == "ok")
        #expect(info.keyspace["db0"] == 4)
        #expect(info.int("used_memory").map { $0 > 0 } == true)
        #expect(info.hasSection("Errorstats"))

        let policy = try server.cli("CONFIG", "GET", "maxmemory-policy")
        #expect(policy == "maxmemory-policy\nnoeviction\n")
        let cfg = RedisConfig.parseGetReply(try server.cli(stdin: "CONFIG GET appendonly\nCONFIG GET appendfsync\nCONFIG GET maxmemory\nCONFIG GET nonexistent\n"))
        #expect(cfg == ["appendonly": "yes", "appendfsync": "everysec", "maxmemory": "0"])

        // Queue discovery and counting through line input, quoting included.
        let scan = try #require(BullMQ.parseScanReply(try server.cli(stdin: BullMQ.discoveryCommand(prefix: "bull", cursor: "0", count: 1000) + "\n")))
        #expect(scan.isComplete)
        #expect(BullMQ.queueNames(fromMetaKeys: scan.keys) == ["my queue", #"we"ird\q"#])
        let counts = try server.cli(stdin: BullMQ.countCommands(prefix: "bull", queue: "my queue").joined(separator: "\n") + "\n")
        let q = BullMQ.parseCounts(queue: "my queue", reply: counts)
        #expect(q.waiting == 3 && q.active == 0 && q.delayed == 0 && q.waitingChildren == 0)
        // A key with a quote and a backslash reaches the right key.
        let hlen = try server.cli(stdin: RedisCLI.line(["HLEN", #"bull:we"ird\q:meta"#]) + "\n")
        #expect(hlen == "1\n")

        // The builder on live data: ADR-compliant except maxmemory (unset).
        var input = SnapshotInputs(now: Date())
        input.infoText = raw
        input.config = RedisConfig.parseGetReply(try server.cli(stdin: RedisConfig.probeCommands.joined(separator: "\n") + "\n"))
        #expect(input.config?["dir"] == server.dir.path)
        #expect(input.config?["appenddirname"] == "appendonlydir")
        input.pod = try KubeJSON.pod(from: PodJSON.pod())
        let snap = SnapshotBuilder.build(input)
        #expect(snap.redisState == "ok")
        #expect(snap.findings.map(\.id).contains("maxmemory-unset"))
        #expect(!snap.findings.map(\.id).contains("aof-disabled"))
    }

    @Test func sessionStatesFromRealServer() throws {
        let server = try RedisServer(args: ["--requirepass", "s3cret", "--maxmemory", "2mb"])
        defer { server.stop() }
        let noauth = try server.cli("PING")
        #expect(RedisReplyState.classify(noauth) == "noauth")
        let wrong = try server.cli("-a", "wrong", "--no-auth-warning", "PING")
        #expect(RedisReplyState.classify(wrong) == "wrongpass")
        // Fill until OOM: noeviction replies OOM.
        var script = ""
        for n in 0..<2000 { script += "SET fill:\(n) \(String(repeating: "x", count: 1000))\n" }
        let out = try server.cli("-a", "s3cret", "--no-auth-warning", stdin: script)
        let oomLine = try #require(out.split(separator: "\n").first { $0.hasPrefix("OOM") })
        #expect(RedisReplyState.classify(String(oomLine)) == "oom")
        let info = RedisInfo.parse(try server.cli("-a", "s3cret", "--no-auth-warning", "INFO", "all"))
        #expect((info.errorStats["OOM"] ?? 0) > 0)
        var input = SnapshotInputs(now: Date())
        input.infoText = try server.cli("-a", "s3cret", "--no-auth-warning", "INFO", "all")
        let snap = SnapshotBuilder.build(input)
        #expect(snap.memory.oomRejections == info.errorStats["OOM"])
        #expect(snap.findings.contains { $0.id == "oom-rejections" })
        #expect(snap.findings.contains { $0.id == "memory-pressure" })
    }

    @Test func connectionRefusedText() throws {
        // redis-cli's wording for a port with no server (notes §5).
        let text = "Could not connect to Redis at 127.0.0.1:1: Connection refused"
        var input = SnapshotInputs(now: Date())
        input.redisSessionError = text
        input.errors = [SourceError(source: "redis", message: text)]
        let snap = SnapshotBuilder.build(input)
        #expect(snap.redisState == "unreachable")
        #expect(snap.findings.first?.id == "redis-unreachable")
    }
}
