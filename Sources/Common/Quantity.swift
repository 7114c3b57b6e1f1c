import Foundation

/// Kubernetes resource quantities ("512Mi", "1Gi", "500M", "1e9", "128974848", "1.5Gi", "100m"),
/// read once here for the dashboard's limits, the runbooks' checks and the sandbox's manifest.
public enum Quantity {
    /// The quantity in base units (bytes for memory), rounded up to a whole unit; nil when malformed.
    public static func parse(_ raw: String) -> Int64? {
        let s = raw.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        let binary: [(String, Double)] = [("Ki", 0x1p10), ("Mi", 0x1p20), ("Gi", 0x1p30), ("Ti", 0x1p40), ("Pi", 0x1p50), ("Ei", 0x1p60)]
        let decimal: [(String, Double)] = [("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18), ("m", 1e-3)]
        var number = s
        var mult = 1.0
        if let (suf, m) = binary.first(where: { s.hasSuffix($0.0) }) {
            number = String(s.dropLast(suf.count)); mult = m
        } else if let (suf, m) = decimal.first(where: { s.hasSuffix($0.0) }), Double(String(s.dropLast(suf.count))) != nil {
            // "1E" is exa, but "1e9" is an exponent: only strip when the rest is a plain number.
            number = String(s.dropLast(suf.count)); mult = m
        }
        guard !number.isEmpty, number.first != "+" || number.count > 1,
              number.allSatisfy({ $0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-" }),
              let v = Double(number), v.isFinite, v >= 0 else { return nil }
        let total = (v * mult).rounded(.up)
        guard total < 9.2e18 else { return nil }
        return Int64(total)
    }

    /// Redis' memory notation for `--maxmemory`: "384mb" when a whole number of MiB, else bytes.
    public static func redisMemory(_ bytes: Int64) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20)mb" : "\(bytes)"
    }
}
