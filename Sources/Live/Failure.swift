import Diagnosis

/// A failed read: the operator's message and, when kubectl or the API server failed, its
/// classified kind (`KubectlError.Kind` raw value), from which `ClusterAccess` tells a cluster
/// that cannot be read from a thing that is not there.
public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var kind: String?
    public init(message: String, kind: String?) { self.message = message; self.kind = kind }
    public var description: String { message }
    public var isNotFound: Bool { kind == KubectlError.Kind.notFound.rawValue }
}
