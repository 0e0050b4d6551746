import CarawayRedis

/// Why a broker operation failed.
public enum BrokerError: Error, CustomStringConvertible, Sendable {
    /// Redis could not be reached or did not answer; the operation may be retried.
    case redis(RedisError)
    /// This node's lease had expired and its in-flight work was recovered by another node.
    case leaseLost(node: String)
    /// A script answered with something its contract does not allow.
    case unexpectedReply(operation: String, reply: String)

    public var description: String {
        switch self {
        case .redis(let e): return e.description
        case .leaseLost(let n): return "node \(n) lost its lease (it was presumed dead and its tasks were requeued); re-registering"
        case .unexpectedReply(let op, let r): return "broker operation \(op) got an unexpected reply: \(r)"
        }
    }

    init(_ error: RedisError) {
        if case .server(let message) = error, message.contains("LEASE_LOST") {
            let node = message.split(separator: " ").dropFirst(2).first.map(String.init) ?? "?"
            self = .leaseLost(node: node)
        } else {
            self = .redis(error)
        }
    }
}
