import CarawayRedis

/// One method per script (a cursor walk counts as one): the building blocks of `QueueAdmin`'s
/// public operations, kept internal and tested script by script.
extension QueueAdmin {
    /// `purge_queue` on `queue`'s four lists: how many messages they held (deleted unless `dryRun`).
    func purgeLists(of queue: String, dryRun: Bool, _ completion: @escaping (Result<Int, BrokerError>) -> Void) {
        connection.evaluate(BrokerScripts.purgeQueue, keys: keys.queueKeys(queue).map { Array($0.utf8) },
                            arguments: [Array((dryRun ? "1" : "0").utf8)]) { result in
            completion(Self.integer(result, operation: "purge_queue"))
        }
    }

    /// `purge_delayed` until its cursor is "0": delayed messages removed (or counted) per
    /// destination key, for the keys in `destinations` only.
    func purgeDelayed(destinations: [String], dryRun: Bool, _ completion: @escaping (Result<[String: Int], BrokerError>) -> Void) {
        var counts: [String: Int] = [:]
        let scriptKeys = [Array(keys.delayed.utf8), Array(keys.delayedMessages.utf8)]
        let fixed = [Array(String(scanCount).utf8), Array((dryRun ? "1" : "0").utf8)] + destinations.map { Array($0.utf8) }
        Gather.cursor({ [connection] cursor, done in
            connection.evaluate(BrokerScripts.purgeDelayed, keys: scriptKeys, arguments: [Array(cursor.utf8)] + fixed) { result in
                done(Self.chunk(result, operation: "purge_delayed").flatMap { next, items in
                    let found = items.compactMap(\.int)
                    guard found.count == destinations.count else {
                        return .failure(.unexpectedReply(operation: "purge_delayed", reply: "\(result)"))
                    }
                    for (key, n) in zip(destinations, found) { counts[key, default: 0] += Int(n) }
                    return .success(next)
                })
            }
        }) { completion($0.map { counts }) }
    }

    /// `count_delayed` until its cursor is "0": delayed messages per destination key.
    func delayedByDestination(_ completion: @escaping (Result<[String: Int], BrokerError>) -> Void) {
        var counts: [String: Int] = [:]
        Gather.cursor({ [connection, keys, scanCount] cursor, done in
            connection.evaluate(BrokerScripts.countDelayed, keys: [Array(keys.delayedMessages.utf8)],
                                arguments: [Array(cursor.utf8), Array(String(scanCount).utf8)]) { result in
                done(Self.chunk(result, operation: "count_delayed").flatMap { next, items in
                    guard let chunk = Self.pairs(items) else {
                        return .failure(.unexpectedReply(operation: "count_delayed", reply: "\(result)"))
                    }
                    counts.merge(chunk, uniquingKeysWith: +)
                    return .success(next)
                })
            }
        }) { completion($0.map { counts }) }
    }

    /// `count_inflight`: messages held by registered nodes, per source list key.
    func inflightBySource(_ completion: @escaping (Result<[String: Int], BrokerError>) -> Void) {
        connection.evaluate(BrokerScripts.countInflight, keys: [Array(keys.nodes.utf8)],
                            arguments: [Array(keys.inflightPrefix.utf8)]) { result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                guard let items = value.array, let counts = Self.pairs(items) else {
                    return completion(.failure(.unexpectedReply(operation: "count_inflight", reply: "\(value)")))
                }
                completion(.success(counts))
            }
        }
    }

    // MARK: Reply shapes

    private static func integer(_ result: Result<RedisValue, RedisError>, operation: String) -> Result<Int, BrokerError> {
        switch result {
        case .failure(let e): return .failure(BrokerError(e))
        case .success(let value):
            guard let n = value.int else { return .failure(.unexpectedReply(operation: operation, reply: "\(value)")) }
            return .success(Int(n))
        }
    }

    /// `{cursor, {items...}}`, one chunk of a cursor walk.
    private static func chunk(_ result: Result<RedisValue, RedisError>, operation: String) -> Result<(String, [RedisValue]), BrokerError> {
        switch result {
        case .failure(let e): return .failure(BrokerError(e))
        case .success(let value):
            guard let parts = value.array, parts.count == 2, let cursor = parts[0].string, let items = parts[1].array else {
                return .failure(.unexpectedReply(operation: operation, reply: "\(value)"))
            }
            return .success((cursor, items))
        }
    }

    /// `{key, n, key, n, ...}` as a dictionary; nil when malformed.
    private static func pairs(_ items: [RedisValue]) -> [String: Int]? {
        guard items.count % 2 == 0 else { return nil }
        var counts: [String: Int] = [:]
        for i in stride(from: 0, to: items.count, by: 2) {
            guard let key = items[i].string, let n = items[i + 1].int else { return nil }
            counts[key, default: 0] += Int(n)
        }
        return counts
    }
}
