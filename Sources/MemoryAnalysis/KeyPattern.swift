import Foundation

/// Groups key names into patterns by replacing their variable parts with placeholders,
/// keeping the separators, so `sess:8f1c…` and `sess:91aa…` both become `sess:{hash}`.
///
/// Placeholders, tried at the start of every segment (segments are split at
/// `:` `/` `.` `-` `_` `|` `#` `,` `=` `@` `{` `}` and space):
/// - `{uuid}`   8-4-4-4-12 hex digits (the dashes inside are part of the UUID)
/// - `{date}`   ISO-8601 dates/timestamps, `2024-01-31`, `2024-01-31T10:00:00.123Z`
/// - `{token}`  base64/base64url-like runs of 16+ characters mixing upper case, lower case
///              and digits (`-`, `_`, `+`, `=` included in the run)
/// - `{ts}`     10 or 13 digit numbers starting with 1 (unix seconds / milliseconds)
/// - `{id}`     any other all-digit segment; trailing digits (3+) after letters: `user1234` → `user{id}`
/// - `{hash}`   hex strings of 8+ characters containing a digit (or 16+ characters)
/// - `{token}`  alphanumeric segments of 16+ characters mixing letters and digits
/// Everything else is kept literally (rendered with `KeyDisplay`).
public enum KeyPattern {
    /// The placeholders `pattern` writes.
    public static let placeholders = ["{uuid}", "{date}", "{token}", "{ts}", "{id}", "{hash}"]

    /// A `SCAN ... MATCH` glob for a pattern: each placeholder becomes `*`, glob characters in the
    /// literal parts are escaped. nil when the pattern cannot be matched safely: it holds an
    /// escaped (non-printable) byte, is the overflow row, or has fewer than 3 literal
    /// characters (a glob such as `*` or `*:*` would match nearly every key).
    public static func scanGlob(_ pattern: String) -> String? {
        guard !pattern.isEmpty, !pattern.hasPrefix("("), !pattern.contains("\\"),
              pattern.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else { return nil }
        var glob = ""
        var literals = 0
        var rest = Substring(pattern)
        while !rest.isEmpty {
            if let p = placeholders.first(where: { rest.hasPrefix($0) }) {
                if !glob.hasSuffix("*") { glob += "*" }
                rest = rest.dropFirst(p.count)
                continue
            }
            let c = rest.removeFirst()
            if "*?[]".contains(c) { glob += "\\" }
            glob.append(c)
            if c.isLetter || c.isNumber { literals += 1 }
        }
        return literals >= 3 ? glob : nil
    }

    public static func pattern(_ key: [UInt8]) -> String {
        pattern(key[...])
    }

    static let separators: Set<UInt8> = Set(":/.-_|#,=@{} ".utf8)

    @inline(__always) static func isSep(_ b: UInt8) -> Bool {
        switch b {
        case 0x3A, 0x2F, 0x2E, 0x2D, 0x5F, 0x7C, 0x23, 0x2C, 0x3D, 0x40, 0x7B, 0x7D, 0x20: return true
        default: return false
        }
    }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isHex(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }
    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    @inline(__always) static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { isUpper(b) || isLower(b) }

    public static func pattern(_ key: ArraySlice<UInt8>) -> String {
        var out = ""
        out.reserveCapacity(key.count)
        var literal = [UInt8]()
        func flushLiteral() {
            if !literal.isEmpty { out += KeyDisplay.render(literal); literal.removeAll(keepingCapacity: true) }
        }
        var i = key.startIndex
        let end = key.endIndex
        while i < end {
            let b = key[i]
            if isSep(b) {
                literal.append(b)
                i += 1
                continue
            }
            // At the start of a segment.
            if let n = matchUUID(key, i) { flushLiteral(); out += "{uuid}"; i += n; continue }
            if let n = matchISODate(key, i) { flushLiteral(); out += "{date}"; i += n; continue }
            if let n = matchToken(key, i) { flushLiteral(); out += "{token}"; i += n; continue }
            var j = i
            while j < end, !isSep(key[j]) { j += 1 }
            let seg = key[i..<j]
            switch classify(seg) {
            case .literal:
                literal.append(contentsOf: seg)
            case .placeholder(let p):
                flushLiteral(); out += p
            case .prefixed(let n, let p):
                literal.append(contentsOf: seg.prefix(n)); flushLiteral(); out += p
            }
            i = j
        }
        flushLiteral()
        return out
    }

    enum SegmentClass { case literal, placeholder(String), prefixed(Int, String) }

