import Diagnosis
import Foundation
import Render

/// Minimum terminal size for the full UI.
public let minimumWidth = 80
public let minimumHeight = 24

extension App {
    /// Draws the whole screen for `model` at a size. Pure: same model and size, same grid.
    public static func render(_ m: AppModel, width: Int, height: Int) -> Grid {
        var g = Grid(width: width, height: height)
        if width < minimumWidth || height < minimumHeight {
            drawTooSmall(&g)
        } else {
            var body = Rect(x: 0, y: 1, width: width, height: height - 2)
            drawHeader(&g, m, Rect(x: 0, y: 0, width: width, height: 1))
            if let c = m.snapshot?.cluster, !c.isReachable {
                // One banner for a cluster that cannot be read; the panels below keep their last data.
                drawClusterBanner(&g, m, c, Rect(x: 0, y: 1, width: width, height: 1))
                body = Rect(x: 0, y: 2, width: width, height: height - 3)
            } else if let d = m.snapshot?.denied, !d.isEmpty {
                // The cluster answers but refuses some reads to this user (403): say what is missing.
                drawAccessBanner(&g, d, Rect(x: 0, y: 1, width: width, height: 1))
                body = Rect(x: 0, y: 2, width: width, height: height - 3)
            }
            switch m.screen {
            case .dashboard: drawDashboard(&g, m, body)
            case .memory: drawMemoryScreen(&g, m, body)
            case .logs: drawLogs(&g, m, body)
            case .events: drawEvents(&g, m, body)
            case .findings: drawFindingsScreen(&g, m, body)
            case .help: drawHelp(&g, m, body)
            case .runbook: drawRunbook(&g, m, body)
            case .analysis: drawAnalysis(&g, m, body)
            }
            drawBottom(&g, m, Rect(x: 0, y: height - 1, width: width, height: 1), body: body)
        }
        return m.colors ? g : g.mapStyles { $0.monochrome }
    }

    static func drawTooSmall(_ g: inout Grid) {
        let lines = [
            "terminal too small (need \(minimumWidth)x\(minimumHeight), have \(g.width)x\(g.height))",
            "enlarge the window, or press q to quit",
        ]
        let y0 = max(0, g.height / 2 - 1)
        for (i, l) in lines.enumerated() {
            let rows = TextLayout.wrap(l, width: max(1, g.width))
            for (j, r) in rows.enumerated() {
                let y = y0 + i * 2 + j
                g.write(r, x: max(0, (g.width - TextWidth.of(r)) / 2), y: y, style: i == 0 ? Style(fg: .red, bold: true) : .plain)
            }
        }
    }

    // MARK: header and bottom line

    /// "⚠ cluster unreachable (connection refused) for 35s · findings are the last known, 40s old · <kubectl's message>".
    static func clusterBannerText(_ m: AppModel, _ c: ClusterAccess) -> String {
        let what: String = switch c.state {
        case .reachable: "cluster reachable"
        case .refused: "cluster unreachable (connection refused)"
        case .timedOut: "cluster not answering (timed out)"
        case .unauthorized: "cluster refuses the credentials (401 Unauthorized)"
        case .forbidden: "cluster forbids reading the pod (403 Forbidden)"
        case .tls: "cluster certificate not trusted (TLS)"
        }
        var text = "⚠ " + what
        if let since = c.since.flatMap(RFC3339.parse) { text += " for \(max(0, Int(m.now.timeIntervalSince(since))))s" }
        if let from = c.findingsFrom.flatMap(RFC3339.parse) {
            text += " · findings are the last known, \(max(0, Int(m.now.timeIntervalSince(from))))s old"
        }
        if let msg = c.message { text += " · " + msg }
        return text
    }

    static func drawClusterBanner(_ g: inout Grid, _ m: AppModel, _ c: ClusterAccess, _ r: Rect) {
        let style = Style(fg: .yellow, bold: true, reverse: true)
        g.fill(r, style: style)
        g.write(TextLayout.truncate(" " + clusterBannerText(m, c), to: r.width), x: r.x, y: r.y, style: style, clip: r)
    }

    /// "ⓘ no Redis data: user oncall-viewer may not exec into pods (create pods/exec is forbidden) · no exporter metrics: ..."
    static func accessBannerText(_ d: [AccessDenial]) -> String {
        "ⓘ " + d.map(\.plain).joined(separator: " · ") + " · read-only runbooks only · kubectl: " + (d.first?.kubectlMessage ?? "")
    }

    static func drawAccessBanner(_ g: inout Grid, _ d: [AccessDenial], _ r: Rect) {
        let style = Style(fg: .cyan, bold: true, reverse: true)
        g.fill(r, style: style)
        g.write(TextLayout.truncate(" " + accessBannerText(d), to: r.width), x: r.x, y: r.y, style: style, clip: r)
    }

    static func redisStateText(_ m: AppModel) -> (String, Style) {
        if let c = m.snapshot?.cluster, !c.isReachable {
            // Redis is only read through the cluster: its state is unknown, not "down".
            return ("redis: unknown (no cluster)", Style(fg: .yellow, bold: true, reverse: true))
        }
        if m.snapshot?.redisState == nil, m.snapshot?.redisDenied != nil {
            // Not "down": this user may not look.
            return ("redis: no access (no exec rights)", Style(fg: .yellow, bold: true, reverse: true))
        }
        if let e = m.error(for: "redis") { return ("redis: \(e.message)", Style(fg: .red, bold: true, reverse: true)) }
        guard let s = m.snapshot else { return ("redis: waiting for data", Style(reverse: true)) }
        let st = s.redisState ?? "unknown"
        let style = st == "ok" ? Style(fg: .green, bold: true, reverse: true) : Style(fg: .red, bold: true, reverse: true)
        return ("redis: \(st.uppercased() == "OK" ? "up" : st.uppercased())", style)
    }

