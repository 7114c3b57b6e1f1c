import Foundation
import Testing
import MemoryAnalysis
import ProcessRunner

/// Key names built from every rule's edge cases: placeholders that just match and just fail,
/// every separator and runs of them, punctuation that is not a separator, UTF-8, invalid UTF-8,
/// control bytes, NUL.
struct KeyNameGenerator {
    var rng: SplitMix

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func chars(_ alphabet: String, _ n: Int) -> String {
        let a = Array(alphabet)
        return String((0..<n).map { _ in a[int(a.count)] })
    }

    static let seps = Array(":/.-_|#,=@{} ")
    static let lower = "abcdefghijklmnopqrstuvwxyz", upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", digits = "0123456789"
    static let hexLower = "0123456789abcdef", hexUpper = "0123456789ABCDEF"

    mutating func digitRun() -> String {
        let n = pick([1, 2, 3, 4, 8, 9, 10, 10, 11, 12, 13, 13, 14, 20])
        let first = pick(["1", "1", "2", "0", "9"])
        return first + chars(Self.digits, n - 1)
    }
    mutating func hexRun() -> String {
        let n = pick([6, 7, 8, 9, 12, 15, 16, 17, 24, 32, 40])
        switch int(4) {
        case 0: return chars(Self.hexLower, n)
        case 1: return chars(Self.hexUpper, n)
        case 2: return chars("abcdef", n)  // no digit
        default: return chars(Self.hexLower + "ABCDEF", n)
        }
    }
    mutating func uuid() -> String {
        let h = int(3) == 0 ? Self.hexUpper : Self.hexLower
        var u = [chars(h, 8), chars(h, 4), chars(h, 4), chars(h, 4), chars(h, 12)].joined(separator: "-")
        switch int(6) {
        case 0: u.removeLast()                                   // 35 characters
        case 1: u = String(u.prefix(20)) + "g" + String(u.dropFirst(21))  // a non-hex byte
        case 2: u += chars("xyz", 1)                            // not followed by a separator
        case 3: u += chars(Self.hexLower, 2)                    // longer hex run
        default: break
        }
        return u
    }
    mutating func date() -> String {
        var d = "\(pick(["2024", "1999", "0000", "20x4"]))-\(pick(["01", "12", "1"]))-\(pick(["31", "05", "3"]))"
        if int(2) == 0 {
            d += pick(["T", " ", "t", "_"]) + pick(["10", "1"]) + pick([":", "-"]) + pick(["00", "5"])
            if int(2) == 0 { d += pick([":", "."]) + pick(["59", "5"]) }
            if int(2) == 0 { d += pick([".", ","]) + chars(Self.digits, int(7)) }
            d += pick(["", "Z", "z", "+02:00", "-0530", "+02", "+2:00", "-05:3"])
        }
        return d
    }
    mutating func token() -> String {
        let n = pick([9, 10, 12, 15, 16, 17, 22, 28, 40])
        let mix = Self.lower + Self.upper + Self.digits
        var t = chars(mix, n)
        switch int(7) {
        case 0: t = chars(Self.lower, 4) + pick(["_", "-"]) + chars(mix, n)
        case 1: t = chars(mix, 6) + pick(["_", "-", "+", "="]) + chars(mix, n)
        case 2: t = chars(mix + "+=_-", n)
        case 3: t = chars(Self.lower + Self.digits, n)
        case 4: t = chars(Self.upper + Self.lower, n)
        case 5: t = chars(Self.lower, 5) + "_" + chars(Self.upper, 5) + "_" + chars(Self.digits, 6)
        default: break
        }
        return t
    }
    mutating func word() -> String {
        switch int(8) {
        case 0: return chars(Self.lower, 1 + int(10))
        case 1: return chars(Self.lower, 1 + int(6)) + chars(Self.digits, 1 + int(6))  // user1234, v1
        case 2: return chars(Self.upper + Self.lower, 1 + int(8)) + chars(Self.digits, int(4))
        case 3: return pick(["v1", "v2", "api", "cache", "user", "profile", "page", "products?page", "dead", "beef", "wait", "lock", "x86_64"])
        case 4: return chars(Self.lower + Self.digits + "!?~+*%&$'\"\\", 1 + int(8))
        case 5: return pick(["é", "naïve", "日本語", "😀", "Ω", "\u{200b}", "\u{202e}", "\u{85}", "\u{a0}", "ｆｕｌｌ"])
        case 6: return chars(Self.digits + "abcdef", 1 + int(20))
        default: return chars(Self.lower, 1 + int(4)) + chars(Self.digits, 10)
        }
    }
    mutating func rawBytes() -> [UInt8] {
        (0..<(1 + int(6))).map { _ in pick([0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xff, 0x5c, 0x22]) }
    }

