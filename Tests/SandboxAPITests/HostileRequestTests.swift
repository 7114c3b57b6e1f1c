import Foundation
import NIOHTTP1
import Sandbox
import Testing
@testable import SandboxAPI

/// The request parsing the server does before any state is touched (target, query, path
/// grammar, JSON bodies, protobuf envelopes) never traps on hostile input: seeded random bytes
/// and known nasty cases. (The server's end-to-end survival of garbage over TLS is checked by
/// hand, see the commit log; kubectl's own bad input by KubectlConformanceTests.)
@Suite struct HostileRequestTests {
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    static let alphabet = Array("/?&=%+:.-_{}[]\",:0123456789abcdefghijklmnopqrstuvwxyzAPI \\\u{0}\u{7f}é".unicodeScalars)

    @Test func randomTargetsParse() {
        var rng = SeededRandom(state: 42)
        for _ in 0..<5000 {
            let n = Int.random(in: 0..<120, using: &rng)
            var s = String.UnicodeScalarView()
            for _ in 0..<n { s.append(Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &rng)]) }
            let r = APIRequest(method: [.GET, .POST, .PATCH, .DELETE, .PUT][Int.random(in: 0..<5, using: &rng)], uri: String(s), headers: HTTPHeaders())
            let info = RequestInfo(r)
            _ = info.metricVerb
            _ = r.queryAll("command")
        }
    }

    @Test func randomBodiesAreStatusErrorsOrValues() {
        var rng = SeededRandom(state: 7)
        let pieces = ["{", "}", "[", "]", "\"", ":", ",", "1", "-", "e9", "null", "true", "\\u12", "\\", " ", "\"k\"", "💥"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0..<60, using: &rng)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &rng)] }.joined()
            var h = HTTPHeaders()
            h.add(name: "Content-Type", value: "application/json")
            let r = APIRequest(method: .PATCH, uri: "/x", headers: h, body: Array(text.utf8))
            do { _ = try Router.parseBody(r) } catch let s as APIStatus {
                #expect(s.code == 400)
            } catch {
                Issue.record("not a Status: \(error)")
            }
        }
    }

    @Test func deepNestingIsRefusedNotRecursed() throws {
        var h = HTTPHeaders()
        h.add(name: "Content-Type", value: "application/merge-patch+json")
        let r = APIRequest(method: .PATCH, uri: "/x", headers: h, body: Array(String(repeating: "[", count: 100_000).utf8))
        #expect(throws: APIStatus.self) { try Router.parseBody(r) }
    }

    @Test func randomProtobufEnvelopes() {
        var rng = SeededRandom(state: 99)
        for _ in 0..<5000 {
            var bytes: [UInt8] = KubeProtobuf.magic
            for _ in 0..<Int.random(in: 0..<80, using: &rng) { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            _ = KubeProtobuf.selfSubjectAccessReview(bytes)
        }
        // A well-formed one: spec.resourceAttributes {verb: "create", resource: "pods", subresource: "exec"}.
        func field(_ n: UInt8, _ payload: [UInt8]) -> [UInt8] { [n << 3 | 2, UInt8(payload.count)] + payload }
        let ra = field(2, Array("create".utf8)) + field(5, Array("pods".utf8)) + field(6, Array("exec".utf8))
        let ssar = field(2, field(1, ra))
        let env = KubeProtobuf.magic + field(1, field(2, Array("SelfSubjectAccessReview".utf8))) + field(2, ssar)
        let j = KubeProtobuf.selfSubjectAccessReview(env)
        #expect(j?["spec"]?["resourceAttributes"]?["subresource"]?.stringValue == "exec")
        #expect(j?["spec"]?["resourceAttributes"]?["verb"]?.stringValue == "create")
    }
}
