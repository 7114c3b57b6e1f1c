/// The lines of a text, split at "\n" and "\r\n" with empty lines left out: what
/// `text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })` gives, found on the UTF-8 bytes
/// instead of by Character (grapheme breaking), which was most of the dashboard's CPU for an
/// exporter scrape (25 M instructions for 53 KB of `/metrics`, callgrind; issue 16, figure 3).
/// A line feed always ends a grapheme, so every cut is a Character boundary of `text`.
enum TextLines {
    static func split(_ text: String) -> [Substring] {
        var out: [Substring] = []
        let u = text.utf8
        var start = u.startIndex
        var i = u.startIndex
        while i != u.endIndex {
            if u[i] == UInt8(ascii: "\n") {
                var end = i
                if end > start, u[u.index(before: end)] == UInt8(ascii: "\r") { end = u.index(before: end) }
                if end > start { out.append(text[start..<end]) }
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        if start != u.endIndex { out.append(text[start..<u.endIndex]) }
        return out
    }
}
