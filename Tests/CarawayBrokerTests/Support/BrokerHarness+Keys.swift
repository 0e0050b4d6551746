import CarawayBroker
import CarawayRedis

/// Seed and get helpers, one pair per key family, plus whole-database seed and snapshot.
extension BrokerHarness {
    // MARK: Queue lists

    /// Writes `envelopes` to the list `key`, head first (so `getQueue` returns them unchanged).
    func seedQueue(_ key: String, _ envelopes: [String]) throws {
        guard !envelopes.isEmpty else { return }
        try redis(["RPUSH", key] + envelopes)
    }

    func getQueue(_ key: String) throws -> [String] {
        try (redis("LRANGE", key, "0", "-1").array ?? []).compactMap(\.string)
    }

    // MARK: In-flight hashes

    func seedInflight(node: String, _ entries: [String: String]) throws {
        guard !entries.isEmpty else { return }
        try redis(["HSET", keys.inflight(node: node)] + entries.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] })
    }

    func getInflight(node: String) throws -> [String: String] { try getHash(keys.inflight(node: node)) }

    // MARK: Node registry

    /// Registers nodes with lease expiries relative to the anchor.
    func seedNodes(_ expiries: [String: Int64]) throws {
        guard !expiries.isEmpty else { return }
        try redis(["ZADD", keys.nodes] + expiries.flatMap { [String(anchor + $0.value), $0.key] })
    }

    func getNodes() throws -> [String: Int64] { try getZSet(keys.nodes) }

    // MARK: Delayed messages

    func seedDelayed(due: [String: Int64], messages: [String: String]) throws {
        if !due.isEmpty { try redis(["ZADD", keys.delayed] + due.flatMap { [String(anchor + $0.value), $0.key] }) }
        if !messages.isEmpty { try redis(["HSET", keys.delayedMessages] + messages.flatMap { [$0.key, $0.value] }) }
    }

    func getDelayed() throws -> [String: Int64] { try getZSet(keys.delayed) }

    func getDelayedMessages() throws -> [String: String] { try getHash(keys.delayedMessages) }

    // MARK: Revocations

    func seedRevoked(_ expiries: [String: Int64]) throws {
        guard !expiries.isEmpty else { return }
        try redis(["ZADD", keys.revoked] + expiries.flatMap { [String(anchor + $0.value), $0.key] })
    }

    func getRevoked() throws -> [String: Int64] { try getZSet(keys.revoked) }

    // MARK: Result keys

    func seedResult(taskID: String, _ result: BrokerState.StoredResult) throws {
        if let ttl = result.ttlSeconds {
            try redis("SET", keys.result(taskID: taskID), result.value, "EX", String(ttl))
        } else {
            try redis("SET", keys.result(taskID: taskID), result.value)
        }
    }

    func getResult(taskID: String) throws -> BrokerState.StoredResult? {
        let key = keys.result(taskID: taskID)
        guard let value = try redis("GET", key).string else { return nil }
        let ttl = try redis("TTL", key).int ?? -1
        return BrokerState.StoredResult(value, ttlSeconds: ttl < 0 ? nil : Int(ttl))
    }

    // MARK: Dead-letter list

    func seedDeadLetter(_ records: [String]) throws { try seedQueue(keys.deadLetter, records) }

    func getDeadLetter() throws -> [String] { try getQueue(keys.deadLetter) }

    // MARK: Whole database

    func seed(_ state: BrokerState) throws {
        for (key, envelopes) in state.queues { try seedQueue(key, envelopes) }
        for (node, entries) in state.inflight { try seedInflight(node: node, entries) }
        try seedNodes(state.nodes)
        try seedDelayed(due: state.delayed, messages: state.delayedMessages)
        try seedRevoked(state.revoked)
        for (id, result) in state.results { try seedResult(taskID: id, result) }
        try seedDeadLetter(state.deadLetter)
        precondition(state.other.isEmpty, "seed only known key families")
    }

    /// Reads every key in the database and sorts it into its family.
    func snapshot() throws -> BrokerState {
        var state = BrokerState()
        let resultMarker = keys.result(taskID: "")
        for key in try (redis("KEYS", "*").array ?? []).compactMap(\.string) {
            let type = try redis("TYPE", key).string ?? "?"
            switch (key, type) {
            case (keys.nodes, "zset"): state.nodes = try getNodes()
            case (keys.delayed, "zset"): state.delayed = try getDelayed()
            case (keys.delayedMessages, "hash"): state.delayedMessages = try getDelayedMessages()
            case (keys.revoked, "zset"): state.revoked = try getRevoked()
            case (keys.deadLetter, "list"): state.deadLetter = try getDeadLetter()
            case (_, "hash") where key.hasPrefix(keys.inflightPrefix):
                let node = String(key.dropFirst(keys.inflightPrefix.count))
                state.inflight[node] = try getInflight(node: node)
            case (_, "string") where key.hasPrefix(resultMarker):
                let id = String(key.dropFirst(resultMarker.count))
                state.results[id] = try getResult(taskID: id)
            case (_, "list") where !key.hasPrefix(keys.prefix + "caraway:"):
                state.queues[key] = try getQueue(key)
            default:
                state.other[key] = type
            }
        }
        return state
    }

    // MARK: Shared readers

    private func getHash(_ key: String) throws -> [String: String] {
        let items = (try redis("HGETALL", key).array ?? []).compactMap(\.string)
        var hash: [String: String] = [:]
        for i in stride(from: 0, to: items.count - 1, by: 2) { hash[items[i]] = items[i + 1] }
        return hash
    }

    /// A sorted set's scores, relative to the anchor.
    private func getZSet(_ key: String) throws -> [String: Int64] {
        let items = (try redis("ZRANGE", key, "0", "-1", "WITHSCORES").array ?? []).compactMap(\.string)
        var scores: [String: Int64] = [:]
        for i in stride(from: 0, to: items.count - 1, by: 2) {
            scores[items[i]] = (Double(items[i + 1]).map { Int64($0) } ?? .min) - anchor
        }
        return scores
    }
}
