/// One entry of a connection's queue: a single query, or a transaction whose statements must
/// run back to back on the connection. libpq allows one statement in flight, so the connection
/// sends the head job's statements one at a time and nothing else until the job is finished.
///
/// The job decides what to send next and what to report; the connection does the I/O and fires
/// ``finish(_:)`` exactly once, after removing the job from its queue.
final class PostgresJob {
    typealias Statement = (sql: String, parameters: [String?])

    /// What is in flight (or, before the first send, what goes first).
    enum Step {
        case begin
        case statement(Int)
        case commit
        /// ROLLBACK after `cause` failed; the job reports `cause` whatever ROLLBACK returns.
        case rollback(cause: PostgresError)
    }

    let statements: [Statement]
    let isTransaction: Bool
    /// Per-statement timeout in milliseconds (0 = none).
    let timeout: UInt64
    private(set) var step: Step
    /// Whether any statement has been handed to libpq (from then on a loss is not `notConnected`).
    private(set) var sent = false
    private var results: [PostgresResult] = []
    private var completion: ((Result<[PostgresResult], PostgresError>) -> Void)?

    init(query: Statement, timeout: UInt64, _ completion: @escaping (Result<PostgresResult, PostgresError>) -> Void) {
        statements = [query]
        isTransaction = false
        self.timeout = timeout
        step = .statement(0)
        self.completion = { result in
            completion(result.flatMap { results in
                results.first.map { .success($0) } ?? .failure(.unexpected("no result for the query"))
            })
        }
    }

    init(transaction: [Statement], timeout: UInt64, _ completion: @escaping (Result<[PostgresResult], PostgresError>) -> Void) {
        statements = transaction
        isTransaction = true
        self.timeout = timeout
        step = .begin
        self.completion = completion
    }

    /// The SQL and parameters of the current step.
    var current: Statement {
        switch step {
        case .begin: return ("BEGIN", [])
        case .statement(let i): return statements[i]
        case .commit: return ("COMMIT", [])
        case .rollback: return ("ROLLBACK", [])
        }
    }

    func markSent() { sent = true }

    /// Takes the outcome of the current step. Returns the job's final result when it is done,
    /// or nil when the (new) current step must be sent.
    func advance(with outcome: Result<PostgresResult, PostgresError>) -> Result<[PostgresResult], PostgresError>? {
        switch (step, outcome) {
        case (.rollback(let cause), _):
            return .failure(cause)
        case (.begin, .success):
            return next(after: -1)
        case (.begin, .failure(let error)):
            return .failure(error)
        case (.statement(let i), .success(let result)):
            results.append(result)
            return next(after: i)
        case (.statement, .failure(let error)):
            guard isTransaction else { return .failure(error) }
            step = .rollback(cause: error)
            return nil
        case (.commit, .success):
            return .success(results)
        case (.commit, .failure(let error)):
            // A failed COMMIT ends the transaction on the server: there is nothing to roll back.
            return .failure(error)
        }
    }

    private func next(after i: Int) -> Result<[PostgresResult], PostgresError>? {
        if i + 1 < statements.count {
            step = .statement(i + 1)
            return nil
        }
        guard isTransaction else { return .success(results) }
        step = .commit
        return nil
    }

    /// What to report when the connection is lost while this job is at the head of the queue.
    func lostError(_ endpoint: PostgresEndpoint, reason: String) -> PostgresError {
        guard sent else { return .notConnected(endpoint) }
        switch step {
        case .rollback(let cause):
            return cause
        case .commit:
            return .connectionLost(endpoint, reason: "\(reason); COMMIT was sent but not acknowledged, so whether "
                                   + "the transaction committed is unknown")
        case .begin, .statement:
            if isTransaction {
                return .connectionLost(endpoint, reason: "\(reason); COMMIT had not been sent, so the server rolled "
                                       + "the transaction back")
            }
            return .connectionLost(endpoint, reason: "\(reason); the query had been sent, so it may or may not have run")
        }
    }

    /// What to report when the current step outlives its timeout.
    func timeoutError() -> PostgresError {
        if case .rollback(let cause) = step { return cause }
        return .timeout(milliseconds: timeout)
    }

    /// Fires the completion; later calls do nothing (exactly once).
    func finish(_ result: Result<[PostgresResult], PostgresError>) {
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }
}

/// FIFO of jobs: O(1) append and removal at the head (a read index over an array, compacted
/// once half of it is spent).
struct JobQueue {
    private var items: [PostgresJob] = []
    private var head = 0

    var first: PostgresJob? { head < items.count ? items[head] : nil }
    var isEmpty: Bool { head >= items.count }
    var count: Int { items.count - head }

    mutating func append(_ job: PostgresJob) { items.append(job) }

    mutating func removeFirst() -> PostgresJob? {
        guard head < items.count else { return nil }
        let job = items[head]
        head += 1
        if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return job
    }

    /// Empties the queue, returning the jobs in order.
    mutating func removeAll() -> [PostgresJob] {
        let jobs = Array(items[head...])
        items = []
        head = 0
        return jobs
    }
}
