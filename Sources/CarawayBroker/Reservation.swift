/// One message held by this node: it sits in the node's in-flight hash in Redis until settled.
public struct Reservation: Sendable {
    /// The in-flight hash field (unique per node).
    public let field: String
    /// The exact list key it came from (queue + priority suffix); requeues go back there.
    public let sourceKey: String
    /// The queue name (without prefix and priority suffix).
    public let queue: String
    /// The raw kombu envelope as it was on the list.
    public let envelope: [UInt8]
    /// The task id was in `caraway:revoked` (unexpired) when reserved: settle it as REVOKED
    /// without running it. Always false for entries read back from an in-flight hash.
    public let revoked: Bool

    public init(field: String, sourceKey: String, queue: String, envelope: [UInt8], revoked: Bool = false) {
        self.field = field
        self.sourceKey = sourceKey
        self.queue = queue
        self.envelope = envelope
        self.revoked = revoked
    }

    /// Parses an in-flight hash value, `"<source key>\n<envelope>"`.
    public init?(field: String, storedValue: [UInt8], keys: RedisKeys) {
        guard let cut = storedValue.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let key = String(decoding: storedValue[..<cut], as: UTF8.self)
        self.init(field: field, sourceKey: key, queue: keys.queueName(fromKey: key),
                  envelope: Array(storedValue[(cut + 1)...]))
    }
}

/// A message to publish: onto `destinationKey` now, or into the delayed set until `dueMilliseconds`.
public struct OutgoingMessage: Sendable {
    public var destinationKey: String
    public var envelope: [UInt8]
    /// Milliseconds since the epoch; nil = publish now.
    public var dueMilliseconds: Int64?
    /// Unique tag for the delayed set (the delivery tag is a good choice).
    public var tag: String

    public init(destinationKey: String, envelope: [UInt8], dueMilliseconds: Int64? = nil, tag: String) {
        self.destinationKey = destinationKey
        self.envelope = envelope
        self.dueMilliseconds = dueMilliseconds
        self.tag = tag
    }
}

/// A result record to store with a settle.
public struct ResultWrite: Sendable {
    public var key: String
    public var value: [UInt8]
    /// Seconds; 0 = keep forever. Celery's default `result_expires` is one day.
    public var ttlSeconds: Int

    public init(key: String, value: [UInt8], ttlSeconds: Int = 86_400) {
        self.key = key
        self.value = value
        self.ttlSeconds = ttlSeconds
    }
}
