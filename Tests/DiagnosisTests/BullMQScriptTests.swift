import Foundation
import Testing
@testable import Diagnosis

/// `BullMQScript` against a real redis-server 7.0.15 started here: every field it returns must
/// read as redis-cli's reply to the command the batch path sends for it (the dashboard's and
/// `status`'s figures unchanged), and its walk must find what plain SCANs find.
@Suite struct BullMQScriptTests {
    @Test func scriptFieldsAreTheCommandsReplies() throws {
        let server = try RedisServer(args: [])
        defer { server.stop() }
        func cli(_ lines: [String]) throws -> String { try server.cli(stdin: lines.joined(separator: "\n") + "\n") }
        // email: paused, 3 waiting (the oldest has a timestamp), one active with processedOn.
        _ = try cli(["HSET bull:email:meta paused 1", "RPUSH bull:email:wait 5 4 3", "HSET bull:email:3 timestamp 1700000000000",
                     "LPUSH bull:email:active 9", "HSET bull:email:9 processedOn 1700000001000", "ZADD bull:email:completed 1 a 2 b",
                     "ZADD bull:email:delayed 5 d"])
        // other: `wait` of the wrong type (WRONGTYPE for LLEN and LINDEX).
        _ = try cli(["HSET bull:other:meta x y", "SET bull:other:wait str"])
        // a name with a space and a quote; a waiting id with a space (never asked); an empty queue.
        _ = try cli([RedisCLI.line(["HSET", #"bull:my "queue:meta"#, "a", "b"]), RedisCLI.line(["RPUSH", #"bull:my "queue:wait"#, "1 2"]),
                     "HSET bull:idle:meta a b", "RPUSH bull:nots:wait 7", "HSET bull:nots:meta a b"])
        let reply = try #require(BullMQScript.parse(try cli([BullMQScript.command(rounds: 5, maxCounted: 100, budgetMicros: 100_000)])))
        #expect(reply.cursor == "0")
        let scan = try #require(BullMQ.parseScanReply(try cli([BullMQ.discoveryCommand(cursor: "0", count: 1000)])))
        #expect(scan.isComplete)
        #expect(reply.names.sorted() == BullMQ.queueNames(fromMetaKeys: scan.keys))
        #expect(reply.names.sorted() == ["email", "idle", #"my "queue"#, "nots", "other"])
        for q in reply.names {
            let fs = try #require(reply.counted[q])
            #expect(fs.count == BullMQScript.fieldsPerQueue)
            let cmds = BullMQ.countCommands(queue: q) + [RedisCLI.line(["LINDEX", "bull:\(q):wait", "-1"]),
                                                         RedisCLI.line(["HGET", "bull:\(q):meta", "paused"]),
                                                         RedisCLI.line(["LINDEX", "bull:\(q):active", "0"])]
            for (i, c) in cmds.enumerated() {
                var got = try cli([c])
                if got.hasSuffix("\n") { got.removeLast() }
                switch fs[i] {
                case .error: #expect(got.contains("WRONGTYPE"), "\(q) \(c): redis-cli \(got)")
                default: #expect(fs[i].line == got, "\(q) \(c): script \(fs[i]), redis-cli \(got)")
                }
            }
            let waiting = BullMQ.parseCounts(queue: q, reply: fs[0..<8].compactMap(\.line).joined(separator: "\n")).waiting ?? 0
            for (k, field) in [(8, "timestamp"), (10, "processedOn")] {
                let id = (fs[k].line ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                if waiting > 0, !id.isEmpty, !id.contains(" ") {
                    var got = try cli([RedisCLI.line(["HGET", "bull:\(q):\(id)", field])])
                    if got.hasSuffix("\n") { got.removeLast() }
                    #expect(fs[k == 8 ? 11 : 12].line == got, "\(q) \(field)")
                } else {
                    #expect(fs[k == 8 ? 11 : 12] == .notAsked, "\(q) \(field)")
                }
            }
        }
        #expect(reply.counted["email"]?[11] == .value("1700000000000") && reply.counted["email"]?[12] == .value("1700000001000"))
        #expect(reply.counted["email"]?[9] == .value("1") && reply.counted["other"]?[0] == .error)

        // A keyspace of several rounds: one round only, then plain SCANs from its cursor find the
        // rest; at most `maxCounted` queues counted.
        var fill: [String] = []
        for n in 0..<5000 { fill.append("SET fill:\(n) x") }
        _ = try cli(fill)
        let one = try #require(BullMQScript.parse(try cli([BullMQScript.command(rounds: 1, maxCounted: 1, budgetMicros: 100_000)])))
        #expect(one.rounds == 1 && one.cursor != "0")
        #expect(one.counted.count == min(1, one.names.count))
        var names = Set(one.names), cursor = one.cursor
        while cursor != "0" {
            let r = try #require(BullMQ.parseScanReply(try cli([BullMQ.discoveryCommand(cursor: cursor, count: 1000)])))
            names.formUnion(BullMQ.queueNames(fromMetaKeys: r.keys)); cursor = r.cursor
        }
        #expect(names.sorted() == ["email", "idle", #"my "queue"#, "nots", "other"])
        // A zero budget stops after the first round whatever `rounds` allows.
        let budget = try #require(BullMQScript.parse(try cli([BullMQScript.command(rounds: 50, maxCounted: 100, budgetMicros: 0)])))
        #expect(budget.rounds == 1)
        #expect(BullMQScript.parse("NOPERM this user has no permissions to run the 'eval_ro' command") == nil)
    }
}
