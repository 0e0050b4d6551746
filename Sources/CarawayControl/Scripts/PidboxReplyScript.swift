import CarawayRedis

extension ControlScripts {
    /// pidbox_reply — deliver one reply to the client queue bound with the reply routing key.
    ///
    /// KEYS[1] → `_kombu.binding.reply.celery.pidbox` (set of `routing_key SEP pattern SEP queue`)
    /// ARGV[1] → the client's reply routing key (its oid)
    /// ARGV[2] → the reply envelope
    /// ARGV[3] → the key prefix (kombu's `global_keyprefix`) for the queue names in the set
    /// Returns: how many queues received the reply (0 when the client already went away).
    ///
    /// Why atomic: the client SREMs its binding and DELs its queue when it stops waiting; doing
    /// the lookup and the push in one script never recreates a queue for a client that is gone.
    static let pidboxReply = RedisScript(name: "pidbox_reply", source: """
    local pushed = 0
    local sep = '\\6\\22'
    for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
      local first = string.find(member, sep, 1, true)
      if first then
        local routing = string.sub(member, 1, first - 1)
        local second = string.find(member, sep, first + 2, true)
        if routing == ARGV[1] and second then
          redis.call('LPUSH', ARGV[3] .. string.sub(member, second + 2), ARGV[2])
          pushed = pushed + 1
        end
      end
    end
    return pushed
    """)
}
