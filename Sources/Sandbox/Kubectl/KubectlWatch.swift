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

    func watchGet(_ argv: [String], watchOnly: Bool, pollInterval: Duration = .milliseconds(500)) async throws {
        var printed: [String: String] = [:]
        var lastGeneration = -1
        var first = true
        var lastStamp: (Date, Int)?
        while !Task.isCancelled {
            // Cheap check first: the state file is rewritten (renamed) on every change.
            let attrs = try? FileManager.default.attributesOfItem(atPath: layout.stateFile.path)
            let stamp = attrs.map { (($0[.modificationDate] as? Date) ?? .distantPast, ($0[.size] as? Int) ?? 0) }
            if let s = stamp, let l = lastStamp, s.0 == l.0, s.1 == l.1 {
                try await Task.sleep(for: pollInterval)
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
            try await Task.sleep(for: pollInterval)
        }
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
