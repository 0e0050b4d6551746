import CUV
#if canImport(Glibc)
import Glibc
#endif

/// The node's side of a child's message channel: two plain pipes, one per direction — the
/// node writes requests into the child's fd 3 and reads replies from the child's fd 4.
///
/// Why not one duplex socketpair (what libuv's `UV_CREATE_PIPE` makes): a pipe hand-off costs
/// the kernel less per message. A ping-pong of 600-byte messages between two processes on this
/// VM spent 12.5 µs of system time per round trip over two pipes and 21 µs over a Unix
/// socketpair (docs/performance.md), and a pool child is on every task's path twice.
public final class ChildChannel {
    /// The node's write end of the child's fd 3.
    let requests: PipeStream
    /// The node's read end of the child's fd 4.
    let replies: PipeStream
    /// The child's ends, handed to `uv_spawn` and closed in the node once it has spawned.
    let childRequests: uv_file
    let childReplies: uv_file

    init(loop: EventLoop) throws(LoopError) {
        var requestFDs: [uv_file] = [-1, -1]
        var replyFDs: [uv_file] = [-1, -1]
        // uv_pipe opens both ends close-on-exec: no other child inherits them by accident.
        try LoopError.check(uv_pipe(&requestFDs, 0, 0), "uv_pipe")
        let status = uv_pipe(&replyFDs, 0, 0)
        if status < 0 {
            requestFDs.forEach { _ = Glibc.close($0) }
            throw LoopError(code: status, operation: "uv_pipe")
        }
        do {
            requests = try PipeStream(loop: loop, fileDescriptor: requestFDs[1])
        } catch {
            (requestFDs + replyFDs).forEach { _ = Glibc.close($0) }
            throw error
        }
        do {
            replies = try PipeStream(loop: loop, fileDescriptor: replyFDs[0])
        } catch {
            requests.close()
            [requestFDs[0], replyFDs[0], replyFDs[1]].forEach { _ = Glibc.close($0) }
            throw error
        }
        childRequests = requestFDs[0]
        childReplies = replyFDs[1]
    }

    /// Closes the child's ends in this process (after spawning: the child has its own copies,
    /// and the node must not hold the reply pipe's write end, or it would never see EOF).
    func closeChildEnds() {
        _ = Glibc.close(childRequests)
        _ = Glibc.close(childReplies)
    }

    /// Starts reading replies. `onEnd` fires once: nil on EOF (the child exited or closed fd 4).
    public func startReading(_ onRead: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (LoopError?) -> Void) {
        replies.startReading(onRead, onEnd: onEnd)
    }

    /// Writes one request. Completion (optional) fires exactly once.
    public func write(_ bytes: [UInt8], completion: ((LoopError?) -> Void)? = nil) {
        requests.write(bytes, completion: completion)
    }

    /// Closes both directions: the child reads EOF on fd 3 (and exits); nothing more is read.
    public func close() {
        requests.close()
        replies.close()
    }

    public var isClosed: Bool { requests.isClosed && replies.isClosed }
}
