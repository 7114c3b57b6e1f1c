import Foundation

/// The read-only Lua script run once per batch
/// (`EVALSHA_RO sha 0 cursor count samples threshold prefix topN topMin partMask partHome partEdge`).
///
/// It runs `SCAN cursor COUNT count`, and for each key found (or each key whose SHA-1 falls
/// under `threshold` when sampling) `MEMORY USAGE key SAMPLES samples`, `TYPE key`, `PTTL key` and, for
/// keys under the BullMQ prefix, the state of the job the key belongs to: `ZSCORE` in the
/// queue's completed/failed/delayed/prioritized/waiting-children sets, else `EXISTS <job>:lock`
/// (active), else waiting. Every call is O(1) or O(log N); nothing is written.
///
/// It folds the keys into groups inside Redis, so the reply is a few hundred bytes whatever the
/// batch size: one group per (type, TTL or not, BullMQ state, pattern), where the pattern is
/// `KeyPattern.pattern` computed by its Lua twin (`BatchScript.patternLua`, proven identical by
/// the twin test) on the raw bytes; under the BullMQ prefix the queue name is kept as is and only
/// what follows it is folded. Each group names its first key: the client derives the group's
/// pattern (and BullMQ row) from that key with the same Swift code as for any key, which is
/// exact because every key of a group has the same pattern. Plus the batch's biggest keys over
/// `topMin` bytes (at most `topN`), kept as the client keeps its top list.
///
/// Reply: ONE bulk string on one line, printable ASCII only:
///   `RRM2 <cursor> <keysScanned> <scriptMicros> <keysSized> <groups> <tops>` then per group
///   ` <type><state><count>,<bytes>,<enc><len>:<first key>` then per top key
///   ` <type><bytes>,<state><enc><len>:<key>`
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

    /// The Lua twin of `KeyPattern.pattern`: defines `local function pattern(k)`, which returns
    /// the pattern of the key's raw bytes with literal parts left raw; `KeyDisplay.render` of it
    /// is `KeyPattern.pattern(k)` (rendering maps bytes and UTF-8 sequences one by one and the
    /// placeholders are ASCII, so rendering the whole equals rendering each literal part).
    /// Keys whose digits, read as `0`, give a pattern without a digit (and no 10-digit run, where
    /// `{ts}` looks at the digit's value) share it: it is computed once per such shape and batch.
    public static let patternLua = #"""
local find, sub, byte, gsub, match = string.find, string.sub, string.byte, string.gsub, string.match
local SEPSET = ':/%.%-_|#,=@{} '
local SEP, SEGS, SEPRUN = '[' .. SEPSET .. ']', '[^' .. SEPSET .. ']+', '^[' .. SEPSET .. ']+'
local HX = '[0-9a-fA-F]'
local UUID = '^' .. string.rep(HX, 8) .. '%-' .. string.rep(HX, 4) .. '%-' .. string.rep(HX, 4) .. '%-' .. string.rep(HX, 4) .. '%-' .. string.rep(HX, 12)
local TOK16 = string.rep('[A-Za-z0-9+=_%-]', 16)
local DATE = '[0-9][0-9][0-9][0-9]%-[0-9][0-9]%-[0-9][0-9]'
local segmemo, shapememo, shapememo2 = {}, {}, {}
local function classify(seg)
  local n = #seg
  if find(seg, '^[0-9]+$') then
    if (n == 10 or n == 13) and byte(seg, 1) == 49 then return '{ts}' end
    return '{id}'
  end
  if find(seg, '^[0-9a-fA-F]+$') and ((n >= 8 and find(seg, '[0-9]')) or n >= 16) then return '{hash}' end
  if find(seg, '^[A-Za-z0-9]+$') then
    if n >= 16 and find(seg, '[0-9]') then return '{token}' end
    local a, d = match(seg, '^([A-Za-z]+)([0-9]+)$')
    if a and #d >= 3 then return a .. '{id}' end
  end
  return false
end
local function segrep(seg)
  local v = segmemo[seg]
  if v == nil then v = classify(seg); segmemo[seg] = v end
  return v or nil
end
local function issep(c)
  return c == 58 or c == 47 or c == 46 or c == 45 or c == 95 or c == 124 or c == 35 or c == 44 or c == 61 or c == 64 or c == 123 or c == 125 or c == 32
