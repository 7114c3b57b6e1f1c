import Foundation
import Sandbox
import Testing

/// The API server's request parsing (Sandbox's APIParse, fuzzed by Fuzz/Sources/FuzzAPIRequest):
/// bad input is the Status a real server sends (code, reason, message), never a crash; the
/// requests kubectl and the fuzz seeds send parse as before.
@Suite struct APIParseTests {
    /// The Status a parse throws (nil when it succeeds); any other error fails the test.
    func status(_ body: () throws -> Void) -> APIParseError? {
        do { try body(); return nil } catch let e as APIParseError { return e } catch {
            Issue.record("not a Status: \(error)"); return nil
        }
    }

    @Test func targetPathAndQuery() {
        let (path, q) = APIParse.target("/api/v1/namespaces/default/pods?labelSelector=app%3Dredis&limit=1&command=a+b&command=%ZZ")
        #expect(path == "/api/v1/namespaces/default/pods")
        #expect(q.map(\.name) == ["labelSelector", "limit", "command", "command"])
        #expect(q.map(\.value) == ["app=redis", "1", "a b", "%ZZ"])  // undecodable: kept as sent
        let p = APIParse.pathInfo("/apis/apps/v1/namespaces/default/statefulsets/redis/scale")
        #expect(p.isResource && p.group == "apps" && p.namespace == "default" && p.resource == "statefulsets" && p.name == "redis" && p.subresource == "scale")
        #expect(APIParse.pathInfo("/api/v1/namespaces/default/pods/redis-0:9121/proxy/metrics").subpath == "/metrics")
        #expect(!APIParse.pathInfo("/version").isAPI)
    }

    @Test func badQueryValuesAreBadRequests() throws {
        #expect(APIParse.bool("yes") == nil && APIParse.bool("") == true && APIParse.bool("F") == false)
        #expect(APIParse.boolError("yes", kind: "PodLogOptions").message
                == #"PodLogOptions in version "v1" cannot be handled as a PodLogOptions: strconv.ParseBool: parsing "yes": invalid syntax"#)
        let cont = status { _ = try APIParse.continueStart("not-base64!") }
        #expect(cont == .badRequest("continue key is not valid: illegal base64 data at input byte 0"))
        #expect(status { _ = try APIParse.continueStart(Data("{\"x\":1}".utf8).base64EncodedString()) }?.code == 400)
        #expect(try APIParse.continueStart(Data(#"{"start":"redis-0"}"#.utf8).base64EncodedString()) == "redis-0")
        #expect(APIParse.limit("0") == nil && APIParse.limit("x") == nil && APIParse.limit("-3") == nil && APIParse.limit("2") == 2)
        let field = status { _ = try APIParse.fieldSelector("spec.bogus=1", fieldLabels: ["metadata.name": ["metadata", "name"]]) }
        #expect(field == .badRequest("field label not supported: spec.bogus"))
        #expect(status { _ = try APIParse.fieldSelector("metadata.name", fieldLabels: [:]) } == .badRequest("invalid selector: 'metadata.name'; can't understand 'metadata.name'"))
        // One prefix, not "unable to parse requirement: unable to parse requirement: ..." (found while testing the fuzz target).
        let label = status { _ = try APIParse.labelSelector("a%b") }
        #expect(label == .badRequest("unable to parse requirement: found 'a%b', expected: identifier"), "\(String(describing: label))")
    }

    @Test func badBodiesAndPatchesAreStatusErrors() throws {
        #expect(status { _ = try APIParse.jsonBody([]) }?.code == 400)
        #expect(status { _ = try APIParse.jsonBody([0xFF, 0xFE]) } == .badRequest("invalid UTF-8 in the request body"))
        #expect(status { _ = try APIParse.jsonBody(Array(String(repeating: "[", count: 100_000).utf8)) } == .badRequest("json: exceeded max depth"))
        #expect(status { _ = try APIParse.jsonBody(Array("{\"a\":".utf8)) }?.message.hasPrefix("error decoding the request body: ") == true)
        #expect(status { _ = try APIParse.patchType(contentType: "application/apply-patch+yaml") }?.code == 415)
        #expect(status { _ = try APIParse.patchType(contentType: "text/plain") }?.reason == "UnsupportedMediaType")
        #expect(try APIParse.patchType(contentType: "application/strategic-merge-patch+json; charset=utf-8") == .strategic)

        let sts = try KctlJSON.parse(#"{"kind":"StatefulSet","metadata":{"name":"redis"},"spec":{"replicas":1}}"#)
        #expect(status { _ = try APIParse.applyPatch(sts, .json, try! KctlJSON.parse("{}")) }
                == .badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch"))
        #expect(status { _ = try APIParse.applyPatch(sts, .merge, try! KctlJSON.parse("[1]")) }
                == .badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}"))
        #expect(status { _ = try APIParse.applyPatch(sts, .json, try! KctlJSON.parse(#"[{"op":"test","path":"/spec/replicas","value":3}]"#)) }?.code == 400)
        let scaled = try APIParse.applyPatch(sts, .json, try KctlJSON.parse(#"[{"op":"replace","path":"/spec/replicas","value":0}]"#))
        #expect(scaled["spec"]?["replicas"] == .int(0))
    }

    /// The fuzz seeds (Fuzz/Seeds): every request target parses, every body is a value or a Status.
    @Test func fuzzSeedsParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let targets = try String(contentsOf: root.appendingPathComponent("Fuzz/Seeds/api-targets.txt"), encoding: .utf8)
        for line in targets.split(separator: "\n") {
            let (path, _) = APIParse.target(String(line))
            #expect(path.hasPrefix("/"), "\(line)")
        }
        let dir = root.appendingPathComponent("Fuzz/Seeds/api-bodies")
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            let lines = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
            let type = try APIParse.patchType(contentType: String(lines[1]))
            let body = try APIParse.jsonBody(Array(lines[2].utf8))
            let target = try KctlJSON.parse(#"{"kind":"StatefulSet","metadata":{"name":"redis","labels":{}},"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"redis","env":[{"name":"A","value":"1"}]}]}}}}"#)
            do { _ = try APIParse.applyPatch(target, type, body) } catch { #expect(error.code >= 400 && error.code < 500, "\(f): \(error)") }
        }
    }
}
