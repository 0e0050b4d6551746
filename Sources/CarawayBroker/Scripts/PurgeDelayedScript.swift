import CarawayRedis

extension BrokerScripts {
    /// purge_delayed — one HSCAN chunk of `caraway:delayed:messages`: remove (or count) the
    /// delayed messages bound for the given list keys.
    ///
    /// KEYS[1] → `caraway:delayed` (zset tag → due ms), KEYS[2] → `caraway:delayed:messages`
    ///           (hash tag → "<destination key>\n<envelope>")
    /// ARGV[1] → HSCAN cursor ("0" to start)
    /// ARGV[2] → HSCAN COUNT hint (chunk size)
    /// ARGV[3] → "1" = dry run: count only
    /// ARGV[4..] → destination list keys to match (exactly, against the part before the first "\n")
    /// Returns: `{next cursor, {n1, n2, ...}}` with one count per ARGV[4..] key; the caller loops
    ///          until the cursor is "0".
    ///
    /// Why a script: HDEL + ZREM of a message happen together (a tag never outlives its body or
    /// the reverse), envelopes stay on the server, and each call is short (one chunk) so other
    /// clients are not blocked by a large delayed set. Removal counts only successful HDELs, so
    /// an entry HSCAN returns twice is counted once; a dry run counts what each chunk shows and
    /// can over-count an entry HSCAN repeats (only when the hash shrinks mid-walk).
    static let purgeDelayed = RedisScript(name: "purge_delayed", source: """
    local wanted = {}
    local counts = {}
    for i = 4, #ARGV do
      wanted[ARGV[i]] = i - 3
      counts[i - 3] = 0
    end
    local dry = ARGV[3] == '1'
    local scan = redis.call('HSCAN', KEYS[2], ARGV[1], 'COUNT', tonumber(ARGV[2]))
    local entries = scan[2]
    for i = 1, #entries, 2 do
      local cut = string.find(entries[i + 1], '\\n', 1, true)
      local index = cut and wanted[string.sub(entries[i + 1], 1, cut - 1)]
      if index then
        if dry then
          counts[index] = counts[index] + 1
        elseif redis.call('HDEL', KEYS[2], entries[i]) == 1 then
          redis.call('ZREM', KEYS[1], entries[i])
          counts[index] = counts[index] + 1
        end
      end
    end
    return {scan[1], counts}
    """)
}
