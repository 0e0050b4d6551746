import CUV

/// A libuv timer. The callback fires on the loop thread, once per expiry.
public final class LoopTimer: HandleBox {
    private var callback: (() -> Void)?

    public init(loop: EventLoop) {
        super.init(size: MemoryLayout<uv_timer_t>.size, loop: loop)
        uv_timer_init(loop.raw, handle.assumingMemoryBound(to: uv_timer_t.self))
        retainForLoop()
    }

    private var raw: UnsafeMutablePointer<uv_timer_t> { handle.assumingMemoryBound(to: uv_timer_t.self) }

    /// Starts (or restarts) the timer: first after `milliseconds`, then every `repeat` ms if non-zero.
    public func start(after milliseconds: UInt64, repeat repeatMilliseconds: UInt64 = 0, _ callback: @escaping () -> Void) {
        guard !isClosed else { return }
        self.callback = callback
        uv_timer_start(raw, { timer in
            guard let box = LoopTimer.from(UnsafeMutableRawPointer(timer)) else { return }
            box.callback?()
        }, milliseconds, repeatMilliseconds)
    }

    public func stop() {
        guard !isClosed else { return }
        uv_timer_stop(raw)
    }

    public var isActive: Bool { !isClosed && uv_is_active(uvHandle) != 0 }

    override func willClose() { uv_timer_stop(raw) }
    override func didClose() { callback = nil }

    /// Runs `body` once after `milliseconds`, then closes the timer.
    @discardableResult
    public static func once(loop: EventLoop, after milliseconds: UInt64, _ body: @escaping () -> Void) -> LoopTimer {
        let timer = LoopTimer(loop: loop)
        timer.start(after: milliseconds) { [unowned timer] in
            timer.close()
            body()
        }
        return timer
    }
}
