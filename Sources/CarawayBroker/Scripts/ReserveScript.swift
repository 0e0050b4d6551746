import CarawayRedis

extension BrokerScripts {
    /// reserve — move ONE message from the first non-empty queue key into this node's in-flight hash.
    ///
    /// KEYS[1] → `caraway:inflight:<node>` (hash)
    /// KEYS[2] → `caraway:nodes` (zset of live nodes)
    /// KEYS[3..] → queue list keys in consumption order (priority step, then queue rotation)
    /// ARGV[1] → node id
    /// ARGV[2] → reservation id: the hash field for this delivery (unique per node)
    /// Returns: `{index, envelope}` where index is the 1-based position of the key it came from
    ///          among KEYS[3..]; nil when every queue is empty; error `LEASE_LOST` when the node is
    ///          not registered (its lease expired and its in-flight work was recovered elsewhere).
    ///
    /// Why atomic: RPOP followed by a separate HSET would leave an instant where the message
    /// exists only in the node's memory (kombu's pop-then-record gap, spec §3.5.1): a crash there
    /// loses it. Invariant I1.
    static let reserve = RedisScript(name: "reserve", source: """
    if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
      return redis.error_reply('LEASE_LOST node ' .. ARGV[1] .. ' is not registered')
    end
    for i = 3, #KEYS do
      local envelope = redis.call('RPOP', KEYS[i])
      if envelope then
        redis.call('HSET', KEYS[1], ARGV[2], KEYS[i] .. '\\n' .. envelope)
        return {i - 2, envelope}
      end
    end
    return false
    """)
}
