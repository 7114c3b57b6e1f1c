import Foundation

/// One sample of the Prometheus text exposition format.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
}

/// Parser for the Prometheus text format served by redis_exporter (`/metrics`).
/// Comments (`# HELP`, `# TYPE`), blank lines, timestamps, escaped label values and
/// `NaN`/`+Inf` are handled; malformed lines are skipped.
public struct PrometheusText: Sendable, Equatable {
    public private(set) var samples: [MetricSample] = []

    public static func parse(_ text: String) -> PrometheusText {
        var out = PrometheusText()
        for raw in TextLines.split(text) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if let s = parseLine(line) { out.samples.append(s) }
        }
        return out
    }

    /// The first sample named `name` whose labels include all of `labels`.
    public func value(_ name: String, labels: [String: String] = [:]) -> Double? {
        samples.first { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value
    }

    /// All samples named `name`.
    public func all(_ name: String) -> [MetricSample] { samples.filter { $0.name == name } }

    /// `redis_up` as a Bool (1 → true, 0 → false), nil when the metric is absent.
    public var redisUp: Bool? { value("redis_up").map { $0 >= 1 } }

    static func parseLine(_ line: String) -> MetricSample? {
        let chars = Array(line)
        var i = 0
        var name = ""
        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == ":" {
            name.append(chars[i]); i += 1
        }
        guard !name.isEmpty, !(name.first!.isNumber) else { return nil }
        var labels: [String: String] = [:]
        if i < chars.count, chars[i] == "{" {
            i += 1
            while true {
                while i < chars.count, chars[i] == " " || chars[i] == "," { i += 1 }
                guard i < chars.count else { return nil }
                if chars[i] == "}" { i += 1; break }
                var key = ""
                while i < chars.count, chars[i] != "=" && chars[i] != "}" { key.append(chars[i]); i += 1 }
                guard i < chars.count, chars[i] == "=" else { return nil }
                i += 1
                guard i < chars.count, chars[i] == "\"" else { return nil }
                i += 1
                var val = ""
                var closed = false
                while i < chars.count {
                    let c = chars[i]
                    if c == "\\", i + 1 < chars.count {
                        let n = chars[i + 1]
                        val.append(n == "n" ? "\n" : n); i += 2; continue
                    }
                    if c == "\"" { closed = true; i += 1; break }
                    val.append(c); i += 1
                }
                guard closed else { return nil }
                labels[key.trimmingCharacters(in: .whitespaces)] = val
            }
        }
        let rest = String(chars[i...]).trimmingCharacters(in: .whitespaces)
        guard let first = rest.split(separator: " ").first else { return nil }
        let value: Double
        switch first {
        case "NaN": value = .nan
        case "+Inf", "Inf": value = .infinity
        case "-Inf": value = -.infinity
        default:
            guard let v = Double(first) else { return nil }
            value = v
        }
        return MetricSample(name: name, labels: labels, value: value)
    }
}
