import CLI
import Foundation
#if canImport(Glibc)
/// glibc's `mallopt` and M_ARENA_MAX (malloc.h, which the Glibc module does not bring in).
@_silgen_name("mallopt") func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
let glibcMArenaMax: Int32 = -8
// One malloc arena for the whole process instead of one per thread (glibc's default is up to
// 8 per core): this is a long-lived, mostly idle tool whose threads allocate little, and every
// extra arena keeps its own free pages resident (about 0.4 MB of the dashboard's footprint).
_ = glibcMallopt(glibcMArenaMax, 1)
#endif

await RedisRunbookCommand.runMain()
