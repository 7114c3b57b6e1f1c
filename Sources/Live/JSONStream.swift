import Foundation

/// Splits a byte stream of concatenated JSON objects (what `kubectl get -o json --watch` prints:
/// one pretty-printed object per change) into whole documents. Tolerates arbitrary chunking.
public struct JSONStreamSplitter: Sendable {
    private var buffer: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var start: Int? = nil
    private var scanned = 0
    /// Documents larger than this are dropped (and counted) instead of growing without bound.
    public var maxDocumentBytes: Int
    public private(set) var dropped = 0

    public init(maxDocumentBytes: Int = 16 << 20) { self.maxDocumentBytes = maxDocumentBytes }

    public mutating func feed(_ data: Data) -> [Data] {
        buffer.append(contentsOf: data)
        var docs: [Data] = []
        var i = scanned
        while i < buffer.count {
            let b = buffer[i]
            if inString {
                if escaped { escaped = false }
                else if b == UInt8(ascii: "\\") { escaped = true }
                else if b == UInt8(ascii: "\"") { inString = false }
            } else {
                switch b {
                case UInt8(ascii: "\""): if start != nil { inString = true }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    if depth == 0 { start = i }
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth > 0 {
                        depth -= 1
                        if depth == 0, let s = start {
                            docs.append(Data(buffer[s...i]))
                            start = nil
                        }
                    }
                default: break
                }
            }
            i += 1
        }
        // Drop consumed bytes.
        let keepFrom = start ?? buffer.count
        if keepFrom > 0 {
            buffer.removeFirst(keepFrom)
            if start != nil { start = 0 }
        }
        scanned = buffer.count
        if buffer.count > maxDocumentBytes {
            buffer.removeAll(); depth = 0; inString = false; escaped = false; start = nil; scanned = 0; dropped += 1
        }
        return docs
    }
}
