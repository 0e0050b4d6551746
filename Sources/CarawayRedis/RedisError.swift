/// Why a Redis command did not produce a reply value.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection is down (connecting or backing off); the command was not sent.
    case notConnected(endpoint: String)
    /// The connection dropped after the command was sent: it may or may not have run.
    case connectionLost(endpoint: String, reason: String)
    /// No reply within the command timeout; the connection was reset, so the command may have run.
    case timeout(endpoint: String, milliseconds: UInt64)
    /// Redis answered with an error reply (`ERR ...`, `NOSCRIPT ...`, a Lua `error_reply`).
    case server(String)
    /// The reply had a shape the caller did not expect.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .notConnected(let e): return "Redis at \(e) is not connected (is the server running and reachable?)"
        case .connectionLost(let e, let r): return "lost the connection to Redis at \(e): \(r)"
        case .timeout(let e, let ms): return "Redis at \(e) did not answer within \(ms) ms; the connection was reset"
        case .server(let m): return "Redis replied with an error: \(m)"
        case .unexpectedReply(let m): return "unexpected reply from Redis: \(m)"
        }
    }
}
