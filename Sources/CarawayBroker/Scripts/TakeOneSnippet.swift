extension LuaSnippets {
    /// `take_one(ki, kn, kz, first, node, field)`: the heart of every reservation. If `node` is in
    /// the live set KEYS[kn], moves the tail of the first non-empty list among KEYS[first..#KEYS]
    /// into the in-flight hash KEYS[ki] as `field` → "<source key>\n<envelope>" and returns
    /// `{index, envelope, revoked}` (index 1-based among those keys; revoked 1 when the envelope's
    /// task id — `headers.id`, else `properties.correlation_id` — has an unexpired entry in the
    /// zset KEYS[kz], else 0). Returns false when every list is empty and 'lease' when the node
    /// is not registered. An envelope that is not JSON, or has no string id, is not revoked;
    /// with no revocations at all the check costs one ZCARD.
    static let takeOne = """
    local function is_revoked(kz, envelope)
      if redis.call('ZCARD', KEYS[kz]) == 0 then return 0 end
      local ok, message = pcall(cjson.decode, envelope)
      if not ok or type(message) ~= 'table' then return 0 end
      local id
      if type(message.headers) == 'table' then id = message.headers.id end
      if type(id) ~= 'string' and type(message.properties) == 'table' then id = message.properties.correlation_id end
      if type(id) ~= 'string' then return 0 end
      local expiry = redis.call('ZSCORE', KEYS[kz], id)
      if not expiry then return 0 end
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if tonumber(expiry) > now then return 1 end
      return 0
    end
    local function take_one(ki, kn, kz, first, node, field)
      -- ZRANK, not ZSCORE: only membership matters, and Redis 7.0 formats a score with
      -- printf("%.17g"), several microseconds per call for a millisecond timestamp.
      if not redis.call('ZRANK', KEYS[kn], node) then return 'lease' end
      for i = first, #KEYS do
        local envelope = redis.call('RPOP', KEYS[i])
        if envelope then
          redis.call('HSET', KEYS[ki], field, KEYS[i] .. '\\n' .. envelope)
          return {i - first + 1, envelope, is_revoked(kz, envelope)}
        end
      end
      return false
    end

    """

    /// `write_result(kr, value, ttl)`: SET KEYS[kr] to `value` (with an expiry when `ttl` > 0)
    /// and PUBLISH it on the key's own name (what wakes `AsyncResult.get()`), as Celery's Redis
    /// backend does. The callers decide whether to write (`store_result`, `revoke`).
    static let writeResult = """
    local function write_result(kr, value, ttl)
      ttl = tonumber(ttl)
      if ttl and ttl > 0 then
        redis.call('SET', KEYS[kr], value, 'EX', ttl)
      else
        redis.call('SET', KEYS[kr], value)
      end
      redis.call('PUBLISH', KEYS[kr], value)
    end

    """

    /// `store_result(kr, value, ttl)`: ``writeResult`` unless KEYS[kr] is '' or already holds a
    /// SUCCESS — a duplicate run never overwrites one (Celery's guard, spec §4.2).
    static let storeResult = writeResult + """
    local function store_result(kr, value, ttl)
      if KEYS[kr] == '' then return end
      local current = redis.call('GET', KEYS[kr])
      if current then
        local ok, decoded = pcall(cjson.decode, current)
        if ok and type(decoded) == 'table' and decoded['status'] == 'SUCCESS' then return end
      end
      write_result(kr, value, ttl)
    end

    """
}
