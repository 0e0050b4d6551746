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
    /// docs/openapi.yaml, embedded at build time (no Foundation, no file to ship beside the binary).
    static let openAPIDocument: [UInt8] = PackageResources.openapi_yaml
}
