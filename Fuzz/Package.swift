// swift-tools-version: 6.2
// libFuzzer targets for the parsers that read untrusted input. Build and run with `make fuzz`
// (scripts/fuzz.sh): swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld.
//
// SwiftPM links an executable's top-level code as `<Target>_main` and makes `main` point to it,
// so libFuzzer's `main` cannot be used: each main.swift hands its callback to
// LLVMFuzzerRunDriver (declared by CFuzzDriver). Do not build with -parse-as-library.
import PackageDescription

let package = Package(
    name: "redis-runbook-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "redis-runbook", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(name: "FuzzInfo", dependencies: ["CFuzzDriver", .product(name: "RedisRunbookCore", package: "redis-runbook")]),
        .executableTarget(name: "FuzzKubeJSON", dependencies: ["CFuzzDriver", .product(name: "RedisRunbookCore", package: "redis-runbook")]),
        .executableTarget(name: "FuzzRunbook", dependencies: ["CFuzzDriver", .product(name: "RedisRunbookCore", package: "redis-runbook")]),
        // The sandbox API server's request parsing (Sandbox's APIParse), without SwiftNIO.
        .executableTarget(name: "FuzzAPIRequest", dependencies: ["CFuzzDriver", .product(name: "SandboxAPIParsing", package: "redis-runbook")]),
    ]
)
