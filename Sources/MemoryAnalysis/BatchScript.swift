import Foundation

/// The read-only Lua script run once per batch (`EVALSHA_RO sha 0 cursor count samples threshold prefix`).
///
/// It runs `SCAN cursor COUNT count`, and for each key found (or each key whose SHA-1 falls
/// under `threshold` when sampling) `MEMORY USAGE key SAMPLES samples`, `TYPE key`, `PTTL key` and, for
/// keys under the BullMQ prefix, the state of the job the key belongs to: `ZSCORE` in the
/// queue's completed/failed/delayed/prioritized/waiting-children sets, else `EXISTS <job>:lock`
/// (active), else waiting. Every call is O(1) or O(log N); nothing is written.
///
/// Reply: ONE bulk string on one line, printable ASCII only:
///   `RRM1 <cursor> <keysScanned> <scriptMicros>` then per sized key ` <rec>` with
///   rec = `<type><bytes>,<state><enc><len>:<key>`
///   - type: s string, l list, h hash, z zset, t set, x stream, o other; upper case when the
///     key has a TTL (PTTL >= 0)
///   - state: `-` not BullMQ, `S` queue structure, or the job's state: C completed, F failed,
///     D delayed, P prioritized, G waiting-children, A active, W waiting/paused/unknown
///   - enc `r`: key bytes as is (they are all in 0x21...0x7E); enc `x`: lowercase hex of the key
///   - len: number of characters that follow the `:`
/// Key bytes outside 0x21...0x7E (spaces, newlines, escapes, UTF-8) are hex-encoded, so the
/// reply can never span lines or contain the session's ECHO marker on a line of its own.
public enum BatchScript {
    public static let header = "#!lua flags=no-writes\n"

