// swift-tools-version: 6.2
// libFuzzer targets for the parsers that read untrusted input. Build and run with `make fuzz`
// (scripts/fuzz.sh): swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library.
import PackageDescription

let package = Package(
    name: "redis-runbook-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "redis-runbook", path: "..")],
    targets: [
        .executableTarget(name: "FuzzInfo", dependencies: [.product(name: "RedisRunbookCore", package: "redis-runbook")]),
        .executableTarget(name: "FuzzKubeJSON", dependencies: [.product(name: "RedisRunbookCore", package: "redis-runbook")]),
        .executableTarget(name: "FuzzRunbook", dependencies: [.product(name: "RedisRunbookCore", package: "redis-runbook")]),
    ]
)
