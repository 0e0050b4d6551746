import CarawayBroker

/// The whole content of a test database, grouped by key family.
///
/// Tests seed one, run a single broker operation, and compare a fresh snapshot with the expected
/// one: every key the operation touched is checked, and a key nobody expected shows up in a
/// family (or in `other`) and fails the comparison. Families with no entries are absent keys
/// (Redis deletes empty lists, hashes and sorted sets).
///
/// Times are milliseconds relative to the harness's anchor (Redis's clock when it started), so a
/// case can say "expired a second ago" or "due in a minute" as plain numbers.
struct BrokerState: Equatable, Sendable {
    /// Queue list key (with any priority suffix) → envelopes, head first (LRANGE order; RPOP takes the last).
    var queues: [String: [String]] = [:]
    /// Node id → in-flight field → stored value `"<source key>\n<envelope>"`.
    var inflight: [String: [String: String]] = [:]
    /// Node id → lease expiry, relative to the anchor.
    var nodes: [String: Int64] = [:]
    /// Delayed tag → due time, relative to the anchor (`caraway:delayed`).
    var delayed: [String: Int64] = [:]
    /// Delayed tag → `"<destination key>\n<envelope>"` (`caraway:delayed:messages`).
    var delayedMessages: [String: String] = [:]
    /// Revoked task id → expiry, relative to the anchor (`caraway:revoked`).
    var revoked: [String: Int64] = [:]
    /// Task id → stored result record and its TTL.
    var results: [String: StoredResult] = [:]
    /// The dead-letter list, head first.
    var deadLetter: [String] = []
    /// Keys that belong to no known family, with their type (always expected empty).
    var other: [String: String] = [:]

    struct StoredResult: Equatable, Sendable {
        var value: String
        /// Seconds to live as TTL reports them; nil when the key never expires.
        var ttlSeconds: Int?

        init(_ value: String, ttlSeconds: Int? = nil) {
            self.value = value
            self.ttlSeconds = ttlSeconds
        }
    }

    /// One delayed message, written to both the zset and the hash, as the scripts do.
    mutating func delay(tag: String, due: Int64, destination: String, envelope: String) {
        delayed[tag] = due
        delayedMessages[tag] = destination + "\n" + envelope
    }
}

/// The value an in-flight hash (and the delayed hash) stores: `"<key>\n<envelope>"`.
func stored(_ key: String, _ envelope: String) -> String { key + "\n" + envelope }

/// `q` at kombu priority step `step` without a prefix: `q`, or `q\x06\x16<step>`.
func priorityKey(_ queue: String, _ step: Int) -> String {
    step == 0 ? queue : queue + RedisKeys.separator + String(step)
}
