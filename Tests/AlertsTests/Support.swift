import Foundation

/// The repository root (this file is Tests/AlertsTests/Support.swift).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct AlertsTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
