import CarawayRedis

extension BrokerScripts {
    /// count_delayed — one HSCAN chunk of `caraway:delayed:messages`, counted per destination key.
    ///
    /// KEYS[1] → `caraway:delayed:messages` (hash tag → "<destination key>\n<envelope>")
    /// ARGV[1] → HSCAN cursor ("0" to start)
    /// ARGV[2] → HSCAN COUNT hint (chunk size)
    /// Returns: `{next cursor, {key1, n1, key2, n2, ...}}`: how many messages of this chunk are
    ///          bound for each destination key (values without "\n" are skipped). The caller
    ///          loops until the cursor is "0" and adds up.
    ///
    /// Why a script: not for atomicity (a count over chunks is a moving snapshot anyway) but so
    /// envelopes never cross the wire, only their destination keys' counts; one short chunk per
    /// call keeps Redis responsive. An entry HSCAN repeats (the hash shrank mid-walk) is counted twice.
    static let countDelayed = RedisScript(name: "count_delayed", source: """
    local scan = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
    local entries = scan[2]
    local counts = {}
    local order = {}
    for i = 2, #entries, 2 do
      local cut = string.find(entries[i], '\\n', 1, true)
      if cut then
        local key = string.sub(entries[i], 1, cut - 1)
        if not counts[key] then
          counts[key] = 0
          table.insert(order, key)
        end
        counts[key] = counts[key] + 1
      end
    end
    local flat = {}
    for _, key in ipairs(order) do
      table.insert(flat, key)
      table.insert(flat, counts[key])
    end
    return {scan[1], flat}
    """)
}
