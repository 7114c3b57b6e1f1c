import Foundation
import Testing
import MemoryAnalysis

@Suite("key patterns, safe display, batch reply framing")
struct PatternAndFormatTests {
    func p(_ s: String) -> String { KeyPattern.pattern(Array(s.utf8)) }

    @Test("variable parts become placeholders, separators stay", arguments: [
        ("sess:8f1c2e7a9b", "sess:{hash}"),
        ("sess:91aa03bd77c0", "sess:{hash}"),
        ("sess:2f9d3c1e-7b4a-4c1d-9e8f-0a1b2c3d4e5f", "sess:{uuid}"),
        ("user:12345:profile", "user:{id}:profile"),
        ("cache/v1/items.42", "cache/v1/items.{id}"),
        ("events:1700000000000", "events:{ts}"),
        ("events:1700000000", "events:{ts}"),
        ("log:2024-01-31T10:00:00.123Z:errors", "log:{date}:errors"),
        ("daily-2024-01-31", "daily-{date}"),
        ("tok_AbC9dEf0GhIjK1lMnOpQ2", "tok_{token}"),
        ("node1234", "node{id}"),
        ("v2:users", "v2:users"),
        ("deadline:config", "deadline:config"),
        ("Order_Item_Type", "Order_Item_Type"),
        ("bull:emails:wait", "bull:emails:wait"),
        ("k3j4h5g6f7d8s9a0q1w2", "{token}"),
        ("", ""),
    ])
    func patterns(_ input: String, _ want: String) {
        #expect(p(input) == want)
    }

