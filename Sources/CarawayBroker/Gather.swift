/// Small completion combinators for multi-call operations (QueueAdmin). Everything runs on the
/// loop thread, so plain captured state is enough; each completion fires exactly once.
enum Gather {
    /// Starts `count` operations at once (they pipeline on one connection) and completes with
    /// every result in order, or with the first failure.
    static func all<T>(_ count: Int, _ start: (Int, @escaping (Result<T, BrokerError>) -> Void) -> Void,
                       _ completion: @escaping (Result<[T], BrokerError>) -> Void) {
        guard count > 0 else { return completion(.success([])) }
        var results = [T?](repeating: nil, count: count)
        var remaining = count
        var finished = false
        for i in 0..<count {
            start(i) { result in
                guard !finished else { return }
                switch result {
                case .failure(let error):
                    finished = true
                    completion(.failure(error))
                case .success(let value):
                    results[i] = value
                    remaining -= 1
                    if remaining == 0 {
                        finished = true
                        completion(.success(results.map { $0! }))
                    }
                }
            }
        }
    }

    /// Calls `step` with a cursor, starting at "0", and again with each cursor it returns until
    /// that is "0" (Redis's SCAN protocol). `step` folds its chunk into the caller's state.
    static func cursor(_ step: @escaping (String, @escaping (Result<String, BrokerError>) -> Void) -> Void,
                       _ completion: @escaping (Result<Void, BrokerError>) -> Void) {
        func next(_ cursor: String) {
            step(cursor) { result in
                switch result {
                case .failure(let error): completion(.failure(error))
                case .success("0"): completion(.success(()))
                case .success(let cursor): next(cursor)
                }
            }
        }
        next("0")
    }
}
