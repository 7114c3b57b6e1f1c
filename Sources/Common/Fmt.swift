import Foundation

/// Numbers, sizes, durations and times as the tool prints them, in one place: the screen's
/// compact forms ("612M", "45s") and the sentences' forms ("612.0 MiB", "75%") of findings,
/// checks and reports.
public enum Fmt {
    /// 1024-based sizes for sentences (findings' evidence, checks, reports): "512.0 MiB", "12 B".
    public static func size(_ b: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(b), i = 0
        while abs(v) >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(b) B" : fixed(v, 1) + " " + units[i]
    }

    /// A ratio as a percentage for sentences: "75%", "75.5%".
    public static func pct(_ r: Double) -> String {
        let p = r * 100
        return p == p.rounded() ? "\(Int(p))%" : fixed(p, 1) + "%"
    }

    /// A whole number as such, anything else with two decimals: "3", "0.25".
    public static func num(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : fixed(d, 2)
    }

    /// 1024-based sizes: "512B", "12.3K", "612M", "1.50G"; "—" when unknown.
    public static func bytes(_ b: Int64?) -> String {
        guard let b else { return "—" }
        let units = ["B", "K", "M", "G", "T", "P"]
        var v = Double(b)
        var i = 0
        while abs(v) >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        if i == 0 { return "\(b)B" }
        if abs(v) >= 100 { return fixed(v, 0) + units[i] }
        if abs(v) >= 10 { return fixed(v, 1) + units[i] }
        return fixed(v, 2) + units[i]
    }

    /// `v` with `decimals` digits after the point, as `%.Nf` prints it, without Foundation's
    /// formatter (`String(format:)` goes through CoreFoundation and its locale machinery on every
    /// call; the dashboard formats dozens of numbers per frame).
    public static func fixed(_ v: Double, _ decimals: Int) -> String {
        let d = max(0, min(decimals, 9))
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        var p: Int64 = 1
        for _ in 0..<d { p *= 10 }
        let scaledD = (abs(v) * Double(p)).rounded(.toNearestOrEven)
        guard scaledD < 9e15 else { return String(format: "%.\(d)f", v) }
        let scaled = Int64(scaledD)
        let sign = v < 0 && scaled != 0 ? "-" : ""
        let whole = String(scaled / p)
        guard d > 0 else { return sign + whole }
        var frac = String(scaled % p)
        while frac.count < d { frac = "0" + frac }
        return sign + whole + "." + frac
    }
    public static func bytes(_ d: Double) -> String { bytes(Int64(d)) }

    public static func int(_ v: Int64?) -> String { v.map { String($0) } ?? "—" }
    public static func int(_ v: Int?) -> String { v.map { String($0) } ?? "—" }

    public static func bool(_ v: Bool?, yes: String = "yes", no: String = "no") -> String {
        v.map { $0 ? yes : no } ?? "—"
    }

    public static func percent(_ r: Double?) -> String {
        guard let r, r.isFinite else { return "—" }
        return fixed(r * 100, 0) + "%"
    }

    /// "45s", "12m", "3h", "2d".
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 90 { return "\(s)s" }
        if s < 90 * 60 { return "\(s / 60)m" }
        if s < 48 * 3600 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    // By hand (RFC3339): creating an ISO8601DateFormatter per call (an ICU formatter) cost
    // ~0.4 ms each and was a third of a full dashboard render.
    public static func parseTime(_ s: String?) -> Date? {
        guard let s else { return nil }
        return RFC3339.parse(s)
    }

    /// "5m ago" from an RFC 3339 time, relative to `now`; the raw text when it does not parse.
    public static func ago(_ s: String?, now: Date) -> String {
        guard let s else { return "—" }
        guard let d = parseTime(s) else { return s }
        return duration(now.timeIntervalSince(d)) + " ago"
    }

    public static func ago(unix: Int64?, now: Date) -> String {
        guard let u = unix, u > 0 else { return "—" }
        return duration(now.timeIntervalSince1970 - Double(u)) + " ago"
    }
}
