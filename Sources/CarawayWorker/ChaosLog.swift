import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The execution log `caraway.chaos_record` writes for the chaos harness (chaos/): one JSON line
/// per execution, appended with O_APPEND so lines from concurrent children never interleave.
enum ChaosLog {
    static func append(id: String, tag: String, deliveries: Int) throws {
        guard let path = getenv("CARAWAY_CHAOS_LOG").map({ String(cString: $0) }), !path.isEmpty else {
            throw TaskError.badValue("caraway.chaos_record needs CARAWAY_CHAOS_LOG set on the node (the chaos harness sets it)")
        }
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let node = getenv("CARAWAY_NODE_NAME").map { String(cString: $0) } ?? ""
        let line: JSON = ["id": .string(id), "tag": .string(tag), "node": .string(node), "pid": JSON(Int(getpid())),
                          "t": JSON(Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9), "delivery": JSON(deliveries)]
        var bytes = line.serialized()
        bytes.append(UInt8(ascii: "\n"))
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TaskError(type: "OSError", message: "cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        // One write() of a line well under PIPE_BUF: atomic with O_APPEND.
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw TaskError(type: "OSError", message: "short write to \(path)")
        }
    }
}
