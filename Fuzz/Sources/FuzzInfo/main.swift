import Diagnosis
import CFuzzDriver
import Foundation

// INFO text and CONFIG GET replies, as a hostile or broken Redis (or proxy) could send them.
public func fuzzInfo(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
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

// Entry point (see Package.swift): libFuzzer's driver parses the usual -flags and runs the loop.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzInfo(data, size) }))
