import CFuzzDriver
import Foundation
import Sandbox

// The sandbox API server's request parsing (Sandbox's APIParse, what SandboxAPI runs before it
// touches any state), without a socket. Input: the request target on the first line
// ("/api/v1/namespaces/default/pods?labelSelector=...&limit=1&continue=..."), the Content-Type on
// the second, the body after it. Every bad input must come back as an APIParseError (a Status),
// never a crash.
let podFieldLabels: [String: [String]] = [
    "metadata.name": ["metadata", "name"], "metadata.namespace": ["metadata", "namespace"],
    "status.phase": ["status", "phase"], "spec.nodeName": ["spec", "nodeName"],
    "involvedObject.name": ["involvedObject", "name"],
]
// (Parsed per input, not held in a global: LeakSanitizer cannot see the pointers in a global
// indirect enum's spare bits and reports its boxes as leaked at exit.)
let podText = """
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"redis-0","namespace":"default","labels":{"app":"redis"},"resourceVersion":"7"},
 "spec":{"nodeName":"sandbox-node-1","containers":[{"name":"redis","image":"redis:7","env":[{"name":"A","value":"1"}],
 "resources":{"limits":{"memory":"512Mi"}}},{"name":"redis-exporter","image":"oliver006/redis_exporter"}]},
 "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}
"""

public func fuzzAPIRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let nl = UInt8(ascii: "\n")
    let first = bytes.firstIndex(of: nl) ?? bytes.endIndex
    let rest = first < bytes.endIndex ? Array(bytes[(first + 1)...]) : []
    let second = rest.firstIndex(of: nl) ?? rest.endIndex
    let uri = String(decoding: bytes[..<first], as: UTF8.self)
    let contentType = String(decoding: rest[..<second], as: UTF8.self)
    let body = second < rest.endIndex ? Array(rest[(second + 1)...]) : []

    let (path, query) = APIParse.target(uri)
    _ = APIParse.pathInfo(path)
    func q(_ name: String) -> String? { query.first { $0.name == name }?.value }
    for (name, value) in query where ["watch", "follow", "previous", "timestamps", "stdin", "stdout", "stderr", "tty"].contains(name) {
        if APIParse.bool(value) == nil { _ = APIParse.boolError(value, kind: "PodLogOptions") }
    }
    if let sel = try? APIParse.labelSelector(q("labelSelector")) { _ = sel.matches(["app": "redis", "statefulset.kubernetes.io/pod-name": "redis-0"]) }
    _ = try? APIParse.fieldSelector(q("fieldSelector"), fieldLabels: podFieldLabels)
    _ = try? APIParse.continueStart(q("continue"))
    _ = APIParse.limit(q("limit"))
    let type = try? APIParse.patchType(contentType: contentType)
    let pod = (try? KctlJSON.parse(podText)) ?? .object([:])
    if let patch = try? APIParse.jsonBody(body) {
        for t in [type ?? .merge, .merge, .json, .strategic] {
            if let out = try? APIParse.applyPatch(pod, t, patch) { _ = out.compact() }
        }
    }
    return 0
}

// Entry point (see Package.swift): libFuzzer's driver parses the usual -flags and runs the loop.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzAPIRequest(data, size) }))
