import CUV

/// Watches a file descriptor that some other library owns (libpq's socket).
public final class Poll: HandleBox {
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: Int32(UV_READABLE.rawValue))
        public static let writable = Events(rawValue: Int32(UV_WRITABLE.rawValue))
    }

    private var callback: ((Result<Events, LoopError>) -> Void)?

    public init(loop: EventLoop, fileDescriptor: Int32) throws(LoopError) {
        super.init(size: MemoryLayout<uv_poll_t>.size, loop: loop)
        try LoopError.check(uv_poll_init(loop.raw, handle.assumingMemoryBound(to: uv_poll_t.self), fileDescriptor), "uv_poll_init")
        retainForLoop()
    }

    /// Starts or changes the watched events; the callback fires each time one is ready.
    public func start(_ events: Events, _ callback: @escaping (Result<Events, LoopError>) -> Void) throws(LoopError) {
        self.callback = callback
        try LoopError.check(uv_poll_start(handle.assumingMemoryBound(to: uv_poll_t.self), events.rawValue) { poll, status, events in
            guard let box = Poll.from(UnsafeMutableRawPointer(poll)) else { return }
            if status < 0 {
                box.callback?(.failure(LoopError(code: status, operation: "poll")))
            } else {
                box.callback?(.success(Events(rawValue: events)))
            }
        }, "uv_poll_start")
    }

    public func stop() {
        guard !isClosed else { return }
        uv_poll_stop(handle.assumingMemoryBound(to: uv_poll_t.self))
    }

    override func willClose() { uv_poll_stop(handle.assumingMemoryBound(to: uv_poll_t.self)) }
    override func didClose() { callback = nil }
}
