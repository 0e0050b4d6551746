import CarawayRedis

/// What `QueueAdmin.purge` removed (or, in a dry run, would remove) from one queue.
public struct QueuePurge: Sendable, Equatable {
    public let queue: String
    /// Messages on the queue's four priority lists.
    public let waiting: Int
    /// Messages in `caraway:delayed` bound for the queue (0 unless delayed ones were asked for).
    public let delayed: Int

    public init(queue: String, waiting: Int, delayed: Int) {
        self.queue = queue
        self.waiting = waiting
        self.delayed = delayed
    }
}

/// How many messages one queue has, by where they are.
public struct QueueCount: Sendable, Equatable {
    public let queue: String
    /// On the queue's four priority lists.
    public let waiting: Int
    /// In `caraway:delayed`, bound for the queue (ETA, countdown, retries).
    public let delayed: Int
    /// Reserved from the queue by registered nodes (their in-flight hashes).
    public let inFlight: Int

    public init(queue: String, waiting: Int, delayed: Int, inFlight: Int) {
        self.queue = queue
        self.waiting = waiting
        self.delayed = delayed
        self.inFlight = inFlight
    }
}

/// Operator-side queue operations (`celery purge`, queue lengths, queue discovery) on one
/// connection. Each atomic step is one script; multi-step walks run on the loop thread and
/// complete exactly once. Never touches the in-flight hashes: reserved messages belong to nodes.
public final class QueueAdmin {
    public let connection: RedisConnection
    public let keys: RedisKeys
    /// HSCAN/SCAN COUNT hint: entries examined per call, so no single call blocks Redis for long.
    public var scanCount = 500

    public init(connection: RedisConnection, keys: RedisKeys) {
        self.connection = connection
        self.keys = keys
    }

    /// Removes every waiting message of `queues` (all four priority lists, exact counts) and,
    /// when `delayed`, their delayed messages; `dryRun` counts the same without removing.
    /// Results follow `queues` (duplicates dropped). Delayed messages go first, so one promoted
    /// onto its list during the walk is still purged there.
    public func purge(queues: [String], delayed: Bool, dryRun: Bool,
                      completion: @escaping (Result<[QueuePurge], BrokerError>) -> Void) {
        let names = Self.unique(queues)
        let afterDelayed: (Result<[String: Int], BrokerError>) -> Void = { [self] delayedByKey in
            guard case .success(let delayedByKey) = delayedByKey else { return completion(delayedByKey.map { _ in [] }) }
            Gather.all(names.count, { i, done in self.purgeLists(of: names[i], dryRun: dryRun, done) }) { waiting in
                completion(waiting.map { waiting in
                    names.indices.map { i in
                        QueuePurge(queue: names[i], waiting: waiting[i], delayed: self.total(of: names[i], in: delayedByKey))
                    }
                })
            }
        }
        if delayed && !names.isEmpty {
            purgeDelayed(destinations: names.flatMap(keys.queueKeys), dryRun: dryRun, afterDelayed)
        } else {
            afterDelayed(.success([:]))
        }
    }

    /// Waiting, delayed and in-flight counts of `queues` (duplicates dropped, order kept).
    /// Each figure is exact at the instant its script ran; together they are a moving snapshot.
    public func counts(queues: [String], completion: @escaping (Result<[QueueCount], BrokerError>) -> Void) {
        let names = Self.unique(queues)
        Gather.all(names.count, { i, done in self.purgeLists(of: names[i], dryRun: true, done) }) { [self] waiting in
            guard case .success(let waiting) = waiting else { return completion(waiting.map { _ in [] }) }
            delayedByDestination { [self] delayed in
                guard case .success(let delayed) = delayed else { return completion(delayed.map { _ in [] }) }
                inflightBySource { [self] inFlight in
                    completion(inFlight.map { inFlight in
                        names.indices.map { i in
                            QueueCount(queue: names[i], waiting: waiting[i], delayed: total(of: names[i], in: delayed),
                                       inFlight: total(of: names[i], in: inFlight))
                        }
                    })
                }
            }
        }
    }

    /// The sum of `counts` over `queue`'s exact list keys (a key merely mapping to the same
    /// name, such as an unknown priority suffix, is not the queue's).
    private func total(of queue: String, in counts: [String: Int]) -> Int {
        keys.queueKeys(queue).reduce(0) { $0 + (counts[$1] ?? 0) }
    }

    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
