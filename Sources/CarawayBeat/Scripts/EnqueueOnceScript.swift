import CarawayRedis

enum BeatScripts {
    /// enqueue_once — publish a fired tick's message at most once, however often it is retried.
    ///
    /// KEYS[1] → `caraway:beat:sent:<task id>` (marker)
    /// KEYS[2] → the destination queue list key
    /// ARGV[1] → the envelope
    /// ARGV[2] → marker TTL in seconds (longer than any outbox repair delay)
    /// Returns: 1 published; 0 already published earlier (a repair after a crash that happened
    ///          between LPUSH and the outbox mark in Postgres).
    ///
    /// Why atomic: marker and LPUSH must happen together, or a crash between them would either
    /// lose the tick (marker set, no message) or let a repair publish it twice.
    static let enqueueOnce = RedisScript(name: "beat_enqueue_once", source: """
    if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[2])) then
      redis.call('LPUSH', KEYS[2], ARGV[1])
      return 1
    end
    return 0
    """)
}
