import Foundation
import NIOCore
import NIOHTTP1
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

// `GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's output as `text/plain`, from the
// files the sandbox's kubelet writes (DIR/pods/<pod>/<container>/<restart>.log, the process's
// stdout and stderr as written), with the options of `PodLogOptions` and the errors the real
// kubelet gives (`previous terminated container ... not found`, `... is waiting to start: ...`).

/// `PodLogOptions` from the query.
struct LogOptions: Equatable, Sendable {
    var container: String?
    var previous = false
    var follow = false
    var timestamps = false
    var tailLines: Int?
    var sinceSeconds: Int?
    var sinceTime: Date?
    var limitBytes: Int?

    static func parse(_ request: APIRequest, pod: String) throws(APIStatus) -> LogOptions {
        var o = LogOptions()
        let c = request.query("container") ?? ""
        o.container = c.isEmpty ? nil : c
        o.previous = try request.queryBool("previous", kind: "PodLogOptions")
        o.follow = try request.queryBool("follow", kind: "PodLogOptions")
        o.timestamps = try request.queryBool("timestamps", kind: "PodLogOptions")
        var invalid: [String] = []
        func int(_ name: String) throws(APIStatus) -> Int? {
            guard let v = request.query(name) else { return nil }
            guard let n = Int(v) else {
                throw APIStatus.badRequest("PodLogOptions in version \"v1\" cannot be handled as a PodLogOptions: strconv.ParseInt: parsing \"\(v)\": invalid syntax")
            }
            return n
        }
        o.tailLines = try int("tailLines")
        o.sinceSeconds = try int("sinceSeconds")
        o.limitBytes = try int("limitBytes")
        if let t = request.query("sinceTime") {
            guard let d = RFC3339.parse(t) else {
                throw APIStatus.badRequest("PodLogOptions in version \"v1\" cannot be handled as a PodLogOptions: parsing time \"\(t)\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\(t)\" as \"2006\"")
            }
            o.sinceTime = d
        }
        if let n = o.tailLines, n < 0 { invalid.append("tailLines: Invalid value: \(n): must be greater than or equal to 0") }
        if let n = o.limitBytes, n < 1 { invalid.append("limitBytes: Invalid value: \(n): must be greater than 0") }
        if let n = o.sinceSeconds, n < 1 { invalid.append("sinceSeconds: Invalid value: \(n): must be greater than 0") }
        if o.sinceSeconds != nil && o.sinceTime != nil { invalid.append("sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified") }
        if !invalid.isEmpty {
            let joined = invalid.count == 1 ? invalid[0] : "[" + invalid.joined(separator: ", ") + "]"
            throw APIStatus(code: 422, reason: "Invalid", message: "PodLogOptions \"\(pod)\" is invalid: \(joined)",
                            details: ["name": .string(pod), "kind": "PodLogOptions"])
        }
        return o
    }


    /// The earliest time of a line to show, if any.
    func since(now: Date) -> Date? {
        if let s = sinceSeconds { return now.addingTimeInterval(-Double(s)) }
        return sinceTime
    }
}

/// Which file holds the logs asked for, decided as the kubelet's `validateContainerLogStatus` does.
struct LogSource: Equatable, Sendable {
    var file: URL
    /// Restart number of the file (its name), to notice a restart while following.
    var restart: Int
    /// True while that container still runs (a follow continues).
    var running: Bool
    /// When that container started (for lines whose own text carries no time).
    var startedAt: Date?

    static func resolve(pod: PodState, container: String, previous: Bool, layout: SandboxLayout) throws(APIStatus) -> LogSource {
        guard let st = pod.containerStatuses.first(where: { $0.name == container }) else {
            throw APIStatus.badRequest("container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: ContainerCreating")
        }
        func file(_ n: Int) -> URL { layout.containerLog(pod: pod.name, container: container, restart: max(0, n)) }
        func started(_ v: ContainerStateValue?) -> Date? {
            switch v {
            case .running(let s)?: return RFC3339.parse(s)
            case .terminated(_, _, _, _, let s?, _)?: return RFC3339.parse(s)
            default: return nil
            }
        }
        let notFound = APIStatus.badRequest("previous terminated container \"\(container)\" in pod \"\(pod.name)\" not found")
        // restartCount counts starts after the first; the running (or last) run wrote <restartCount>.log.
        if previous {
            guard let last = st.lastState, case .terminated = last else { throw notFound }
            let n: Int
            switch st.state {
            case .running, .terminated: n = st.restartCount - 1
            case .waiting: n = st.restartCount   // the run that just ended; not restarted yet
            }
            let url = file(n)
            guard n >= 0, FileManager.default.fileExists(atPath: url.path) else { throw notFound }
            return LogSource(file: url, restart: n, running: false, startedAt: started(last))
        }
        switch st.state {
        case .running(let s):
            return LogSource(file: file(st.restartCount), restart: st.restartCount, running: pod.sandboxPid > 0, startedAt: RFC3339.parse(s))
        case .terminated:
            return LogSource(file: file(st.restartCount), restart: st.restartCount, running: false, startedAt: started(st.state))
        case .waiting(let reason, _):
            if let last = st.lastState, case .terminated = last {
                return LogSource(file: file(st.restartCount), restart: st.restartCount, running: false, startedAt: started(last))
            }
            switch reason {
            case "ErrImagePull":
                throw APIStatus.badRequest("container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: image can't be pulled")
            case "ImagePullBackOff":
                throw APIStatus.badRequest("container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: trying and failing to pull image")
            default:
                throw APIStatus.badRequest("container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: \(reason)")
            }
        }
    }
}

