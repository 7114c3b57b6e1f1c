import Foundation

/// Renders a Redis key (any bytes) as text that is safe to print on a terminal.
///
/// - printable ASCII stays as is, `\` becomes `\\`;
/// - control bytes become `\n`, `\r`, `\t`, `\e` or `\xNN`, DEL becomes `\x7f`;
/// - valid UTF-8 stays readable, except invisible or layout-changing scalars (C1 controls,
///   bidi overrides, zero-width and other format characters, separators, private use,
///   unassigned) which become `\u{XXXX}`;
/// - bytes that are not valid UTF-8 become `\xNN`.
public enum KeyDisplay {
    public static func render(_ bytes: [UInt8]) -> String {
        render(bytes[...])
    }

    public static func render(_ bytes: ArraySlice<UInt8>) -> String {
        // Fast path: plain printable ASCII without backslashes.
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out = ""
        out.reserveCapacity(bytes.count + 8)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b < 0x80 {
                out += escapeASCII(b)
                i += 1
                continue
            }
            if let (scalar, len) = decodeScalar(bytes, at: i) {
                if isVisible(scalar) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                }
                i += len
            } else {
                out += hexByte(b)
                i += 1
            }
        }
        return out
    }

    /// True when `render` would change nothing and the bytes are valid UTF-8.
    public static func isClean(_ bytes: [UInt8]) -> Bool {
        render(bytes) == String(decoding: bytes, as: UTF8.self) && String(validating: bytes, as: UTF8.self) != nil
    }

    static func escapeASCII(_ b: UInt8) -> String {
        switch b {
        case 0x5C: return "\\\\"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x1B: return "\\e"
        case 0x20..<0x7F: return String(UnicodeScalar(b))
        default: return hexByte(b)
        }
    }

    static func hexByte(_ b: UInt8) -> String {
        let hex = Array("0123456789abcdef")
        return "\\x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 0xF)])
    }

    static func isVisible(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return false
        case .spaceSeparator:
            return s.value == 0x20
        default:
            return true
        }
    }

    /// Strict UTF-8 decoding of one scalar starting at `i` (no overlongs, no surrogates).
    static func decodeScalar(_ b: ArraySlice<UInt8>, at i: Int) -> (Unicode.Scalar, Int)? {
        let b0 = b[i]
        func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> UInt32? {
            guard i + k < b.endIndex else { return nil }
            let c = b[i + k]
            guard c >= lo, c <= hi else { return nil }
            return UInt32(c & 0x3F)
        }
        var value: UInt32
        var len: Int
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return nil }
            value = (UInt32(b0 & 0x1F) << 6) | c1; len = 2
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let c1 = cont(1, lo, hi), let c2 = cont(2) else { return nil }
            value = (UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2; len = 3
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let c1 = cont(1, lo, hi), let c2 = cont(2), let c3 = cont(3) else { return nil }
            value = (UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3; len = 4
        default:
            return nil
        }
        guard let s = Unicode.Scalar(value) else { return nil }
        return (s, len)
    }
}
