import CFuzzDriver
import Foundation
import Runbooks

// Runbook YAML from a team's own folder: every validation error, anchors that expand, long lines.
public func fuzzRunbook(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let d = Data(bytes: data, count: size)
    _ = RunbookLoader.parse(data: d, file: "fuzz.yaml")
    _ = try? Condition.parse(String(decoding: d, as: UTF8.self))
    return 0
}

// Entry point (see Package.swift): libFuzzer's driver parses the usual -flags and runs the loop.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzRunbook(data, size) }))