end
local function isodate(k, i)
  if not find(k, '^' .. DATE, i) then return nil end
  local p = i + 10
  local c = byte(k, p)
  if (c == 84 or c == 32) and find(k, '^[0-9][0-9]:[0-9][0-9]', p + 1) then
    p = p + 6
    if byte(k, p) == 58 and find(k, '^[0-9][0-9]', p + 1) then
      p = p + 3
      if byte(k, p) == 46 and find(k, '^[0-9]', p + 1) then
        local _, e = find(k, '^[0-9]*', p + 1)
        p = e + 1
      end
    end
    c = byte(k, p)
    if c == 90 then p = p + 1
    elseif (c == 43 or c == 45) and find(k, '^[0-9][0-9]', p + 1) then
      if byte(k, p + 3) == 58 and find(k, '^[0-9][0-9]', p + 4) then p = p + 6
      elseif find(k, '^[0-9][0-9]', p + 3) then p = p + 5 end
    end
  end
  c = byte(k, p)
  if c and not issep(c) then return nil end
  return p - i
end
local function token(k, i)
  local _, e = find(k, '^[A-Za-z0-9+=_%-]*', i)
  local n = e - i + 1
  if n < 16 then return nil end
  local run = sub(k, i, e)
  if not (find(run, '[A-Z]') and find(run, '[a-z]') and find(run, '[0-9]')) then return nil end
  if find(run, '^[A-Za-z]*[_%-]') then return nil end
  local longest = 0
  for piece in string.gmatch(run, '[^_%-]+') do if #piece > longest then longest = #piece end end
  if longest < 10 then return nil end
  local c = byte(k, e + 1)
  if c and not issep(c) then return nil end
  return n
