/// Why a Postgres query or transaction did not produce its result.
///
/// Whether the statement ran is part of each case's contract: retry only what is known not to
/// have run, or what is idempotent.
public enum PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The connection was not ready (never connected, reconnecting, or closed): nothing was sent,
    /// so the statement did not run. Also reported for queries still queued behind one that was
    /// in flight when the connection dropped.
    case notConnected(PostgresEndpoint)
    /// The connection dropped after the statement was sent. `reason` says what was lost and, for
    /// a transaction, whether COMMIT had been sent: only then is the outcome unknown.
    case connectionLost(PostgresEndpoint, reason: String)
    /// No result within the timeout (milliseconds). The connection was reset to cancel it, so
    /// the statement may have run (a COMMIT may have committed); other queued queries fail
    /// with ``notConnected(_:)``.
    case timeout(milliseconds: UInt64)
    /// The server rejected the statement. `sqlState` is the five-character SQLSTATE (`23505`);
    /// the transaction, if any, was rolled back.
    case server(sqlState: String, message: String, detail: String?)
    /// The server answered with something this client does not handle (COPY, a bad response).
    case unexpected(String)

    public var description: String {
        switch self {
        case .notConnected(let endpoint):
            return "Postgres at \(endpoint) is not connected, so the query was not sent (is the server running "
                + "and reachable, and are the credentials right? Queries wait for onReady after a reconnect)"
        case .connectionLost(let endpoint, let reason):
            return "lost the connection to Postgres at \(endpoint): \(reason)"
        case .timeout(let milliseconds):
            return "Postgres did not answer within \(milliseconds) ms; the connection was reset to cancel the query, "
                + "which may still have run (a long lock wait or a slow query are the usual causes)"
        case .server(let sqlState, let message, let detail):
            var text = "Postgres rejected the statement: \(message) (SQLSTATE \(sqlState)"
            if let cause = Self.likelyCause(sqlState) { text += ", \(cause)" }
            text += ")"
            if let detail, !detail.isEmpty { text += ". \(detail)" }
            return text
        case .unexpected(let message):
            return "unexpected answer from Postgres: \(message)"
        }
    }

    /// The SQLSTATE, when the server rejected the statement.
    public var sqlState: String? {
        if case .server(let state, _, _) = self { return state }
        return nil
    }

    /// A likely cause for the SQLSTATEs Caraway meets in practice.
    static func likelyCause(_ sqlState: String) -> String? {
        switch sqlState {
        case "23505": return "unique violation: a row with this key already exists"
        case "23503": return "foreign key violation: the referenced row is missing, or still referenced"
        case "23502": return "not-null violation: a required value was NULL"
        case "23514": return "check violation: a value is outside the column's allowed range"
        case "40001": return "serialization failure: a concurrent transaction conflicted; retry the transaction"
        case "40P01": return "deadlock detected: retry the transaction"
        case "42P01": return "undefined table: have the migrations run?"
        case "42703": return "undefined column: is the schema older than this code?"
        case "42601": return "syntax error in the SQL"
        case "42883": return "undefined function: a parameter may need an explicit cast such as $1::int"
        case "22P02": return "invalid text representation: a parameter does not parse as the column's type"
        case "25P02": return "the transaction had already failed; every statement until ROLLBACK is ignored"
        case "55P03": return "lock not available"
        case "57014": return "the query was cancelled (statement_timeout?)"
        case "57P01", "57P02", "57P03": return "the server is shutting down or restarting"
        case "53300": return "too many connections for the server's max_connections"
        case "28P01", "28000": return "authentication failed: check the user and password"
        case "3D000": return "the database does not exist"
        default: return nil
        }
    }
}
