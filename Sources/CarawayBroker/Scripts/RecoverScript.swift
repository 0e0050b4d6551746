import CarawayRedis

extension BrokerScripts {
    /// recover — take over the in-flight messages of nodes whose lease has expired.
    ///
    /// KEYS[1] → `caraway:nodes`
    /// KEYS[2] → the recovering node's own `caraway:inflight:<node>`
    /// ARGV[1] → in-flight key prefix (`caraway:inflight:`), to which a dead node's id is appended
    /// ARGV[2] → the recovering node's id (never recovers itself)
    /// ARGV[3] → the most dead nodes to handle in one call
    /// Returns: a flat list `{field, value, field, value, ...}` of the moved entries; fields are
    ///          renamed `r:<dead node>:<old field>` so they cannot collide with the recoverer's own.
    ///
    /// Why atomic and why "move" rather than "requeue": the dead node's entries are moved into
    /// the recoverer's own in-flight hash in one step, so exactly one recoverer gets them and a
    /// crash of the recoverer leaves them under ITS lease (recovered again later — never lost).
    /// The recoverer then requeues each one through `requeue`, counting the redelivery.
    static let recover = RedisScript(name: "recover", source: """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    -- One extra, so the recoverer's own (lapsed) entry cannot use up a slot of the limit.
    local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]) + 1)
    local moved = {}
    local handled = 0
    for _, node in ipairs(dead) do
      if node ~= ARGV[2] and handled < tonumber(ARGV[3]) then
        handled = handled + 1
        local key = ARGV[1] .. node
        local entries = redis.call('HGETALL', key)
        for i = 1, #entries, 2 do
          local field = 'r:' .. node .. ':' .. entries[i]
          redis.call('HSET', KEYS[2], field, entries[i + 1])
          table.insert(moved, field)
          table.insert(moved, entries[i + 1])
        end
        redis.call('DEL', key)
        redis.call('ZREM', KEYS[1], node)
      end
    end
    return moved
    """)
}