    static func drawHeader(_ g: inout Grid, _ m: AppModel, _ r: Rect) {
        g.fill(r, style: .reverse)
        let wide = r.width >= 120
        let ctx = m.snapshot?.context ?? m.context ?? "(current)"
        let ns = m.snapshot?.namespace ?? m.namespace
        let pod = m.snapshot?.pod?.name ?? m.podName
        var x = r.x
        if wide { x = g.write(" redis-runbook ", x: x, y: r.y, style: Style(bold: true, reverse: true), clip: r) }
        let (state, stStyle) = redisStateText(m)
        x = g.write(" " + state + " ", x: x, y: r.y, style: stStyle, clip: r)
        var right = ""
        // The oldest panel's age, not the last refresh's: a refresh that read nothing new is no update.
        if let age = m.oldestDataAge { right = (wide ? "updated \(age)s ago" : "\(age)s") + (m.refreshInFlight ? " ⟳" : "") }
        if m.readOnly { right += wide ? "  READ-ONLY" : " RO" }
        right += wide ? "  \(m.screen.title) " : " "
        // ctx, ns and pod stay whole; the kubectl path is cut from the left when short of room.
        let info = " ctx \(ctx) │ ns \(ns) │ pod \(pod) │ kubectl "
        let room = r.maxX - x - TextWidth.of(right) - 1
        if room > 4 {
            var path = m.kubectlPath
            let left = room - TextWidth.of(info)
            if left < TextWidth.of(path) {
                path = left >= 2 ? "…" + String(path.suffix(max(0, left - 1))) : ""
            }
            g.write(TextLayout.truncate(info + path, to: room), x: x, y: r.y, style: .reverse, clip: r)
        }
        g.write(right, x: r.maxX - TextWidth.of(right), y: r.y, style: Style(bold: true, reverse: true), clip: r)
    }

    static func drawBottom(_ g: inout Grid, _ m: AppModel, _ r: Rect, body: Rect) {
        switch m.mode {
        case .palette(let text):
            drawPaletteSuggestions(&g, text, body)
            g.fill(r)
            let x = g.write(":", x: r.x, y: r.y, style: .bold, clip: r)
            let e = g.write(text, x: x, y: r.y, clip: r)
            g.write("█", x: e, y: r.y, clip: r)
        case .filter(let text):
            g.fill(r)
            let x = g.write("/", x: r.x, y: r.y, style: .bold, clip: r)
            let e = g.write(text, x: x, y: r.y, clip: r)
            g.write("█", x: e, y: r.y, clip: r)
            g.write("  Enter keep · Esc clear", x: e + 1, y: r.y, style: .dim, clip: r)
        case .confirm(let action, let expected, let input):
            StatusBar(hints: [KeyHint("Enter", "confirm"), KeyHint("Esc", "cancel")]).render(into: &g, rect: r)
            let body = "This may change the cluster or Redis. Type the runbook id \"\(expected)\" and press Enter to \(action)."
            Dialog(title: "Confirm: \(action)", body: body, buttons: [], prompt: ">", input: input)
                .render(into: &g, area: body.isEmpty ? r : Rect(x: 0, y: 1, width: g.width, height: g.height - 2))
        case .normal:
            var msg = m.flash ?? ""
            if msg.isEmpty, let f = m.filters[m.screen], !f.isEmpty { msg = "filter: \(f)" }
            if msg.isEmpty, m.readOnly { msg = "read-only" }
            StatusBar(hints: Keymap.hints(for: m.screen, readOnly: m.readOnly, unavailable: m.unavailableActions), message: msg,
                      messageStyle: m.flash != nil ? Style(fg: .yellow, bold: true) : .bold).render(into: &g, rect: r)
        }
    }

    static func drawPaletteSuggestions(_ g: inout Grid, _ text: String, _ body: Rect) {
        let first = text.split(separator: " ").first.map(String.init)?.lowercased() ?? ""
        let matches = PaletteCommand.names.filter { first.isEmpty || $0.name.hasPrefix(first) }
        guard !matches.isEmpty else { return }
        let h = min(matches.count + 2, body.height)
        let r = Rect(x: body.x, y: body.maxY - h, width: min(44, body.width), height: h)
        let inner = Panel(title: "commands", borderStyle: .bold).render(into: &g, rect: r)
        Table(columns: [Column("cmd", .fixed(17)), Column("what", .flex(min: 4, weight: 1))],
              rows: matches.map { [Span($0.name, .bold), Span($0.help)] }, showHeader: false).render(into: &g, rect: inner)
    }

    // MARK: dashboard

    struct DashPanel {
        var title: String
        var sources: [String]
        var preferred: Int
        var minimum: Int
        var draw: (inout Grid, Rect) -> Void
    }

    /// Heights for panels stacked in `available` rows: preferred when they fit (the extra goes to
    /// `grow`), else shrunk from the largest down, never under the minimum; panels that still do
    /// not fit get 0.
    static func allocate(preferred: [Int], minimum: [Int], available: Int, grow: Int?) -> [Int] {
        var h = preferred
        var total = h.reduce(0, +)
        if total <= available {
            if let gi = grow, gi < h.count { h[gi] += available - total }
            return h
        }
        while total > available {
            guard let i = h.indices.filter({ h[$0] > minimum[$0] }).max(by: { h[$0] < h[$1] }) else { break }
            h[i] -= 1; total -= 1
        }
        // Still too tall: drop panels from the bottom.
        var i = h.count - 1
        while total > available, i >= 0 { total -= h[i]; h[i] = 0; i -= 1 }
        return h
    }

    static func panelFrame(_ g: inout Grid, _ m: AppModel, _ p: DashPanel, _ r: Rect, focused: Bool = false) {
        guard r.height >= 3 else { return }
        let st = m.panelStatus(p.sources)
        let inner = Panel(title: p.title, status: st?.text, statusStyle: st?.isError == true ? Style(fg: .red, bold: true) : .dim,
                          borderStyle: focused ? Style(fg: .cyan) : .dim).render(into: &g, rect: r)
        p.draw(&g, inner.inset(dx: 1, dy: 0))
    }

