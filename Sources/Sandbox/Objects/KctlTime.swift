import Foundation

/// Durations as the API server and kubectl print them (times themselves: `RFC3339`).
public enum KctlTime {
    /// k8s.io/apimachinery/pkg/util/duration.HumanDuration.
    public static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval.rounded(.towardZero))
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 60 * 3 { return "\(minutes)m" }
        let hours = seconds / 3600
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let dy = (hours / 24) % 365
            return dy == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(dy)d"
        }
        return "\(hours / 24 / 365)y"
    }

    /// translateTimestampSince: "<unknown>" for a missing time.
    public static func since(_ timestamp: String?, now: Date) -> String {
        guard let timestamp, let d = RFC3339.parse(timestamp) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(d))
    }

    /// Go's time.Duration.String() for a positive interval, e.g. "26m33.174541702s", "1m20s".
    public static func goDuration(_ interval: TimeInterval) -> String {
        var rest = max(0, interval)
        let h = Int(rest / 3600); rest -= Double(h * 3600)
        let m = Int(rest / 60); rest -= Double(m * 60)
        var secs = String(format: "%.9f", rest)
        while secs.hasSuffix("0") { secs.removeLast() }
        if secs.hasSuffix(".") { secs.removeLast() }
        var out = ""
        if h > 0 { out += "\(h)h" }
        if h > 0 || m > 0 { out += "\(m)m" }
        return out + secs + "s"
    }
}
