import Foundation

public enum Fmt {
    /// 1024-based sizes: "512B", "12.3K", "612M", "1.50G"; "—" when unknown.
    public static func bytes(_ b: Int64?) -> String {
        guard let b else { return "—" }
        let units = ["B", "K", "M", "G", "T", "P"]
        var v = Double(b)
        var i = 0
        while abs(v) >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        if i == 0 { return "\(b)B" }
        if abs(v) >= 100 { return String(format: "%.0f%@", v, units[i]) }
        if abs(v) >= 10 { return String(format: "%.1f%@", v, units[i]) }
        return String(format: "%.2f%@", v, units[i])
    }
    public static func bytes(_ d: Double) -> String { bytes(Int64(d)) }

    public static func int(_ v: Int64?) -> String { v.map { String($0) } ?? "—" }
    public static func int(_ v: Int?) -> String { v.map { String($0) } ?? "—" }

    public static func bool(_ v: Bool?, yes: String = "yes", no: String = "no") -> String {
        v.map { $0 ? yes : no } ?? "—"
    }

    public static func percent(_ r: Double?) -> String {
        guard let r, r.isFinite else { return "—" }
        return String(format: "%.0f%%", r * 100)
    }

    /// "45s", "12m", "3h", "2d".
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 90 { return "\(s)s" }
        if s < 90 * 60 { return "\(s / 60)m" }
        if s < 48 * 3600 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    // Sendable value styles, made once: creating an ISO8601DateFormatter per call (an ICU
    // formatter) cost ~0.4 ms each and was a third of a full dashboard render.
    private static let isoPlain = Date.ISO8601FormatStyle()
    private static let isoFractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func parseTime(_ s: String?) -> Date? {
        guard let s else { return nil }
        if let d = try? isoPlain.parse(s) { return d }
        return try? isoFractional.parse(s)
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
