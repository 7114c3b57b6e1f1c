import Foundation

/// A persistent, line-based Redis session: each line is one command as `redis-cli` reads it
/// from stdin, and the reply for each line is `redis-cli`'s raw stdout for that command.
///
/// In production this is `kubectl exec -i <pod> -c <container> -- redis-cli` held open by
/// `ProcessRunner.LineSession`; in tests it is `redis-cli -p PORT`. The analysis never spawns.
public protocol RedisLineChannel: Sendable {
    func send(_ lines: [String]) async throws -> [String]

    /// Pipelining (optional; `LineSession` has it): after `beginPipeline` returns true, lines
    /// given to `submit` are written without waiting for the replies owed before them, and
    /// `receive` returns the replies one by one in order; `endPipeline` ends the exchange (the
    /// replies still owed are dropped) and must follow every successful `beginPipeline`. A channel
    /// without it returns false and the analysis sends its lines in lock-step through `send`.
    /// `oneLineReplies`: each line's reply is one non-empty line (the batch script's), so no
    /// marker needs to follow it.
    func beginPipeline() async throws -> Bool
    func submit(_ lines: [String], oneLineReplies: Bool) async throws
    func receive() async throws -> String
    func endPipeline() async
}

public struct PipelineUnsupported: Error {}

extension RedisLineChannel {
    public func beginPipeline() async throws -> Bool { false }
    public func submit(_ lines: [String], oneLineReplies: Bool) async throws { throw PipelineUnsupported() }
    public func receive() async throws -> String { throw PipelineUnsupported() }
    public func endPipeline() async {}
}

/// Quoting for one argument on a `redis-cli` input line (its `sdssplitargs` rules): always a
/// double-quoted string, with `"`, `\` and every byte outside printable ASCII escaped, so the
/// line stays one line and any bytes get through exactly.
public enum RedisCLIQuoting {
    public static func quote(_ s: String) -> String { quote(bytes: Array(s.utf8)) }

    public static func quote(bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 2)
        out.append(0x22)
        let hex = Array("0123456789abcdef".utf8)
        for b in bytes {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x20...0x7E: out.append(b)
            default:
                out.append(0x5C); out.append(UInt8(ascii: "x"))
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xF)])
            }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    /// A whole command line from its arguments (the command name unquoted).
    public static func line(_ command: String, _ args: [String]) -> String {
        ([command] + args.map { quote($0) }).joined(separator: " ")
    }
}

/// Reply framing for a `redis-cli` line session that survives every server state.
///
/// The usual marker (`ECHO <unique>`) gets `BUSY`, `LOADING` or `NOAUTH` instead of its echo
/// while Redis is in those states, so the session would wait for a marker that never comes
/// and time out. An unknown command is rejected before any of those checks, so its error line
/// always comes back: `ERR unknown command '<unique>', with args beginning with: `.
/// (Cost: one `errorstat_ERR` per command sent.) Pass as `LineSession(..., marker: SessionMarker.unknownCommand)`.
public enum SessionMarker {
    @Sendable public static func unknownCommand(_ unique: String) -> (line: String, echo: String) {
        (unique, "ERR unknown command '\(unique)', with args beginning with: ")
    }
}
