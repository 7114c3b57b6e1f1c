import Diagnosis
import CFuzzDriver
import Foundation

// kubectl -o json output: truncated, wrong types, deeply nested, huge.
public func fuzzKubeJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let d = Data(bytes: data, count: size)
    var input = SnapshotInputs(now: Date(timeIntervalSince1970: 1_800_000_000))
    input.pod = try? KubeJSON.pod(from: d)
    input.node = try? KubeJSON.node(from: d)
    input.events = try? KubeJSON.events(from: d)
    _ = try? KubeJSON.statefulSets(from: d)
    _ = try? KubeJSON.pvcs(from: d)
    _ = KubectlError.classify(stderr: String(decoding: d, as: UTF8.self), exitCode: 1)
    _ = SnapshotJSON.encode(SnapshotBuilder.build(input))
    return 0
}

// Entry point (see Package.swift): libFuzzer's driver parses the usual -flags and runs the loop.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzKubeJSON(data, size) }))
