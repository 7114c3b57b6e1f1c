import Foundation
import Runbooks

// Runbook YAML from a team's own folder: every validation error, anchors that expand, long lines.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunbook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let d = Data(bytes: data, count: size)
    _ = RunbookLoader.parse(data: d, file: "fuzz.yaml")
    _ = try? Condition.parse(String(decoding: d, as: UTF8.self))
    return 0
}
