import CarawayLoop
import Logging

/// Moves delayed (ETA, countdown, retry) messages onto their queues when they fall due.
///
/// Every node runs one; `promote_due` is atomic, so each message moves exactly once. Polls every
/// `maxIntervalMilliseconds` (100 ms: the most an ETA task runs late), at once after a full batch
/// or a `poke()`. Polling, not a timer at the next due time: other nodes add delayed messages too.
public final class Forwarder {
    private let loop: EventLoop
    private let broker: Broker
    private let logger: Logger
    private let maxIntervalMilliseconds: UInt64
    private var timer: LoopTimer?
    private var running = false
    /// Messages promoted by this node (stats).
    public private(set) var promoted = 0

    public init(loop: EventLoop, broker: Broker, maxIntervalMilliseconds: UInt64 = 100, logger: Logger) {
        self.loop = loop
        self.broker = broker
        self.maxIntervalMilliseconds = maxIntervalMilliseconds
        self.logger = logger
    }

    public func start() {
        if timer == nil { timer = LoopTimer(loop: loop) }
        schedule(after: 0)
    }

    public func stop() {
        timer?.close()
        timer = nil
    }

    /// Runs a promotion pass now (e.g. right after this node delayed a message).
    public func poke() { if !running { schedule(after: 0) } }

    private func schedule(after milliseconds: UInt64) {
        timer?.start(after: milliseconds) { [weak self] in self?.run() }
    }

    private func run() {
        guard !running else { return }
        running = true
        broker.promoteDue { [weak self] result in
            guard let self else { return }
            self.running = false
            switch result {
            case .success(let (moved, _)):
                self.promoted += moved
                // More may be due right away when a batch was full.
                self.schedule(after: moved >= 500 ? 0 : self.maxIntervalMilliseconds)
            case .failure(let error):
                self.logger.debug("delayed.promote_failed", metadata: ["error": "\(error)"])
                self.schedule(after: 1_000)
            }
        }
    }
}
