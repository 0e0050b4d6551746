import CarawayRedis
import Logging

/// Queue semantics on Redis for one node: reserve, settle, requeue, publish, delay, recover.
///
/// Every method issues exactly one script call on `connection` (pipelined with whatever else is
/// in flight) and calls its completion exactly once, on the loop thread.
public final class Broker {
    public let keys: RedisKeys
    public let nodeID: String
    public let connection: RedisConnection
    private var nextReservation: UInt64 = 0
    // Key bytes the hot-path scripts send with every call, made once (building them per task
    // was ~2 % of a node's CPU).
    private let inflightKeyBytes: [UInt8]
    private let nodesKeyBytes: [UInt8]
    private let revokedKeyBytes: [UInt8]
    private let nodeIDBytes: [UInt8]
    /// The last queue key list reserved from, its bytes and queue names: a node asks for the
    /// same list (its queues in consumption order) again and again.
    private var lastQueueKeys: (keys: [String], bytes: [[UInt8]], names: [String]) = ([], [], [])

    public init(connection: RedisConnection, keys: RedisKeys, nodeID: String) {
        self.connection = connection
        self.keys = keys
        self.nodeID = nodeID
        inflightKeyBytes = Array(keys.inflight(node: nodeID).utf8)
        nodesKeyBytes = Array(keys.nodes.utf8)
        revokedKeyBytes = Array(keys.revoked.utf8)
        nodeIDBytes = Array(nodeID.utf8)
    }

    private var inflightKey: String { keys.inflight(node: nodeID) }

    /// `queueKeys` as script keys, and the queue name of each.
    private func encoded(_ queueKeys: [String]) -> (bytes: [[UInt8]], names: [String]) {
        if queueKeys != lastQueueKeys.keys {
            lastQueueKeys = (queueKeys, queueKeys.map { Array($0.utf8) }, queueKeys.map(keys.queueName(fromKey:)))
        }
        return (lastQueueKeys.bytes, lastQueueKeys.names)
    }

    /// Atomically moves one message from the first non-empty key of `queueKeys` into this node's
    /// in-flight hash. Completes with nil when all are empty. The reservation's `revoked` says
    /// whether its task id was revoked (the caller settles it as REVOKED without running it).
    public func reserve(from queueKeys: [String], _ completion: @escaping (Result<Reservation?, BrokerError>) -> Void) {
        let field = nextField()
        let queues = encoded(queueKeys)
        connection.evaluate(BrokerScripts.reserve,
                            keys: [inflightKeyBytes, nodesKeyBytes, revokedKeyBytes] + queues.bytes,
                            arguments: [nodeIDBytes, Array(field.utf8)]) { result in
            switch result {
            case .failure(let error):
                completion(.failure(BrokerError(error)))
            case .success(.null):
                completion(.success(nil))
            case .success(let value):
                guard let parts = value.array,
                      let reservation = Self.reservation(taken: parts[...], field: field, queueKeys: queueKeys, names: queues.names) else {
                    completion(.failure(.unexpectedReply(operation: "reserve", reply: "\(value)")))
                    return
                }
                completion(.success(reservation))
            }
        }
    }

    /// What ``settleAndReserve(_:result:from:_:)`` found: whether the settled delivery was still
    /// ours, and the next reservation (nil when the queues were empty; `.leaseLost` when the node
    /// is not registered).
    public struct SettledAndReserved {
        public var ours: Bool
        public var next: Result<Reservation?, BrokerError>
    }

