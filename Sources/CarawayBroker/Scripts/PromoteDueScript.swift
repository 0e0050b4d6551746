import CarawayRedis

extension BrokerScripts {
    /// promote_due — move delayed messages whose time has come onto their queues.
    ///
    /// KEYS[1] → `caraway:delayed` (zset tag → due ms), KEYS[2] → `caraway:delayed:messages`
    /// ARGV[1] → the most messages to move in one call
    /// Returns: `{moved, next}` — how many moved, and the due time (ms) of the earliest message
    ///          still waiting, or -1 when none is.
    ///
    /// Why atomic: every node runs the promoter; ZREM + HDEL + LPUSH in one step means each
    /// message is promoted exactly once, whichever node gets there first. Time is Redis's own
    /// (TIME), so node clocks do not matter.
    static let promoteDue = RedisScript(name: "promote_due", source: """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local tags = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
    local moved = 0
    for _, tag in ipairs(tags) do
      local record = redis.call('HGET', KEYS[2], tag)
      redis.call('ZREM', KEYS[1], tag)
      redis.call('HDEL', KEYS[2], tag)
      if record then
        local cut = string.find(record, '\\n', 1, true)
        if cut then
          redis.call('LPUSH', string.sub(record, 1, cut - 1), string.sub(record, cut + 1))
          moved = moved + 1
        end
      end
    end
    local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if nxt[2] then return {moved, tonumber(nxt[2])} end
    return {moved, -1}
    """)
}
