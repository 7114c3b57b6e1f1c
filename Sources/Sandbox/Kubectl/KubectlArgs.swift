import Foundation

/// An error kubectl would print: the message goes to stderr, the process exits with `code`.
public struct KubectlError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var code: Int32
    public init(_ message: String, code: Int32 = 1) { self.message = message; self.code = code }
    public var description: String { message }

    public static func notFound(_ resource: String, _ name: String) -> KubectlError {
        KubectlError("Error from server (NotFound): \(resource) \"\(name)\" not found")
    }
}

/// One flag as pflag knows it.
public struct KctlFlag: Sendable {
    public var long: String
    public var short: Character?
    public var takesValue: Bool
    public init(_ long: String, _ short: Character? = nil, value: Bool = true) {
        self.long = long; self.short = short; self.takesValue = value
    }
}

/// Parsed command line, pflag-style: flags anywhere, `--` ends them.
public struct KctlArgs: Equatable, Sendable {
    public var positionals: [String] = []
    /// Values per long flag name, in order (bool flags get "true"/"false").
    public var flags: [String: [String]] = [:]
    /// Everything after `--`, nil when there was no `--`.
    public var afterDash: [String]?

    public func value(_ long: String) -> String? { flags[long]?.last }
    public func values(_ long: String) -> [String] { flags[long] ?? [] }
    public func bool(_ long: String) -> Bool {
        guard let v = flags[long]?.last else { return false }
        return v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True"
    }
    public func has(_ long: String) -> Bool { flags[long] != nil }
}

public enum KctlArgParser {
    /// Flags accepted by every command.
    public static let global: [KctlFlag] = [
        KctlFlag("namespace", "n"), KctlFlag("context"), KctlFlag("kubeconfig"), KctlFlag("cluster"), KctlFlag("user"),
        KctlFlag("request-timeout"), KctlFlag("v", "v"), KctlFlag("server", "s"), KctlFlag("token"),
        KctlFlag("insecure-skip-tls-verify", value: false), KctlFlag("as"), KctlFlag("cache-dir"),
        KctlFlag("match-server-version", value: false), KctlFlag("warnings-as-errors", value: false),
    ]

    /// Splits off the command word: the first positional, skipping global flags and their values.
    public static func splitCommand(_ args: [String]) -> (command: String?, rest: [String]) {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { return (nil, args) }
            if a.hasPrefix("-") && a != "-" {
                if let spec = findSpec(a, in: global), spec.takesValue, !a.contains("="), !isAttachedShort(a) {
                    i += 2
                } else {
                    i += 1
                }
                continue
            }
            var rest = args
            rest.remove(at: i)
            return (a, rest)
        }
        return (nil, args)
    }

    static func isAttachedShort(_ a: String) -> Bool {
        !a.hasPrefix("--") && a.count > 2
    }

    static func findSpec(_ a: String, in specs: [KctlFlag]) -> KctlFlag? {
        if a.hasPrefix("--") {
            let name = String(a.dropFirst(2).split(separator: "=", maxSplits: 1).first ?? "")
            return specs.first { $0.long == name }
        }
        guard let c = a.dropFirst().first else { return nil }
        return specs.first { $0.short == c }
    }

    public static func parse(_ args: [String], flags: [KctlFlag], command: String) throws -> KctlArgs {
        let specs = global + flags
        var out = KctlArgs()
        var i = 0
        func add(_ spec: KctlFlag, _ value: String) {
            out.flags[spec.long, default: []].append(value)
        }
        while i < args.count {
            let a = args[i]
            i += 1
            if a == "--" {
                out.afterDash = Array(args[i...])
                break
            }
            if a.hasPrefix("--") {
                let body = a.dropFirst(2)
                let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                guard let spec = specs.first(where: { $0.long == name }) else {
                    throw KubectlError("error: unknown flag: --\(name)\nSee 'kubectl \(command) --help' for usage.")
                }
                if parts.count == 2 {
                    add(spec, String(parts[1]))
                } else if spec.takesValue {
                    guard i < args.count else {
                        throw KubectlError("error: flag needs an argument: --\(name)\nSee 'kubectl \(command) --help' for usage.")
                    }
                    add(spec, args[i]); i += 1
                } else {
                    add(spec, "true")
                }
                continue
            }
            if a.hasPrefix("-") && a.count > 1 {
                // Shorthand cluster: -it, -ojson, -o=json, -n ns
                var chars = Array(a.dropFirst())
                while !chars.isEmpty {
                    let c = chars.removeFirst()
                    guard let spec = specs.first(where: { $0.short == c }) else {
                        throw KubectlError("error: unknown shorthand flag: '\(c)' in \(a)\nSee 'kubectl \(command) --help' for usage.")
                    }
                    if spec.takesValue {
                        if !chars.isEmpty {
                            var v = String(chars)
                            if v.hasPrefix("=") { v.removeFirst() }
                            add(spec, v)
                        } else {
                            guard i < args.count else {
                                throw KubectlError("error: flag needs an argument: '\(c)' in -\(c)\nSee 'kubectl \(command) --help' for usage.")
                            }
                            add(spec, args[i]); i += 1
                        }
                        chars = []
                    } else {
                        if chars.first == "=" {
                            add(spec, String(chars.dropFirst())); chars = []
                        } else {
                            add(spec, "true")
                        }
                    }
                }
                continue
            }
            out.positionals.append(a)
        }
        return out
    }

    /// kubectl's duration flags ("30s", "5m", "1h30m", "0"); seconds.
    public static func duration(_ text: String) -> Double? {
        if let n = Double(text) { return n }
        var total = 0.0
        var number = ""
        var unit = ""
        var parts: [(Double, String)] = []
        for ch in text {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty {
                    guard let v = Double(number) else { return nil }
                    parts.append((v, unit)); number = ""; unit = ""
                }
                number.append(ch)
            } else {
                unit.append(ch)
            }
        }
        guard let v = Double(number), !unit.isEmpty else { return nil }
        parts.append((v, unit))
        for (v, u) in parts {
            switch u {
            case "ms": total += v / 1000
            case "s": total += v
            case "m": total += v * 60
            case "h": total += v * 3600
            default: return nil
            }
        }
        return total
    }
}