    static func drawDashboard(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let pod = podPanel(m), mem = memoryPanel(m, sparkWidth: body.width), per = persistencePanel(m), cli = clientsPanel(m)
        let que = queuesPanel(m), adr = adrPanel(m), fin = findingsPanel(m)
        var columns: [[DashPanel]]
        let grows: [Int?]
        if body.width >= 160 {
            // Only the findings grow; the other panels keep their own height (no empty boxes).
            columns = [[pod, per, cli], [mem, que], [fin, adr]]
            grows = [nil, nil, 0]
        } else {
            columns = [[pod, mem, per], [fin, cli, que, adr]]
            grows = [1, 0]
        }
        // Sentinel topology only (ReplicationPanel.swift): roles under the findings.
        if let rep = replicationPanel(m) { columns[body.width >= 160 ? 2 : 1].insert(rep, at: 1) }
        let rects = body.columns(columns.count)
        for (ci, col) in columns.enumerated() {
            let hs = allocate(preferred: col.map(\.preferred), minimum: col.map(\.minimum), available: rects[ci].height, grow: grows[ci])
            for (p, r) in zip(col, rects[ci].rows(hs)) where r.height > 0 {
                panelFrame(&g, m, p, r, focused: p.title.hasPrefix("Findings"))
            }
        }
    }

    static let okStyle = Style(fg: .green)
    static let badStyle = Style(fg: .red, bold: true)
    static let warnStyle = Style(fg: .yellow, bold: true)

    static func lines(_ ls: [Line]) -> (inout Grid, Rect) -> Void {
        { g, r in TextBlock(ls).render(into: &g, rect: r) }
    }

    static func podPanel(_ m: AppModel) -> DashPanel {
        var ls: [Line] = []
        if let p = m.snapshot?.pod {
            let phaseStyle = p.phase == "Running" ? okStyle : badStyle
            ls.append([Span(p.name, .bold), Span("  "), Span(p.phase ?? "—", phaseStyle),
                       Span("  ready "), Span(Fmt.bool(p.ready), p.ready == true ? okStyle : badStyle),
                       Span("  restarts \(Fmt.int(p.restarts))", (p.restarts ?? 0) > 0 ? warnStyle : .plain)]
                      + (p.terminating == true ? [Span("  terminating", badStyle)] : [])
                      + (p.reason.map { [Span("  \($0)", badStyle)] } ?? []))
            ls.append([Span("node "), Span(p.node ?? "—", .bold), Span("  "),
                       Span(p.nodeReady.map { $0 ? "Ready" : "NotReady" } ?? "Ready?", p.nodeReady == false ? badStyle : (p.nodeReady == true ? okStyle : .dim))])
            let nameW = min(16, (p.containers.map { TextWidth.of($0.name) }.max() ?? 5) + 1)
            for c in p.containers {
                let state = c.reason ?? c.state ?? "—"
                let bad = c.state != "running" || c.ready == false
                ls.append([Span(TextLayout.fit(c.name, to: nameW), .bold), Span(TextLayout.fit(state, to: max(9, TextWidth.of(state) + 1)), bad ? badStyle : okStyle),
                           Span(c.ready == true ? "ready" : "not ready", c.ready == true ? okStyle : badStyle),
                           Span(" ↻\(Fmt.int(c.restarts))", (c.restarts ?? 0) > 0 ? warnStyle : .plain)])
                if let t = c.lastTermination {
                    ls.append([Span("  last: "), Span(t.reason ?? "?", t.reason == "OOMKilled" ? badStyle : warnStyle),
                               Span(" exit \(Fmt.int(t.exitCode)) \(Fmt.ago(t.finishedAt, now: m.now))")])
                }
            }
            let warnings = p.warnings.filter { m.dashboardMatches("\($0.reason) \($0.message)") }
            if warnings.isEmpty {
                let hidden = p.warnings.count
                ls.append([Span(hidden > 0 ? "\(hidden) warnings hidden by filter" : "no recent warnings", .dim)])
            } else {
                for w in warnings.prefix(12) {
                    ls.append([Span(Fmt.ago(w.lastTimestamp, now: m.now).replacingOccurrences(of: " ago", with: "") + " ", .dim),
                               Span(w.reason, warnStyle), Span(" " + w.message)])
                }
            }
        } else {
            ls.append([Span(m.podName, .bold), Span("  no pod data", .dim)])
        }
        // Preferred height counts three warnings (all of them on a wide screen); more show when the column has room.
        let extra = m.width >= 160 ? 0 : max(0, min(12, m.snapshot?.pod?.warnings.count ?? 0) - 3)
        return DashPanel(title: "Pod health", sources: ["pod", "node", "events"], preferred: ls.count + 2 - extra, minimum: 4, draw: lines(ls))
    }

    /// The session's memory: used, maxmemory and the container limit over time (the dashboard's
    /// memory panel when it has room, and the memory screen).
    static func memoryChart(_ m: AppModel) -> LineChart {
        let used = m.memoryUsed.elements, maxm = m.memoryMax.elements, lim = m.memoryLimit.elements
        let top = max(used.max() ?? 0, maxm.max() ?? 0, lim.max() ?? 0) * 1.1
        var series: [Series] = []
        if lim.contains(where: { $0 > 0 }) { series.append(Series(name: "limit", values: lim, style: Style(fg: .red), mark: "━")) }
        if maxm.contains(where: { $0 > 0 }) { series.append(Series(name: "maxmemory", values: maxm, style: Style(fg: .yellow), mark: "─")) }
        series.append(Series(name: "used", values: used, style: Style(fg: .green, bold: true), mark: "•"))
        return LineChart(series: series, yMax: top, formatY: { Fmt.bytes($0) })
    }

