import Foundation

/// Entry point when the binary runs as a sandbox's `kubectl`.
public enum KubectlPersonality {
    public static func main(arguments: [String]) async -> Int32 {
        FileHandle.standardError.write(Data("error: the sandbox kubectl is not built yet\n".utf8))
        return 1
    }
}
