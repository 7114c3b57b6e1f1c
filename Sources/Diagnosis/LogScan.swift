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
        let lines = TextLines.split(text).map { String(RedisInfo.trimmed($0)) }
        // An RDB load error belongs to the AOF when the log shows the AOF base being read.
        let aofContext = lines.contains { l in
            l.has("base file on AOF loading") || l.has("RDB preamble from AOF") || l.has("RDB is base AOF")
                || l.has(".base.rdb") || l.has("append only file") || l.has("AOF loading")
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
        if l.has("Bad file format reading the append only file")
            || l.has("Unexpected end of file reading the append only file")
            || l.has("FATAL AOF MANIFEST FILE ERROR")
            || l.has("Invalid AOF manifest file format")
            || l.has("Found an empty AOF manifest")
            || l.has("The AOF manifest file contains too long line")
            || (l.has("Unknown command '") && l.has("reading the append only file"))
            || l.has("Fatal error: the truncated file is not the last file")
            || (l.has("Unable to obtain the AOF file") && l.has("length"))
            || l.has("RDB preamble of AOF file is not sane") {
            return .aofCorruption
        }
        if l.has("Internal error in RDB reading") || l.has("Wrong RDB checksum")
            || l.has("Short read or OOM loading DB") || l.has("RDB ERROR DETECTED") {
            return aofContext ? .aofCorruption : .rdbCorruption
        }
        if l.has("short read while loading the AOF file") || l.has("!!! Truncating the AOF")
            || l.has("loaded anyway because aof-load-truncated is enabled") {
            return .aofTruncated
        }
        if l.has("No space left on device") { return .diskFull }
        if l.has("Permission denied") || l.has("Read-only file system") { return .permissionDenied }
        if l.has("Short write while writing to the AOF file") || l.has("Can't recover from AOF write error")
            || l.has("Error writing to the AOF file") {
            return .aofWriteError
        }
        if l.has("Background AOF rewrite terminated with error") || l.has("Background AOF rewrite has repeatedly failed") {
            return .aofRewriteError
        }
        if l.has("Can't save in background: fork") || l.has("Can't rewrite append only file in background: fork") {
            return .forkFailed
        }
        if l.has("Out Of Memory allocating") || l.has("Redis aborting for OUT OF MEMORY") { return .outOfMemory }
        if l.has("can't exit.") || l.has("errors trying to shut down the server") { return .shutdownRefused }
        if l.has("Asynchronous AOF fsync is taking too long") { return .slowFsync }
        return nil
    }
}

private extension String {
    /// A byte-wise substring test. Foundation's `contains` goes through NSString's search, about
    /// 20 times slower, and a scan runs every rule on every line of the log (it was 8 ms of the
    /// dashboard's CPU beside its first full screen; issue 16, figure 3).
    func has(_ needle: String) -> Bool {
        var hay = self, n = needle
        return hay.withUTF8 { h in
            n.withUTF8 { nb in
                guard !nb.isEmpty else { return true }
                guard nb.count <= h.count, let hb = h.baseAddress, let nbb = nb.baseAddress else { return false }
                let first = Int32(nb[0]), last = h.count - nb.count
                var i = 0
                while i <= last {
                    guard let p = memchr(hb + i, first, last - i + 1) else { return false }
                    let at = hb.distance(to: p.assumingMemoryBound(to: UInt8.self))
                    if memcmp(hb + at, nbb, nb.count) == 0 { return true }
                    i = at + 1
                }
                return false
            }
        }
    }
}