    static func memoryPanel(_ m: AppModel, sparkWidth: Int) -> DashPanel {
        let mem = m.snapshot?.memory ?? MemorySummary()
        let used = mem.usedBytes.map(Double.init)
        let maxm = mem.maxmemoryBytes
        let limit = mem.limitBytes
        // Colours are the rules' verdicts (the same as the findings'), never thresholds of their own.
        func style(_ sev: Severity?, known: Bool) -> Style { guard known else { return .plain }; return sev == .critical ? badStyle : (sev == nil ? okStyle : warnStyle) }
        func styleOfMax(_ r: Double?) -> Style { style(r.flatMap(Rules.usedOfMaxmemory), known: r != nil) }
        func styleOfLimit(_ r: Double?) -> Style { style(r.flatMap(Rules.ofLimit), known: r != nil) }
        let unsetRows = (maxm == 0 && sparkWidth < 120) ? 1 : 0
        let rows = 7 + unsetRows
        let draw: (inout Grid, Rect) -> Void = { g, r in
            var y = r.y
            func row() -> Rect { defer { y += 1 }; return Rect(x: r.x, y: y, width: r.width, height: y < r.maxY ? 1 : 0) }
            if let mx = maxm, mx == 0 {
                // Never a percentage of host RAM: say what it means, wrapped when narrow.
                let parts = TextLayout.wrap("maxmemory unset: the container limit is the only limit", width: r.width)
                for (i, p) in parts.enumerated() {
                    let rr = row()
                    if i == 0, p.hasPrefix("maxmemory ") {
                        g.write(line: [Span("maxmemory ", .bold), Span(String(p.dropFirst(10)), warnStyle)], x: rr.x, y: rr.y, clip: rr)
                    } else {
                        g.write(p, x: rr.x, y: rr.y, style: warnStyle, clip: rr)
                    }
                }
            } else {
                let ratio = (used != nil && maxm != nil && maxm! > 0) ? used! / Double(maxm!) : nil
                Gauge(label: "used/max", value: used, limit: maxm.map(Double.init),
                      detail: "\(Fmt.bytes(mem.usedBytes))/\(Fmt.bytes(maxm)) \(Fmt.percent(ratio))", style: styleOfMax(ratio)).render(into: &g, rect: row())
            }
            let lratio = (used != nil && limit != nil && limit! > 0) ? used! / Double(limit!) : nil
            Gauge(label: "used/lim", value: used, limit: limit.map(Double.init),
                  detail: "\(Fmt.bytes(mem.usedBytes))/\(Fmt.bytes(limit)) \(Fmt.percent(lratio))", style: styleOfLimit(lratio)).render(into: &g, rect: row())
            var rr = row()
            g.write(line: [Span("rss \(Fmt.bytes(mem.rssBytes))  peak \(Fmt.bytes(mem.peakBytes))  frag "),
                           Span(mem.fragmentationRatio.map { Fmt.fixed($0, 2) } ?? "—", (mem.fragmentationRatio ?? 1) > 1.5 ? warnStyle : .plain)],
                    x: rr.x, y: rr.y, clip: rr)
            rr = row()
            let cow = max(mem.aofLastCowBytes ?? 0, mem.rdbLastCowBytes ?? 0)
            // The room a fork has is what maxmemory leaves under the limit (ADR 0005's rule).
            if let l = limit, let mx = maxm, mx > 0 {
                let head = Rules.forkRoom(maxmemory: mx, limit: l)
                let risky = mem.aofLastCowBytes != nil || mem.rdbLastCowBytes != nil ? !Rules.forkFits(maxmemory: mx, limit: l, cow: cow) : false
                g.write(line: [Span("fork CoW \(Fmt.bytes(Int64(cow))) vs headroom \(Fmt.bytes(head)) "),
                               Span(risky ? "fork may OOM" : "ok", risky ? badStyle : okStyle)], x: rr.x, y: rr.y, clip: rr)
            } else {
                g.write("fork CoW \(mem.aofLastCowBytes == nil && mem.rdbLastCowBytes == nil ? "—" : Fmt.bytes(Int64(cow))) vs headroom —", x: rr.x, y: rr.y, clip: rr)
            }
            rr = row()
            let rate = mem.oomRejectionsPerSec
            g.write(line: [Span("OOM rejects "), Span(rate.map { Fmt.fixed($0, 1) + "/s" } ?? "—", (rate ?? 0) > 0 ? badStyle : .plain),
                           Span("  evicted "), Span(Fmt.int(mem.evictedKeys), (mem.evictedKeys ?? 0) > 0 ? warnStyle : .plain),
                           Span("  policy \(mem.policy ?? m.snapshot?.config.maxmemoryPolicy ?? "—")")], x: rr.x, y: rr.y, clip: rr)
            if r.maxY - y >= 6, m.memoryUsed.count >= 2 {
                // Room to spare: a small chart of the session instead of the sparkline.
                memoryChart(m).render(into: &g, rect: Rect(x: r.x, y: y, width: r.width, height: r.maxY - y))
                return
            }
            rr = row()
            if rr.height > 0 {
                let x = g.write("trend ", x: rr.x, y: rr.y, style: .dim, clip: rr)
                let vals = m.memoryUsed.elements
                if vals.isEmpty {
                    g.write("no samples yet", x: x, y: rr.y, style: .dim, clip: rr)
                } else {
                    let top = max(vals.max() ?? 0, Double(limit ?? 0), Double(maxm ?? 0))
                    Sparkline(values: vals, max: top, style: Style(fg: .cyan)).render(into: &g, rect: Rect(x: x, y: rr.y, width: rr.maxX - x, height: 1))
                }
            }
        }
        return DashPanel(title: "Memory", sources: ["redis"], preferred: rows + 1, minimum: 4, draw: draw)
    }

