import CarawayRedis

extension ControlScripts {
    /// snapshot_write — store a node's inspect snapshot and note its time in the index.
    ///
    /// KEYS[1] → `caraway:inspect:<node id>` (string)
    /// KEYS[2] → `caraway:inspect-index` (zset node id → ms of the last snapshot, Redis clock)
    /// ARGV[1] → node id
    /// ARGV[2] → snapshot JSON
    /// ARGV[3] → snapshot TTL in ms
    /// ARGV[4] → forget index entries older than this many ms
    /// Returns: Redis time in ms.
    ///
    /// Why a script: the age readers compute must come from one clock (Redis's), not from the
    /// clocks of the machines the nodes run on.
    static let snapshotWrite = RedisScript(name: "snapshot_write", source: """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    redis.call('ZADD', KEYS[2], now, ARGV[1])
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
    return now
    """)

    /// snapshot_read — every indexed snapshot plus the live-lease registry, at one instant.
    ///
    /// KEYS[1] → `caraway:inspect-index`
    /// KEYS[2] → `caraway:nodes` (zset node id → lease expiry ms)
    /// ARGV[1] → snapshot key prefix (`caraway:inspect:`)
    /// Returns: `{now_ms, {node id, snapshot ms, snapshot or false}..., {live node id}...}` as
    ///          `{now, index_flat, live}` where index_flat repeats (id, ms, json|false).
    ///
    /// Why a script: one round trip and one consistent view for a read that must answer in
    /// milliseconds with any number of nodes.
    static let snapshotRead = RedisScript(name: "snapshot_read", source: """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local flat = {}
    local index = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #index, 2 do
      flat[#flat + 1] = index[i]
      flat[#flat + 1] = index[i + 1]
      flat[#flat + 1] = redis.call('GET', ARGV[1] .. index[i]) or false
    end
    local live = redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')
    return {now, flat, live}
    """)
}