    public static let body = #"""
-- redis-runbook memory batch v1: SCAN one batch, size and type each key. Read-only.
local cursor, count, samples = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local threshold = tonumber(ARGV[4])
local prefix = ARGV[5]
local plen = #prefix
local t0 = redis.call('TIME')
local r = redis.call('SCAN', cursor, 'COUNT', count)
local keys = r[2]
local out = {}
local tcode = {string='s', list='l', hash='h', zset='z', set='t', stream='x'}
local known = {active=1, wait=1, ['waiting-children']=1, paused=1, id=1, delayed=1, prioritized=1,
  ['stalled-check']=1, completed=1, failed=1, stalled=1, ['repeat']=1, limiter=1, meta=1,
  events=1, pc=1, marker=1, de=1, metrics=1}
local aux = {lock=1, logs=1, dependencies=1, processed=1, failed=1, unsuccessful=1}
local zstates = {{'completed','C'}, {'failed','F'}, {'delayed','D'}, {'prioritized','P'}, {'waiting-children','G'}}
local function jobstate(qp, id)
  for i = 1, #zstates do
    if redis.call('ZSCORE', qp .. zstates[i][1], id) then return zstates[i][2] end
  end
  if redis.call('EXISTS', qp .. id .. ':lock') == 1 then return 'A' end
  return nil
end
local function bullstate(k)
  if plen == 0 or string.sub(k, 1, plen) ~= prefix then return '-' end
  local q, rest = string.match(string.sub(k, plen + 1), '^([^:]+):(.+)$')
  if not q then return 'S' end
  if known[rest] then return 'S' end
  local head = string.match(rest, '^([^:]+):')
  if head == 'de' or head == 'metrics' then return 'S' end
  local id = rest
  local last = string.match(rest, ':([^:]+)$')
  if last and aux[last] then id = string.sub(rest, 1, #rest - #last - 1) end
  local st = jobstate(prefix .. q .. ':', id)
  if st then return st end
  if head == 'repeat' then return 'S' end
  return 'W'
end
local n = 0
for i = 1, #keys do
  local k = keys[i]
  if threshold < 0 or tonumber(string.sub(redis.sha1hex(k), 1, 7), 16) < threshold then
    local size = redis.call('MEMORY', 'USAGE', k, 'SAMPLES', samples)
    if size then
      local t = tcode[redis.call('TYPE', k)['ok']] or 'o'
      if redis.call('PTTL', k) >= 0 then t = string.upper(t) end
      local enc, kk = 'r', k
      if string.find(k, '[^!-~]') then
        enc = 'x'
        kk = string.gsub(k, '.', function(c) return string.format('%02x', string.byte(c)) end)
      end
      n = n + 1
      out[n] = t .. size .. ',' .. bullstate(k) .. enc .. #kk .. ':' .. kk
    end
  end
end
local t1 = redis.call('TIME')
local us = (tonumber(t1[1]) - tonumber(t0[1])) * 1000000 + tonumber(t1[2]) - tonumber(t0[2])
if n == 0 then return 'RRM1 ' .. r[1] .. ' ' .. #keys .. ' ' .. us end
return 'RRM1 ' .. r[1] .. ' ' .. #keys .. ' ' .. us .. ' ' .. table.concat(out, ' ')
"""#

    /// Redis 7+: the script declares itself read-only, so it runs under OOM and on replicas.
    public static var flagged: String { header + body }
    /// Redis < 7 (no shebang support): the same script without the flags line.
    public static var plain: String { body }

    /// Sampling threshold on the first 28 bits of SHA-1(key); -1 sizes every key.
    public static func threshold(forFraction f: Double) -> Int {
        if f >= 1 { return -1 }
        return max(0, min(0x0FFF_FFFF, Int((f * Double(0x1000_0000)).rounded())))
    }
}

/// One sized key from a batch reply.
public struct SizedKey: Sendable, Equatable {
    public var key: [UInt8]
    public var type: KeyType
    public var bytes: Int
    public var bull: BullCode
    /// The key expires (it has a TTL).
    public var hasTTL: Bool = false
}

public enum KeyType: String, Sendable, Codable, CaseIterable {
    case string, list, hash, zset, set, stream, other

    init(code: UInt8) {
        switch code {
        case UInt8(ascii: "s"): self = .string
        case UInt8(ascii: "l"): self = .list
        case UInt8(ascii: "h"): self = .hash
        case UInt8(ascii: "z"): self = .zset
        case UInt8(ascii: "t"): self = .set
        case UInt8(ascii: "x"): self = .stream
        default: self = .other
        }
    }
}

/// The script's verdict on a key under the BullMQ prefix.
public enum BullCode: UInt8, Sendable {
    case none = 45            // '-'
    case structure = 83       // 'S'
    case completed = 67       // 'C'
    case failed = 70          // 'F'
    case delayed = 68         // 'D'
    case prioritized = 80     // 'P'
    case waitingChildren = 71 // 'G'
    case active = 65          // 'A'
    case waiting = 87         // 'W'
}

/// A decoded batch reply.
public struct BatchReply: Sendable {
    public var cursor: String
    public var keysScanned: Int
    public var scriptMicros: Int
    public var keys: [SizedKey]
}

public enum BatchReplyError: Error, Equatable, CustomStringConvertible {
    case notABatchReply(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .notABatchReply(let s): return "unexpected reply: \(s)"
        case .malformed(let s): return "malformed batch reply: \(s)"
        }
    }
}

extension BatchReply {
    /// Decodes the script's reply exactly (see `BatchScript`).
    public static func parse(_ reply: String) throws -> BatchReply {
        var b = Array(reply.utf8)
        while let last = b.last, last == 0x0A || last == 0x0D { b.removeLast() }
        // redis-cli prints a blank line after an error reply; it can precede the next reply.
        if let first = b.firstIndex(where: { $0 != 0x0A && $0 != 0x0D }) { b.removeFirst(first) } else { b.removeAll() }
        let magic = Array("RRM1 ".utf8)
        guard b.count >= magic.count, Array(b[0..<magic.count]) == magic else {
            throw BatchReplyError.notABatchReply(String(KeyDisplay.render(Array(b.prefix(200)))))
        }
        var i = magic.count
        func token() throws -> ArraySlice<UInt8> {
            let s = i
            while i < b.count, b[i] != 0x20 { i += 1 }
            guard i > s else { throw BatchReplyError.malformed("empty field at \(s)") }
            let t = b[s..<i]
            if i < b.count { i += 1 }  // the space
            return t
        }
        func int(_ t: ArraySlice<UInt8>) throws -> Int {
            var v = 0
            guard !t.isEmpty else { throw BatchReplyError.malformed("empty number") }
            for c in t {
                guard c >= 0x30, c <= 0x39 else { throw BatchReplyError.malformed("not a number at \(i)") }
                v = v &* 10 &+ Int(c - 0x30)
            }
            return v
        }
        let cursorTok = try token()
        _ = try int(cursorTok)
        let cursor = String(decoding: cursorTok, as: UTF8.self)
        let scanned = try int(try token())
        let micros = try int(try token())
        var keys = [SizedKey]()
        keys.reserveCapacity(scanned)
        while i < b.count {
            // <type><bytes>,<state><enc><len>:<key>
            let code = b[i]; i += 1
            let hasTTL = code >= 0x41 && code <= 0x5A
            let type = KeyType(code: hasTTL ? code + 0x20 : code)
            var size = 0, digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { size = size &* 10 &+ Int(b[i] - 0x30); i += 1; digits += 1 }
            guard digits > 0, i < b.count, b[i] == UInt8(ascii: ",") else { throw BatchReplyError.malformed("bad size at \(i)") }
            i += 1
            guard i + 2 < b.count, let bull = BullCode(rawValue: b[i]) else { throw BatchReplyError.malformed("bad state at \(i)") }
            i += 1
            let enc = b[i]; i += 1
            var len = 0; digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { len = len &* 10 &+ Int(b[i] - 0x30); i += 1; digits += 1 }
            guard digits > 0, i < b.count, b[i] == UInt8(ascii: ":") else { throw BatchReplyError.malformed("bad length at \(i)") }
            i += 1
            guard len <= b.count - i else { throw BatchReplyError.malformed("key runs past the end at \(i)") }
            let raw = b[i..<(i + len)]
            i += len
            let key: [UInt8]
            switch enc {
            case UInt8(ascii: "r"): key = Array(raw)
            case UInt8(ascii: "x"):
                guard let k = hexDecode(raw) else { throw BatchReplyError.malformed("bad hex key at \(i)") }
                key = k
            default: throw BatchReplyError.malformed("bad key encoding at \(i)")
            }
            keys.append(SizedKey(key: key, type: type, bytes: size, bull: bull, hasTTL: hasTTL))
            if i < b.count {
                guard b[i] == 0x20 else { throw BatchReplyError.malformed("missing separator at \(i)") }
                i += 1
            }
        }
        return BatchReply(cursor: cursor, keysScanned: scanned, scriptMicros: micros, keys: keys)
    }

    static func hexDecode(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        guard s.count % 2 == 0 else { return nil }
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(s.count / 2)
        var i = s.startIndex
        while i < s.endIndex {
            guard let h = nib(s[i]), let l = nib(s[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