    static func statusSpan(_ s: String?) -> Span {
        guard let s else { return Span("—", .dim) }
        return Span(s, s == "ok" ? okStyle : badStyle)
    }

    static func persistencePanel(_ m: AppModel) -> DashPanel {
        let p = m.snapshot?.persistence ?? PersistenceSummary()
        var ls: [Line] = []
        ls.append([Span("AOF "), Span(Fmt.bool(p.aofEnabled, yes: "on", no: "off"), p.aofEnabled == false ? badStyle : (p.aofEnabled == true ? okStyle : .dim)),
                   Span("  fsync \(p.appendfsync ?? m.snapshot?.config.appendfsync ?? "—")"), Span("  write "), statusSpan(p.aofLastWriteStatus)])
        ls.append([Span("rewrite "), statusSpan(p.aofLastBgrewriteStatus),
                   Span("  running \(Fmt.bool(p.aofRewriteInProgress))  scheduled \(Fmt.bool(p.aofRewriteScheduled))")])
        ls.append([Span("delayed fsync "), Span(Fmt.int(p.aofDelayedFsync), (p.aofDelayedFsync ?? 0) > 0 ? warnStyle : .plain),
                   Span("  size \(Fmt.bytes(p.aofCurrentSizeBytes)) (base \(Fmt.bytes(p.aofBaseSizeBytes)))")])
        ls.append([Span("BGSAVE "), statusSpan(p.rdbLastBgsaveStatus),
                   Span("  last \(Fmt.ago(unix: p.rdbLastSaveTime, now: m.now))  running \(Fmt.bool(p.rdbBgsaveInProgress))")])
        if p.loading == true {
            ls.append([Span("LOADING ", badStyle), Span(p.loadingPercent.map { Fmt.fixed($0, 0) + "%" } ?? "?"),
                       Span("  ETA \(p.loadingEtaSeconds.map { Fmt.duration(Double($0)) } ?? "?")")])
        } else {
            ls.append([Span("loading \(Fmt.bool(p.loading))", .dim)])
        }
        return DashPanel(title: "Persistence / AOF", sources: ["redis"], preferred: ls.count + 2, minimum: 3, draw: lines(ls))
    }

    static func clientsPanel(_ m: AppModel) -> DashPanel {
        let c = m.snapshot?.clients ?? ClientsSummary()
        var ls: [Line] = []
        ls.append([Span("connected \(Fmt.int(c.connected))  blocked \(Fmt.int(c.blocked))  ops/s \(Fmt.int(c.opsPerSec))")])
        ls.append([Span("rejected conns "), Span(Fmt.int(c.rejectedConnections), (c.rejectedConnections ?? 0) > 0 ? warnStyle : .plain),
                   Span("  redis \(m.snapshot?.redisVersion ?? "—")")])
        let ks = (m.snapshot?.keyspace ?? [:]).sorted { $0.key.localizedStandardCompare($1.key) == .orderedAscending }
        ls.append([Span("keys " + (ks.isEmpty ? "—" : ks.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))])
        return DashPanel(title: "Clients and traffic", sources: ["redis"], preferred: ls.count + 2, minimum: 3, draw: lines(ls))
    }

    static func trendArrow(_ d: Int64?) -> Span {
        guard let d else { return Span(" ") }
        if d > 0 { return Span("↑", Style(fg: .red, bold: true)) }
        if d < 0 { return Span("↓", Style(fg: .green)) }
        return Span("→", .dim)
    }

    static func queuesPanel(_ m: AppModel) -> DashPanel {
        let all = m.snapshot?.queues ?? []
        let qs = all.filter { m.dashboardMatches("\($0.prefix):\($0.name)") }
        let hidden = all.count - qs.count
        let rows: [[Span]] = qs.map { q in
            let id = "\(q.prefix):\(q.name)"
            return [Span(q.name), Span(Fmt.int(q.waiting)), trendArrow(m.queueTrend[id]), Span(Fmt.int(q.active)),
                    Span(Fmt.int(q.failed), (q.failed ?? 0) > 0 ? warnStyle : .plain), Span(Fmt.int(q.delayed)),
                    Span(Fmt.int(q.prioritized)), Span(Fmt.int(q.paused)), Span(Fmt.int(q.waitingChildren)), Span(Fmt.int(q.completed))]
        }
        let table = Table(columns: [
            Column("queue", .flex(min: 8, weight: 1)), Column("wait", .fixed(6), align: .right), Column("", .fixed(1)),
            Column("act", .fixed(5), align: .right), Column("fail", .fixed(6), align: .right), Column("delay", .fixed(6), align: .right),
            Column("prio", .fixed(5), align: .right), Column("pause", .fixed(5), align: .right), Column("w-ch", .fixed(5), align: .right),
            Column("done", .fixed(7), align: .right),
        ], rows: rows)
        let draw: (inout Grid, Rect) -> Void = { g, r in
            if qs.isEmpty {
                let text = m.snapshot == nil || m.snapshot?.redisVersion == nil ? "loading…"
                    : m.snapshot?.queuesSearching == true ? "looking for BullMQ queues…"
                    : (hidden > 0 ? "\(hidden) hidden by filter" : "no BullMQ queues found")
                g.write(text, x: r.x, y: r.y, style: .dim, clip: r)
            } else {
                table.render(into: &g, rect: r)
                if hidden > 0, r.height > qs.count + 1 {
                    g.write("\(hidden) hidden by filter", x: r.x, y: r.y + qs.count + 1, style: .dim, clip: r)
                }
            }
        }
        let title = "BullMQ queues (\(qs.count)\(hidden > 0 ? " of \(all.count)" : ""))"
        return DashPanel(title: title, sources: ["redis", "queues"], preferred: max(1, qs.count + (qs.isEmpty ? 0 : 1)) + 2 + (hidden > 0 ? 1 : 0), minimum: 3, draw: draw)
    }

