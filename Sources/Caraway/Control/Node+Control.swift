import CarawayControl
import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Celery's remote-control commands as this node answers them (spec §5.6). Inspect commands
/// share `inspectReply`; control commands act and answer `{"ok": ...}` or `{"error": ...}`.
extension Node {
    func handleControl(_ request: ControlRequest, reply: @escaping (JSON?) -> Void) {
        if let target = InspectTarget(rawValue: request.method) {
            reply(inspectReply(target))
            return
        }
        switch request.method {
        case "dump_tasks": reply(inspectReply(.registered))
        case "clock": reply(.object(["clock": JSON(clock.value)]))
        case "report": reply(ControlReply.ok("caraway \(Node.version) node \(nodeID) on Redis \(configuration.redis)"))
        case "query_task": reply(queryTask(request.arguments))
        case "hello": reply(hello(request.arguments))
        case "revoke": revoke(request.arguments, reply: reply)
        case "terminate":
            var arguments = request.arguments
            arguments["terminate"] = true
            revoke(arguments, reply: reply)
        case "enable_events":
            let already = events.taskEventsEnabled
            events.taskEventsEnabled = true
            if !already { logger.info("events.task_events_enabled", metadata: ["by": "broadcast"]) }
            reply(ControlReply.ok(already ? "task events already enabled" : "task events enabled"))
        case "disable_events":
            let was = events.taskEventsEnabled
            events.taskEventsEnabled = false
            reply(ControlReply.ok(was ? "task events disabled" : "task events already disabled"))
        case "heartbeat":
            events.heartbeatNow()
            reply(nil)
        case "shutdown":
            logger.warning("node.shutdown_requested", metadata: ["by": "remote control", "mode": "graceful"])
            reply(ControlReply.ok("shutting down"))
            shutdown()
        case "rate_limit", "time_limit", "add_consumer", "cancel_consumer", "pool_grow", "pool_shrink", "pool_restart",
             "autoscale", "memdump", "memsample", "objgraph", "election", "revoke_by_stamped_headers":
            reply(ControlReply.error("'\(request.method)' is not supported by Caraway nodes (set it in the node's flags)"))
        default:
            reply(ControlReply.error("unknown command '\(request.method)'"))
        }
    }

    /// `{task_id: ["active", info]}` for the ids this node is running (Celery's query_task).
    func queryTask(_ arguments: JSONObject) -> JSON {
        let ids = Set(Self.taskIDs(arguments["ids"] ?? arguments["task_id"]))
        var found = JSONObject()
        for info in consumer.active where ids.contains(info.id) {
            found[info.id] = .array(["active", info.json])
        }
        return .object(found)
    }

    /// Mingle's greeting from a starting Celery worker: share the revoked set both ways.
    func hello(_ arguments: JSONObject) -> JSON? {
        if arguments["from_node"]?.stringValue == configuration.name { return nil }
        switch arguments["revoked"] {
        case .array(let ids)?: revocations.remember(ids.compactMap(\.stringValue))
        case .object(let map)?: revocations.remember(map.keys)
        default: break
        }
        return .object(["revoked": .array(revocations.ids.sorted().map(JSON.string)), "clock": JSON(clock.value)])
    }

    /// Celery's revoke: durable in Redis (every node does it; the write is idempotent), and with
    /// `terminate` the child running the task gets `signal`, then SIGKILL after a grace period.
    func revoke(_ arguments: JSONObject, reply: @escaping (JSON?) -> Void) {
        let ids = Self.taskIDs(arguments["task_id"])
        guard !ids.isEmpty else {
            reply(ControlReply.error("revoke needs task_id"))
            return
        }
        let terminate = arguments["terminate"]?.boolValue ?? false
        var signalNumber: Int32 = SIGTERM
        if terminate, let name = arguments["signal"] {
            guard let number = Self.signalNumber(name) else {
                reply(ControlReply.error("unknown signal \(name)"))
                return
            }
            signalNumber = number
        }
        revocations.revoke(ids, resultTTLSeconds: configuration.resultExpires) { [logger] result in
            if case .failure(let error) = result {
                logger.warning("control.revoke_not_stored", metadata: ["error": "\(error)", "ids": "\(ids)"])
            }
        }
        let terminated = terminate ? ids.filter { consumer.terminate(taskID: $0, signal: signalNumber) } : []
        logger.info("control.revoked", metadata: ["ids": "\(ids)", "terminate": "\(terminate)", "terminated": "\(terminated)"])
        if terminate {
            reply(ControlReply.ok(terminated.isEmpty ? "terminate: tasks unknown" : "terminate: \(terminated.joined(separator: ", "))"))
        } else {
            reply(ControlReply.ok("tasks {\(ids.map { "'\($0)'" }.joined(separator: ", "))} flagged as revoked"))
        }
    }

    static func taskIDs(_ value: JSON?) -> [String] {
        switch value {
        case .string(let id)?: return [id]
        case .array(let ids)?: return ids.compactMap(\.stringValue)
        default: return []
        }
    }

    /// "SIGTERM", "TERM", "15" or 15 → the signal number.
    static func signalNumber(_ value: JSON) -> Int32? {
        if let number = value.intValue { return (1...64).contains(number) ? Int32(number) : nil }
        guard var name = value.stringValue?.uppercased() else { return nil }
        if let number = Int32(name) { return (1...64).contains(number) ? number : nil }
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        let table: [String: Int32] = ["TERM": SIGTERM, "KILL": SIGKILL, "INT": SIGINT, "HUP": SIGHUP, "QUIT": SIGQUIT,
                                      "USR1": SIGUSR1, "USR2": SIGUSR2, "ABRT": SIGABRT]
        return table[name]
    }
}
