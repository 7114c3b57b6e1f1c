// swift-tools-version: 6.2
// redis-runbook: a terminal incident tool for Redis on Kubernetes.
//
// Module map (each folder under Sources/ is one module):
//   Pure core (no ncurses, no processes):
//     Render          cell grid, styles and widgets; views draw into it
//     Diagnosis       parsers (INFO, kubectl JSON, exporter metrics), the Snapshot, findings, ADR checks
//     Runbooks        runbook model, YAML loader/validator, conditions, interpreter, incident log format
//     MemoryAnalysis  keyspace sizing logic (patterns, BullMQ layout) over an abstract Redis session
//     App             the TUI as update(model, msg) -> effects, keybindings as data, screens
//   Edges:
//     CNcursesw       system library: Debian's ncursesw
//     Terminal        the only importer of ncurses: paints a Render.Grid diff, reads keys
//     ProcessRunner   the only place that spawns: timeouts, process groups, line sessions, recorder
//     Live            data access: kubectl and the persistent redis-cli session, probes
//     Sandbox         the local cluster of real redis-server pods (state, kubelet/controllers, faults)
//     SandboxAPI      the sandbox's Kubernetes API server (SwiftNIO HTTPS + WebSocket), for the real kubectl
//   Command line:
//     SandboxCommands the sandbox's subcommands (up, down, fault, ...), used by redis-runbook-sandbox
//     CLI             the commands as types (swift-argument-parser), wiring everything together
//     redis-runbook   the incident tool's executable: runs CLI (links no sandbox target)
//     redis-runbook-sandbox  the sandbox's own executable: up/seed/fault/heal/status/env/down, daemon, apiserver
//     redis-runbook-watchdog a few lines of C: runs the tool's `kubectl proxy` and ends it when the tool is gone
//     redis-runbook-exec-relay a little C: the dashboard's `kubectl exec -i` as a WebSocket through that proxy
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "redis-runbook",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "redis-runbook", targets: ["redis-runbook"]),
        .executable(name: "redis-runbook-sandbox", targets: ["redis-runbook-sandbox"]),
        // Started by the tool in front of its `kubectl proxy`: ends it when the tool is gone (C, ~1 MB).
        .executable(name: "redis-runbook-watchdog", targets: ["redis-runbook-watchdog"]),
        // The dashboard's Redis session through that proxy (`kubectl exec -i` without a second kubectl; C, ~1 MB).
        .executable(name: "redis-runbook-exec-relay", targets: ["redis-runbook-exec-relay"]),
        // The pure core as a library, for the fuzz targets in Fuzz/ (built with -sanitize=fuzzer).
        .library(name: "RedisRunbookCore", targets: ["Diagnosis", "Runbooks", "Render", "MemoryAnalysis"]),
        // For Fuzz/ (FuzzAPIRequest): the API server's request parsing lives in Sandbox (APIParse), free of SwiftNIO.
        .library(name: "SandboxAPIParsing", targets: ["Sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The sandbox's Kubernetes API server (SandboxAPI): HTTP/1.1, TLS and WebSocket on SwiftNIO,
        // its CA and certificates from swift-certificates / swift-crypto.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(name: "CNcursesw", path: "Sources/CNcursesw"),
        .target(name: "Common", swiftSettings: strict),
        .target(name: "Render", swiftSettings: strict),
        .target(name: "Diagnosis", dependencies: ["Common"], swiftSettings: strict),
        .target(name: "Runbooks", dependencies: ["Common", "Yams"], swiftSettings: strict),
        .target(name: "MemoryAnalysis", swiftSettings: strict),
        .target(name: "App", dependencies: ["Render", "Diagnosis", "Runbooks", "MemoryAnalysis"], swiftSettings: strict),
        .target(name: "Terminal", dependencies: ["CNcursesw", "Render"], swiftSettings: strict),
        .target(name: "ProcessRunner", swiftSettings: strict),
        .target(name: "Live", dependencies: ["ProcessRunner", "Diagnosis", "MemoryAnalysis"], swiftSettings: strict),
        .target(name: "Sandbox", dependencies: ["Common", "ProcessRunner", "Yams"], swiftSettings: strict),
        .target(
            name: "SandboxCommands",
            dependencies: ["Sandbox", "ProcessRunner", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .target(
            name: "CLI",
            dependencies: [
                "App", "Terminal", "Live", "Runbooks", "Diagnosis", "MemoryAnalysis", "ProcessRunner", "Render", "Yams",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "redis-runbook", dependencies: ["CLI"], swiftSettings: strict),
        .executableTarget(name: "redis-runbook-watchdog", path: "Sources/redis-runbook-watchdog"),
        .executableTarget(name: "redis-runbook-exec-relay", path: "Sources/redis-runbook-exec-relay"),
        .target(
            name: "SandboxAPI",
            dependencies: [
                "Sandbox", "ProcessRunner",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "redis-runbook-sandbox",
            dependencies: ["Sandbox", "SandboxAPI", "SandboxCommands", "ProcessRunner", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(name: "RenderBench", dependencies: ["App", "Render", "Diagnosis"], swiftSettings: strict),
        .testTarget(name: "RenderTests", dependencies: ["Render"], swiftSettings: strict),
        .testTarget(name: "ProcessRunnerTests", dependencies: ["ProcessRunner"], swiftSettings: strict),
        .testTarget(name: "DiagnosisTests", dependencies: ["Diagnosis"], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "RunbooksTests", dependencies: ["Runbooks", "SandboxFixture"], swiftSettings: strict),
        .testTarget(name: "MemoryAnalysisTests", dependencies: ["MemoryAnalysis", "Live", "ProcessRunner"], swiftSettings: strict),
        .testTarget(name: "AppTests", dependencies: ["App", "Render", "Diagnosis", "MemoryAnalysis", "Runbooks"], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "ProcessRunner", "SandboxFixture"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["CLI"], swiftSettings: strict),
        // A started sandbox with its API server and the real kubectl binaries, for any test target.
        .target(name: "SandboxFixture", dependencies: ["ProcessRunner"], path: "Tests/SandboxFixture", swiftSettings: strict),
        .target(name: "APISandboxTestSupport", dependencies: ["Sandbox", "ProcessRunner", "SandboxFixture"], path: "Tests/APISandboxTestSupport", swiftSettings: strict),
        .testTarget(name: "SandboxAPITests", dependencies: ["SandboxAPI", "Sandbox", "ProcessRunner", "APISandboxTestSupport", "SandboxFixture"], swiftSettings: strict),
        .target(name: "TmuxTestSupport", path: "Tests/TmuxTestSupport", swiftSettings: strict),
        .testTarget(name: "EndToEndTests", dependencies: ["ProcessRunner", "TmuxTestSupport", "SandboxFixture"], swiftSettings: strict),
        .testTarget(name: "HostileInputTests", dependencies: ["Diagnosis", "Runbooks", "Render", "MemoryAnalysis"], resources: [.copy("Corpus")], swiftSettings: strict),
        // Alerts, runbook pages, the alert command, kubectl and k9s plugins, make install (issue 17).
        .testTarget(name: "AlertsTests", dependencies: ["CLI", "Runbooks", "ProcessRunner", "TmuxTestSupport", "Yams"], swiftSettings: strict),
        .testTarget(name: "ReliabilityTests", dependencies: ["ProcessRunner", "Sandbox", "Runbooks", "Diagnosis", "Live", "TmuxTestSupport", "SandboxFixture"], swiftSettings: strict),
    ]
)