    /// The snapshot's ADR checks (`Findings.adrChecks`, the same rows `check` and `status --json`
    /// give), drawn: ✓ pass, ✗ fail, ? unknown, then the measured detail.
    static func adrPanel(_ m: AppModel) -> DashPanel {
        let checks = m.snapshot?.adr ?? []
        // A passing check is its title; a failing or unknown one also says what was measured.
        let ls: [Line] = checks.isEmpty ? [[Span("waiting for data", .dim)]] : checks.flatMap { c -> [Line] in
            switch c.status {
            case .pass: return [[Span("✓ ", okStyle), Span(c.title)]]
            case .fail: return [[Span("✗ ", badStyle), Span(c.title)], [Span("  " + c.detail, .dim)]]
            case .unknown: return [[Span("? ", .dim), Span(c.title)], [Span("  " + c.detail, .dim)]]
            }
        }
        // Short of room (80x24): what is wrong first, one row each with its detail on the same
        // row, then one row for what passes; never a cut-off list that hides a failing check.
        let draw: (inout Grid, Rect) -> Void = { g, r in
            guard ls.count > r.height, !checks.isEmpty else { lines(ls)(&g, r); return }
            let bad = checks.filter { $0.status != .pass }
            let passing = checks.count - bad.count
            var compact: [Line] = bad.map { c in
                c.status == .fail ? [Span("✗ ", badStyle), Span(c.title), Span(": " + c.detail, .dim)]
                                  : [Span("? ", .dim), Span(c.title), Span(": " + c.detail, .dim)]
            }
            if passing > 0 { compact.append([Span("✓ ", okStyle), Span("\(passing) of \(checks.count) pass", .dim)]) }
            if compact.count > r.height, r.height > 0 {
                let more = compact.count - r.height + 1
                compact = Array(compact.prefix(r.height - 1)) + [[Span("+\(more) more: `check` lists them", .dim)]]
            }
            lines(compact)(&g, r)
        }
        let important = checks.filter { $0.status != .pass }.count + (checks.contains { $0.status == .pass } ? 1 : 0)
        return DashPanel(title: "ADR compliance", sources: ["redis", "exporter"], preferred: ls.count + 2,
                         minimum: min(ls.count, max(1, min(important, 4))) + 2, draw: draw)
    }

    static func severityStyle(_ s: Severity) -> Style {
        switch s {
        case .critical: Style(fg: .red, bold: true)
        case .warning: Style(fg: .yellow, bold: true)
        case .info: Style(fg: .cyan)
        }
    }

    static func severityLabel(_ s: Severity) -> String {
        switch s { case .critical: "CRIT"; case .warning: "WARN"; case .info: "INFO" }
    }

    static func findingsTable(_ list: [Finding], selected: Int?, wide: Bool) -> Table {
        // The id is the operator's handle (runbook, `check`, `status --json`): never cut it.
        let idWidth = min(32, max(10, list.map { TextWidth.of($0.id) + ($0.because == nil ? 0 : 2) }.max() ?? 10))
        var cols = [Column("sev", .fixed(4)), Column("finding", .fixed(idWidth)), Column("summary", .flex(min: 8, weight: 4))]
        // The runbook column is as wide as its longest entry: the rest goes to the summary.
        let runbookWidth = min(28, max(10, list.map { TextWidth.of($0.runbook.map { "→ \($0)" } ?? "—") }.max() ?? 10))
        if wide { cols.insert(Column("runbook", .fixed(runbookWidth)), at: 2) }
        return Table(columns: cols, rows: list.map { f in
            // A symptom folds under its cause: "↳ pod-not-ready  … because aof-corruption".
            let id = f.because == nil ? Span(f.id, .bold) : Span("↳ " + f.id, .dim)
            let summary = f.because.map { Span("\(f.summary), because \($0)") } ?? Span(f.summary)
            return [Span(severityLabel(f.severity), severityStyle(f.severity)), id]
                + (wide ? [Span(f.runbook.map { "→ \($0)" } ?? "—", .dim)] : []) + [summary]
        }, selected: list.isEmpty ? nil : selected, showHeader: false)
    }

    static func findingsPanel(_ m: AppModel) -> DashPanel {
        let list = m.findings(filter: .dashboard)
        let hidden = m.findingsHidden(filter: .dashboard)
        let sel = min(m.selection[.dashboard] ?? 0, max(0, list.count - 1))
        // The counts are of every finding: a filter never makes a problem disappear from the title.
        let counts = Severity.allCases.map { s in (m.snapshot?.findings ?? []).filter { $0.severity == s }.count }
        let title = "Findings \(counts[0])C \(counts[1])W \(counts[2])I" + (hidden > 0 ? " · \(hidden) hidden by filter" : "")
        let draw: (inout Grid, Rect) -> Void = { g, r in
            if list.isEmpty {
                if hidden > 0 {
                    g.write(line: [Span("\(hidden) hidden by filter \"\(m.filters[.dashboard] ?? "")\" (Esc clears it)", warnStyle)], x: r.x, y: r.y, clip: r)
                } else if m.snapshot == nil {
                    g.write("waiting for data", x: r.x, y: r.y, style: .dim, clip: r)
                } else if let e = m.snapshot?.errors.first {
                    g.write(line: [Span("no findings: data incomplete (\(e.source): \(e.message))", warnStyle)], x: r.x, y: r.y, clip: r)
                } else {
                    g.write("✓ no findings", x: r.x, y: r.y, style: okStyle, clip: r)
                }
                return
            }
            // The list, then (room permitting) the selected finding's evidence right under it; a
            // list longer than the room says how many are not shown.
            let evidenceRow = r.height >= 4 ? 1 : 0
            var rows = min(list.count, r.height - evidenceRow)
            let more = list.count - rows
            if more > 0, rows > 1 { rows -= 1 }
            let table = Rect(x: r.x, y: r.y, width: r.width, height: rows)
            findingsTable(list, selected: sel, wide: r.width >= 60).render(into: &g, rect: table)
            var y = r.y + rows
            if list.count > rows, y < r.maxY {
                g.write(line: [Span("+\(list.count - rows) more: j/k scroll, f lists all", .dim)], x: r.x, y: y, clip: r)
                y += 1
            }
            if evidenceRow > 0, y < r.maxY {
                let f = list[sel]
                g.write(line: [Span("evidence: ", .dim), Span(f.evidence)], x: r.x, y: y, clip: r)
            }
        }
        // At least the first three findings (the cause first) stay on screen at 80x24.
        return DashPanel(title: title, sources: [], preferred: max(1, list.count) + 3, minimum: min(max(1, list.count), 3) + 2 + (list.count > 3 ? 1 : 0) + (list.isEmpty ? 0 : 1), draw: draw)
    }

