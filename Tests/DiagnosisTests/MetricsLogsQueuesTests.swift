import Foundation
import Testing
@testable import Diagnosis

@Suite struct MetricsTests {
    @Test func redisUpWithCommentsLabelsAndTimestamps() {
        let text = """
        # HELP redis_up Information about the Redis instance
        # TYPE redis_up gauge
        redis_up 1
        # HELP redis_memory_used_bytes memory used
        redis_memory_used_bytes{addr="redis://localhost:6379",alias=""} 1.05e+06
        redis_commands_total{cmd="set",db="db0"} 12 1700000000000
        redis_label_escape{msg="a \\"quoted\\" value, with comma"} 3
        redis_nan NaN
        bogus line without value
        {broken="x"} 1

        """
        let m = PrometheusText.parse(text)
        #expect(m.redisUp == true)
        #expect(m.value("redis_memory_used_bytes") == 1_050_000)
        #expect(m.value("redis_commands_total", labels: ["cmd": "set"]) == 12)
        #expect(m.value("redis_commands_total", labels: ["cmd": "get"]) == nil)
        #expect(m.all("redis_label_escape").first?.labels["msg"] == #"a "quoted" value, with comma"#)
        #expect(m.value("redis_nan")?.isNaN == true)
        #expect(m.samples.count == 5)
        #expect(PrometheusText.parse("redis_up{addr=\"redis://x:6379\"} 0\r\n").redisUp == false)
        #expect(PrometheusText.parse("# only comments\n").redisUp == nil)
    }
}

@Suite struct LogScanTests {
    @Test func referenceLogBlocks() throws {
        let blocks = try Fixture.blocks("redis-info/logs.txt")
        func scan(_ src: String) throws -> [LogScan.Match] {
            LogScan.scan(try #require(blocks.first { $0.header.contains(src) }).body)
        }
        let r4 = try scan("redis/redis/issues/4931")
        #expect(r4.first?.kind == .aofCorruption)
        #expect(r4.first?.line.hasPrefix("5880:M 18 May 20:43:12.364 # Bad file format reading the append only file") == true)
        #expect(try scan("RediSearch/RediSearch/issues/394").first?.kind == .aofCorruption)
        let r7 = try scan("1Panel-dev/1Panel/issues/8888")
        #expect(r7.first?.kind == .aofCorruption && r7.first?.line.contains("appendonly.aof.44.incr.aof") == true)
        let truncDocs = blocks.filter { $0.header.contains("persistence.md") }
        #expect(truncDocs.count == 2)
        #expect(LogScan.scan(truncDocs[0].body).map(\.kind) == [.aofTruncated, .aofTruncated, .aofTruncated])
        #expect(LogScan.scan(truncDocs[1].body).map(\.kind) == [.aofCorruption])
        #expect(try scan("bitnami-docker-redis/issues/152").map(\.kind) == [.permissionDenied])
        #expect(try scan("CentOS/CentOS-Dockerfiles/issues/169").map(\.kind) == [.permissionDenied])
        #expect(try scan("docker-library-redis/issues/265").map(\.kind) == [.aofRewriteError, .permissionDenied])
        #expect(try scan("pulibrary/bibdata/issues/500").filter { $0.kind == .forkFailed }.count == 5)
        let oom = try scan("redis/redis/issues/5610")
        #expect(oom.contains { $0.kind == .outOfMemory && $0.line.contains("Out Of Memory allocating 29998 bytes!") })
        let full = try scan("nextcloud-snap/nextcloud-snap/issues/1925")
        #expect(full.first?.kind == .diskFull)
        #expect(full.contains { $0.kind == .shutdownRefused })
        #expect(LogScan.mostSerious(full)?.kind == .diskFull)
        #expect(try scan("JasonPunyon/redishobo/issues/10").first?.kind == .permissionDenied)
        // Healthy 7.2.5 multi-part AOF load: nothing.
        #expect(try scan("bitnami/charts/issues/27597").isEmpty)
        #expect(try scan("redis/redis/issues/14267").isEmpty)
    }

    @Test func notesLogLines() {
        let lines: [(String, LogScan.Kind)] = [
            ("# Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>.", .aofCorruption),
            ("# Fatal error: the truncated file is not the last file", .aofCorruption),
            ("# Unknown command 'SEX' reading the append only file appendonly.aof.1.incr.aof", .aofCorruption),
            ("*** FATAL AOF MANIFEST FILE ERROR ***", .aofCorruption),
            ("# Found an empty AOF manifest", .aofCorruption),
            ("# Unable to obtain the AOF file appendonly.aof.2.incr.aof length. stat: No such file or directory", .aofCorruption),
            ("# !!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!", .aofTruncated),
            ("# Short write while writing to the AOF file: (nwritten=333, expected=1034)", .aofWriteError),
            ("# Can't open or create append-only dir appendonlydir: Permission denied", .permissionDenied),
            ("# Write error saving DB on disk(rdbSaveRio): No space left on device", .diskFull),
            ("# Writing initial AOF, can't exit.", .shutdownRefused),
            ("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.", .slowFsync),
        ]
        for (l, k) in lines { #expect(LogScan.scan("1:M 01 Jan 2025 00:00:00.000 " + l).first?.kind == k, "\(l)") }
        // RDB errors belong to the AOF when the base file was being read.
        let base = "* Reading RDB base file on AOF loading...\n# Internal error in RDB reading offset 0, function at rdb.c:2681 -> Unknown RDB encoding type 88\n"
        #expect(LogScan.scan(base).map(\.kind) == [.aofCorruption])
        let plain = "* Loading RDB produced by version 7.0.15\n# Wrong RDB checksum expected: (6c47840221b23fea) but got (6c47840021b23fea). Aborting now.\n"
        #expect(LogScan.scan(plain).map(\.kind) == [.rdbCorruption])
        #expect(LogScan.scan("").isEmpty)
    }

    /// The scan's byte-wise matching: a rule's words at the very start or end of a line match,
    /// a line one byte short of them does not, and UTF-8 around them does not hide them.
    @Test func matchesAtLineEdgesAndNotOneByteShort() {
        #expect(LogScan.scan("No space left on device").map(\.kind) == [.diskFull])
        #expect(LogScan.scan("écriture: No space left on device").map(\.kind) == [.diskFull])
        #expect(LogScan.scan("No space left on devic").isEmpty)
        #expect(LogScan.scan("o space left on device").isEmpty)
        #expect(LogScan.scan("Permission denie\nd").isEmpty)
        #expect(LogScan.scan("N").isEmpty)
    }
}

@Suite struct BullMQTests {
    @Test func discoveryCommandIsBounded() {
        #expect(BullMQ.discoveryCommand(prefix: "bull", cursor: "0", count: 100) == "SCAN 0 MATCH bull:*:meta COUNT 100")
        #expect(BullMQ.discoveryCommand(prefix: "bull", cursor: "98304", count: 0) == "SCAN 98304 MATCH bull:*:meta COUNT 1")
        #expect(BullMQ.discoveryCommand(prefix: "bull", cursor: "0", count: 10_000_000).hasSuffix("COUNT 10000"))
        #expect(BullMQ.discoveryCommand(prefix: "my app", cursor: "x; FLUSHALL", count: 10) == #"SCAN 0 MATCH "my app:*:meta" COUNT 10"#)
        #expect(BullMQ.discoveryCommand(prefix: "a*b", cursor: "0", count: 10) == #"SCAN 0 MATCH "a\\*b:*:meta" COUNT 10"#)
    }

    @Test func scanReplies() throws {
        let r = try #require(BullMQ.parseScanReply("98304\nbull:emails:meta\nbull:my queue:meta\n"))
        #expect(r.cursor == "98304" && !r.isComplete)
        #expect(r.keys == ["bull:emails:meta", "bull:my queue:meta"])
        let empty = try #require(BullMQ.parseScanReply("0\n\n"))
        #expect(empty.isComplete && empty.keys.isEmpty)
        #expect(BullMQ.parseScanReply("LOADING Redis is loading the dataset in memory\n") == nil)
        #expect(BullMQ.queueNames(fromMetaKeys: ["bull:b:meta", "bull:a:meta", "bull:a:meta", "other:x:meta", "bull::meta", "bull:a:1"]) == ["a", "b"])
    }

    @Test func countCommandsAndQuoting() {
        #expect(BullMQ.countCommands(prefix: "bull", queue: "emails") == [
            "LLEN bull:emails:wait", "LLEN bull:emails:active", "LLEN bull:emails:paused",
            "ZCARD bull:emails:prioritized", "ZCARD bull:emails:delayed", "ZCARD bull:emails:completed",
            "ZCARD bull:emails:failed", "ZCARD bull:emails:waiting-children",
        ])
        #expect(BullMQ.countCommands(prefix: "bull", queue: #"my "q"\x"#)[0] == #"LLEN "bull:my \"q\"\\x:wait""#)
        #expect(RedisCLI.quote("") == #""""#)
        #expect(RedisCLI.quote("it's") == #""it's""#)
        #expect(RedisCLI.quote("a\nb") == #""a\nb""#)
    }

