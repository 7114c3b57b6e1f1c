import Foundation
import Testing
@testable import Diagnosis

/// The hand-written RFC 3339 reader/writer must agree with Foundation's ISO 8601 formatter on
/// every form Kubernetes writes, and refuse what is not a time.
@Suite struct RFC3339Tests {
    static func reference(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)
    }

    @Test(arguments: [
        "2024-07-01T21:35:03Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2026-11-26T23:55:38Z",
        "1999-12-31T23:59:59Z", "2100-03-01T00:00:00Z", "2024-07-01T21:35:03+02:00", "2024-07-01T21:35:03-05:30",
        "2024-07-01T21:35:03.5Z", "2024-07-01T21:35:03.123Z", "1969-07-20T20:17:40Z",
    ])
    func agreesWithFoundation(_ s: String) throws {
        let ours = try #require(RFC3339.parse(s), "\(s) did not parse")
        let ref = try #require(Self.reference(s))
        #expect(abs(ours.timeIntervalSince1970 - ref.timeIntervalSince1970) < 0.001, "\(s): \(ours) vs \(ref)")
    }

    @Test(arguments: ["", "2024-07-01", "2024-07-01T21:35:03", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                      "2024-07-01T24:00:00Z", "2024-07-01T21:35:03ZZ", "2024-07-01T21:35:03.Z", "yesterday at noon",
                      "2024-07-01T21:35:03+2:00", "２０２４-07-01T21:35:03Z"])
    func refusesWhatIsNotATime(_ s: String) {
        #expect(RFC3339.parse(s) == nil, "\(s) parsed")
    }

    @Test func formatsAsKubernetesDoesAndRoundTrips() throws {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_719_869_703.9)) == "2024-07-01T21:35:03Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        var t = -86_400.0 * 400
        while t < 86_400.0 * 365 * 80 {
            let d = Date(timeIntervalSince1970: t)
            #expect(RFC3339.format(d) == f.string(from: d))
            #expect(RFC3339.parse(RFC3339.format(d))?.timeIntervalSince1970 == t)
            t += 86_400 * 37 + 7_777   // whole seconds: Kubernetes times have none below
        }
    }

    /// The incident log's times (milliseconds), as Foundation's formatter wrote them before.
    @Test func formatsFractionsAsTheIncidentLogDid() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        for t in [0.0, 1_719_869_703.25, 1_719_869_703.999, 1_800_000_000.5, 1_719_869_703.042] {
            let d = Date(timeIntervalSince1970: t)
            #expect(RFC3339.format(d, fractionDigits: 3) == f.string(from: d), "\(t)")
            #expect(RFC3339.parse(RFC3339.format(d, fractionDigits: 3)).map { abs($0.timeIntervalSince1970 - t) < 0.001 } == true)
        }
        #expect(RFC3339.format(Date(timeIntervalSince1970: 5.5), fractionDigits: 0) == "1970-01-01T00:00:05Z")
    }
}