/// Turns raw log bytes into the response body: timestamps, since, tail and the byte limit.
struct LogFormatter {
    var options: LogOptions
    var since: Date?
    /// Time of the latest line seen; a line without its own time inherits it.
    var lastTime: Date
    /// Bytes still allowed by limitBytes.
    var remaining: Int?
    /// A line not yet ended by "\n" (held back while following when lines are inspected).
    var partial: [UInt8] = []

    init(options: LogOptions, startedAt: Date?, now: Date) {
        self.options = options
        self.since = options.since(now: now)
        self.lastTime = startedAt ?? now
        self.remaining = options.limitBytes
    }

    var needsLines: Bool { options.timestamps || since != nil || options.tailLines != nil }
    var exhausted: Bool { remaining.map { $0 <= 0 } ?? false }

    /// The first output: the file's content so far (tail applies here only).
    mutating func initial(_ data: [UInt8], final: Bool, now: Date) -> [UInt8] {
        guard needsLines else { return limit(data) }
        var lines = split(data, final: final)
        if let tail = options.tailLines { lines = Array(lines.suffix(tail)) }
        return limit(render(lines, now: nil))
    }

    /// Output appended while following.
    mutating func more(_ data: [UInt8], final: Bool, now: Date) -> [UInt8] {
        guard needsLines else { return limit(data) }
        return limit(render(split(data, final: final), now: now))
    }

    private mutating func split(_ data: [UInt8], final: Bool) -> [[UInt8]] {
        var all = partial + data
        partial = []
        var lines: [[UInt8]] = []
        var start = 0
        for i in all.indices where all[i] == UInt8(ascii: "\n") {
            lines.append(Array(all[start...i]))
            start = i + 1
        }
        if start < all.count {
            if final { lines.append(Array(all[start...])) } else { partial = Array(all[start...]) }
        }
        all = []
        return lines
    }

    /// Applies times: a line's own time (Redis or redis_exporter log format) or the last one seen
    /// (`now` for lines read live while following).
    private mutating func render(_ lines: [[UInt8]], now: Date?) -> [UInt8] {
        var out: [UInt8] = []
        for line in lines {
            let time = LogFormatter.lineTime(line) ?? now ?? lastTime
            lastTime = time
            if let since, time < since { continue }
            if options.timestamps { out += Array((LogFormatter.rfc3339Nano(time) + " ").utf8) }
            out += line
        }
        return out
    }

    private mutating func limit(_ bytes: [UInt8]) -> [UInt8] {
        guard let r = remaining else { return bytes }
        let n = min(r, bytes.count)
        remaining = r - n
        return n == bytes.count ? bytes : Array(bytes.prefix(n))
    }