    static func classify(_ seg: ArraySlice<UInt8>) -> SegmentClass {
        let n = seg.count
        if n == 0 { return .literal }
        var digits = 0, hex = 0, upper = 0, lower = 0, other = 0
        for b in seg {
            if isDigit(b) { digits += 1; hex += 1 }
            else if isHex(b) { hex += 1; if isUpper(b) { upper += 1 } else { lower += 1 } }
            else if isUpper(b) { upper += 1 }
            else if isLower(b) { lower += 1 }
            else { other += 1 }
        }
        if digits == n {
            if (n == 10 || n == 13), seg.first == UInt8(ascii: "1") { return .placeholder("{ts}") }
            return .placeholder("{id}")
        }
        if hex == n, (n >= 8 && digits > 0) || n >= 16 { return .placeholder("{hash}") }
        if other == 0, n >= 16, digits > 0, digits < n { return .placeholder("{token}") }
        // letters followed by 3+ digits: user1234 → user{id}
        if other == 0 {
            var k = seg.endIndex
            while k > seg.startIndex, isDigit(seg[k - 1]) { k -= 1 }
            let trailing = seg.endIndex - k
            if trailing >= 3, k > seg.startIndex, seg[seg.startIndex..<k].allSatisfy(isAlpha) {
                return .prefixed(k - seg.startIndex, "{id}")
            }
        }
        return .literal
    }

    /// 8-4-4-4-12 hex, ending at a separator or the end.
    static func matchUUID(_ k: ArraySlice<UInt8>, _ i: Int) -> Int? {
        guard k.endIndex - i >= 36 else { return nil }
        for off in 0..<36 {
            let b = k[i + off]
            if off == 8 || off == 13 || off == 18 || off == 23 {
                if b != 0x2D { return nil }
            } else if !isHex(b) { return nil }
        }
        if i + 36 < k.endIndex, !isSep(k[i + 36]) { return nil }
        return 36
    }

    /// YYYY-MM-DD, optionally followed by [T ]hh:mm[:ss[.fff]][Z|±hh[:]mm].
    static func matchISODate(_ k: ArraySlice<UInt8>, _ i: Int) -> Int? {
        let end = k.endIndex
        func digitsAt(_ p: Int, _ n: Int) -> Bool {
            guard p + n <= end else { return false }
            for q in p..<(p + n) where !isDigit(k[q]) { return false }
            return true
        }
        func at(_ p: Int, _ c: Character) -> Bool { p < end && k[p] == c.asciiValue! }
        guard digitsAt(i, 4), at(i + 4, "-"), digitsAt(i + 5, 2), at(i + 7, "-"), digitsAt(i + 8, 2) else { return nil }
        var p = i + 10
        if (at(p, "T") || at(p, " ")), digitsAt(p + 1, 2), at(p + 3, ":"), digitsAt(p + 4, 2) {
            p += 6
            if at(p, ":"), digitsAt(p + 1, 2) {
                p += 3
                if at(p, "."), digitsAt(p + 1, 1) {
                    p += 1
                    while p < end, isDigit(k[p]) { p += 1 }
                }
            }
            if at(p, "Z") { p += 1 }
            else if (at(p, "+") || at(p, "-")), digitsAt(p + 1, 2) {
                if at(p + 3, ":"), digitsAt(p + 4, 2) { p += 6 } else if digitsAt(p + 3, 2) { p += 5 }
            }
        }
        if p < end, !isSep(k[p]) { return nil }
        return p - i
    }

    /// A base64/base64url-looking run: 16+ chars of [A-Za-z0-9+=_-] with upper, lower and digits,
    /// whose longest piece between `-`/`_` is at least 10 characters (so `Order_Item_2024` stays).
    static func matchToken(_ k: ArraySlice<UInt8>, _ i: Int) -> Int? {
        var j = i
        var upper = false, lower = false, digit = false
        var piece = 0, longest = 0
        var firstPieceLettersOnly = true, inFirstPiece = true
        while j < k.endIndex {
            let b = k[j]
            if isUpper(b) { upper = true; piece += 1 }
            else if isLower(b) { lower = true; piece += 1 }
            else if isDigit(b) { digit = true; piece += 1 }
            else if b == 0x2B || b == 0x3D { piece += 1 }
            else if b == 0x2D || b == 0x5F { longest = max(longest, piece); piece = 0; inFirstPiece = false }
            else { break }
            if inFirstPiece, !isAlpha(b) { firstPieceLettersOnly = false }
            j += 1
        }
        // `sess_AbC…`: a leading word stays literal; the token is matched after the separator.
        if firstPieceLettersOnly, !inFirstPiece { return nil }
        longest = max(longest, piece)
        let n = j - i
        guard n >= 16, upper, lower, digit, longest >= 10 else { return nil }
        if j < k.endIndex, !isSep(k[j]) { return nil }
        return n
    }
}