    /// ``settle(_:result:followUps:_:)`` without follow-ups, then ``reserve(from:_:)``, in one
    /// script call (the hot path: a task ended and its child is idle again).
    public func settleAndReserve(_ reservation: Reservation, result: ResultWrite?, from queueKeys: [String],
                                 _ completion: @escaping (Result<SettledAndReserved, BrokerError>) -> Void) {
        let field = nextField()
        let keys = self.keys
        let queues = encoded(queueKeys)
        let scriptKeys: [[UInt8]] = [inflightKeyBytes, Array((result?.key ?? "").utf8), nodesKeyBytes, revokedKeyBytes] + queues.bytes
        let arguments: [[UInt8]] = [Array(reservation.field.utf8), result?.value ?? [], Array(String(result?.ttlSeconds ?? 0).utf8),
                                    nodeIDBytes, Array(field.utf8)]
        connection.evaluate(BrokerScripts.settleReserve, keys: scriptKeys, arguments: arguments) { [nodeID] result in
            switch result {
            case .failure(let error):
                completion(.failure(BrokerError(error)))
            case .success(let value):
                guard let parts = value.array, parts.count >= 2, let ours = parts[0].int, let found = parts[1].int else {
                    completion(.failure(.unexpectedReply(operation: "settle_reserve", reply: "\(value)")))
                    return
                }
                let next: Result<Reservation?, BrokerError>
                if found == -1 {
                    next = .failure(.leaseLost(node: nodeID))
                } else if found == 0 {
                    next = .success(nil)
                } else if let reservation = Self.reservation(taken: parts[1...], field: field, queueKeys: queueKeys, names: queues.names) {
                    next = .success(reservation)
                } else {
                    next = .failure(.unexpectedReply(operation: "settle_reserve", reply: "\(value)"))
                }
                completion(.success(SettledAndReserved(ours: ours == 1, next: next)))
            }
        }
    }

    private func nextField() -> String {
        nextReservation &+= 1
        return String(nextReservation)
    }

    /// A reservation from `take_one`'s `{index, envelope, revoked}`.
    private static func reservation(taken parts: ArraySlice<RedisValue>, field: String, queueKeys: [String], names: [String]) -> Reservation? {
        guard parts.count == 3, let index = parts[parts.startIndex].int, index >= 1, Int(index) <= queueKeys.count,
              let envelope = parts[parts.startIndex + 1].bytes, let revoked = parts[parts.startIndex + 2].int else { return nil }
        return Reservation(field: field, sourceKey: queueKeys[Int(index) - 1], queue: names[Int(index) - 1], envelope: envelope,
                           revoked: revoked == 1)
    }

    /// Publishes `followUps`, stores `result`, and removes the reservation from in-flight, atomically.
    /// Completes with true when the reservation was still ours, false when it had been recovered.
    public func settle(_ reservation: Reservation, result: ResultWrite?, followUps: [OutgoingMessage] = [],
                       _ completion: @escaping (Result<Bool, BrokerError>) -> Void) {
        var scriptKeys: [[UInt8]] = [Array(inflightKey.utf8), Array((result?.key ?? "").utf8),
                                     Array(keys.delayed.utf8), Array(keys.delayedMessages.utf8)]
        var arguments: [[UInt8]] = [Array(reservation.field.utf8), result?.value ?? [], Array(String(result?.ttlSeconds ?? 0).utf8)]
        Self.append(followUps, keys: &scriptKeys, arguments: &arguments)
        connection.evaluate(BrokerScripts.settle, keys: scriptKeys, arguments: arguments) { result in
            completion(result.mapError(BrokerError.init).map { $0.int == 1 })
        }
    }

    /// Pushes `envelope` back to the head of `reservation`'s source list and drops the reservation.
    public func requeue(_ reservation: Reservation, envelope: [UInt8], to destination: String? = nil,
                        _ completion: @escaping (Result<Bool, BrokerError>) -> Void) {
        connection.evaluate(BrokerScripts.requeue,
                            keys: [Array(inflightKey.utf8), Array((destination ?? reservation.sourceKey).utf8)],
                            arguments: [Array(reservation.field.utf8), envelope]) { result in
            completion(result.mapError(BrokerError.init).map { $0.int == 1 })
        }
    }

    /// Publishes messages (now, or delayed when they carry a due time).
    public func enqueue(_ messages: [OutgoingMessage], _ completion: @escaping (Result<Int, BrokerError>) -> Void) {
        var scriptKeys: [[UInt8]] = [Array(keys.delayed.utf8), Array(keys.delayedMessages.utf8)]
        var arguments: [[UInt8]] = []
        Self.append(messages, keys: &scriptKeys, arguments: &arguments)
        connection.evaluate(BrokerScripts.enqueue, keys: scriptKeys, arguments: arguments) { result in
            completion(result.mapError(BrokerError.init).map { Int($0.int ?? 0) })
        }
    }

