import CarawayBroker
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The node's side of durable revokes: a local copy of `caraway:revoked` for the check right
/// before a task runs, and the one way to revoke (Redis first, then the broadcast).
///
/// The reserve script already refuses revoked messages atomically; the local copy closes the
/// remaining gap for revokes that land between reserve and start. It is refreshed every
/// `refreshMilliseconds` and updated at once from pidbox `revoke` broadcasts.
public final class Revocations {
    let loop: EventLoop
    let broker: Broker
    let keys: ControlKeys
    let logger: Logger
    let refreshMilliseconds: UInt64
    /// Default lifetime of a revocation; the script stretches it past the last delayed ETA.
    public static let defaultTTLSeconds = 86_400
    public private(set) var ids: Set<String> = []
    private var timer: LoopTimer?

    public init(loop: EventLoop, broker: Broker, keys: ControlKeys, refreshMilliseconds: UInt64 = 2_000, logger: Logger) {
        self.loop = loop
        self.broker = broker
        self.keys = keys
        self.refreshMilliseconds = refreshMilliseconds
        self.logger = logger
    }

    public func contains(_ id: String) -> Bool { !ids.isEmpty && ids.contains(id) }

    public func start() {
        let timer = LoopTimer(loop: loop)
        timer.start(after: 0, repeat: refreshMilliseconds) { [weak self] in self?.refresh() }
        timer.setKeepsLoopAlive(false)
        self.timer = timer
    }

    public func stop() {
        timer?.close()
        timer = nil
    }

    public func refresh() {
        guard broker.connection.isReady else { return }
        broker.revokedIDs { [weak self] result in
            guard let self, case .success(let live) = result else { return }
            self.ids = Set(live.keys)
        }
    }

    /// Adds ids seen in a broadcast or a peer's `hello` to the local copy.
    public func remember(_ newIDs: [String]) { ids.formUnion(newIDs) }

    /// Revokes durably: the set in Redis (stretched past the longest ETA) and a REVOKED result
    /// for tasks that have not finished. Completes with how many ids were new.
    public func revoke(_ taskIDs: [String], ttlSeconds: Int = defaultTTLSeconds, resultTTLSeconds: Int,
                       _ completion: @escaping (Result<Int, BrokerError>) -> Void) {
        remember(taskIDs)
        Self.revoke(broker: broker, taskIDs: taskIDs, ttlSeconds: ttlSeconds, resultTTLSeconds: resultTTLSeconds, completion)
    }

    /// The durable write on its own (the CLI and REST use it without a running node).
    public static func revoke(broker: Broker, taskIDs: [String], ttlSeconds: Int = defaultTTLSeconds, resultTTLSeconds: Int,
                              now: Double = SystemTime.now(), _ completion: @escaping (Result<Int, BrokerError>) -> Void) {
        let records = taskIDs.map { ResultRecord.revoked(taskID: $0, dateDone: now).encoded() }
        broker.revoke(taskIDs: taskIDs, ttlSeconds: ttlSeconds, revokedRecords: records,
                      resultKeys: taskIDs.map { broker.keys.result(taskID: $0) }, resultTTLSeconds: resultTTLSeconds, completion)
    }

    /// Celery's `revoke` broadcast (a cast): every node — Caraway or Python — drops the ids and,
    /// with `terminate`, signals the process running one.
    public static func broadcast(on connection: RedisConnection, keys: ControlKeys, taskIDs: [String], terminate: Bool,
                                 signal: String, _ completion: @escaping (Result<RedisValue, RedisError>) -> Void) {
        let request = ControlRequest(method: "revoke", arguments: [
            "task_id": .array(taskIDs.map(JSON.string)), "terminate": .bool(terminate), "signal": .string(signal),
        ])
        connection.send(bytes: [Array("PUBLISH".utf8), Array(keys.pidboxChannel.utf8), request.encoded()], completion)
    }
}

/// Wall-clock seconds since the epoch.
public enum SystemTime {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
