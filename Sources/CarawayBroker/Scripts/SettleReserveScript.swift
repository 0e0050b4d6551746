import CarawayRedis

extension BrokerScripts {
    /// settle_reserve — finish one delivery and reserve the next one for the same child, in one call.
    ///
    /// KEYS[1] → `caraway:inflight:<node>`
    /// KEYS[2] → result key `celery-task-meta-<id>`, or "" to store nothing
    /// KEYS[3] → `caraway:nodes`, KEYS[4] → `caraway:revoked`
    /// KEYS[5..] → queue list keys in consumption order (as for `reserve`)
    /// ARGV[1] → the settled reservation's field, ARGV[2] → result record JSON, ARGV[3] → result TTL (s)
    /// ARGV[4] → node id, ARGV[5] → the new reservation's field
    /// Returns: `{ours, index, envelope, revoked}` when a message was reserved, `{ours, 0}` when every
    ///          queue is empty, `{ours, -1}` when the node is not registered (nothing reserved);
    ///          `ours` is 1 when the settled delivery was still ours, 0 when it had been recovered.
    ///
    /// Public for `caraway-bench floor`, which runs it outside a node.
    ///
    /// The hot path of a busy node: a task without follow-ups ends and its child is idle again.
    /// It does exactly what `settle` then `reserve` would (same snippets, same invariants I1/I4:
    /// the outcome is stored before the message leaves in-flight, and at most one message is
    /// taken for the one idle child) in one script call — one command to format, send, run and
    /// parse per task instead of two (docs/performance.md).
    public static let settleReserve = RedisScript(name: "settle_reserve", source: LuaSnippets.storeResult + LuaSnippets.takeOne + """

    local ours = redis.call('HDEL', KEYS[1], ARGV[1])
    store_result(2, ARGV[2], ARGV[3])
    local taken = take_one(1, 3, 4, 5, ARGV[4], ARGV[5])
    if taken == 'lease' then return {ours, -1} end
    if not taken then return {ours, 0} end
    return {ours, taken[1], taken[2], taken[3]}
    """)
}