    @Test("keys of one family fall together")
    func grouping() {
        // Fixed pseudo-random session ids (a random one could, rarely, be all digits: an {id}).
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        func hex24() -> String {
            var out = ""
            while out.count < 24 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; out += String(x, radix: 16) }
            return String(out.prefix(24))
        }
        let keys = (0..<50).map { _ in "sess:" + hex24() }
        #expect(Set(keys.map { p(String($0)) }) == ["sess:{hash}"])
        let ids = (1...1000).map { "cache:item:\($0):v" }
        #expect(Set(ids.map(p)) == ["cache:item:{id}:v"])
    }

    @Test("display never lets control bytes or invalid UTF-8 through", arguments: [
        (Array("\u{1b}]0;pwned\u{07}".utf8), "\\e]0;pwned\\x07"),
        (Array("a\nb\r\tc".utf8), "a\\nb\\r\\tc"),
        (Array("back\\slash".utf8), "back\\\\slash"),
        ([0x61, 0xff, 0xfe, 0x62], "a\\xff\\xfeb"),
        ([0xc0, 0xaf], "\\xc0\\xaf"),                     // overlong '/'
        ([0xed, 0xa0, 0x80], "\\xed\\xa0\\x80"),          // surrogate
        (Array("caf\u{e9} \u{1F600}".utf8), "caf\u{e9} \u{1F600}"),
        (Array("rtl\u{202e}txt".utf8), "rtl\\u{202e}txt"),
        (Array("c1\u{85}x".utf8), "c1\\u{85}x"),
        ([0x7f], "\\x7f"),
    ])
    func display(_ bytes: [UInt8], _ want: String) {
        let shown = KeyDisplay.render(bytes)
        #expect(shown == want)
        #expect(!shown.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f || (0x80..<0xa0).contains($0.value) })
    }

    @Test("batch replies decode exactly: groups, top keys, hex-encoded keys")
    func parse() throws {
        let r = try BatchReply.parse("\nRRM2 1536 9 812 5 3 2 s-3,168,r8:sess:abc hC1,72,r9:bull:q1:1 S-1,64,x6:0a0bff s900,-r5:big:1 H72,Cr9:bull:q1:1\n")
        #expect(r.cursor == "1536")
        #expect(r.keysScanned == 9)
        #expect(r.scriptMicros == 812)
        #expect(r.keysSized == 5)
        #expect(r.groups.map(\.key) == [Array("sess:abc".utf8), Array("bull:q1:1".utf8), [0x0a, 0x0b, 0xff]])
        #expect(r.groups.map(\.count) == [3, 1, 1])
        #expect(r.groups.map(\.bytes) == [168, 72, 64])
        #expect(r.groups.map(\.type) == [.string, .hash, .string])
        #expect(r.groups.map(\.hasTTL) == [false, false, true])
        #expect(r.groups[1].bull == .completed)
        #expect(r.top.map(\.key) == [Array("big:1".utf8), Array("bull:q1:1".utf8)])
        #expect(r.top.map(\.bytes) == [900, 72])
        #expect(r.top[1].hasTTL && r.top[1].type == .hash && r.top[1].bull == .completed)
        let empty = try BatchReply.parse("RRM2 0 12 40 0 0 0")
        #expect(empty.groups.isEmpty && empty.top.isEmpty && empty.cursor == "0" && empty.keysScanned == 12)
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("ERR unknown command") }
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("RRM1 0 1 5 s56,-r9:short") }
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("RRM2 0 1 5 1 1 0 s-1,56,r9:short") }
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("RRM2 0 1 5 1 1 0 s-1,56,x3:abc") }
        // Counts that do not add up, a record missing, bytes left over: refused, not guessed.
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("RRM2 0 2 5 2 1 0 s-1,56,r3:abc") }
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("RRM2 0 1 5 1 2 0 s-1,56,r3:abc") }
        #expect(throws: BatchReplyError.self) { try BatchReply.parse("RRM2 0 1 5 1 1 0 s-1,56,r3:abc s9") }
    }

    @Test("redis-cli quoting keeps any bytes on one line")
    func quoting() {
        #expect(RedisCLIQuoting.quote("a b") == "\"a b\"")
        #expect(RedisCLIQuoting.quote(bytes: [0x22, 0x5c, 0x0a, 0xff]) == "\"\\\"\\\\\\x0a\\xff\"")
        #expect(!RedisCLIQuoting.quote(BatchScript.flagged).contains("\n"))
    }

    @Test("sampling threshold covers the requested share of the 28-bit hash space")
    func threshold() {
        #expect(BatchScript.threshold(forFraction: 1) == -1)
        #expect(BatchScript.threshold(forFraction: 0.1) == 26_843_546)
        #expect(BatchScript.threshold(forFraction: 0.5) == 0x0800_0000)
    }

    @Test("BullMQ names: jobs, companions and structures")
    func bull() {
        let pc = Array("bull:".utf8)
        func c(_ k: String, _ code: BullCode) -> BullKey? { BullMQLayout.classify(Array(k.utf8), code: code, prefixColon: pc) }
        #expect(c("bull:email:42", .completed)?.role == .job("completed"))
        #expect(c("bull:email:42:logs", .failed)?.role == .jobAux("failed", suffix: "logs"))
        #expect(c("bull:email:42:lock", .active)?.role == .jobAux("active", suffix: "lock"))
        #expect(c("bull:email:completed", .structure)?.role == .structure("completed"))
        #expect(c("bull:email:de:abc", .structure)?.role == .structure("de"))
        #expect(c("bull:email:42", .completed)?.queue == Array("email".utf8))
        #expect(c("other:email:42", .none) == nil)
        let k = c("bull:email:de:abc123def456", .structure)!
        #expect(BullMQLayout.pattern(prefixColon: pc, k, key: Array("bull:email:de:abc123def456".utf8)) == "bull:email:de:{hash}")
    }

    @Test("a pattern's SCAN MATCH glob: placeholders become *, glob characters escaped, too broad refused")
    func scanGlobs() {
        #expect(KeyPattern.scanGlob("cache:blob:{id}") == "cache:blob:*")
        #expect(KeyPattern.scanGlob("sess:{uuid}:data") == "sess:*:data")
        #expect(KeyPattern.scanGlob("user{id}:{hash}") == "user*:*")
        #expect(KeyPattern.scanGlob("cache:api:/v1/products?page={id}") == "cache:api:/v1/products\\?page=*")
        #expect(KeyPattern.scanGlob("{id}") == nil)
        #expect(KeyPattern.scanGlob("{uuid}:{id}") == nil)
        #expect(KeyPattern.scanGlob("ab:{id}") == nil)
        #expect(KeyPattern.scanGlob("bad\\x00key:{id}") == nil)
        #expect(KeyPattern.scanGlob("(other patterns: pattern limit reached)") == nil)
    }

    @Test("an upper-case type code says the key has a TTL")
    func ttlFlagDecodes() throws {
        let r = try BatchReply.parse("RRM2 0 2 10 2 2 1 S-1,120,r3:abc s-1,80,r3:def S120,-r3:abc")
        #expect(r.groups.map(\.hasTTL) == [true, false])
        #expect(r.groups.map(\.type) == [.string, .string])
        #expect(r.top.map(\.hasTTL) == [true])
    }

    @Test("each batch's COUNT is scaled to the time budget inside Redis: shrinks at once, grows at most 2x, stays in bounds")
    func countFollowsBudget() {
        // 400 keys took 8 ms, budget 2.5 ms: 125 keys fit.
        #expect(MemoryAnalyzer.nextCount(400, scriptMicros: 8000, budgetMicros: 2500, maxCount: 2000) == 125)
        // 100 keys took 0.5 ms: 500 would fit, but one batch grows at most 2x.
        #expect(MemoryAnalyzer.nextCount(100, scriptMicros: 500, budgetMicros: 2500, maxCount: 2000) == 200)
        // close to the budget: stays near it.
        #expect(MemoryAnalyzer.nextCount(500, scriptMicros: 2400, budgetMicros: 2500, maxCount: 2000) == 520)
        // never over the upper bound, never under 10, a 0 µs batch (empty SCAN) doubles.
        #expect(MemoryAnalyzer.nextCount(1500, scriptMicros: 100, budgetMicros: 2500, maxCount: 2000) == 2000)
        #expect(MemoryAnalyzer.nextCount(20, scriptMicros: 100_000, budgetMicros: 2500, maxCount: 2000) == 10)
        #expect(MemoryAnalyzer.nextCount(50, scriptMicros: 0, budgetMicros: 2500, maxCount: 2000) == 100)
        #expect(MemoryAnalyzer.nextCount(5, scriptMicros: 100_000, budgetMicros: 2500, maxCount: 5) == 5)
    }
}