    // MARK: other screens

    static func drawMemoryScreen(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let inner = Panel(title: "Memory over this session (\(m.memoryUsed.count) samples, every \(Fmt.duration(m.refreshInterval)))",
                          status: m.panelStatus(["redis"])?.text,
                          statusStyle: m.panelStatus(["redis"])?.isError == true ? badStyle : .dim).render(into: &g, rect: body).inset(dx: 1, dy: 0)
        let mem = m.snapshot?.memory ?? MemorySummary()
        var summary: Line = [Span("used \(Fmt.bytes(mem.usedBytes))  rss \(Fmt.bytes(mem.rssBytes))  peak \(Fmt.bytes(mem.peakBytes))  limit \(Fmt.bytes(mem.limitBytes))  maxmemory ")]
        if mem.maxmemoryBytes == 0 { summary.append(Span("unset: the container limit is the only limit", warnStyle)) } else { summary.append(Span(Fmt.bytes(mem.maxmemoryBytes))) }
        g.write(line: summary, x: inner.x, y: inner.y, clip: inner)
        memoryChart(m).render(into: &g, rect: Rect(x: inner.x, y: inner.y + 2, width: inner.width, height: inner.height - 2))
    }

    static func drawLogs(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let title = "Logs \(m.podName)/\(m.logs.container)\(m.logs.previous ? " --previous" : "")\(m.logs.wrap ? " (wrapped)" : "")"
        var status: String?
        var err = false
        if let e = m.logs.error {
            status = m.logs.fetchedAt.map { "stale \(Int(m.now.timeIntervalSince($0)))s: \(e)" } ?? "error: \(e)"; err = true
        } else if let t = m.logs.fetchedAt { status = "\(Int(m.now.timeIntervalSince(t)))s" }
        let inner = Panel(title: title, status: status, statusStyle: err ? badStyle : .dim).render(into: &g, rect: body).inset(dx: 1, dy: 0)
        let all = m.logLines()
        if m.noPreviousContainer {
            g.write("no previous container (no restart yet): p shows the current logs", x: inner.x, y: inner.y, style: .dim, clip: inner)
            return
        }
        if m.logs.text == nil {
            g.write(m.logs.error == nil ? "loading…" : "no logs", x: inner.x, y: inner.y, style: .dim, clip: inner)
            return
        }
        let maxTop = max(0, all.count - inner.height)
        let f = m.filters[.logs] ?? ""
        func style(_ l: String) -> Style {
            (!f.isEmpty) ? Style(fg: .yellow) : (l.localizedCaseInsensitiveContains("error") || l.contains("#") && l.localizedCaseInsensitiveContains("bad") ? Style(fg: .red) : .plain)
        }
        if m.logs.wrap, inner.width > 0, inner.height > 0 {
            // Scrolling stays in log lines; each line takes as many rows as it needs. Following
            // the tail shows as many whole last lines as fit (the last one always complete).
            func rows(_ l: String) -> [String] { l.isEmpty ? [""] : TextLayout.wrap(l, width: inner.width) }
            var shown: [(String, Style)] = []
            if let s = m.logs.scroll, s < maxTop || all.count <= inner.height {
                for l in all.dropFirst(min(s, all.count)) {
                    for r in rows(l) { shown.append((r, style(l))) }
                    if shown.count >= inner.height { break }
                }
                shown = Array(shown.prefix(inner.height))
            } else {
                for l in all.reversed() {
                    let r = rows(l)
                    if shown.count + r.count > inner.height, !shown.isEmpty { break }
                    shown.insert(contentsOf: r.map { ($0, style(l)) }, at: 0)
                }
                shown = Array(shown.suffix(inner.height))
            }
            for (i, (text, st)) in shown.enumerated() { g.write(text, x: inner.x, y: inner.y + i, style: st, clip: inner) }
        } else {
            let top = min(m.logs.scroll ?? maxTop, maxTop)
            for (i, l) in all.dropFirst(top).prefix(inner.height).enumerated() {
                let cut = TextWidth.of(l) > inner.width && inner.width > 1
                g.write(cut ? TextLayout.truncate(l, to: inner.width) : l, x: inner.x, y: inner.y + i, style: style(l), clip: inner)
            }
        }
        if all.isEmpty { g.write(f.isEmpty ? "(empty)" : "no line matches \"\(f)\"", x: inner.x, y: inner.y, style: .dim, clip: inner) }
    }