    mutating func key() -> [UInt8] {
        if int(25) == 0 { return (0..<int(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        var k: [UInt8] = []
        for part in 0..<(1 + int(6)) {
            if part > 0 || int(8) == 0 {
                let runs = int(6) == 0 ? 2 + int(2) : 1
                for _ in 0..<runs { k += Array(String(pick(Self.seps)).utf8) }
            }
            switch int(9) {
            case 0: k += Array(digitRun().utf8)
            case 1: k += Array(hexRun().utf8)
            case 2: k += Array(uuid().utf8)
            case 3: k += Array(date().utf8)
            case 4: k += Array(token().utf8)
            case 5: k += rawBytes()
            default: k += Array(word().utf8)
            }
        }
        if int(10) == 0 { k += Array(String(pick(Self.seps)).utf8) }
        return k
    }
}

@Suite("the batch script's Lua pattern function is KeyPattern.pattern", .serialized)
struct PatternTwinTests {
    /// `pattern(k)` of the Lua twin for each key, in one EVAL (so the script's memos carry from
    /// key to key as in a batch), hex-encoded on the way back; rendered here with KeyDisplay.
    func luaPatterns(_ session: LineSession, _ keys: [[UInt8]]) async throws -> [String] {
        let script = BatchScript.patternLua + """

        local out = {}
        for i = 1, #ARGV do
          out[i] = string.gsub(pattern(ARGV[i]), '.', function(c) return string.format('%02x', string.byte(c)) end)
          if out[i] == '' then out[i] = '-' end
        end
        return table.concat(out, ' ')
        """
        let line = (["EVAL", RedisCLIQuoting.quote(script), "0"] + keys.map { RedisCLIQuoting.quote(bytes: $0) }).joined(separator: " ")
        let reply = try #require(try await session.send([line]).first).trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = reply.split(separator: " ", omittingEmptySubsequences: false)
        try #require(fields.count == keys.count, "Lua answered: \(reply.prefix(300))")
        return fields.map { f in
            if f == "-" { return "" }
            let hex = Array(f.utf8)
            let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
            return KeyDisplay.render(bytes)
        }
    }

    @Test("6,000 generated key names (every rule's edge cases, separators, UTF-8, binary): the same pattern, byte for byte")
    func twin() async throws {
        var gen = KeyNameGenerator(rng: SplitMix(state: 0x5EED_F16))
        var keys: [[UInt8]] = [
            [], Array(":".utf8), Array("events:1700000000".utf8), Array("events:2700000000".utf8), Array("events:1700000000000".utf8),
            Array("v1:users".utf8), Array("v2:users".utf8), Array("v9:users".utf8), Array("user1234".utf8), Array("user12".utf8),
            Array("2024-01-31".utf8), Array("2024-01-31T10:00:00.123Z:x".utf8), Array("2024-01-31T10:00+02:00".utf8), Array("2024-01-31x".utf8),
            Array("2f9d3c1e-7b4a-4c1d-9e8f-0a1b2c3d4e5f".utf8), Array("2f9d3c1e-7b4a-4c1d-9e8f-0a1b2c3d4e5fz".utf8),
            Array("tok_AbC9dEf0GhIjK1lMnOpQ2".utf8), Array("Order_Item_Type".utf8), Array("k3j4h5g6f7d8s9a0q1w2".utf8),
            Array("deadbeefdeadbeef".utf8), Array("deadbeef".utf8), Array("dead1234".utf8), [0x00], [0x00, 0x31, 0x32, 0x33], [0xc3, 0xa9, 0x31],
            Array("a0000000000b".utf8), Array("x:0000000000".utf8), Array("x:1000000000".utf8),
        ]
        // Families (one template, the numbers varying) in one batch: the Lua side's shape memos
        // (digits read as `0`) are hit, including where a literal digit (`v1`) or a `{ts}`-long
        // run (whose first digit decides) must keep keys of one shape apart.
        let templates = ["cache:api:/v1/products?page=#", "cache:api:/v2/products?page=#", "v1:#", "a0:#:x", "user#:v3", "ab1:#.#",
                         "e:#", "e:#:q1", "x#y:#", "#-#-#", "q:#T#", "k:0#", "tok:#abcdefghijKLMNOP"]
        let numbers = ["1", "7", "42", "123", "1234567", "100007", "1700000000", "2700000000", "1700000000000", "9700000000000", "12345678901", "0000000000"]
        for t in templates { for n in numbers { keys.append(Array(t.replacingOccurrences(of: "#", with: n).utf8)) } }
        for _ in 0..<6_000 { keys.append(gen.key()) }
        try await withRedis { server in
            let session = server.session(timeout: .seconds(30))
            var mismatches: [String] = []
            var i = 0
            while i < keys.count {
                let chunk = Array(keys[i..<min(keys.count, i + 400)])
                let got = try await luaPatterns(session, chunk)
                for (k, g) in zip(chunk, got) where g != KeyPattern.pattern(k) {
                    mismatches.append("key \(k.map { String(format: "%02x", $0) }.joined()) (\(KeyDisplay.render(k))): Lua \(g), Swift \(KeyPattern.pattern(k))")
                }
                i += 400
            }
            await session.close()
            #expect(mismatches.isEmpty, "\(mismatches.count) of \(keys.count) differ; first: \(mismatches.prefix(8).joined(separator: "\n"))")
        }
        // The generator reaches every placeholder (else the comparison proves less than it says).
        let all = keys.map { KeyPattern.pattern($0) }.joined()
        for p in KeyPattern.placeholders { #expect(all.contains(p), "no generated key gives \(p)") }
    }

    @Test("the folded report equals a key-by-key count: every pattern's keys and bytes, with 1-5 keys (partitions never overlap) and with 4,000 generated names in 1, 2, 4, 8 and 16 partitions (pipelined)")
    func foldedEqualsKeyByKey() async throws {
        var gen = KeyNameGenerator(rng: SplitMix(state: 77))
        var many: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        while many.count < 4_000 {
            var k = gen.key()
            if k.starts(with: Array("bull:".utf8)) { k.insert(0x78, at: 0) }  // BullMQ keys are another test's
            if !k.isEmpty, seen.insert(k).inserted { many.append(k) }
        }
        for dataset in [Array(many.prefix(1)), Array(many.prefix(2)), Array(many.prefix(5)), many] {
            try await withRedis { server in
                var resp = RESP()
                for (i, k) in dataset.enumerated() {
                    switch i % 4 {
                    case 0: resp.add([Array("SET".utf8), k, Array(String(repeating: "v", count: i % 300).utf8)])
                    case 1: resp.add([Array("HSET".utf8), k, Array("f".utf8), Array("\(i)".utf8)])
                    case 2: resp.add([Array("RPUSH".utf8), k, Array("a".utf8), Array("b".utf8)])
                    default: resp.add([Array("SET".utf8), k, Array("x".utf8), Array("EX".utf8), Array("600".utf8)])
                    }
                }
                try await server.pipe(resp.data)
                let sizes = try await directSizes(server, dataset)
                var want: [String: (keys: Int, bytes: Int)] = [:]
                for (k, size) in zip(dataset, sizes) {
                    want[KeyPattern.pattern(k), default: (0, 0)].keys += 1
                    want[KeyPattern.pattern(k)]!.bytes += size
                }
                // One cursor, halves, quarters, eighths, sixteenths of the table (the default), the
                // parts' batches pipelined through the session: the same report.
                for parts in dataset.count > 5 ? [16, 8, 4, 2, 1] : [16] {
                let session = server.session()
                var options = MemoryAnalysisOptions(scanCount: 50, top: 5)
                options.topPatterns = 100_000
                options.scanPartitions = parts
                let report = await MemoryAnalyzer(channel: session, options: options).run()
                await session.close()
                #expect(report.complete, "\(report.stopReason ?? "")")
                #expect(report.scan.keysScanned == dataset.count)
                #expect(report.scan.keysSized == dataset.count)
                let got = Dictionary(uniqueKeysWithValues: report.patterns.map { ($0.pattern, ($0.keys, $0.bytes)) })
                #expect(got.count == want.count)
                let wrong = want.filter { (pattern, w) in
                    guard let g = got[pattern] else { return true }
                    return g.0 != w.keys || g.1 != w.bytes
                }
                #expect(wrong.isEmpty, "\(wrong.count) patterns differ, e.g. \(wrong.prefix(3).map { "\($0.key): want \($0.value), got \(String(describing: got[$0.key]))" })")
                // The top keys are the biggest, biggest first.
                let biggest = sizes.sorted(by: >).prefix(5)
                #expect(report.topKeys.map(\.bytes) == Array(biggest))
                }
            }
        }
    }
}
