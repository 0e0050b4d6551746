import CarawayLoop

/// Measures how late the loop runs a timer: the node's responsiveness (I6), shown in /health.
public final class LoopLagMonitor {
    private let timer: LoopTimer
    private let intervalNanoseconds: UInt64 = 250_000_000
    private var expected: UInt64 = 0
    /// Lag of the last tick, milliseconds.
    public private(set) var lastMilliseconds: Double = 0
    /// Worst lag seen since start, milliseconds.
    public private(set) var maxMilliseconds: Double = 0

    public init(loop: EventLoop) {
        timer = LoopTimer(loop: loop)
        timer.setKeepsLoopAlive(false)
    }

    public func start() {
        expected = EventLoop.hrtime + intervalNanoseconds
        timer.start(after: 250, repeat: 250) { [weak self] in
            guard let self else { return }
            let now = EventLoop.hrtime
            let lag = now > self.expected ? Double(now - self.expected) / 1e6 : 0
            self.lastMilliseconds = lag
            self.maxMilliseconds = max(self.maxMilliseconds, lag)
            self.expected = now + self.intervalNanoseconds
        }
    }

    public func stop() { timer.close() }
}