end
local function rawpattern(k)
  -- No UUID (36 bytes with `-`), date (`dddd-`) or token (16 token bytes with an upper-case
  -- letter) can start anywhere: fold segment by segment.
  local dash = find(k, '-', 1, true)
  if not (dash and (#k >= 36 or find(k, '[0-9][0-9][0-9][0-9]%-'))) and not (#k >= 16 and find(k, '[A-Z]') and find(k, TOK16)) then
    return (gsub(k, SEGS, segrep))
  end
  local out, o = {}, 0
  local i, n = 1, #k
  while i <= n do
    local _, e = find(k, SEPRUN, i)
    if e then o = o + 1; out[o] = sub(k, i, e); i = e + 1
    else
      local m
      if byte(k, i + 8) == 45 and find(k, UUID, i) then
        local c = byte(k, i + 36)
        if not c or issep(c) then m = 36; o = o + 1; out[o] = '{uuid}' end
      end
      if not m and byte(k, i + 4) == 45 then
        m = isodate(k, i)
        if m then o = o + 1; out[o] = '{date}' end
      end
      if not m then
        m = token(k, i)
        if m then o = o + 1; out[o] = '{token}' end
      end
      if m then i = i + m
      else
        local s = find(k, SEP, i)
        local j = s and s - 1 or n
        local seg = sub(k, i, j)
        o = o + 1; out[o] = segrep(seg) or seg
        i = j + 1
      end
    end
  end
  return table.concat(out)
end
local function zeros(d) return string.rep('0', #d) end
-- A shape is the key with some digits read as `0`: every rule but `{ts}` looks only at whether a
-- byte is a digit, so keys of one shape fold the same way; when the shape's pattern shows no `0`
-- (no digit stayed literal) and no 10 digits in a row (`{ts}` reads the first one), it is every
-- such key's pattern. First every digit; else (a literal digit: `v1`) the runs after a non-letter.
local function shaped(memo, shape, longrun)
  local p = memo[shape]
  if p == nil then
    p = rawpattern(shape)
    if find(p, '0', 1, true) or find(shape, longrun) then p = false end
    memo[shape] = p
  end
  return p
end
local function pattern(k)
  local p = shaped(shapememo, (gsub(k, '%d', '0')), '0000000000')
  if p then return p end
  local shape = gsub(k, '%f[%w]%d+', zeros)
  if shape ~= k then
    p = shaped(shapememo2, shape, '%d%d%d%d%d%d%d%d%d%d')
    if p then return p end
  end
  return rawpattern(k)
end
"""#

    public static let body = #"""
-- redis-runbook memory batch v2: SCAN one batch, size and type each key, fold them into patterns. Read-only.
local cursor, count, samples = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local threshold = tonumber(ARGV[4])
local prefix = ARGV[5]
local topn, topmin = tonumber(ARGV[6]) or 0, tonumber(ARGV[7]) or -1
local plen = #prefix
local mask, home, edge = tonumber(ARGV[8]) or 0, tonumber(ARGV[9]) or 0, ARGV[10] or '0'
local t0 = redis.call('TIME')
local r = redis.call('SCAN', cursor, 'COUNT', count)
local keys, nextc = r[2], r[1]
-- A part of the table (see MemoryAnalysisOptions.scanPartitions): cursors whose low bits are
-- `home`. SCAN COUNT may run past the part's end into the next part's first buckets: then the
-- batch is walked again one bucket at a time (COUNT 1 stops after the first bucket that holds a
-- key) and ends at the edge, keeping only the buckets of this part.
local function inpart(c) return c ~= '0' and tonumber(string.sub(c, -5)) % (mask + 1) == home end  -- 100000 is a multiple of 32
if mask > 0 and nextc ~= edge and not inpart(nextc) then
  keys = {}
  local c = cursor
  repeat
    local r1 = redis.call('SCAN', c, 'COUNT', 1)
    c = r1[1]
    if c == edge or inpart(c) then for _, k in ipairs(r1[2]) do keys[#keys + 1] = k end end
  until not inpart(c)
  nextc = c
end
"""# + "\n" + patternLua + "\n" + #"""
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
  if plen == 0 or sub(k, 1, plen) ~= prefix then return '-' end
  local q, rest = match(sub(k, plen + 1), '^([^:]+):(.+)$')
  if not q then return 'S' end
  if known[rest] then return 'S' end
  local head = match(rest, '^([^:]+):')
  if head == 'de' or head == 'metrics' then return 'S' end
  local id = rest
  local last = match(rest, ':([^:]+)$')
  if last and aux[last] then id = sub(rest, 1, #rest - #last - 1) end
  local st = jobstate(prefix .. q .. ':', id)
  if st then return st end
  if head == 'repeat' then return 'S' end
  return 'W'
end
local gidx, gkey, ghead, gcount, gbytes, ng = {}, {}, {}, {}, {}, 0
local top, nt, n = {}, 0, 0
for i = 1, #keys do
  local k = keys[i]
  if threshold < 0 or tonumber(sub(redis.sha1hex(k), 1, 7), 16) < threshold then
    local size = redis.call('MEMORY', 'USAGE', k, 'SAMPLES', samples)
    if size then
      n = n + 1
      local t = tcode[redis.call('TYPE', k)['ok']] or 'o'
      if redis.call('PTTL', k) >= 0 then t = string.upper(t) end
      local st = bullstate(k)
      local g
      if st == '-' then g = pattern(k)
      else
        local c = find(k, ':', plen + 1, true)
        if c then g = sub(k, plen + 1, c) .. pattern(sub(k, c + 1)) else g = sub(k, plen + 1) end
      end
      local ts = t .. st
      local m = gidx[ts]
      if not m then m = {}; gidx[ts] = m end
      local gi = m[g]
      if gi then gcount[gi] = gcount[gi] + 1; gbytes[gi] = gbytes[gi] + size
      else ng = ng + 1; m[g] = ng; ghead[ng] = ts; gkey[ng] = k; gcount[ng] = 1; gbytes[ng] = size end
      -- The batch's biggest keys, kept as the client keeps its list: by size, the first seen first among equals.
      if size > topmin and topn > 0 and (nt < topn or size > top[nt][2]) then
        local at = nt + 1
        for j = 1, nt do if top[j][2] < size then at = j; break end end
        table.insert(top, at, {k, size, t, st})
        if nt < topn then nt = nt + 1 else top[nt + 1] = nil end
      end
    end
  end
end
local function enc(k)
  if find(k, '[^!-~]') then
    local x = gsub(k, '.', function(c) return string.format('%02x', byte(c)) end)
    return 'x' .. #x .. ':' .. x
  end
  return 'r' .. #k .. ':' .. k
end
local out = {}
for i = 1, ng do out[i] = ghead[i] .. gcount[i] .. ',' .. gbytes[i] .. ',' .. enc(gkey[i]) end
for i = 1, nt do local e = top[i]; out[ng + i] = e[3] .. e[2] .. ',' .. e[4] .. enc(e[1]) end
local t1 = redis.call('TIME')
local us = (tonumber(t1[1]) - tonumber(t0[1])) * 1000000 + tonumber(t1[2]) - tonumber(t0[2])
local head = 'RRM2 ' .. nextc .. ' ' .. #keys .. ' ' .. us .. ' ' .. n .. ' ' .. ng .. ' ' .. nt
if ng + nt == 0 then return head end
return head .. ' ' .. table.concat(out, ' ')
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

/// Keys of one batch that share type, TTL or not, BullMQ state and pattern: `key` is the first
/// of them, `count` how many, `bytes` their summed MEMORY USAGE.
public struct KeyGroup: Sendable, Equatable {
    public var key: [UInt8]
    public var type: KeyType
    public var hasTTL: Bool
    public var bull: BullCode
    public var count: Int
    public var bytes: Int
}

/// A decoded batch reply.
public struct BatchReply: Sendable {
    public var cursor: String
    public var keysScanned: Int
    public var scriptMicros: Int
    public var keysSized: Int
    public var groups: [KeyGroup]
    /// The batch's biggest keys over the `topMin` sent, biggest first (first seen first among equals).
    public var top: [SizedKey]
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
        let magic = Array("RRM2 ".utf8)
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
        func number(until end: UInt8) throws -> Int {
            var v = 0, digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { v = v &* 10 &+ Int(b[i] - 0x30); i += 1; digits += 1 }
            guard digits > 0, i < b.count, b[i] == end else { throw BatchReplyError.malformed("bad number at \(i)") }
            i += 1
            return v
        }
        func typeCode() -> (KeyType, Bool) {
            let code = b[i]; i += 1
            let hasTTL = code >= 0x41 && code <= 0x5A
            return (KeyType(code: hasTTL ? code + 0x20 : code), hasTTL)
        }
        func bullCode() throws -> BullCode {
            guard i < b.count, let bull = BullCode(rawValue: b[i]) else { throw BatchReplyError.malformed("bad state at \(i)") }
            i += 1
            return bull
        }
        func key() throws -> [UInt8] {
            guard i < b.count else { throw BatchReplyError.malformed("missing key at \(i)") }
            let enc = b[i]; i += 1
            let len = try number(until: UInt8(ascii: ":"))
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
            if i < b.count {
                guard b[i] == 0x20 else { throw BatchReplyError.malformed("missing separator at \(i)") }
                i += 1
            }
            return key
        }
        let cursorTok = try token()
        _ = try int(cursorTok)
        let cursor = String(decoding: cursorTok, as: UTF8.self)
        let scanned = try int(try token())
        let micros = try int(try token())
        let sized = try int(try token())
        let ngroups = try int(try token())
        let ntop = try int(try token())
        guard ngroups <= b.count, ntop <= b.count else { throw BatchReplyError.malformed("bad record counts") }
        var groups = [KeyGroup]()
        groups.reserveCapacity(ngroups)
        for _ in 0..<ngroups {
            // <type><state><count>,<bytes>,<enc><len>:<key>
            guard i + 1 < b.count else { throw BatchReplyError.malformed("missing group at \(i)") }
            let (type, hasTTL) = typeCode()
            let bull = try bullCode()
            let n = try number(until: UInt8(ascii: ","))
            let bytes = try number(until: UInt8(ascii: ","))
            groups.append(KeyGroup(key: try key(), type: type, hasTTL: hasTTL, bull: bull, count: n, bytes: bytes))
        }
        var top = [SizedKey]()
        top.reserveCapacity(ntop)
        for _ in 0..<ntop {
            // <type><bytes>,<state><enc><len>:<key>
            guard i + 1 < b.count else { throw BatchReplyError.malformed("missing top key at \(i)") }
            let (type, hasTTL) = typeCode()
            let bytes = try number(until: UInt8(ascii: ","))
            let bull = try bullCode()
            top.append(SizedKey(key: try key(), type: type, bytes: bytes, bull: bull, hasTTL: hasTTL))
        }
        guard i == b.count else { throw BatchReplyError.malformed("trailing bytes at \(i)") }
        guard groups.reduce(0, { $0 + $1.count }) == sized else { throw BatchReplyError.malformed("group counts do not add up to \(sized)") }
        return BatchReply(cursor: cursor, keysScanned: scanned, scriptMicros: micros, keysSized: sized, groups: groups, top: top)
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