    static func drawEvents(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        var status: String?
        var err = false
        if let e = m.events.error {
            status = m.events.fetchedAt.map { "stale \(Int(m.now.timeIntervalSince($0)))s: \(e)" } ?? "error: \(e)"; err = true
        } else if let t = m.events.fetchedAt { status = "\(Int(m.now.timeIntervalSince(t)))s" }
        let list = m.filteredEvents()
        let inner = Panel(title: "Events of \(m.podName) (\(list.count))", status: status, statusStyle: err ? badStyle : .dim).render(into: &g, rect: body).inset(dx: 1, dy: 0)
        if list.isEmpty {
            g.write(m.events.fetchedAt == nil && m.events.error == nil ? "loading…" : "no events", x: inner.x, y: inner.y, style: .dim, clip: inner)
            return
        }
        Table(columns: [Column("age", .fixed(7), align: .right), Column("type", .fixed(7)), Column("reason", .fixed(18)),
                        Column("count", .fixed(5), align: .right), Column("message", .flex(min: 10, weight: 1))],
              rows: list.map { e in
                  [Span(Fmt.ago(e.lastTimestamp, now: m.now).replacingOccurrences(of: " ago", with: "")), Span(e.type, e.type == "Warning" ? warnStyle : .plain),
                   Span(e.reason), Span(Fmt.int(e.count)), Span(e.message)]
              }, selected: min(m.selection[.events] ?? 0, list.count - 1)).render(into: &g, rect: inner)
    }

    static func drawFindingsScreen(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let list = m.findings(filter: .findings)
        let sel = min(m.selection[.findings] ?? 0, max(0, list.count - 1))
        let detailH = min(10, max(5, body.height / 3))
        let (top, bottom) = body.splitBottom(detailH)
        let inner = Panel(title: "Findings (\(list.count)), most severe first", status: m.panelStatus(["pod", "redis", "exporter", "queues"])?.text,
                          statusStyle: m.panelStatus(["pod", "redis", "exporter", "queues"])?.isError == true ? badStyle : .dim)
            .render(into: &g, rect: top).inset(dx: 1, dy: 0)
        if list.isEmpty {
            g.write(m.snapshot == nil ? "waiting for data" : "no findings", x: inner.x, y: inner.y, style: .dim, clip: inner)
        } else {
            findingsTable(list, selected: sel, wide: true).render(into: &g, rect: inner)
        }
        let d = Panel(title: "Detail").render(into: &g, rect: bottom).inset(dx: 1, dy: 0)
        guard sel < list.count else { return }
        let f = list[sel]
        TextBlock([
            [Span(severityLabel(f.severity) + " ", severityStyle(f.severity)), Span(f.id, .bold), Span("  runbook: "), Span(f.runbook ?? "—", .bold),
             Span(f.runbook == nil ? "" : "  (Enter opens it)", .dim)],
            [Span(f.summary)],
            [Span("evidence: ", .dim), Span(f.evidence)],
        ], overflow: .wrap).render(into: &g, rect: d)
    }

    static func drawHelp(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let inner = Panel(title: "Help: keys\(m.readOnly ? " (read-only: mutating keys removed)" : "")").render(into: &g, rect: body).inset(dx: 1, dy: 0)
        var rows = Keymap.helpRows(readOnly: m.readOnly)
        if let f = m.filters[.help], !f.isEmpty { rows = rows.filter { "\($0.keys) \($0.help) \($0.screens)".localizedCaseInsensitiveContains(f) } }
        var tableRows: [[Span]] = rows.map { [Span($0.keys, .bold), Span($0.help), Span($0.screens, .dim)] }
        tableRows.append([Span(""), Span(""), Span("")])
        tableRows.append(contentsOf: PaletteCommand.names.map { [Span(":" + $0.name, .bold), Span($0.help), Span("palette", .dim)] })
        Table(columns: [Column("keys", .fixed(16)), Column("action", .flex(min: 20, weight: 3)), Column("screens", .flex(min: 6, weight: 2))],
              rows: tableRows, selected: m.selection[.help] ?? 0, selectedStyle: Style(underline: true)).render(into: &g, rect: inner)
    }

    static func drawAnalysis(_ g: inout Grid, _ m: AppModel, _ body: Rect) {
        let a = m.analysis
        let status: String
        if a.running { status = "running — Esc stops" } else if a.complete == true { status = "complete" } else if let r = a.stopReason { status = "stopped: \(r)" } else { status = "" }
        let inner = Panel(title: "Where the memory went (SCAN + MEMORY USAGE, read-only)", status: status,
                          statusStyle: (a.complete == false && !a.running) ? badStyle : .dim).render(into: &g, rect: body).inset(dx: 1, dy: 0)
        guard inner.height > 2 else { return }
        let p = a.progress
        let pct = (p?.fraction ?? (a.complete == true ? 1 : 0)) * 100
        Gauge(label: "scanned", value: pct, limit: 100,
              detail: String(format: "%.0f%%  %@ keys of %@", pct, p.map { "\($0.keysScanned)" } ?? "0", p?.dbSize.map { "\($0)" } ?? "?"))
            .render(into: &g, rect: Rect(x: inner.x, y: inner.y, width: inner.width, height: 1))
        if let p {
            let line = String(format: "%d batches  %.1fs  last batch %.1f ms%@", p.batches, p.elapsedSeconds, p.lastBatchLatencyMs, p.pausing ? "  pausing: Redis answers slowly" : "")
            g.write(line, x: inner.x, y: inner.y + 1, style: p.pausing ? warnStyle : .dim, clip: inner)
        }
        let textRect = Rect(x: inner.x, y: inner.y + 3, width: inner.width, height: max(0, inner.height - 3))
        if let text = a.reportText {
            TextBlock(text: text, overflow: .truncate).with(offset: m.selection[.analysis] ?? 0).render(into: &g, rect: textRect)
        } else if a.running {
            g.write("sizing keys in bounded batches; the report appears when the walk ends (Esc for a partial one)", x: textRect.x, y: textRect.y, style: .dim, clip: textRect)
        } else {
            g.write("press a to analyse the keyspace", x: textRect.x, y: textRect.y, style: .dim, clip: textRect)
        }
    }

}

extension TextBlock {
    func with(offset: Int) -> TextBlock { var t = self; t.offset = offset; return t }
}
