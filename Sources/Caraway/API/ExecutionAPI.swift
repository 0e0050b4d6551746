import CarawayHTTP
import CarawayProtocol
import CarawayStore

/// `/api/v1/executions…` and `/api/v1/stats`: the execution history.
struct ExecutionAPI {
    let context: APIContext
    static let states: Set<String> = ["RECEIVED", "STARTED", "SUCCESS", "FAILURE", "RETRY", "REVOKED", "REQUEUED", "DEAD"]

    func register(on router: Router) {
        router.get("/api/v1/executions") { request, responder in
            do { Self.list(context: context, filter: try Self.filter(from: request), responder: responder) } catch { responder.respond(error: error) }
        }
        router.get("/api/v1/executions/{id}") { request, responder in
            let id = request.pathParameters["id"] ?? ""
            // No stored task id holds U+0000 (PostgreSQL text cannot), and the lookup would fail in the database.
            guard !id.utf8.contains(0) else {
                responder.respond(APIError.notFound("execution \(id)"))
                return
            }
            context.store.executionGet(taskID: id) { result in
                switch result {
                case .success(let row?): responder.respond(json: row.json)
                case .success(nil): responder.respond(APIError.notFound("execution \(id)"))
                case .failure(let error): responder.respondUnavailable(error)
                }
            }
        }
        router.get("/api/v1/stats") { _, responder in
            context.store.executionsStats { result in
                switch result {
                case .success(let counts):
                    var byState = JSONObject()
                    for state in counts.keys.sorted() { byState[state] = JSON(counts[state] ?? 0) }
                    responder.respond(json: ["executions_by_state": .object(byState), "total": JSON(counts.values.reduce(0, +))])
                case .failure(let error): responder.respondUnavailable(error)
                }
            }
        }
    }

    /// Query parameters → filter; 400 naming the parameter on bad values.
    static func filter(from request: HTTPRequest) throws(APIError) -> ExecutionFilter {
        var filter = ExecutionFilter()
        let allowed: Set<String> = ["state", "task", "schedule_id", "since", "until", "cursor", "limit"]
        for key in request.query.keys where !allowed.contains(key) {
            throw .badRequest(key, "unknown query parameter '\(key)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        if let state = request.query["state"] {
            guard states.contains(state) else { throw .badRequest("state", "must be one of \(states.sorted().joined(separator: ", "))") }
            filter.state = state
        }
        if let task = request.query["task"] {
            // PostgreSQL text cannot hold U+0000: the filter would fail in the database instead.
            guard !task.utf8.contains(0) else { throw .badRequest("task", "must not contain the character U+0000 (NUL)") }
            filter.task = task
        }
        if let text = request.query["schedule_id"] {
            guard let id = Int64(text), id > 0 else { throw .badRequest("schedule_id", "must be a positive integer") }
            filter.scheduleID = id
        }
        for (key, keyPath) in [("since", \ExecutionFilter.since), ("until", \ExecutionFilter.until)] {
            if let text = request.query[key] {
                do { filter[keyPath: keyPath] = try Timestamp.parse(text) } catch { throw .badRequest(key, "\(error)") }
            }
        }
        if let token = request.query["cursor"] {
            guard let cursor = ExecutionCursor(token: token) else { throw .badRequest("cursor", "not a cursor returned by this API") }
            filter.after = cursor
        }
        if let text = request.query["limit"] {
            guard let limit = Int(text), (1...500).contains(limit) else { throw .badRequest("limit", "must be an integer 1-500") }
            filter.limit = limit
        }
        return filter
    }

    static func list(context: APIContext, filter: ExecutionFilter, responder: HTTPResponder) {
        context.store.executionsList(filter) { result in
            switch result {
            case .success(let rows):
                let next: JSON = rows.count == filter.limit ? rows.last.map { .string($0.cursor.token) } ?? .null : .null
                responder.respond(json: ["executions": .array(rows.map(\.json)), "next_cursor": next])
            case .failure(let error):
                responder.respondUnavailable(error)
            }
        }
    }
}
