import CarawayRedis

/// Finding the queues a deployment uses, from what Redis holds: kombu's binding sets (declared
/// by Python and Caraway producers and consumers), delayed messages, and nodes' in-flight work.
extension QueueAdmin {
    /// Exchanges that are Celery's control and event plumbing, not task queues.
    static let plumbingExchanges: Set<String> = ["celery.pidbox", "reply.celery.pidbox", "celeryev"]

    /// The sorted, de-duplicated union of `extra`, the queues bound in `_kombu.binding.*`, the
    /// destinations of delayed messages and the source queues of registered nodes' in-flight
    /// messages. Control queues (`*.pidbox`, `celeryev.*`) are left out.
    public func discoverQueues(including extra: [String], completion: @escaping (Result<[String], BrokerError>) -> Void) {
        var names = Set(extra)
        boundQueues { [self] bound in
            guard case .success(let bound) = bound else { return completion(bound.map { _ in [] }) }
            names.formUnion(bound)
            delayedByDestination { [self] delayed in
                guard case .success(let delayed) = delayed else { return completion(delayed.map { _ in [] }) }
                names.formUnion(delayed.keys.map(keys.queueName(fromKey:)))
                inflightBySource { [self] inFlight in
                    completion(inFlight.map { inFlight in
                        names.formUnion(inFlight.keys.map(keys.queueName(fromKey:)))
                        return names.filter { !$0.isEmpty }.sorted()
                    })
                }
            }
        }
    }

    /// Queue names in every `_kombu.binding.<exchange>` set (SCAN MATCH, then SMEMBERS each),
    /// skipping Celery's control exchanges and queues. A key of another type is skipped.
    func boundQueues(_ completion: @escaping (Result<Set<String>, BrokerError>) -> Void) {
        let bindingPrefix = keys.binding(exchange: "")
        let pattern = Self.globEscaped(bindingPrefix) + "*"
        var bindingKeys: [String] = []
        Gather.cursor({ [connection, scanCount] cursor, done in
            connection.send(["SCAN", cursor, "MATCH", pattern, "COUNT", String(scanCount)]) { result in
                switch result {
                case .failure(let e): done(.failure(BrokerError(e)))
                case .success(let value):
                    guard let parts = value.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array else {
                        return done(.failure(.unexpectedReply(operation: "SCAN", reply: "\(value)")))
                    }
                    bindingKeys += found.compactMap(\.string)
                    done(.success(next))
                }
            }
        }) { [self] scanned in
            guard case .success = scanned else { return completion(scanned.map { [] }) }
            let exchanges = Array(Set(bindingKeys)).filter { !Self.plumbingExchanges.contains(String($0.dropFirst(bindingPrefix.count))) }
            Gather.all(exchanges.count, { (i, done: @escaping (Result<[String], BrokerError>) -> Void) in
                self.connection.send(["SMEMBERS", exchanges[i]]) { result in
                    switch result {
                    case .failure(.server): done(.success([]))  // not a set (WRONGTYPE): not a kombu binding
                    case .failure(let e): done(.failure(BrokerError(e)))
                    case .success(let value): done(.success((value.array ?? []).compactMap(\.string)))
                    }
                }
            }) { (members: Result<[[String]], BrokerError>) in
                completion(members.map { Set($0.joined().compactMap { Self.queue(fromBinding: $0) }) })
            }
        }
    }

    /// The queue of a kombu binding member, `routing_key \x06\x16 pattern \x06\x16 queue`;
    /// nil for malformed members and Celery's control queues.
    static func queue(fromBinding member: String) -> String? {
        // Bytes, not Characters: the separator is two control bytes, and the routing key and
        // pattern may be empty.
        let bytes = Array(member.utf8)
        var cuts: [Int] = []
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x06 && bytes[i + 1] == 0x16 { cuts.append(i); i += 2 } else { i += 1 }
        }
        guard cuts.count == 2 else { return nil }
        let queue = String(decoding: bytes[(cuts[1] + 2)...], as: UTF8.self)
        guard !queue.isEmpty else { return nil }
        return queue.hasSuffix(".pidbox") || queue.hasPrefix("celeryev.") ? nil : queue
    }

    /// `text` with Redis glob metacharacters escaped, for SCAN MATCH on a literal prefix.
    static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
