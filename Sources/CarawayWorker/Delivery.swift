import CarawayBroker
import CarawayLoop
import CarawayProtocol

/// One message being executed by one child.
final class Delivery {
    let reservation: Reservation
    let message: CeleryMessage
    let options: TaskOptions
    let child: PoolChild
    /// Wall-clock start (epoch seconds), for inspect and runtime.
    let startedAt: Double
    var softTimer: LoopTimer?
    var hardTimer: LoopTimer?
    /// Set when the hard time limit killed the child.
    var timedOut = false
    /// The signal a revoke with terminate sent to the child.
    var terminatedBy: Int32?
    var killTimer: LoopTimer?

    init(reservation: Reservation, message: CeleryMessage, options: TaskOptions, child: PoolChild, startedAt: Double) {
        self.reservation = reservation
        self.message = message
        self.options = options
        self.child = child
        self.startedAt = startedAt
    }

    func cancelTimers() {
        softTimer?.close()
        hardTimer?.close()
        killTimer?.close()
        softTimer = nil
        hardTimer = nil
        killTimer = nil
    }
}

/// Counters a node reports (`stats`).
public struct ConsumerStats: Sendable {
    public var succeeded = 0
    public var failed = 0
    public var retried = 0
    public var requeued = 0
    public var deadLettered = 0
    public var deferred = 0
    public var expired = 0
    public var revoked = 0
    /// Settles that found the delivery already recovered elsewhere: possible duplicate runs (I2).
    public var possibleDuplicates = 0
    public var totals: [String: Int] = [:]
}
