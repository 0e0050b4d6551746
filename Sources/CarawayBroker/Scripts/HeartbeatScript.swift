import CarawayRedis

extension BrokerScripts {
    /// heartbeat — register this node or renew its lease.
    ///
    /// KEYS[1] → `caraway:nodes` (zset node id → lease expiry, Redis time in ms)
    /// ARGV[1] → node id
    /// ARGV[2] → lease length in ms
    /// ARGV[3] → "register" (always add) or "renew" (only if still registered)
    /// Returns: Redis's current time in ms, or -1 on "renew" when the node is no longer
    ///          registered: its lease expired and a recoverer requeued its in-flight work, so the
    ///          node must re-register and treat what it still runs as possible duplicates.
    ///
    /// Why a script: "renew only if present" must not race with the recoverer's ZREM, and the
    /// expiry is computed from Redis's clock so node clock skew cannot shorten a lease.
    static let heartbeat = RedisScript(name: "heartbeat", source: """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local expiry = now + tonumber(ARGV[2])
    if ARGV[3] == 'renew' then
      if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
      redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[1])
    else
      redis.call('ZADD', KEYS[1], expiry, ARGV[1])
    end
    return now
    """)
}
