import CarawayHTTP
import CarawayProtocol

/// `/api/v1/tasks…`: registered names, enqueue, state and result.
struct TaskAPI {
    let context: APIContext
    /// Ten years: longer delays are almost certainly mistakes, and far ones overflow timestamps.
    static let maximumDelay: Double = 315_360_000
    static let enqueueFields: Set<String> = ["task", "args", "kwargs", "queue", "countdown", "eta", "expires", "priority", "task_id"]

    func register(on router: Router, guarding admin: @escaping (HTTPRequest, HTTPResponder, () -> Void) -> Void) {
        router.get("/api/v1/tasks/registered") { _, responder in
            responder.respond(json: ["tasks": .array(context.registry.names.map(JSON.string))])
        }
        router.post("/api/v1/tasks") { request, responder in
            admin(request, responder) {
                do { try enqueue(request, responder) } catch { responder.respond(error: error) }
            }
        }
        router.get("/api/v1/tasks/{id}") { request, responder in
            let id = request.pathParameters["id"] ?? ""
            context.redis.send(["GET", context.keys.result(taskID: id)]) { result in
                switch result {
                case .success(.bulk(let bytes)):
                    guard let record = try? ResultRecord.decode(bytes) else {
                        responder.respond(.error(status: 502, "the stored result of \(id) is not a Celery result record"))
                        return
                    }
                    var o = JSONObject()
                    o["task_id"] = .string(id)
                    o["state"] = .string(record.status)
                    o["result"] = record.result
                    o["traceback"] = JSON(record.traceback)
                    o["date_done"] = record.dateDone.map { .string(Timestamp.format($0)) } ?? .null
                    responder.respond(json: .object(o))
                case .success:
                    // Celery's rule: no record means PENDING (unknown ids look the same).
                    responder.respond(json: ["task_id": .string(id), "state": "PENDING", "result": nil])
                case .failure(let error):
                    responder.respondUnavailable(error)
                }
            }
        }
    }

    private func enqueue(_ request: HTTPRequest, _ responder: HTTPResponder) throws(APIError) {
        let body = try request.jsonObject()
        for key in body.keys where !Self.enqueueFields.contains(key) {
            throw .badRequest(key, "unknown field '\(key)' (allowed: \(Self.enqueueFields.sorted().joined(separator: ", ")))")
        }
        guard let task = body["task"]?.stringValue, !task.isEmpty else { throw .badRequest("task", "'task' is required: a task name") }
        guard context.registry.entry(task) != nil else {
            throw .badRequest("task", "unknown task '\(task)'; registered: \(context.registry.names.joined(separator: ", "))")
        }
        let args = body["args"] ?? .array([])
        guard case .array(let argList) = args else { throw .badRequest("args", "must be a JSON array") }
        let kwargs = body["kwargs"] ?? .object([:])
        guard case .object(let kwargObject) = kwargs else { throw .badRequest("kwargs", "must be a JSON object") }
        var queue: String?
        if let q = body["queue"], !q.isNull {
            guard let name = q.stringValue, !name.isEmpty, !name.utf8.contains(where: { $0 <= 0x20 }) else {
                throw .badRequest("queue", "must be a queue name without spaces")
            }
            queue = name
        }
        let now = context.clock.now
        var eta: Double?
        if let c = body["countdown"], !c.isNull {
            guard let seconds = c.doubleValue, seconds >= 0, seconds <= Self.maximumDelay else {
                throw .badRequest("countdown", "must be a number of seconds between 0 and \(Int(Self.maximumDelay)) (ten years)")
            }
            eta = now + seconds
        }
        if let e = body["eta"], !e.isNull {
            guard eta == nil else { throw .badRequest("eta", "give countdown or eta, not both") }
            guard let text = e.stringValue else { throw .badRequest("eta", "must be an ISO-8601 time string") }
            do { eta = try Timestamp.parse(text) } catch { throw .badRequest("eta", "\(error)") }
            guard let e = eta, e <= now + Self.maximumDelay else { throw .badRequest("eta", "must be within ten years from now") }
        }
        var expires: Double?
        if let x = body["expires"], !x.isNull {
            guard let seconds = x.doubleValue, seconds > 0, seconds <= Self.maximumDelay else {
                throw .badRequest("expires", "must be a number of seconds between 0 and \(Int(Self.maximumDelay)) (ten years)")
            }
            expires = now + seconds
        }
        var priority = 0
        if let p = body["priority"], !p.isNull {
            guard let value = p.intValue, (0...9).contains(value) else { throw .badRequest("priority", "must be an integer 0-9") }
            priority = value
        }
        var id = makeUUID()
        if let t = body["task_id"], !t.isNull {
            guard let text = t.stringValue, !text.isEmpty, text.utf8.count <= 255 else { throw .badRequest("task_id", "must be a non-empty string") }
            id = text
        }
        Self.publish(context: context, task: task, id: id, args: argList, kwargs: kwargObject, queue: queue, eta: eta,
                     expires: expires, priority: priority, headers: [:]) { error in
            if let error { responder.respondUnavailable(error) } else {
                responder.respond(json: ["task_id": .string(id), "state": "PENDING"], status: 202)
            }
        }
    }

    /// Publishes one task exactly as `send_task` would (LPUSH, ETA in the header).
    static func publish(context: APIContext, task: String, id: String, args: [JSON], kwargs: JSONObject, queue: String?,
                        eta: Double?, expires: Double?, priority: Int, headers: JSONObject, _ done: @escaping ((any Error)?) -> Void) {
        let target = queue ?? context.routes.queue(for: task) ?? "celery"
        var draft = CeleryMessage.Draft(task: task, id: id, args: args, kwargs: kwargs, queue: target)
        draft.eta = eta
        draft.expires = expires
        draft.priority = priority
        draft.origin = context.nodeName
        draft.extraHeaders = headers
        let envelope = draft.encodedEnvelope(deliveryTag: makeUUID())
        context.redis.send(bytes: [Array("LPUSH".utf8), Array(context.keys.queue(target, priority: priority).utf8), envelope]) { result in
            if case .failure(let error) = result { done(error) } else { done(nil) }
        }
    }
}
