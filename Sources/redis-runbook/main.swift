import CLI
import Foundation

// One binary, several personalities: installed as DIR/bin/kubectl by `sandbox up`,
// it answers as that sandbox's kubectl.
let invokedAs = URL(fileURLWithPath: CommandLine.arguments.first ?? "redis-runbook").lastPathComponent
if invokedAs == "kubectl" {
    exit(await KubectlPersonality.main(arguments: Array(CommandLine.arguments.dropFirst())))
}
await RedisRunbookCommand.runMain()
