import CarawayRedis

extension BrokerScripts {
    /// reserve — move ONE message from the first non-empty queue key into this node's in-flight hash.
    ///
    /// KEYS[1] → `caraway:inflight:<node>` (hash)
    /// KEYS[2] → `caraway:nodes` (zset of live nodes)
    /// KEYS[3] → `caraway:revoked` (zset task id → expiry ms)
    /// KEYS[4..] → queue list keys in consumption order (priority step, then queue rotation)
    /// ARGV[1] → node id
    /// ARGV[2] → reservation id: the hash field for this delivery (unique per node)
    /// Returns: `{index, envelope, revoked}` where index is the 1-based position of the key it
    ///          came from among KEYS[4..] and revoked is 1 when the envelope's task id
    ///          (`headers.id`, else `properties.correlation_id`) has an unexpired revocation, else 0;
    ///          nil when every queue is empty; error `LEASE_LOST` when the node is not registered
    ///          (its lease expired and its in-flight work was recovered elsewhere).
    ///          An envelope that is not JSON, or has no string id, is simply not revoked.
    ///
    /// Why atomic: RPOP followed by a separate HSET would leave an instant where the message
    /// exists only in the node's memory (kombu's pop-then-record gap, spec §3.5.1): a crash there
    /// loses it. Invariant I1. A revoked message is still recorded in-flight, so settling it as
    /// REVOKED is acks-late like any other outcome. With no revocations the check costs one ZCARD.
    static let reserve = RedisScript(name: "reserve", source: LuaSnippets.takeOne + """

    local taken = take_one(1, 2, 3, 4, ARGV[1], ARGV[2])
    if taken == 'lease' then
      return redis.error_reply('LEASE_LOST node ' .. ARGV[1] .. ' is not registered')
    end
    return taken
    """)
}
