import CarawayControl
import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// What this node answers to inspect, in the shapes of Celery's replies (spec §5.6), shared by
/// `/inspect/{what}`, the Redis snapshot and the pidbox handlers.
extension Node {
    func inspectReply(_ target: InspectTarget) -> JSON {
        switch target {
        case .ping: return ControlReply.ok("pong")
        case .active: return .array(consumer.active.map(\.json))
        // Nothing is ever reserved without running: prefetch is one message per busy child.
        case .reserved: return .array([])
        // ETA and countdown tasks wait in Redis's delayed set, not in a node (see the cluster view).
        case .scheduled: return .array([])
        case .registered: return .array(registry.names.filter { !$0.hasPrefix("celery.") }.map(JSON.string))
        case .revoked: return .array(revocations.ids.sorted().map(JSON.string))
        case .stats: return statsReply()
        case .activeQueues: return .array(configuration.queues.map(Self.queueDescription))
        case .conf: return confReply()
        }
    }

    /// The snapshot stored in Redis every second: every reply but the (cluster-wide) revoked list.
    func snapshotJSON() -> JSON {
        var replies = JSONObject()
        for target in InspectTarget.snapshotted { replies[target.rawValue] = inspectReply(target) }
        return .object(["name": .string(configuration.name), "node_id": .string(nodeID), "replies": .object(replies)])
    }

    func statsReply() -> JSON {
        let stats = consumer.stats
        var pool = JSONObject()
        pool["implementation"] = "caraway:ChildPool"
        pool["max-concurrency"] = JSON(configuration.concurrency)
        pool["processes"] = .array(self.pool.pids.map { JSON(Int($0)) })
        pool["max-tasks-per-child"] = configuration.maxTasksPerChild.map { JSON($0) } ?? "N/A"
        pool["max-memory-per-child"] = configuration.maxMemoryPerChildKiB.map { JSON($0) } ?? "N/A"
        pool["put-guarded-by-semaphore"] = false
        pool["timeouts"] = .array([JSON(configuration.softTimeLimit ?? 0), JSON(configuration.hardTimeLimit ?? 0)])
        var broker = JSONObject()
        broker["hostname"] = .string(configuration.redis.host)
        broker["port"] = JSON(configuration.redis.port)
        broker["virtual_host"] = .string(String(configuration.redis.database))
        broker["transport"] = "redis"
        broker["userid"] = JSON(configuration.redis.username)
        broker["ssl"] = false
        broker["heartbeat"] = 0
        broker["transport_options"] = .object(configuration.keyPrefix.isEmpty ? [:] : ["global_keyprefix": .string(configuration.keyPrefix)])
        var caraway = JSONObject()
        caraway["node_id"] = .string(nodeID)
        caraway["version"] = .string(Node.version)
        caraway["beat"] = .object(["leader": .bool(beat?.scheduler.isFiring ?? false),
                                   "epoch": beat?.elector.term.map { JSON(Int($0.epoch)) } ?? .null])
        caraway["loop_lag_ms"] = JSON((lag.lastMilliseconds * 1000).rounded() / 1000)
        caraway["loop_lag_max_ms"] = JSON((lag.maxMilliseconds * 1000).rounded() / 1000)
        caraway["child_restarts"] = .object(JSONObject(self.pool.restarts.sorted { $0.key < $1.key }.map { ($0.key, JSON($0.value)) }))
        caraway["counters"] = .object([
            "succeeded": JSON(stats.succeeded), "failed": JSON(stats.failed), "retried": JSON(stats.retried),
            "requeued": JSON(stats.requeued), "dead_lettered": JSON(stats.deadLettered), "deferred": JSON(stats.deferred),
            "expired": JSON(stats.expired), "revoked": JSON(stats.revoked), "possible_duplicates": JSON(stats.possibleDuplicates),
        ])
        caraway["held"] = JSON(consumer.heldCount)
        caraway["redis_reconnects"] = JSON(connection.reconnects)
        caraway["task_events"] = .bool(events.taskEventsEnabled)
        var body = JSONObject()
        body["total"] = .object(JSONObject(stats.totals.sorted { $0.key < $1.key }.map { ($0.key, JSON($0.value)) }))
        body["pid"] = JSON(Int(getpid()))
        body["clock"] = .string(String(clock.value))
        body["uptime"] = JSON(Int(SystemTime.now() - startedAt))
        body["pool"] = .object(pool)
        body["broker"] = .object(broker)
        body["prefetch_count"] = JSON(configuration.concurrency)
        body["rusage"] = Self.rusage()
        body["caraway"] = .object(caraway)
        return .object(body)
    }

    func confReply() -> JSON {
        var conf = JSONObject()
        conf["broker_url"] = .string("redis://\(configuration.redis.host):\(configuration.redis.port)/\(configuration.redis.database)")
        conf["worker_concurrency"] = JSON(configuration.concurrency)
        conf["worker_prefetch_multiplier"] = 1
        conf["task_acks_late"] = true
        conf["worker_max_tasks_per_child"] = JSON(configuration.maxTasksPerChild)
        conf["worker_max_memory_per_child"] = JSON(configuration.maxMemoryPerChildKiB)
        conf["task_soft_time_limit"] = JSON(configuration.softTimeLimit)
        conf["task_time_limit"] = JSON(configuration.hardTimeLimit)
        conf["result_expires"] = JSON(configuration.resultExpires)
        conf["task_queues"] = .array(configuration.queues.map(JSON.string))
        conf["worker_send_task_events"] = .bool(events.taskEventsEnabled)
        return .object(conf)
    }

    /// A kombu `Queue.as_dict()` for `active_queues` (Flower shows these).
    static func queueDescription(_ name: String) -> JSON {
        let exchange: JSONObject = ["name": .string(name), "type": "direct", "arguments": .null, "durable": true,
                                    "passive": false, "auto_delete": false, "delivery_mode": .null, "no_declare": false]
        return .object(["name": .string(name), "exchange": .object(exchange), "routing_key": .string(name),
                        "queue_arguments": .null, "binding_arguments": .null, "consumer_arguments": .null,
                        "durable": true, "exclusive": false, "auto_delete": false, "no_ack": false, "alias": .null,
                        "bindings": .array([]), "no_declare": .null, "expires": .null, "message_ttl": .null,
                        "max_length": .null, "max_length_bytes": .null, "max_priority": .null])
    }

    /// `resource.getrusage(RUSAGE_SELF)` in Python's field names.
    static func rusage() -> JSON {
        var usage = Glibc.rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> JSON { JSON(Double(t.tv_sec) + Double(t.tv_usec) / 1e6) }
        return .object([
            "utime": seconds(usage.ru_utime), "stime": seconds(usage.ru_stime), "maxrss": JSON(usage.ru_maxrss),
            "ixrss": JSON(usage.ru_ixrss), "idrss": JSON(usage.ru_idrss), "isrss": JSON(usage.ru_isrss),
            "minflt": JSON(usage.ru_minflt), "majflt": JSON(usage.ru_majflt), "nswap": JSON(usage.ru_nswap),
            "inblock": JSON(usage.ru_inblock), "oublock": JSON(usage.ru_oublock), "msgsnd": JSON(usage.ru_msgsnd),
            "msgrcv": JSON(usage.ru_msgrcv), "nsignals": JSON(usage.ru_nsignals), "nvcsw": JSON(usage.ru_nvcsw),
            "nivcsw": JSON(usage.ru_nivcsw),
        ])
    }
}
