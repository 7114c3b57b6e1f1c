import Crypto
import Foundation
import Sandbox
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#endif

/// The API server's files under the sandbox directory: the port (kept across restarts so the
/// kubeconfig stays valid), the CA and server certificate (DIR/pki/), the two users' bearer
/// tokens, and DIR/kubeconfig. Made once, at the first `up`; later `up`s keep them.
public struct APIServerFiles: Sendable {
    public let layout: SandboxLayout
    public init(layout: SandboxLayout) { self.layout = layout }

    public var pkiDir: URL { layout.root.appendingPathComponent("pki") }
    public var caCert: URL { pkiDir.appendingPathComponent("ca.crt") }
    public var caKey: URL { pkiDir.appendingPathComponent("ca.key") }
    public var serverCert: URL { pkiDir.appendingPathComponent("apiserver.crt") }
    public var serverKey: URL { pkiDir.appendingPathComponent("apiserver.key") }
    public var tokensFile: URL { pkiDir.appendingPathComponent("tokens.json") }
    public var portFile: URL { layout.root.appendingPathComponent("apiserver.port") }
    public var kubeconfig: URL { layout.root.appendingPathComponent("kubeconfig") }
    public var pidFile: URL { layout.root.appendingPathComponent("apiserver.pid") }
    public var logFile: URL { layout.root.appendingPathComponent("apiserver.log") }

    public static let adminUser = "admin"
    public static let viewerUser = "oncall-viewer"

    /// The port the server listens on (127.0.0.1), nil before the first `prepare`.
    public func port() -> Int? {
        guard let text = try? String(contentsOf: portFile, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// user name → token.
    public func tokens() throws -> [String: String] {
        let data = try Data(contentsOf: tokensFile)
        return try JSONDecoder().decode([String: String].self, from: data)
    }

    public var serverURL: String { "https://127.0.0.1:\(port() ?? 0)" }

    /// Creates whatever is missing (port, PKI, tokens, kubeconfig). Idempotent.
    public func prepare() throws {
        try FileManager.default.createDirectory(at: pkiDir, withIntermediateDirectories: true)
        chmod(pkiDir.path, 0o700)
        if port() == nil {
            let p = try Self.freeLoopbackPort()
            try "\(p)\n".write(to: portFile, atomically: true, encoding: .utf8)
        }
        let fm = FileManager.default
        if !fm.fileExists(atPath: caCert.path) || !fm.fileExists(atPath: serverCert.path) || !fm.fileExists(atPath: serverKey.path) {
            try generatePKI()
        }
        if !fm.fileExists(atPath: tokensFile.path) {
            let t = [Self.adminUser: Self.randomToken(), Self.viewerUser: Self.randomToken()]
            let data = try JSONEncoder().encode(t)
            try writePrivate(data, to: tokensFile)
        }
        try writeKubeconfig()
    }

    static func randomToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    func writePrivate(_ data: Data, to url: URL) throws {
        let tmp = url.appendingPathExtension("tmp")
        FileManager.default.createFile(atPath: tmp.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try data.write(to: tmp)
        chmod(tmp.path, 0o600)
        guard rename(tmp.path, url.path) == 0 else { throw SandboxError("cannot write \(url.path): \(String(cString: strerror(errno)))") }
    }

    /// A P-256 CA and a server certificate for 127.0.0.1 / localhost signed by it.
    func generatePKI() throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("redis-runbook-sandbox-ca") }
        let caExtensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: Certificate.PublicKey(caKey.publicKey))
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256, extensions: caExtensions,
            issuerPrivateKey: Certificate.PrivateKey(caKey))

        let serverKey = P256.Signing.PrivateKey()
        let serverName = try DistinguishedName { CommonName("kube-apiserver") }
        let serverExtensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
        }
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(5 * 365 * 86400),
            issuer: caName, subject: serverName, signatureAlgorithm: .ecdsaWithSHA256, extensions: serverExtensions,
            issuerPrivateKey: Certificate.PrivateKey(caKey))

        try writePrivate(Data(caKey.pemRepresentation.utf8), to: self.caKey)
        try writePrivate(Data(serverKey.pemRepresentation.utf8), to: self.serverKey)
        try Data(try ca.serializeAsPEM().pemString.utf8).write(to: caCert)
        try Data(try server.serializeAsPEM().pemString.utf8).write(to: serverCert)
    }

    public func writeKubeconfig() throws {
        let t = try tokens()
        let caData = try Data(contentsOf: caCert).base64EncodedString()
        let text = """
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: \(caData)
            server: \(serverURL)
          name: sandbox
        contexts:
        - context:
            cluster: sandbox
            namespace: default
            user: \(Self.adminUser)
          name: sandbox
        - context:
            cluster: sandbox
            namespace: default
            user: \(Self.viewerUser)
          name: sandbox-viewer
        current-context: sandbox
        preferences: {}
        users:
        - name: \(Self.adminUser)
          user:
            token: \(t[Self.adminUser] ?? "")
        - name: \(Self.viewerUser)
          user:
            token: \(t[Self.viewerUser] ?? "")

        """
        try writePrivate(Data(text.utf8), to: kubeconfig)
    }

    /// A free TCP port on 127.0.0.1 (the kernel's choice for port 0).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SandboxError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw SandboxError("bind: \(String(cString: strerror(errno)))") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
