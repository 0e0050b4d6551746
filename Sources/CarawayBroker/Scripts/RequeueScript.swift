import CarawayRedis

extension BrokerScripts {
    /// requeue — give a reserved message back to the head of its queue (consumed next).
    ///
    /// KEYS[1] → `caraway:inflight:<node>`
    /// KEYS[2] → destination list key (normally the key it was reserved from)
    /// ARGV[1] → reservation id
    /// ARGV[2] → envelope to push (the node marks it `redelivered` and counts deliveries)
    /// Returns: 1 when pushed back; 0 when the delivery was no longer ours (already recovered).
    ///
    /// Why atomic: HDEL and RPUSH apart could drop the message (crash between) or duplicate it
    /// (a recoverer moving it at the same time). RPUSH puts it at the consuming end, like kombu's
    /// restore (spec §3.2.6), so a requeued task does not wait behind the whole backlog.
    static let requeue = RedisScript(name: "requeue", source: """
    if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
      redis.call('RPUSH', KEYS[2], ARGV[2])
      return 1
    end
    return 0
    """)
}
