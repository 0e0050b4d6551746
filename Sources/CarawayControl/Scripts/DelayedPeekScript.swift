import CarawayRedis

extension ControlScripts {
    /// delayed_peek — the soonest delayed messages (ETA, countdown, retry backoff) and their count.
    ///
    /// KEYS[1] → `caraway:delayed` (zset tag → due ms)
    /// KEYS[2] → `caraway:delayed:messages` (hash tag → "<list key>\n<envelope>")
    /// ARGV[1] → how many entries at most
    /// Returns: `{total, {due ms, "<list key>\n<envelope>"}...}`.
    ///
    /// Why a script: the zset and the hash change together under promotion; reading both in one
    /// step never pairs a due time with a message that was promoted meanwhile.
    static let delayedPeek = RedisScript(name: "delayed_peek", source: """
    local total = redis.call('ZCARD', KEYS[1])
    local entries = {}
    local head = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
    for i = 1, #head, 2 do
      local value = redis.call('HGET', KEYS[2], head[i])
      if value then
        entries[#entries + 1] = {head[i + 1], value}
      end
    end
    return {total, entries}
    """)
}
