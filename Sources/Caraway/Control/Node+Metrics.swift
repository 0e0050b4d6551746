import CarawayHTTP
import CarawayProtocol
import CarawayWorker

/// `/metrics`: the node's counters plus queue depths read from Redis at scrape time.
extension Node {
    func metricsResponse(_ responder: HTTPResponder) {
        let queues = configuration.queues
        guard connection.isReady else {
            responder.respond(metricsBody(depths: nil, delayed: nil))
            return
        }
        // One pipelined read: LLEN of every priority list of every queue, then the delayed count.
        var pending = queues.count * 4 + 1
        var depths = [String: Int](uniqueKeysWithValues: queues.map { ($0, 0) })
        var delayed: Int?
        var failed = false
        let finish = { [unowned self] in
            pending -= 1
            if pending == 0 { responder.respond(metricsBody(depths: failed ? nil : depths, delayed: delayed)) }
        }
        for queue in queues {
            for key in broker.keys.queueKeys(queue) {
                connection.send(["LLEN", key]) { result in
                    if case .success(let value) = result { depths[queue, default: 0] += Int(value.int ?? 0) } else { failed = true }
                    finish()
                }
            }
        }
        connection.send(["ZCARD", broker.keys.delayed]) { result in
            if case .success(let value) = result { delayed = value.int.map(Int.init) }
            finish()
        }
    }

    func metricsBody(depths: [String: Int]?, delayed: Int?) -> HTTPResponse {
        var out = PrometheusText()
        let labels = [("node", configuration.name)]
        out.family("caraway_node_info", "gauge", "Constant 1, labelled with the node's identity.")
        out.sample("caraway_node_info", [("node", configuration.name), ("node_id", nodeID), ("version", Node.version)], 1)
        out.family("caraway_uptime_seconds", "gauge", "Seconds since the node started.")
        out.sample("caraway_uptime_seconds", labels, SystemClock().now - startedAt)
        metrics.render(into: &out)
        out.family("caraway_queue_depth", "gauge", "Messages waiting in each queue this node consumes (all priorities).")
        if let depths {
            for (queue, depth) in depths.sorted(by: { $0.key < $1.key }) { out.sample("caraway_queue_depth", [("queue", queue)], depth) }
        }
        out.family("caraway_delayed_messages", "gauge", "Messages in the cluster's delayed set (ETA, countdown, retry backoff).")
        if let delayed { out.sample("caraway_delayed_messages", [], delayed) }
        out.family("caraway_inflight_messages", "gauge", "Messages this node holds in its in-flight hash (running or being settled).")
        out.sample("caraway_inflight_messages", labels, consumer.heldCount)
        out.family("caraway_active_tasks", "gauge", "Tasks running in this node's children.")
        out.sample("caraway_active_tasks", labels, consumer.active.count)
        out.family("caraway_reserved_messages", "gauge", "Reserve requests in flight (messages reserved but not yet started).")
        out.sample("caraway_reserved_messages", labels, consumer.reservingCount)
        out.family("caraway_pool_processes", "gauge", "Child processes alive.")
        out.sample("caraway_pool_processes", labels, pool.pids.count)
        out.family("caraway_child_restarts_total", "counter", "Children replaced, by reason.")
        for reason in Set(["max-tasks", "max-memory", "killed", "crashed"]).union(pool.restarts.keys).sorted() {
            out.sample("caraway_child_restarts_total", [("reason", reason)], pool.restarts[reason] ?? 0)
        }
        out.family("caraway_beat_leader", "gauge", "1 while this node is the beat leader and fires schedules.")
        out.sample("caraway_beat_leader", labels, (beat?.scheduler.isFiring ?? false) ? 1 : 0)
        out.family("caraway_beat_epoch", "gauge", "Fencing epoch of this node's current leadership term (0 when not leading).")
        out.sample("caraway_beat_epoch", labels, Int(beat?.elector.term?.epoch ?? 0))
        out.family("caraway_redis_up", "gauge", "1 while the node's Redis command connection is ready.")
        out.sample("caraway_redis_up", labels, connection.isReady ? 1 : 0)
        out.family("caraway_redis_reconnects_total", "counter", "Reconnects of the node's Redis command connection.")
        out.sample("caraway_redis_reconnects_total", labels, connection.reconnects)
        out.family("caraway_postgres_reconnects_total", "counter", "Reconnects of the node's Postgres connections.")
        out.sample("caraway_postgres_reconnects_total", labels, beat.map { $0.store.connection.reconnects + $0.beatStore.connection.reconnects } ?? 0)
        out.family("caraway_loop_lag_seconds", "gauge", "Event-loop lag: last sample and the maximum since start.")
        out.sample("caraway_loop_lag_seconds", [("node", configuration.name), ("kind", "last")], lag.lastMilliseconds / 1000)
        out.sample("caraway_loop_lag_seconds", [("node", configuration.name), ("kind", "max")], lag.maxMilliseconds / 1000)
        out.family("caraway_events_published_total", "counter", "Celery events published (worker and task batches).")
        out.sample("caraway_events_published_total", labels, events.published)
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Array(out.text.utf8))
    }
}
