import Foundation

/// `kubectl get ... --watch` (`-w`): prints the current objects, then every object again each
/// time it changes, as real kubectl does against a watch stream (with `-o json`: one
/// pretty-printed object per change, concatenated). Runs until killed. The sandbox has no API
/// server to push changes, so this polls the state file (cheaply: only when its generation moved).
extension Kubectl {
    static func splitWatchFlag(_ argv: [String]) -> (argv: [String], watch: Bool, watchOnly: Bool) {
        var out: [String] = []
        var watch = false
        var watchOnly = false
        var passthrough = false
        for a in argv {
            if passthrough { out.append(a); continue }
            switch a {
            case "--": passthrough = true; out.append(a)
            case "-w", "--watch", "--watch=true": watch = true
            case "--watch=false": break
            case "--watch-only", "--watch-only=true": watch = true; watchOnly = true
            default: out.append(a)
            }
        }
        return (out, watch, watchOnly)
    }

    func watchGet(_ argv: [String], watchOnly: Bool, pollInterval: Duration = .seconds(2)) async throws {
        var printed: [String: String] = [:]
        var lastGeneration = -1
        var first = true
        var lastStamp: [Int]?
        let path = layout.stateFile.path
        // Woken by inotify when the state file is replaced (the daemon renames a new one in),
        // as an API server pushes watch events; the stat below stays the judge, and the wait is
        // bounded so a missed event costs at most `pollInterval`.
        let notify = inotify_init1(Int32(IN_CLOEXEC))
        if notify >= 0 {
            _ = inotify_add_watch(notify, layout.root.path, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_CREATE))
        }
        defer { if notify >= 0 { close(notify) } }
        let stateName = Array(layout.stateFile.lastPathComponent.utf8)
        func pause() async throws {
            guard notify >= 0 else { try await Task.sleep(for: pollInterval); return }
            let clock = ContinuousClock()
            let end = clock.now + pollInterval
            var buf = [UInt8](repeating: 0, count: 4096)
            while clock.now < end {
                var p = pollfd(fd: notify, events: Int16(POLLIN), revents: 0)
                let left = end - clock.now
                let ms = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1
                guard poll(&p, 1, ms) > 0 else { break }
                let n = read(notify, &buf, buf.count)
                // Only the state file itself counts (the lock file beside it is touched by every reader).
                if n > 0, Self.inotifyNames(buf, count: n).contains(stateName) {
                    try await Task.sleep(for: .milliseconds(20))   // let a burst of writes settle
                    break
                }
            }
            try Task.checkCancellation()
        }
        while !Task.isCancelled {
            // Cheap check first (one stat(2)): the state file is replaced (renamed) on every change.
            var st = stat()
            let stamp: [Int]? = stat(path, &st) == 0
                ? [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)] : nil
            if let s = stamp, s == lastStamp {
                try await pause()
                continue
            }
            lastStamp = stamp
            let generation = (try? store.read().generation) ?? -1
            if generation != lastGeneration {
                lastGeneration = generation
                let capture = KubectlIO(capture: true)
                var inner = Kubectl(layout: layout, io: capture, selfPath: selfPath)
                inner.now = now
                do {
                    try await inner.get(argv)
                } catch let e as KubectlError {
                    // A named object that is gone (deleted pod): keep watching, as kubectl does.
                    if first && printed.isEmpty && !e.message.contains("NotFound") { throw e }
                }
                let text = capture.stdout
                let objects = Self.watchObjects(text)
                if objects.isEmpty, !text.isEmpty, !text.hasPrefix("{") {
                    // Table output: print only what changed, line by line.
                    for line in text.split(separator: "\n") {
                        let key = "line:" + line.split(separator: " ").first.map(String.init)!
                        if printed[key] != String(line) { printed[key] = String(line); if !(first && watchOnly) { io.out(line + "\n") } }
                    }
                } else {
                    for (key, body) in objects where printed[key] != body {
                        printed[key] = body
                        if !(first && watchOnly) { io.out(body.hasSuffix("\n") ? body : body + "\n") }
                    }
                }
                first = false
            }
            try await pause()
        }
    }

    /// File names in a buffer of `struct inotify_event` records (wd, mask, cookie, len, name[len]).
    static func inotifyNames(_ buf: [UInt8], count: Int) -> [[UInt8]] {
        var names: [[UInt8]] = []
        var i = 0
        while i + 16 <= count {
            let len = Int(buf[i + 12]) | Int(buf[i + 13]) << 8 | Int(buf[i + 14]) << 16 | Int(buf[i + 15]) << 24
            let start = i + 16, stop = min(count, start + len)
            var name = Array(buf[start..<stop])
            while name.last == 0 { name.removeLast() }
            names.append(name)
            i = start + len
        }
        return names
    }

    /// Splits `get -o json` output into (identity, kubectl-formatted JSON) per object.
    static func watchObjects(_ text: String) -> [(String, String)] {
        guard let doc = try? KctlJSON.parse(text) else { return [] }
        let items: [KctlJSON]
        if doc["kind"]?.stringValue == "List", case .array(let a)? = doc["items"] { items = a } else { items = [doc] }
        return items.map { item in
            let kind = item["kind"]?.stringValue ?? ""
            let meta = item["metadata"]
            let id = meta?["uid"]?.stringValue ?? "\(kind)/\(meta?["name"]?.stringValue ?? "")"
            return (id, item.kubectlJSON())
        }
    }
}
