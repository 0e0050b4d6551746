import CarawayLoop
import Logging

/// Keeps this node's lease alive in `caraway:nodes`, renewing every third of the lease.
///
/// If a renew finds the node gone (it was presumed dead — paused, partitioned — and a recoverer
/// requeued its work), it re-registers and reports `onLeaseLost`, so the node knows that what it
/// is running now may also run elsewhere (a counted duplicate, I2).
///
/// After a reconnect the owner calls ``resync()``: the first successful beat on the new connection
/// reports ``onResynced`` (or ``onRegistered`` if the lease was lost), so the owner can catch up on
/// what the dropped connection hid — a reserve whose reply was lost, a wake-up that came while the
/// connection was down (chaos bugs 4 and 5, docs/reliability.md).
public final class Heartbeater {
    private let loop: EventLoop
    private let broker: Broker
    private let logger: Logger
    public let leaseMilliseconds: Int
    private var timer: LoopTimer?
    private var registered = false
    /// Redis time (ms) of the last successful beat.
    public private(set) var lastBeat: Int64?
    /// Local monotonic time (ns, `EventLoop.hrtime`) until which the lease surely holds: the send
    /// time of the last successful beat plus the lease. Redis counts the lease from when it ran the
    /// beat, which is later, so no peer can have presumed this node dead before this instant.
    public private(set) var leaseHeldUntil: UInt64 = 0
    public var onRegistered: (() -> Void)?
    public var onLeaseLost: (() -> Void)?
    /// The first successful renew after ``resync()``, when the lease was kept.
    public var onResynced: (() -> Void)?
    private var resyncPending = false

    public init(loop: EventLoop, broker: Broker, leaseMilliseconds: Int, logger: Logger) {
        self.loop = loop
        self.broker = broker
        self.leaseMilliseconds = leaseMilliseconds
        self.logger = logger
    }

    public var isRegistered: Bool { registered }

    public func start() {
        if timer == nil { timer = LoopTimer(loop: loop) }
        timer?.start(after: 0, repeat: UInt64(max(leaseMilliseconds / 3, 50))) { [weak self] in self?.beat() }
    }

    /// Beats at once: renews when registered (reporting a lost lease), registers otherwise.
    public func beatNow() { beat() }

    /// Beats at once after a reconnect and reports the outcome through ``onResynced`` or
    /// ``onRegistered``. Replies on a connection come back in order, so anything the owner sends
    /// from those callbacks runs after every command sent before them on the new connection.
    public func resync() {
        resyncPending = true
        beat()
    }

    public func stop() {
        timer?.close()
        timer = nil
    }

    /// Whether the lease surely still holds now (see ``leaseHeldUntil``).
    public var holdsLease: Bool { registered && EventLoop.hrtime < leaseHeldUntil }

    private func beat() {
        let sent = EventLoop.hrtime
        broker.heartbeat(leaseMilliseconds: leaseMilliseconds, renew: registered) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let now):
                self.lastBeat = now
                self.leaseHeldUntil = max(self.leaseHeldUntil, sent + UInt64(self.leaseMilliseconds) * 1_000_000)
                if !self.registered {
                    self.registered = true
                    self.resyncPending = false
                    self.onRegistered?()
                } else if self.resyncPending {
                    self.resyncPending = false
                    self.onResynced?()
                }
            case .failure(.leaseLost):
                self.logger.warning("node.lease_lost", metadata: ["node.id": "\(self.broker.nodeID)"])
                self.registered = false
                self.leaseHeldUntil = 0
                self.onLeaseLost?()
                self.beat()
            case .failure(let error):
                self.logger.debug("node.heartbeat_failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
