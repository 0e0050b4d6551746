import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Logging

/// Keeps this node's inspect snapshot in Redis, so cluster-wide inspect is a read instead of
/// Celery's broadcast-and-wait (which waits out its whole timeout and hangs on a dead broker).
///
/// Every `interval` the node's current state (`snapshot()`) is written with a TTL; readers judge
/// freshness by the index time, which comes from Redis's clock.
public final class SnapshotPublisher {
    let loop: EventLoop
    let connection: RedisConnection
    let keys: ControlKeys
    let nodeID: String
    let intervalMilliseconds: UInt64
    let logger: Logger
    /// Snapshot TTL: a dead node's last state stays readable (as stale) this long.
    static let ttlMilliseconds = 60_000
    /// Index entries of nodes gone this long are forgotten.
    static let forgetAfterMilliseconds = 300_000
    public var snapshot: () -> JSON = { .null }
    private var timer: LoopTimer?
    private var writing = false
    private var stopped = false
    public private(set) var written = 0

    public init(loop: EventLoop, connection: RedisConnection, keys: ControlKeys, nodeID: String,
                intervalMilliseconds: UInt64 = 1_000, logger: Logger) {
        self.loop = loop
        self.connection = connection
        self.keys = keys
        self.nodeID = nodeID
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    public func start() {
        stopped = false
        let timer = LoopTimer(loop: loop)
        timer.start(after: 0, repeat: intervalMilliseconds) { [weak self] in self?.publish() }
        timer.setKeepsLoopAlive(false)
        self.timer = timer
    }

    /// Writes a snapshot now (also after state changes an operator is waiting to see).
    public func publish() {
        // One write in flight at most: a slow Redis gets the newest state, not a backlog.
        guard connection.isReady, !writing, !stopped else { return }
        writing = true
        let body = snapshot().serialized()
        connection.evaluate(ControlScripts.snapshotWrite,
                            keys: [Array(keys.snapshot(node: nodeID).utf8), Array(keys.snapshotIndex.utf8)],
                            arguments: [Array(nodeID.utf8), body, Array(String(Self.ttlMilliseconds).utf8),
                                        Array(String(Self.forgetAfterMilliseconds).utf8)]) { [weak self] result in
            guard let self else { return }
            self.writing = false
            if case .failure(let error) = result {
                self.logger.debug("control.snapshot_failed", metadata: ["error": "\(error)"])
            } else {
                self.written += 1
            }
        }
    }

    /// Stops publishing and removes the snapshot (a clean stop is not a missing node).
    public func stop(_ done: @escaping () -> Void) {
        stopped = true
        timer?.close()
        timer = nil
        guard connection.isReady else { done(); return }
        connection.send(["DEL", keys.snapshot(node: nodeID)]) { _ in }
        connection.send(["ZREM", keys.snapshotIndex, nodeID]) { _ in done() }
    }
}
