import CarawayRedis

/// Durable revocations (`caraway:revoked`): Celery's `revoke`, kept in Redis rather than in each
/// worker's memory, so every node, including ones started later, honours it at reserve.
extension Broker {
    /// Revokes `taskIDs` for `ttlSeconds` past the later of now and the last delayed message's
    /// due time, and stores `revokedRecords[i]` under `resultKeys[i]` (SET EX `resultTTLSeconds`
    /// + PUBLISH) where no final state is stored yet (see `BrokerScripts.revoke`).
    ///
    /// `resultKeys` and `revokedRecords` pair with `taskIDs` by index; an id without both (the
    /// arrays are shorter, or its key is "") only gets its revocation. Completes with the number
    /// of ids newly revoked.
    public func revoke(taskIDs: [String], ttlSeconds: Int, revokedRecords: [[UInt8]], resultKeys: [String],
                       resultTTLSeconds: Int, _ completion: @escaping (Result<Int, BrokerError>) -> Void) {
        var scriptKeys: [[UInt8]] = [Array(keys.revoked.utf8), Array(keys.delayed.utf8)]
        var arguments: [[UInt8]] = [Array(String(max(0, ttlSeconds)).utf8), Array(String(max(0, resultTTLSeconds)).utf8)]
        for (i, id) in taskIDs.enumerated() {
            let paired = i < resultKeys.count && i < revokedRecords.count
            scriptKeys.append(paired ? Array(resultKeys[i].utf8) : [])
            arguments.append(Array(id.utf8))
            arguments.append(paired ? revokedRecords[i] : [])
        }
        connection.evaluate(BrokerScripts.revoke, keys: scriptKeys, arguments: arguments) { result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                guard let added = value.int else {
                    completion(.failure(.unexpectedReply(operation: "revoke", reply: "\(value)")))
                    return
                }
                completion(.success(Int(added)))
            }
        }
    }

    /// Every revocation still in force: task id → expiry (Redis time, ms since the epoch).
    public func revokedIDs(_ completion: @escaping (Result<[String: Int64], BrokerError>) -> Void) {
        live([], completion)
    }

    /// Whether `id` has a revocation still in force.
    public func isRevoked(_ id: String, _ completion: @escaping (Result<Bool, BrokerError>) -> Void) {
        live([id]) { completion($0.map { $0[id] != nil }) }
    }

    private func live(_ ids: [String], _ completion: @escaping (Result<[String: Int64], BrokerError>) -> Void) {
        connection.evaluate(BrokerScripts.revokedLive, keys: [Array(keys.revoked.utf8)], arguments: ids.map { Array($0.utf8) }) { result in
            switch result {
            case .failure(let e): completion(.failure(BrokerError(e)))
            case .success(let value):
                guard let items = value.array, items.count % 2 == 0 else {
                    completion(.failure(.unexpectedReply(operation: "revoked_live", reply: "\(value)")))
                    return
                }
                var live: [String: Int64] = [:]
                for i in stride(from: 0, to: items.count, by: 2) {
                    guard let id = items[i].string, let expiry = items[i + 1].string.flatMap(Self.milliseconds) else {
                        completion(.failure(.unexpectedReply(operation: "revoked_live", reply: "\(value)")))
                        return
                    }
                    live[id] = expiry
                }
                completion(.success(live))
            }
        }
    }

    /// A score as Redis prints it ("1700000000123", or "inf" if someone wrote one) → ms, clamped.
    static func milliseconds(_ score: String) -> Int64? {
        if let exact = Int64(score) { return exact }
        guard let value = Double(score), !value.isNaN else { return nil }
        return abs(value) < 9e18 ? Int64(value) : (value > 0 ? .max : .min)
    }
}
