import Common
import Foundation
import Testing
@testable import App

/// The dashboard's numbers are formatted by hand (no `String(format:)` per frame): they must
/// read exactly as printf would print them.
@Suite struct FormatTests {
    @Test func fixedMatchesPrintf() {
        var values: [Double] = [0, 1, -1, 0.5, 1.5, 2.5, 9.995, 99.95, 123.456, 1023.999, 3.17, -0.004, 4.54, 0.05, 1e9 + 0.25]
        var x = 0.000_37
        while x < 5e6 { values.append(x); values.append(-x * 1.7); x *= 3.1 }
        for v in values {
            for d in 0...3 {
                var printf = String(format: "%.\(d)f", v)
                // One deliberate difference: a value that rounds to zero reads "0", never "-0".
                if printf.hasPrefix("-"), printf.allSatisfy({ $0 == "-" || $0 == "0" || $0 == "." }) { printf.removeFirst() }
                let ours = Fmt.fixed(v, d)
                // Exact halves may round either way in binary; everything else must match.
                let scaled = abs(v) * pow(10, Double(d))
                if abs(scaled - scaled.rounded(.down) - 0.5) < 1e-9 { continue }
                #expect(ours == printf, "\(v) with \(d) decimals: \(ours) vs printf \(printf)")
            }
        }
        #expect(Fmt.fixed(.nan, 1) == "nan")
        #expect(Fmt.fixed(.infinity, 1) == "inf")
    }

    @Test func sizesAndPercentagesReadAsBefore() {
        #expect(Fmt.bytes(512) == "512B")
        #expect(Fmt.bytes(3_325_000) == "3.17M")
        #expect(Fmt.bytes(12_900) == "12.6K")
        #expect(Fmt.bytes(402_653_184) == "384M")
        #expect(Fmt.bytes(nil) == "—")
        #expect(Fmt.percent(0.0126) == "1%")
        #expect(Fmt.percent(0.996) == "100%")
        #expect(Fmt.percent(nil) == "—")
    }
}
