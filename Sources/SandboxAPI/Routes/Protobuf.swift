import Foundation
import Sandbox

/// Just enough of Kubernetes' protobuf encoding to read what kubectl sends as protobuf:
/// the `SelfSubjectAccessReview` of `kubectl auth can-i` (typed clients prefer
/// `application/vnd.kubernetes.protobuf`). The answer goes back as JSON, which kubectl accepts.
///
/// Wire format: the magic "k8s\0", then runtime.Unknown { typeMeta=1 {apiVersion=1, kind=2},
/// raw=2, contentEncoding=3, contentType=4 }; `raw` is the object's own message.
enum KubeProtobuf {
    static let magic: [UInt8] = [0x6b, 0x38, 0x73, 0x00]

    struct Field { var number: Int; var wireType: Int; var bytes: ArraySlice<UInt8>; var varint: UInt64 }

    /// The fields of one message; nil on malformed input (never traps).
    static func fields(_ data: ArraySlice<UInt8>) -> [Field]? {
        var out: [Field] = []
        var i = data.startIndex
        func varint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < data.endIndex {
                let b = data[i]; i += 1
                v |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }
        while i < data.endIndex {
            guard let key = varint() else { return nil }
            let number = Int(key >> 3), wt = Int(key & 7)
            switch wt {
            case 0:
                guard let v = varint() else { return nil }
                out.append(Field(number: number, wireType: 0, bytes: [], varint: v))
            case 2:
                guard let len = varint(), len <= UInt64(data.endIndex - i) else { return nil }
                let end = i + Int(len)
                out.append(Field(number: number, wireType: 2, bytes: data[i..<end], varint: 0))
                i = end
            case 1:
                guard data.endIndex - i >= 8 else { return nil }
                i += 8
            case 5:
                guard data.endIndex - i >= 4 else { return nil }
                i += 4
            default: return nil
            }
        }
        return out
    }

    static func string(_ f: [Field], _ n: Int) -> String? {
        f.last { $0.number == n && $0.wireType == 2 }.map { String(decoding: $0.bytes, as: UTF8.self) }
    }
    static func message(_ f: [Field], _ n: Int) -> [Field]? {
        f.last { $0.number == n && $0.wireType == 2 }.flatMap { fields($0.bytes) }
    }

    /// (kind, raw object bytes) of an envelope.
    static func unwrap(_ body: [UInt8]) -> (kind: String, raw: ArraySlice<UInt8>)? {
        guard body.count >= 4, Array(body[0..<4]) == magic, let env = fields(body[4...]) else { return nil }
        let kind = message(env, 1).flatMap { string($0, 2) } ?? ""
        guard let raw = env.last(where: { $0.number == 2 && $0.wireType == 2 })?.bytes else { return nil }
        return (kind, raw)
    }

    /// A SelfSubjectAccessReview as the JSON the router handles.
    static func selfSubjectAccessReview(_ body: [UInt8]) -> KctlJSON? {
        guard let (kind, raw) = unwrap(body), kind.isEmpty || kind == "SelfSubjectAccessReview", let ssar = fields(raw) else { return nil }
        let spec = message(ssar, 2) ?? []
        var specJSON: [String: KctlJSON] = [:]
        if let ra = message(spec, 1) {
            var o: [String: KctlJSON] = [:]
            for (n, key) in [(1, "namespace"), (2, "verb"), (3, "group"), (4, "version"), (5, "resource"), (6, "subresource"), (7, "name")] {
                if let v = string(ra, n), !v.isEmpty { o[key] = .string(v) }
            }
            specJSON["resourceAttributes"] = .object(o)
        }
        if let nra = message(spec, 2) {
            var o: [String: KctlJSON] = [:]
            if let p = string(nra, 1) { o["path"] = .string(p) }
            if let v = string(nra, 2) { o["verb"] = .string(v) }
            specJSON["nonResourceAttributes"] = .object(o)
        }
        return ["kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": .object(specJSON)]
    }
}
