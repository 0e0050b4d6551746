/// Lua shared by every script that publishes messages: pushes follow-ups either onto their
/// queue list now (LPUSH, kombu's producer side) or into the delayed set when a due time is given.
///
/// Expects `local fk` = index of the first follow-up key in KEYS, `local fa` = index of the first
/// follow-up triple in ARGV (dueMs, tag, envelope), and KEYS[dz]/KEYS[dh] = delayed zset/hash.
/// A dueMs of "0" means now. The delayed hash stores "<destination key>\n<envelope>".
enum LuaSnippets {
    static let pushFollowUps = """
    local function push_follow_ups(fk, fa, dz, dh)
      local n = 0
      local i = fk
      local a = fa
      while KEYS[i] do
        local due = tonumber(ARGV[a])
        if due and due > 0 then
          redis.call('ZADD', KEYS[dz], due, ARGV[a + 1])
          redis.call('HSET', KEYS[dh], ARGV[a + 1], KEYS[i] .. '\\n' .. ARGV[a + 2])
        else
          redis.call('LPUSH', KEYS[i], ARGV[a + 2])
        end
        n = n + 1
        i = i + 1
        a = a + 3
      end
      return n
    end

    """
}
