import CarawayBroker
import CarawayControl
import CarawayHTTP
import CarawayProtocol

/// Operator routes that need Redis only (no Postgres): cluster inspect, queues, purge, revoke.
struct OpsAPI {
    let inspector: ClusterInspector
    let queues: QueueAdmin
    let broker: Broker
    let controlKeys: ControlKeys
    /// Queues this node consumes (always listed, even when empty).
    let ownQueues: [String]
    let resultExpires: Int
    /// Revokes durably and broadcasts (terminate included) — the node's own revoke path.
    let revoke: (_ ids: [String], _ terminate: Bool, _ signal: String, _ done: @escaping (Result<Int, BrokerError>) -> Void) -> Void

    func register(on router: Router, guarding admin: @escaping AdminGuard) {
        router.get("/api/v1/cluster/inspect/{what}") { request, responder in
            admin(request, responder) { clusterInspect(request, responder) }
        }
        router.get("/api/v1/queues") { request, responder in
            listQueues(responder)
        }
        router.post("/api/v1/queues/{name}/purge") { request, responder in
            admin(request, responder) {
                do { try purge(request, responder) } catch { responder.respond(error: error) }
            }
        }
        router.post("/api/v1/tasks/{id}/revoke") { request, responder in
            admin(request, responder) {
                do { try revokeTask(request, responder) } catch { responder.respond(error: error) }
            }
        }
    }

    private func clusterInspect(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let name = request.pathParameters["what"] ?? ""
        guard let what = InspectTarget(rawValue: name) else {
            responder.respond(APIError(status: 404, message: "unknown inspect target '\(name)'; one of \(InspectTarget.allCases.map(\.rawValue).joined(separator: ", "))",
                                       field: "what"))
            return
        }
        var staleAfter = 3.0
        if let text = request.query["stale_after"] {
            guard let value = Double(text), value > 0, value <= 3600 else {
                responder.respond(APIError.badRequest("stale_after", "stale_after must be seconds between 0 and 3600"))
                return
            }
            staleAfter = value
        }
        inspector.inspect(what, staleAfter: staleAfter) { result in
            switch result {
            case .success(let document): responder.respond(json: document)
            case .failure(let error): responder.respondUnavailable(error)
            }
        }
    }

    private func listQueues(_ responder: HTTPResponder) {
        queues.discoverQueues(including: ownQueues) { result in
            switch result {
            case .failure(let error): responder.respondUnavailable(error)
            case .success(let names):
                queues.counts(queues: names) { result in
                    switch result {
                    case .failure(let error): responder.respondUnavailable(error)
                    case .success(let counts):
                        responder.respond(json: ["queues": .array(counts.map {
                            ["name": .string($0.queue), "waiting": JSON($0.waiting), "delayed": JSON($0.delayed), "in_flight": JSON($0.inFlight)]
                        })])
                    }
                }
            }
        }
    }

    private func purge(_ request: HTTPRequest, _ responder: HTTPResponder) throws(APIError) {
        let name = request.pathParameters["name"] ?? ""
        guard !name.isEmpty, !name.utf8.contains(where: { $0 < 0x20 }) else { throw .badRequest("name", "a queue name is required") }
        let body = request.body.isEmpty ? JSONObject() : try request.jsonObject()
        for key in body.keys where !["delayed", "dry_run"].contains(key) {
            throw .badRequest(key, "unknown field '\(key)'; allowed: delayed, dry_run")
        }
        let delayed = try Self.flag(body, "delayed")
        let dryRun = try Self.flag(body, "dry_run")
        queues.purge(queues: [name], delayed: delayed, dryRun: dryRun) { result in
            switch result {
            case .failure(let error): responder.respondUnavailable(error)
            case .success(let purged):
                let counts = purged.first ?? QueuePurge(queue: name, waiting: 0, delayed: 0)
                responder.respond(json: ["queue": .string(name), "waiting": JSON(counts.waiting), "delayed": JSON(counts.delayed),
                                         "dry_run": .bool(dryRun)])
            }
        }
    }

    private func revokeTask(_ request: HTTPRequest, _ responder: HTTPResponder) throws(APIError) {
        let id = request.pathParameters["id"] ?? ""
        guard !id.isEmpty, id.utf8.count <= 255, !id.utf8.contains(where: { $0 < 0x20 }) else {
            throw .badRequest("id", "a task id is required")
        }
        let body = request.body.isEmpty ? JSONObject() : try request.jsonObject()
        for key in body.keys where !["terminate", "signal"].contains(key) {
            throw .badRequest(key, "unknown field '\(key)'; allowed: terminate, signal")
        }
        let terminate = try Self.flag(body, "terminate")
        var signal = "SIGTERM"
        if let value = body["signal"] {
            guard Node.signalNumber(value) != nil else { throw .badRequest("signal", "unknown signal \(value)") }
            signal = value.stringValue ?? String(value.intValue ?? 15)
        }
        revoke([id], terminate, signal) { result in
            switch result {
            case .failure(let error): responder.respondUnavailable(error)
            case .success:
                responder.respond(json: ["task_id": .string(id), "revoked": true, "terminate": .bool(terminate), "signal": .string(signal)])
            }
        }
    }

    static func flag(_ body: JSONObject, _ name: String) throws(APIError) -> Bool {
        guard let value = body[name], !value.isNull else { return false }
        guard let flag = value.boolValue else { throw .badRequest(name, "\(name) must be true or false") }
        return flag
    }
}
