import CarawayRedis

extension BrokerScripts {
    /// revoke — record task ids as revoked, and mark their results REVOKED where nothing final is stored.
    ///
    /// KEYS[1] → `caraway:revoked` (zset task id → expiry, Redis time in ms)
    /// KEYS[2] → `caraway:delayed` (zset tag → due ms), read only: the latest due time
    /// KEYS[3..] → one result key `celery-task-meta-<id>` per id, or "" to leave the result alone
    /// ARGV[1] → revocation TTL in seconds
    /// ARGV[2] → result TTL in seconds (0 = no expiry)
    /// ARGV[3..] → per id: task id, REVOKED result record JSON (pre-encoded by the caller)
    /// Returns: how many ids were newly added (ids already revoked and unexpired count 0).
    ///
    /// Expiry = max(now, latest due time in `caraway:delayed`) + TTL, so a revocation outlives
    /// every ETA, countdown and retry already waiting. ZADD GT never shortens an existing expiry.
    /// Entries already expired (score <= now) are pruned first, so the set stays small.
    /// The result is written (SET [EX] + PUBLISH on the key, like Celery's backend) only when the
    /// key is absent or holds JSON whose status is PENDING, RECEIVED or RETRY. SUCCESS, FAILURE,
    /// REVOKED, STARTED and values that are not JSON are left untouched: a record we cannot read
    /// is not ours to overwrite (unlike settle, whose own outcome is authoritative).
    ///
    /// Why atomic: the expiry comes from Redis's clock and the delayed set at the same instant,
    /// and the "only if not final" check must not race with a settle storing SUCCESS.
    static let revoke = RedisScript(name: "revoke", source: LuaSnippets.writeResult + """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
    local base = now
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    if last[2] and tonumber(last[2]) > base then base = tonumber(last[2]) end
    local expiry = base + tonumber(ARGV[1]) * 1000
    local resultTTL = tonumber(ARGV[2]) or 0
    local rewritable = {PENDING = true, RECEIVED = true, RETRY = true}
    local added = 0
    for i = 3, #KEYS do
      local id = ARGV[2 * i - 3]
      local record = ARGV[2 * i - 2]
      added = added + redis.call('ZADD', KEYS[1], 'GT', expiry, id)
      if KEYS[i] ~= '' then
        local current = redis.call('GET', KEYS[i])
        local write = not current
        if current then
          local ok, decoded = pcall(cjson.decode, current)
          write = ok and type(decoded) == 'table' and rewritable[decoded['status']] == true
        end
        if write then write_result(i, record, resultTTL) end
      end
    end
    return added
    """)
}
