extension CeleryMessage {
    /// A new task message, encoded exactly as Celery's `send_task` would (`as_task_v2`
    /// plus kombu's Redis `prepare_message`), so Python workers, Flower and `celery
    /// inspect` treat it like one a Python client sent.
    ///
    /// Ids and times are inputs, never read from the environment: pass ``makeUUID()`` output
    /// and the injected clock's time.
    public struct Draft: Sendable {
        /// Registered task name.
        public var task: String
        /// Task id (a UUID by convention).
        public var id: String
        /// Positional arguments (body element 0).
        public var args: [JSON]
        /// Keyword arguments (body element 1).
        public var kwargs: JSONObject
        /// Target queue: the routing key for the anonymous exchange, and the Redis list name.
        public var queue: String
        /// Exchange name; `""` (the default) is the anonymous exchange that routes by queue name.
        public var exchange: String
        /// 0–9 (clamped on encode); on Redis 0 is served first.
        public var priority: Int
        /// Earliest run time, epoch seconds.
        public var eta: Double?
        /// Absolute expiry, epoch seconds. Celery ≥ 5.3 also writes `properties.expiration`
        /// (relative milliseconds); Redis ignores it and computing it would need the clock, so
        /// it is left out.
        public var expires: Double?
        /// `headers.retries`: 0 for a first publish.
        public var retries: Int
        /// `[hard, soft]` seconds.
        public var timeLimit: (hard: Double?, soft: Double?)
        /// Workflow root; `nil` means this task is the root (Celery writes its own id).
        public var rootID: String?
        /// The task that publishes this one, if any.
        public var parentID: String?
        /// Group id for group and chord-header members.
        public var groupID: String?
        /// Position within the group.
        public var groupIndex: Int?
        /// If true, workers store no result.
        public var ignoreResult: Bool
        /// Remaining chain steps, reversed (next step last), as ``Signature`` JSON.
        public var chain: [JSON]?
        /// Signatures applied with the result on success.
        public var callbacks: [JSON]?
        /// Signatures applied on failure.
        public var errbacks: [JSON]?
        /// The chord body this task belongs to.
        public var chord: JSON?
        /// Sender node name (`headers.origin`), e.g. `caraway@host`.
        public var origin: String
        /// Alternative display name for logs.
        public var shadow: String?
        /// Display reprs; `nil` renders them with ``PythonRepr`` (args as a tuple).
        public var argsrepr: String?
        /// Display repr of ``kwargs``; `nil` renders it with ``PythonRepr``.
        public var kwargsrepr: String?
        /// `properties.reply_to`; only the `rpc://` backend reads it.
        public var replyTo: String
        /// Headers merged in last (like `apply_async(headers=...)`); they override the standard ones.
        public var extraHeaders: JSONObject

        /// - Parameters:
        ///   - task: registered task name.
        ///   - id: task id, e.g. from ``makeUUID()``.
        ///   - args: positional arguments.
        ///   - kwargs: keyword arguments.
        ///   - queue: target queue (default `celery`, Celery's default queue).
        public init(task: String, id: String, args: [JSON] = [], kwargs: JSONObject = [:], queue: String = "celery") {
            self.task = task
            self.id = id
            self.args = args
            self.kwargs = kwargs
            self.queue = queue
            self.exchange = ""
            self.priority = 0
            self.eta = nil
            self.expires = nil
            self.retries = 0
            self.timeLimit = (nil, nil)
            self.rootID = nil
            self.parentID = nil
            self.groupID = nil
            self.groupIndex = nil
            self.ignoreResult = false
            self.chain = nil
            self.callbacks = nil
            self.errbacks = nil
            self.chord = nil
            self.origin = "caraway"
            self.shadow = nil
            self.argsrepr = nil
            self.kwargsrepr = nil
            self.replyTo = ""
            self.extraHeaders = [:]
        }

        /// Priority clamped to 0–9 as kombu does.
        public var clampedPriority: Int { min(9, max(0, priority)) }

        /// The headers, in `as_task_v2` order.
        public var headers: JSONObject {
            var headers = JSONObject()
            headers.reserveCapacity(20 + extraHeaders.count)
            headers.append("lang", "py")
            headers.append("task", .string(task))
            headers.append("id", .string(id))
            headers.append("shadow", JSON(shadow))
            headers.append("eta", eta.map { .string(Timestamp.format($0)) } ?? .null)
            headers.append("expires", expires.map { .string(Timestamp.format($0)) } ?? .null)
            headers.append("group", JSON(groupID))
            headers.append("group_index", JSON(groupIndex))
            headers.append("retries", JSON(retries))
            headers.append("timelimit", [JSON(timeLimit.hard), JSON(timeLimit.soft)])
            headers.append("root_id", .string(rootID ?? id))
            headers.append("parent_id", JSON(parentID))
            headers.append("argsrepr", .string(argsrepr ?? PythonRepr.renderTuple(args)))
            headers.append("kwargsrepr", .string(kwargsrepr ?? PythonRepr.render(.object(kwargs))))
            headers.append("origin", .string(origin))
            headers.append("ignore_result", .bool(ignoreResult))
            headers.append("replaced_task_nesting", 0)
            headers.append("stamped_headers", .null)
            headers.append("stamps", .object([:]))
            for (key, value) in extraHeaders { headers[key] = value }
            return headers
        }

        /// The properties, in kombu's order, with a fresh `delivery_tag`.
        public func properties(deliveryTag: String) -> JSONObject {
            var properties = JSONObject()
            properties.reserveCapacity(7)
            properties.append("correlation_id", .string(id))
            properties.append("reply_to", .string(replyTo))
            properties.append("delivery_mode", 2)
            properties.append("delivery_info", .object(["exchange": .string(exchange), "routing_key": .string(queue)]))
            properties.append("priority", JSON(clampedPriority))
            properties.append("body_encoding", "base64")
            properties.append("delivery_tag", .string(deliveryTag))
            return properties
        }

        /// `[args, kwargs, embed]`, with `embed` always an object (a `null` embed breaks
        /// Python's chord and errback paths, spec §1.4).
        public var payload: JSON {
            let embed: JSONObject = [
                "callbacks": callbacks.map(JSON.array) ?? .null,
                "errbacks": errbacks.map(JSON.array) ?? .null,
                "chain": chain.map(JSON.array) ?? .null,
                "chord": chord ?? .null,
            ]
            return .array([.array(args), .object(kwargs), .object(embed)])
        }

        /// The complete envelope bytes to `LPUSH` onto the queue's priority list.
        /// - Parameter deliveryTag: a fresh UUID string for this publish (`properties.delivery_tag`,
        ///   required by Python consumers).
        /// - Returns: compact UTF-8 JSON.
        public func encodedEnvelope(deliveryTag: String) -> [UInt8] {
            let body = payload.serialized()
            var output: [UInt8] = []
            output.reserveCapacity(body.count * 4 / 3 + 1024)
            JSONWriter.appendASCII("{\"body\":\"", to: &output)
            body.withUnsafeBytes { Base64.encode($0, appendingTo: &output) }
            JSONWriter.appendASCII("\",\"content-encoding\":\"utf-8\",\"content-type\":\"application/json\",\"headers\":",
                                   to: &output)
            headers.write(to: &output)
            JSONWriter.appendASCII(",\"properties\":", to: &output)
            properties(deliveryTag: deliveryTag).write(to: &output)
            output.append(UInt8(ascii: "}"))
            return output
        }
    }
}
