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
    static let reserve = RedisScript(name: "reserve", source: """
    if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
      return redis.error_reply('LEASE_LOST node ' .. ARGV[1] .. ' is not registered')
    end
    local function is_revoked(envelope)
      if redis.call('ZCARD', KEYS[3]) == 0 then return 0 end
      local ok, message = pcall(cjson.decode, envelope)
      if not ok or type(message) ~= 'table' then return 0 end
      local id
      if type(message.headers) == 'table' then id = message.headers.id end
      if type(id) ~= 'string' and type(message.properties) == 'table' then id = message.properties.correlation_id end
      if type(id) ~= 'string' then return 0 end
      local expiry = redis.call('ZSCORE', KEYS[3], id)
      if not expiry then return 0 end
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if tonumber(expiry) > now then return 1 end
      return 0
    end
    for i = 4, #KEYS do
      local envelope = redis.call('RPOP', KEYS[i])
      if envelope then
        redis.call('HSET', KEYS[1], ARGV[2], KEYS[i] .. '\\n' .. envelope)
        return {i - 3, envelope, is_revoked(envelope)}
      end
    end
    return false
    """)
}
