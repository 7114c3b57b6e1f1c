import Foundation

/// RFC 3339 times as Kubernetes writes them ("2024-07-01T21:35:03Z", "…03.123456Z",
/// "…03+02:00"), parsed and written by hand: no formatter object, no ICU. The dashboard reads a
/// dozen of these on every refresh; a Foundation `ISO8601DateFormatter` costs ~0.4 ms to create
/// and pulls ICU's data into the process.
public enum RFC3339 {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`/`z` and a space separator are
    /// accepted too. Nil for anything else (out-of-range fields included).
    public static func parse(_ s: String) -> Date? {
        let u = Array(s.utf8)
        guard u.count >= 20 else { return nil }
        func num(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= u.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                let c = u[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), u[4] == UInt8(ascii: "-"), let month = num(5, 2), u[7] == UInt8(ascii: "-"),
              let day = num(8, 2), u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: "t") || u[10] == UInt8(ascii: " "),
              let hour = num(11, 2), u[13] == UInt8(ascii: ":"), let minute = num(14, 2), u[16] == UInt8(ascii: ":"),
              let second = num(17, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var i = 19
        var fraction = 0.0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                fraction += Double(u[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < u.count else { return nil }
        var offset = 0
        switch u[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = num(i + 1, 2), i + 3 < u.count, u[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2),
                  oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
            i += 6
        default:
            return nil
        }
        guard i == u.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(secs) + fraction)
    }

    /// "2024-07-01T21:35:03Z" (UTC, whole seconds), as Kubernetes writes its times; with
    /// `fractionDigits` (1...9) "2024-07-01T21:35:03.123Z", as the incident log writes them.
    public static func format(_ d: Date = Date(), fractionDigits: Int) -> String {
        let whole = format(d)
        let n = min(max(fractionDigits, 0), 9)
        guard n > 0, d.timeIntervalSince1970.isFinite else { return whole }
        let t = d.timeIntervalSince1970
        var scale = 1.0
        for _ in 0..<n { scale *= 10 }
        var frac = Int(((t - t.rounded(.down)) * scale).rounded(.down))
        frac = min(max(frac, 0), Int(scale) - 1)
        var digits = String(frac)
        while digits.count < n { digits = "0" + digits }
        return String(whole.dropLast()) + "." + digits + "Z"
    }

    /// "2024-07-01T21:35:03Z" (UTC, whole seconds), as Kubernetes writes its times.
    public static func format(_ d: Date = Date()) -> String {
        let t = d.timeIntervalSince1970
        guard t.isFinite else { return "1970-01-01T00:00:00Z" }
        let total = Int(t.rounded(.down))
        var days = total / 86_400
        var rest = total % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let (y, m, dd) = civilFromDays(days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var year = String(y)
        while year.count < 4 { year = "0" + year }
        return "\(year)-\(two(m))-\(two(dd))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm, proleptic Gregorian).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
