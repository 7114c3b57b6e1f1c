import Diagnosis
import Foundation

// INFO text and CONFIG GET replies, as a hostile or broken Redis (or proxy) could send them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInfo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let info = RedisInfo.parse(text)
    _ = info.keyspace
    _ = info.errorStats
    _ = info.commandStats
    _ = RedisConfig.parseGetReply(text)
    _ = PrometheusText.parse(text).value("redis_up")
    _ = LogScan.scan(text)
    var input = SnapshotInputs(now: Date(timeIntervalSince1970: 1_800_000_000))
    input.infoText = text
    input.metricsText = text
    input.previousLogText = text
    _ = SnapshotJSON.encode(SnapshotBuilder.build(input))
    return 0
}
