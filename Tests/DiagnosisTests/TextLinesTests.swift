import Foundation
import Testing
@testable import Diagnosis

/// The byte-wise line split gives exactly the lines the Character-wise split gave, so the
/// exporter panel, the log findings and the metrics parser read what they read before.
@Suite struct TextLinesTests {
    static func reference(_ text: String) -> [Substring] { text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) }

    @Test(arguments: [
        "", "\n", "\r\n", "\n\n\r\n", "one", "one\n", "one\r\ntwo\r\n", "a\r\r\nb", "a\rb\nc", "a\r", "\r", "\r\r\n",
        "trailing\n\n", "\n\nleading", "é\ncafe\u{301}\n\u{301}x", "👍🏽\r\n👨‍👩‍👧\nend", "  redis_up 1\r\n\tredis_up{a=\"b\"} 0",
    ])
    func sameLinesAsTheCharacterSplit(_ text: String) {
        #expect(TextLines.split(text) == Self.reference(text))
    }

    /// A real redis_exporter 1.45 exposition (53 KB, captured from the sandbox's sidecar): the
    /// same lines, and the exporter panel's `redis_up` line, without `redis_uptime_in_seconds`.
    @Test func realExporterMetrics() throws {
        let text = try Fixture.text("live/redis_exporter-1.45.0_metrics_sandbox.txt")
        #expect(TextLines.split(text) == Self.reference(text))
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(TextLines.split(crlf) == Self.reference(crlf))
        #expect(SnapshotBuilder.exporterUpLines(text) == "redis_up 1")
        #expect(SnapshotBuilder.exporterUpLines(crlf) == "redis_up 1")
        #expect(PrometheusText.parse(text).redisUp == true)
        #expect(PrometheusText.parse(text).value("redis_uptime_in_seconds") == 2677)
    }

    @Test func upLinesKeepLabelsAndLeadingSpaceAndSkipLookalikes() {
        let text = "redis_uptime_in_seconds 5\n  redis_up{addr=\"redis://x:6379\"} 0\r\nredis_upx 1\nredis_up\tNaN\n# redis_up 1\nredis_up"
        #expect(SnapshotBuilder.exporterUpLines(text) == "  redis_up{addr=\"redis://x:6379\"} 0\nredis_up\tNaN\nredis_up")
    }
}
