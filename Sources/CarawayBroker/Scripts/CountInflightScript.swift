import CarawayRedis

extension BrokerScripts {
    /// count_inflight — how many reserved messages the registered nodes hold, per source list key.
    ///
    /// KEYS[1] → `caraway:nodes` (zset node id → lease expiry)
    /// ARGV[1] → in-flight key prefix (`caraway:inflight:`), to which each node id is appended
    /// Returns: a flat list `{source key, n, source key, n, ...}` over the in-flight hashes of
    ///          every node in `caraway:nodes` (lapsed leases included: their work is still held
    ///          until a recoverer moves it). Values without "\n" are skipped.
    ///
    /// Why a script: envelopes never cross the wire (only per-key counts), and every node's hash
    /// is read at one instant, so a message being recovered from one node to another is counted
    /// once. In-flight hashes are small (at most K entries per node), so one call is short.
    static let countInflight = RedisScript(name: "count_inflight", source: """
    local counts = {}
    local order = {}
    for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      for _, value in ipairs(redis.call('HVALS', ARGV[1] .. node)) do
        local cut = string.find(value, '\\n', 1, true)
        if cut then
          local key = string.sub(value, 1, cut - 1)
          if not counts[key] then
            counts[key] = 0
            table.insert(order, key)
          end
          counts[key] = counts[key] + 1
        end
      end
    end
    local flat = {}
    for _, key in ipairs(order) do
      table.insert(flat, key)
      table.insert(flat, counts[key])
    end
    return flat
    """)
}
