import CarawayRedis

extension BrokerScripts {
    /// revoked_live — the revocations still in force (read only).
    ///
    /// KEYS[1] → `caraway:revoked` (zset task id → expiry, Redis time in ms)
    /// ARGV → task ids to look up; none = every live entry
    /// Returns: a flat list `{id, expiry, id, expiry, ...}` of the entries whose expiry is later
    ///          than now (expiries as Redis formats scores: integral ms).
    ///
    /// Why a script: "live" means expiry > Redis's TIME, the clock revoke and reserve use; a
    /// client-side clock would disagree with them near the boundary.
    static let revokedLive = RedisScript(name: "revoked_live", source: """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if #ARGV == 0 then
      return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', now), '+inf', 'WITHSCORES')
    end
    local live = {}
    for _, id in ipairs(ARGV) do
      local expiry = redis.call('ZSCORE', KEYS[1], id)
      if expiry and tonumber(expiry) > now then
        table.insert(live, id)
        table.insert(live, expiry)
      end
    end
    return live
    """)
}