    @Test func parseCountsWithTrend() {
        let q1 = BullMQ.parseCounts(prefix: "bull", queue: "emails", reply: "5\r\n1\r\n0\r\n0\r\n2\r\n100\r\n3\r\n0\r\n")
        #expect(q1.waiting == 5 && q1.active == 1 && q1.paused == 0 && q1.prioritized == 0)
        #expect(q1.delayed == 2 && q1.completed == 100 && q1.failed == 3 && q1.waitingChildren == 0)
        #expect(q1.waitingDelta == nil && q1.waitingGrowthStreak == nil)
        let q2 = BullMQ.parseCounts(queue: "emails", reply: "9\n1\n0\n0\n2\n100\n3\n0\n", previous: [q1])
        #expect(q2.waitingDelta == 4 && q2.waitingGrowthStreak == 1)
        let q3 = BullMQ.parseCounts(queue: "emails", reply: "12\n1\n0\n0\n2\n100\n3\n0\n", previous: [q2])
        #expect(q3.waitingDelta == 3 && q3.waitingGrowthStreak == 2)
        let q4 = BullMQ.parseCounts(queue: "emails", reply: "2\n1\n0\n0\n2\n100\n3\n0\n", previous: [q3])
        #expect(q4.waitingDelta == -10 && q4.waitingGrowthStreak == 0)
        // An error reply leaves that state unknown.
        let bad = BullMQ.parseCounts(queue: "x", reply: "WRONGTYPE Operation against a key holding the wrong kind of value\n1\n0\n0\n0\n0\n0\n0\n")
        #expect(bad.waiting == nil && bad.active == 1)
    }
}
