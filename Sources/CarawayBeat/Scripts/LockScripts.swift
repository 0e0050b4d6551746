import CarawayRedis

/// The beat leadership lock: one named script per atomic operation (house rule 6).
enum LockScripts {
    /// acquire — take the lock if free and draw the next fencing epoch.
    ///
    /// KEYS[1] → `caraway:beat:lock` (string: "<epoch>:<token>")
    /// KEYS[2] → `caraway:beat:epoch` (counter)
    /// ARGV[1] → this candidate's token (random, per attempt)
    /// ARGV[2] → TTL in ms
    /// Returns: the new epoch (integer) when acquired; nil when someone holds the lock.
    ///
    /// Why atomic: SET NX and INCR apart could hand two acquisitions the same epoch, or burn an
    /// epoch without a holder. Epochs only grow, so Postgres can refuse any fire from an older term.
    static let acquire = RedisScript(name: "beat_acquire", source: """
    if redis.call('EXISTS', KEYS[1]) == 1 then return false end
    local epoch = redis.call('INCR', KEYS[2])
    redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', tonumber(ARGV[2]))
    return epoch
    """)

    /// renew — extend the lock only if this term still holds it.
    ///
    /// KEYS[1] → `caraway:beat:lock`
    /// ARGV[1] → "<epoch>:<token>" of the term
    /// ARGV[2] → TTL in ms
    /// Returns: 1 renewed; 0 not ours any more (expired, or another term holds it).
    ///
    /// Why a script: "renew only if still mine" — a plain PEXPIRE would extend another holder's
    /// lock (the classic double-leader bug).
    static let renew = RedisScript(name: "beat_renew", source: """
    if redis.call('GET', KEYS[1]) == ARGV[1] then
      redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
      return 1
    end
    return 0
    """)

    /// release — delete the lock only if this term holds it (clean shutdown: fast failover).
    ///
    /// KEYS[1] → `caraway:beat:lock`; ARGV[1] → "<epoch>:<token>"
    /// Returns: 1 released; 0 not ours.
    static let release = RedisScript(name: "beat_release", source: """
    if redis.call('GET', KEYS[1]) == ARGV[1] then
      redis.call('DEL', KEYS[1])
      return 1
    end
    return 0
    """)
}
