import CUV

/// One accepted TCP connection.
public final class TCPStream: Stream {
    init(loop: EventLoop) throws(LoopError) {
        super.init(size: MemoryLayout<uv_tcp_t>.size, loop: loop)
        try LoopError.check(uv_tcp_init(loop.raw, handle.assumingMemoryBound(to: uv_tcp_t.self)), "uv_tcp_init")
        retainForLoop()
    }

    /// Disables Nagle's algorithm so small responses leave at once.
    public func setNoDelay(_ on: Bool) {
        uv_tcp_nodelay(handle.assumingMemoryBound(to: uv_tcp_t.self), on ? 1 : 0)
    }
}
