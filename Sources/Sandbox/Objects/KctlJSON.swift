import Foundation

/// A JSON value with the printing rules of kubectl's `-o json` (Go's encoding/json through an
/// unstructured map): object keys sorted, 4-space indentation, `<`, `>`, `&`, U+2028 and U+2029
/// escaped as \u00XX, slashes not escaped, non-ASCII printed as is.
public indirect enum KctlJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([KctlJSON])
    case object([String: KctlJSON])

    public subscript(key: String) -> KctlJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded(): return Int64(d)
        default: return nil
        }
    }
    public var arrayValue: [KctlJSON]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [String: KctlJSON]? { if case .object(let o) = self { return o }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }

    /// Printed as kubectl prints an object (trailing newline included).
    public func kubectlJSON() -> String {
        var out = ""
        write(into: &out, indent: 0)
        out += "\n"
        return out
    }

    /// Single-line form (no spaces), as Go's json.Marshal.
    public func compact() -> String {
        var out = ""
        writeCompact(into: &out)
        return out
    }

    private func write(into out: inout String, indent: Int) {
        switch self {
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += String(repeating: " ", count: (indent + 1) * 4)
                item.write(into: &out, indent: indent + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent * 4) + "]"
        case .object(let dict):
            if dict.isEmpty { out += "{}"; return }
            out += "{\n"
            let keys = dict.keys.sorted(by: KctlJSON.goKeyOrder)
            for (i, key) in keys.enumerated() {
                out += String(repeating: " ", count: (indent + 1) * 4)
                KctlJSON.writeString(key, into: &out)
                out += ": "
                dict[key]!.write(into: &out, indent: indent + 1)
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent * 4) + "}"
        default:
            writeCompact(into: &out)
        }
    }

    private func writeCompact(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) } else { out += String(d) }
        case .string(let s): KctlJSON.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeCompact(into: &out)
            }
            out += "]"
        case .object(let dict):
            out += "{"
            for (i, key) in dict.keys.sorted(by: KctlJSON.goKeyOrder).enumerated() {
                if i > 0 { out += "," }
                KctlJSON.writeString(key, into: &out)
                out += ":"
                dict[key]!.writeCompact(into: &out)
            }
            out += "}"
        }
    }

    /// Go sorts map keys by their bytes.
    static func goKeyOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += String(format: "\\u%04x", scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    // MARK: parsing

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses JSON text (objects, arrays, scalars).
    public static func parse(_ text: String) throws -> KctlJSON {
        var p = Parser(bytes: Array(text.utf8))
        p.skipSpace()
        let v = try p.value()
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.fail("invalid character after top-level value") }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0
        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ why: String) -> ParseError { ParseError(description: "\(why) (at offset \(i))") }
        mutating func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 } }
        mutating func expect(_ word: String) throws {
            for b in word.utf8 {
                guard i < bytes.count, bytes[i] == b else { throw fail("invalid literal") }
                i += 1
            }
        }
        mutating func value() throws -> KctlJSON {
            guard i < bytes.count else { throw fail("unexpected end of JSON input") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var o: [String: KctlJSON] = [:]
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected string key") }
                    let k = try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                    o[k] = try value()
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end of JSON input") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1
                var a: [KctlJSON] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                while true {
                    skipSpace()
                    a.append(try value())
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end of JSON input") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default:
                let start = i
                while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
                let text = String(decoding: bytes[start..<i], as: UTF8.self)
                if let n = Int64(text) { return .int(n) }
                if let d = Double(text), !text.isEmpty { return .double(d) }
                throw fail("invalid character")
            }
        }
        mutating func string() throws -> String {
            i += 1
            var out = [UInt8]()
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if b == UInt8(ascii: "\\") {
                    guard i < bytes.count else { break }
                    let e = bytes[i]; i += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count, var code = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else { throw fail("bad escape") }
                        i += 4
                        if (0xD800..<0xDC00).contains(code), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                           let low = UInt32(String(decoding: bytes[i + 2..<i + 6], as: UTF8.self), radix: 16), (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        }
                        out += Array(String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8)
                    default: out.append(e)
                    }
                } else {
                    out.append(b)
                }
            }
            throw fail("unexpected end of JSON input")
        }
    }
}

extension KctlJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: KctlJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, KctlJSON)...) {
        var o: [String: KctlJSON] = [:]
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
    public init(nilLiteral: ()) { self = .null }
}