    /// "2026-12-04T12:38:28.123Z" (Go's RFC3339Nano: trailing zeros of the fraction dropped).
    static func rfc3339Nano(_ d: Date) -> String {
        // Microseconds (a Double holds no more here), so 12:00:01.250 stays .25, not .249999.
        let micros = Int64((d.timeIntervalSince1970 * 1e6).rounded())
        let whole = Double(micros / 1_000_000)
        var base = RFC3339.format(Date(timeIntervalSince1970: whole))
        let nanos = Int(micros % 1_000_000) * 1000
        if nanos > 0 {
            var frac = String(format: "%09d", nanos)
            while frac.hasSuffix("0") { frac.removeLast() }
            base.removeLast()  // Z
            base += "." + frac + "Z"
        }
        return base
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The time a Redis log line ("123:M 04 Dec 2026 12:38:28.123 * ...", UTC in the sandbox)
    /// or a redis_exporter line (`time="2026-12-04T12:38:28Z" level=...`) carries.
    static func lineTime(_ line: [UInt8]) -> Date? {
        guard line.count >= 20 else { return nil }
        let head = String(decoding: line.prefix(80), as: UTF8.self)
        if let r = head.range(of: "time=\"") {
            let rest = head[r.upperBound...]
            if let end = rest.firstIndex(of: "\"") { return RFC3339.parse(String(rest[..<end])) }
            return nil
        }
        // Redis: pid:role DD Mon YYYY HH:MM:SS.mmm
        guard let colon = head.firstIndex(of: ":"), head[..<colon].allSatisfy(\.isNumber), !head[..<colon].isEmpty else { return nil }
        let afterRole = head.index(colon, offsetBy: 3, limitedBy: head.endIndex) ?? head.endIndex
        let fields = head[afterRole...].split(separator: " ", maxSplits: 4)
        guard fields.count >= 4, let day = Int(fields[0]), let month = months.firstIndex(of: String(fields[1])),
              let year = Int(fields[2]) else { return nil }
        let hms = fields[3].split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let m = Int(hms[1]) else { return nil }
        let secParts = hms[2].split(separator: ".")
        guard let s = Int(secParts[0]) else { return nil }
        let ms = secParts.count > 1 ? Int(secParts[1]) ?? 0 : 0
        var tmv = tm()
        tmv.tm_year = Int32(year - 1900); tmv.tm_mon = Int32(month); tmv.tm_mday = Int32(day)
        tmv.tm_hour = Int32(h); tmv.tm_min = Int32(m); tmv.tm_sec = Int32(s)
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tmv)) + Double(ms) / 1000)
    }
}

enum PodLogs {
    /// How often a follow looks for new output, and for the container's end.
    static let pollInterval: Duration = .milliseconds(200)
    static let stateInterval: Duration = .seconds(1)

    static func response(_ request: APIRequest, pod: PodState, context: StreamContext) -> APIResponse {
        let options: LogOptions
        let source: LogSource
        let container: String
        do throws(APIStatus) {
            options = try LogOptions.parse(request, pod: pod.name)
            container = try resolveContainer(options.container, pod: pod).name
            source = try LogSource.resolve(pod: pod, container: container, previous: options.previous, layout: context.layout)
        } catch {
            return .status(error)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        if !(options.follow && source.running) {
            var f = LogFormatter(options: options, startedAt: source.startedAt, now: Date())
            let data = (try? Data(contentsOf: source.file)).map { [UInt8]($0) } ?? []
            return APIResponse(status: .ok, headers: headers, body: .bytes(f.initial(data, final: true, now: Date())))
        }
        let layout = context.layout
        let podUID = pod.uid
        return APIResponse(status: .ok, headers: headers, body: .stream { writer in
            try await follow(source: source, options: options, layout: layout, podUID: podUID, container: container, writer: writer)
        })
    }

    /// Writes the file so far, then what is appended, until the container stops (or restarts),
    /// the byte limit is reached, or the client leaves.
    static func follow(source: LogSource, options: LogOptions, layout: SandboxLayout, podUID: String, container: String,
                       writer: ResponseWriter) async throws {
        var f = LogFormatter(options: options, startedAt: source.startedAt, now: Date())
        let fd = open(source.file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256 * 1024)
        func readAvailable() -> [UInt8] {
            var out: [UInt8] = []
            while true {
                let n = read(fd, &buf, buf.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                out += buf[0..<n]
                if out.count >= 4 << 20 { break }
            }
            return out
        }
        try await writer.write(f.initial(readAvailable(), final: false, now: Date()))
        var lastStateCheck = ContinuousClock.now
        let store = StateStore(layout: layout)
        while writer.isOpen && !f.exhausted {
            try await Task.sleep(for: pollInterval)
            let data = readAvailable()
            if !data.isEmpty { try await writer.write(f.more(data, final: false, now: Date())) }
            if ContinuousClock.now - lastStateCheck >= stateInterval {
                lastStateCheck = ContinuousClock.now
                if !(stillRunning(store: store, podUID: podUID, container: container, restart: source.restart)) {
                    // Whatever it wrote last, then the end of the stream.
                    try await writer.write(f.more(readAvailable(), final: true, now: Date()))
                    return
                }
            }
        }
    }

    static func stillRunning(store: StateStore, podUID: String, container: String, restart: Int) -> Bool {
        guard let state = try? store.read(), let pod = state.pods.first(where: { $0.uid == podUID }),
              let st = pod.containerStatuses.first(where: { $0.name == container }) else { return false }
        guard case .running = st.state, st.restartCount == restart, pod.sandboxPid > 0 else { return false }
        return true
    }
}
