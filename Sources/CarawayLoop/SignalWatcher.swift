import CUV

/// Watches one POSIX signal on the loop (SIGTERM, SIGINT, SIGCHLD handled by libuv itself).
public final class SignalWatcher: HandleBox {
    private var callback: ((Int32) -> Void)?

    public init(loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) throws(LoopError) {
        super.init(size: MemoryLayout<uv_signal_t>.size, loop: loop)
        let raw = handle.assumingMemoryBound(to: uv_signal_t.self)
        try LoopError.check(uv_signal_init(loop.raw, raw), "uv_signal_init")
        retainForLoop()
        self.callback = callback
        let status = uv_signal_start(raw, { sig, signum in
            guard let box = SignalWatcher.from(UnsafeMutableRawPointer(sig)) else { return }
            box.callback?(signum)
        }, signal)
        if status < 0 {
            close()
            throw LoopError(code: status, operation: "uv_signal_start(\(signal))")
        }
    }

    override func willClose() { uv_signal_stop(handle.assumingMemoryBound(to: uv_signal_t.self)) }
    override func didClose() { callback = nil }
}
