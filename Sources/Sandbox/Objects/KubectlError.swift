import Foundation

/// An error of the object layer in kubectl's words (`Error from server (NotFound): ...`); the
/// API server turns it into a Status.
public struct KubectlError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var code: Int32
    public init(_ message: String, code: Int32 = 1) { self.message = message; self.code = code }
    public var description: String { message }

    public static func notFound(_ resource: String, _ name: String) -> KubectlError {
        KubectlError("Error from server (NotFound): \(resource) \"\(name)\" not found")
    }
}