    /// Moves due delayed messages to their queues. Completes with (moved, next due ms or nil).
    public func promoteDue(limit: Int = 500, _ completion: @escaping (Result<(moved: Int, nextDue: Int64?), BrokerError>) -> Void) {
        connection.evaluate(BrokerScripts.promoteDue, keys: [Array(keys.delayed.utf8), Array(keys.delayedMessages.utf8)],
                            arguments: [Array(String(limit).utf8)]) { result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                guard let parts = value.array, parts.count == 2, let moved = parts[0].int, let next = parts[1].int else {
                    completion(.failure(.unexpectedReply(operation: "promote_due", reply: "\(value)")))
                    return
                }
                completion(.success((Int(moved), next < 0 ? nil : next)))
            }
        }
    }

    /// Registers (or renews, when `renew`) this node's lease. Completes with Redis time in ms;
    /// fails with `.leaseLost` when a renew finds the node already recovered.
    public func heartbeat(leaseMilliseconds: Int, renew: Bool, _ completion: @escaping (Result<Int64, BrokerError>) -> Void) {
        connection.evaluate(BrokerScripts.heartbeat, keys: [Array(keys.nodes.utf8)],
                            arguments: [Array(nodeID.utf8), Array(String(leaseMilliseconds).utf8), Array((renew ? "renew" : "register").utf8)]) { [nodeID] result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                guard let now = value.int else {
                    completion(.failure(.unexpectedReply(operation: "heartbeat", reply: "\(value)")))
                    return
                }
                completion(now < 0 ? .failure(.leaseLost(node: nodeID)) : .success(now))
            }
        }
    }

    /// Moves the in-flight entries of nodes with expired leases into this node's in-flight hash
    /// and returns them as reservations of this node (to be requeued by the caller).
    public func recoverExpiredNodes(limit: Int = 16, _ completion: @escaping (Result<[Reservation], BrokerError>) -> Void) {
        let keys = self.keys
        connection.evaluate(BrokerScripts.recover, keys: [Array(keys.nodes.utf8), Array(inflightKey.utf8)],
                            arguments: [Array(keys.inflightPrefix.utf8), Array(nodeID.utf8), Array(String(limit).utf8)]) { result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                completion(.success(Self.reservations(fromFlatPairs: value, keys: keys)))
            }
        }
    }

    /// Everything currently in this node's in-flight hash (used to reconcile after a reconnect,
    /// when a reserve whose reply was lost may have left a message there).
    public func inflightReservations(_ completion: @escaping (Result<[Reservation], BrokerError>) -> Void) {
        let keys = self.keys
        connection.send(["HGETALL", inflightKey]) { result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                completion(.success(Self.reservations(fromFlatPairs: value, keys: keys)))
            }
        }
    }

    /// Removes this node from the registry on a clean shutdown (after in-flight is empty).
    public func deregister(_ completion: @escaping (Result<Void, BrokerError>) -> Void) {
        connection.send(["ZREM", keys.nodes, nodeID]) { result in
            completion(result.map { _ in () }.mapError(BrokerError.init))
        }
    }

    /// `{field, value, field, value, ...}` (HGETALL, the recover script) as reservations.
    static func reservations(fromFlatPairs value: RedisValue, keys: RedisKeys) -> [Reservation] {
        let items = value.array ?? []
        var reservations: [Reservation] = []
        var i = 0
        while i + 1 < items.count {
            if let field = items[i].string, let stored = items[i + 1].bytes,
               let reservation = Reservation(field: field, storedValue: stored, keys: keys) {
                reservations.append(reservation)
            }
            i += 2
        }
        return reservations
    }

    private static func append(_ messages: [OutgoingMessage], keys: inout [[UInt8]], arguments: inout [[UInt8]]) {
        for message in messages {
            keys.append(Array(message.destinationKey.utf8))
            arguments.append(Array(String(message.dueMilliseconds ?? 0).utf8))
            arguments.append(Array(message.tag.utf8))
            arguments.append(message.envelope)
        }
    }
}
