import CarawayRedis

extension BrokerScripts {
    /// settle — finish one delivery: publish its follow-ups, store its result, remove it from in-flight.
    ///
    /// KEYS[1] → `caraway:inflight:<node>`
    /// KEYS[2] → result key `celery-task-meta-<id>`, or "" to store nothing
    /// KEYS[3] → `caraway:delayed` (zset), KEYS[4] → `caraway:delayed:messages` (hash)
    /// KEYS[5..] → one destination list key per follow-up (chain step, callback, retry, dead letter)
    /// ARGV[1] → reservation id (in-flight field)
    /// ARGV[2] → result record JSON (ignored when KEYS[2] is "")
    /// ARGV[3] → result TTL in seconds (0 = no expiry)
    /// ARGV[4..] → per follow-up: due time in ms since epoch (0 = now), tag, envelope
    /// Returns: 1 when the delivery was still ours; 0 when it had been recovered by another node
    ///          (we were presumed dead) — then follow-ups are NOT published, because the
    ///          redelivered copy will publish them, and the result is stored anyway.
    ///
    /// Why atomic: the message must leave in-flight only once its outcome is durable (acks-late,
    /// invariant I1), and a SUCCESS already stored is never overwritten by a duplicate run
    /// (Celery's guard, spec §4.2). PUBLISH on the key's own name wakes `AsyncResult.get()`.
    static let settle = RedisScript(name: "settle", source: LuaSnippets.pushFollowUps + LuaSnippets.storeResult + """

    local ours = redis.call('HDEL', KEYS[1], ARGV[1])
    if ours == 1 then
      push_follow_ups(5, 4, 3, 4)
    end
    store_result(2, ARGV[2], ARGV[3])
    return ours
    """)

    /// enqueue — publish messages now or later (the producer side: `caraway call`, retries of
    /// messages that were never reserved, the HTTP API).
    ///
    /// KEYS[1] → `caraway:delayed`, KEYS[2] → `caraway:delayed:messages`
    /// KEYS[3..] → destination list key per message
    /// ARGV → per message: due time in ms (0 = now), tag, envelope
    /// Returns: the number of messages published.
    ///
    /// Why a script: a delayed message is two writes (zset score + hash body) that must appear
    /// together, or the promoter would see a tag without a body.
    static let enqueue = RedisScript(name: "enqueue", source: LuaSnippets.pushFollowUps + """

    return push_follow_ups(3, 1, 1, 2)
    """)
}
