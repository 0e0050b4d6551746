import CarawayRedis

extension BrokerScripts {
    /// purge_queue — empty (or just count) the priority lists of one queue.
    ///
    /// KEYS → the queue's list keys (kombu's four priority steps)
    /// ARGV[1] → "1" = dry run: count only
    /// Returns: the number of messages the lists held (and, unless dry run, deleted).
    ///
    /// Why atomic: LLEN then DEL in one step, so a producer's LPUSH lands either before (and is
    /// counted and removed) or after (and stays): the count is exact under concurrent pushes.
    /// In-flight hashes are never touched: reserved messages belong to their nodes.
    static let purgeQueue = RedisScript(name: "purge_queue", source: """
    local n = 0
    for i = 1, #KEYS do n = n + redis.call('LLEN', KEYS[i]) end
    if ARGV[1] ~= '1' and n > 0 then redis.call('DEL', unpack(KEYS)) end
    return n
    """)
}
