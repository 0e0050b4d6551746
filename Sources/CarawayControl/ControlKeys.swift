import CarawayBroker

/// Redis names of the control plane: Celery's fanout channels and Caraway's inspect snapshots.
///
/// Pub/sub ignores the database number, so kombu puts `/{db}.` in every fanout channel name
/// (spec §2.3); the key prefix applies to channels as to keys (spec §2.4).
public struct ControlKeys: Sendable {
    public let keys: RedisKeys
    public let database: Int

    public init(keys: RedisKeys, database: Int) {
        self.keys = keys
        self.database = database
    }

    /// Where `app.control.broadcast` publishes requests.
    public var pidboxChannel: String { keys.prefix + "/\(database).celery.pidbox" }
    /// kombu's binding set of the reply exchange: members `oid SEP "" SEP oid.reply.celery.pidbox`.
    public var replyBindings: String { keys.binding(exchange: "reply.celery.pidbox") }
    /// The channel of one event routing key (`worker.heartbeat`, `task.multi`).
    public func eventChannel(_ routingKey: String) -> String { keys.prefix + "/\(database).celeryev/" + routingKey }
    /// What `celery events` and Flower subscribe to.
    public var eventPattern: String { keys.prefix + "/\(database).celeryev/*" }
    /// A node's inspect snapshot (JSON, short TTL).
    public func snapshot(node: String) -> String { keys.prefix + "caraway:inspect:" + node }
    public var snapshotPrefix: String { keys.prefix + "caraway:inspect:" }
    /// The durable revocation set (task id → expiry ms); the broker's reserve script reads it too.
    public var revoked: String { keys.revoked }
    /// Sorted set node id → time of its last snapshot (ms, Redis clock).
    public var snapshotIndex: String { keys.prefix + "caraway:inspect-index" }
}
