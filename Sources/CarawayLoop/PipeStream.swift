import CUV

/// A libuv pipe handle over a pipe or Unix socket; a ``ChildChannel`` holds two, one per direction.
public final class PipeStream: Stream {
    public init(loop: EventLoop) throws(LoopError) {
        super.init(size: MemoryLayout<uv_pipe_t>.size, loop: loop)
        try LoopError.check(uv_pipe_init(loop.raw, handle.assumingMemoryBound(to: uv_pipe_t.self), 0), "uv_pipe_init")
        retainForLoop()
    }

    /// Wraps an already-open file descriptor (e.g. fd 3 inherited by a child).
    public convenience init(loop: EventLoop, fileDescriptor: Int32) throws(LoopError) {
        try self.init(loop: loop)
        try LoopError.check(uv_pipe_open(handle.assumingMemoryBound(to: uv_pipe_t.self), fileDescriptor), "uv_pipe_open")
    }

    var pipe: UnsafeMutablePointer<uv_pipe_t> { handle.assumingMemoryBound(to: uv_pipe_t.self) }
}
