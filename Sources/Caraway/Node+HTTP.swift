import CarawayBroker
import CarawayControl
import CarawayHTTP
import CarawayProtocol
import CarawayWorker

extension Node {
    /// The node's HTTP routes: health for liveness, ready for load balancers and orchestration.
    func routes() -> Router {
        let router = Router()
        router.get("/health") { [unowned self] _, responder in
            var body = JSONObject()
            body["status"] = "ok"
            body["node"] = .string(configuration.name)
            body["node_id"] = .string(nodeID)
            body["loop_lag_ms"] = JSON((lag.lastMilliseconds * 1000).rounded() / 1000)
            body["loop_lag_max_ms"] = JSON((lag.maxMilliseconds * 1000).rounded() / 1000)
            body["uptime_s"] = JSON(Int(SystemClock().now - startedAt))
            body["active"] = JSON(consumer.active.count)
            body["held"] = JSON(consumer.heldCount)
            body["beat"] = beat?.healthJSON ?? .null
            responder.respond(.json(bytes: JSON.object(body).serialized()))
        }
        router.get("/ready") { [unowned self] _, responder in
            let redis = connection.isReady
            let registered = heartbeater.isRegistered
            let children = pool.readyCount
            let ready = redis && registered && children > 0 && !consumer.configuration.queues.isEmpty
            var body = JSONObject()
            body["ready"] = .bool(ready)
            body["redis"] = .bool(redis)
            body["registered"] = .bool(registered)
            body["children_ready"] = JSON(children)
            body["concurrency"] = JSON(configuration.concurrency)
            responder.respond(.json(status: ready ? 200 : 503, bytes: JSON.object(body).serialized()))
        }
        let admin = makeAdminGuard(token: configuration.adminToken)
        router.get("/inspect/{what}") { [unowned self] request, responder in
            admin(request, responder) {
                let name = request.pathParameters["what"] ?? ""
                guard let what = InspectTarget(rawValue: name) else {
                    responder.respond(APIError(status: 404, message: "unknown inspect target '\(name)'; one of \(InspectTarget.allCases.map(\.rawValue).joined(separator: ", "))", field: "what"))
                    return
                }
                responder.respond(json: .object([self.configuration.name: self.inspectReply(what)]))
            }
        }
        router.get("/metrics") { [unowned self] _, responder in metricsResponse(responder) }
        router.get("/api/v1/openapi.yaml") { _, responder in
            responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/yaml")], body: Self.openAPIDocument))
        }
        OpsAPI(inspector: inspector, queues: queueAdmin, broker: broker, controlKeys: controlKeys, ownQueues: configuration.queues,
               resultExpires: configuration.resultExpires,
               revoke: { [unowned self] ids, terminate, signal, done in self.revokeAndBroadcast(ids, terminate: terminate, signal: signal, done) })
            .register(on: router, guarding: admin)
        if let beat {
            let context = APIContext(store: beat.store, redis: connection, keys: broker.keys, registry: registry,
                                     routes: configuration.routes, nodeName: configuration.name,
                                     adminToken: configuration.adminToken, clock: SystemClock(),
                                     resultExpires: configuration.resultExpires)
            registerAPI(on: router, context: context, openAPI: Self.openAPIDocument)
        }
        return router
    }
}

extension Node {
    /// Revokes durably, then broadcasts Celery's revoke so every node (this one included, and any
    /// Python worker on the same Redis) drops the ids and, with `terminate`, stops a running one.
    func revokeAndBroadcast(_ ids: [String], terminate: Bool, signal: String, _ done: @escaping (Result<Int, BrokerError>) -> Void) {
        revocations.revoke(ids, resultTTLSeconds: configuration.resultExpires) { [unowned self] result in
            guard case .success = result else { done(result); return }
            Revocations.broadcast(on: connection, keys: controlKeys, taskIDs: ids, terminate: terminate, signal: signal) { _ in done(result) }
        }
    }

    /// docs/openapi.yaml, embedded at build time (no Foundation, no file to ship beside the binary).
    static let openAPIDocument: [UInt8] = PackageResources.openapi_yaml
}
