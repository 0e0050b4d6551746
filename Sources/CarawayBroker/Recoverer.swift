import CarawayLoop
import Logging

/// Finds nodes whose lease expired and takes over their in-flight messages.
///
/// Runs every `interval` on every node; the `recover` script makes sure exactly one node gets
/// each dead node's messages. The recovered reservations are handed to `onRecovered`, which
/// requeues them (counting the redelivery) — until then they sit under this node's own lease,
/// so a crash here loses nothing either.
public final class Recoverer {
    private let loop: EventLoop
    private let broker: Broker
    private let logger: Logger
    private let intervalMilliseconds: UInt64
    private var timer: LoopTimer?
    private var running = false
    public var onRecovered: (([Reservation]) -> Void)?
    /// Only recover while this node's own registration is current.
    public var isEnabled: () -> Bool = { true }

    public init(loop: EventLoop, broker: Broker, intervalMilliseconds: UInt64 = 1_000, logger: Logger) {
        self.loop = loop
        self.broker = broker
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    public func start() {
        if timer == nil { timer = LoopTimer(loop: loop) }
        timer?.start(after: intervalMilliseconds, repeat: intervalMilliseconds) { [weak self] in self?.run() }
    }

    public func stop() {
        timer?.close()
        timer = nil
    }

    private func run() {
        guard !running, isEnabled() else { return }
        running = true
        broker.recoverExpiredNodes { [weak self] result in
            guard let self else { return }
            self.running = false
            switch result {
            case .success(let reservations) where !reservations.isEmpty:
                self.logger.warning("node.recovered_dead_node_tasks", metadata: ["count": "\(reservations.count)"])
                self.onRecovered?(reservations)
            case .success:
                break
            case .failure(let error):
                self.logger.debug("node.recover_failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
