import Foundation

/// Scans a Redis server log (usually `kubectl logs --previous` of the redis container) for lines
/// that prove a persistence problem. Each match keeps the trimmed log line as evidence.
public enum LogScan {
    public enum Kind: String, Sendable, CaseIterable {
        /// Redis refused to load its AOF (bad format, unexpected EOF with aof-load-truncated no,
        /// unknown command, manifest error, missing AOF file, truncated non-last file, corrupt AOF base RDB).
        case aofCorruption = "aof-corruption"
        /// The AOF was truncated on load and Redis started anyway (data at the tail lost).
        case aofTruncated = "aof-truncated"
        /// A corrupt RDB file that is not an AOF base (plain dump.rdb).
        case rdbCorruption = "rdb-corruption"
        case diskFull = "disk-full"
        case permissionDenied = "permission-denied"
        /// Short write / unrecoverable AOF write error.
        case aofWriteError = "aof-write-error"
        case aofRewriteError = "aof-rewrite-error"
        case forkFailed = "fork-failed"
        case outOfMemory = "out-of-memory"
        case shutdownRefused = "shutdown-refused"
        case slowFsync = "slow-fsync"
    }

    public struct Match: Sendable, Equatable {
        public var kind: Kind
        public var line: String
        public var evidence: LogEvidence { LogEvidence(kind: kind.rawValue, line: line) }
    }

    /// All matches in log order (one per line; a line matches the first rule that fits).
    public static func scan(_ text: String) -> [Match] {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { String(RedisInfo.trimmed($0)) }
        // An RDB load error belongs to the AOF when the log shows the AOF base being read.
        let aofContext = lines.contains { l in
            l.contains("base file on AOF loading") || l.contains("RDB preamble from AOF") || l.contains("RDB is base AOF")
                || l.contains(".base.rdb") || l.contains("append only file") || l.contains("AOF loading")
        }
        var out: [Match] = []
        for line in lines where !line.isEmpty {
            if let k = classify(line, aofContext: aofContext) { out.append(Match(kind: k, line: line)) }
        }
        return out
    }

    /// The first match of the most serious kind present (AOF corruption first), for quick display.
    public static func mostSerious(_ matches: [Match]) -> Match? {
        let order: [Kind] = [.aofCorruption, .rdbCorruption, .diskFull, .aofWriteError, .permissionDenied, .outOfMemory,
                             .forkFailed, .aofRewriteError, .shutdownRefused, .aofTruncated, .slowFsync]
        for k in order { if let m = matches.first(where: { $0.kind == k }) { return m } }
        return nil
    }

    static func classify(_ l: String, aofContext: Bool) -> Kind? {
        // AOF corruption: Redis refuses to start.
        if l.contains("Bad file format reading the append only file")
            || l.contains("Unexpected end of file reading the append only file")
            || l.contains("FATAL AOF MANIFEST FILE ERROR")
            || l.contains("Invalid AOF manifest file format")
            || l.contains("Found an empty AOF manifest")
            || l.contains("The AOF manifest file contains too long line")
            || (l.contains("Unknown command '") && l.contains("reading the append only file"))
            || l.contains("Fatal error: the truncated file is not the last file")
            || (l.contains("Unable to obtain the AOF file") && l.contains("length"))
            || l.contains("RDB preamble of AOF file is not sane") {
            return .aofCorruption
        }
        if l.contains("Internal error in RDB reading") || l.contains("Wrong RDB checksum")
            || l.contains("Short read or OOM loading DB") || l.contains("RDB ERROR DETECTED") {
            return aofContext ? .aofCorruption : .rdbCorruption
        }
        if l.contains("short read while loading the AOF file") || l.contains("!!! Truncating the AOF")
            || l.contains("loaded anyway because aof-load-truncated is enabled") {
            return .aofTruncated
        }
        if l.contains("No space left on device") { return .diskFull }
        if l.contains("Permission denied") || l.contains("Read-only file system") { return .permissionDenied }
        if l.contains("Short write while writing to the AOF file") || l.contains("Can't recover from AOF write error")
            || l.contains("Error writing to the AOF file") {
            return .aofWriteError
        }
        if l.contains("Background AOF rewrite terminated with error") || l.contains("Background AOF rewrite has repeatedly failed") {
            return .aofRewriteError
        }
        if l.contains("Can't save in background: fork") || l.contains("Can't rewrite append only file in background: fork") {
            return .forkFailed
        }
        if l.contains("Out Of Memory allocating") || l.contains("Redis aborting for OUT OF MEMORY") { return .outOfMemory }
        if l.contains("can't exit.") || l.contains("errors trying to shut down the server") { return .shutdownRefused }
        if l.contains("Asynchronous AOF fsync is taking too long") { return .slowFsync }
        return nil
    }
}
