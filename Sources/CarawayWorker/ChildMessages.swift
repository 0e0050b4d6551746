import CarawayProtocol

/// What the node asks a child to run (one frame).
public struct ChildRequest: Sendable {
    public var id: String
    public var task: String
    public var args: [JSON]
    public var kwargs: JSONObject
    public var retries: Int
    public var queue: String
    public var rootID: String?
    public var parentID: String?
    public var deliveries: Int
    public var softTimeLimit: Double?

    public init(id: String, task: String, args: [JSON], kwargs: JSONObject, retries: Int, queue: String,
                rootID: String?, parentID: String?, deliveries: Int, softTimeLimit: Double?) {
        self.id = id
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.retries = retries
        self.queue = queue
        self.rootID = rootID
        self.parentID = parentID
        self.deliveries = deliveries
        self.softTimeLimit = softTimeLimit
    }

    public func encoded() -> [UInt8] {
        Self.frame(id: id, task: task, argsJSON: JSON.array(args).serialized()[...],
                   kwargsJSON: JSON.object(kwargs).serialized()[...], retries: retries, queue: queue, rootID: rootID,
                   parentID: parentID, deliveries: deliveries, softTimeLimit: softTimeLimit)
    }

    /// One request frame whose `args` and `kwargs` are spliced in as given: already valid JSON
    /// (an array and an object), such as a message's body parts, which the node passes through
    /// untouched instead of building and re-serializing them per task (docs/performance.md).
    public static func frame(id: String, task: String, argsJSON: ArraySlice<UInt8>, kwargsJSON: ArraySlice<UInt8>,
                             retries: Int, queue: String, rootID: String?, parentID: String?, deliveries: Int,
                             softTimeLimit: Double?) -> [UInt8] {
        // Written straight into the frame (length prefix patched at the end): building a
        // JSONObject and copying the serialized payload into a frame was ~2 % of a node's CPU.
        var out = [UInt8](repeating: 0, count: 4)
        out.reserveCapacity(4 + 160 + id.utf8.count + task.utf8.count + queue.utf8.count + argsJSON.count + kwargsJSON.count)
        func member(_ key: String, _ value: JSON) {
            out.append(out.count == 4 ? UInt8(ascii: "{") : UInt8(ascii: ","))
            JSON.string(key).write(to: &out)
            out.append(UInt8(ascii: ":"))
            value.write(to: &out)
        }
        member("id", .string(id))
        member("task", .string(task))
        member("retries", JSON(retries))
        member("queue", .string(queue))
        member("root_id", JSON(rootID))
        member("parent_id", JSON(parentID))
        member("deliveries", JSON(deliveries))
        member("soft", JSON(softTimeLimit))
        out.append(contentsOf: #","args":"#.utf8)
        out.append(contentsOf: argsJSON)
        out.append(contentsOf: #","kwargs":"#.utf8)
        out.append(contentsOf: kwargsJSON)
        out.append(UInt8(ascii: "}"))
        let length = out.count - 4
        for k in 0..<4 { out[k] = UInt8(truncatingIfNeeded: length >> (24 - 8 * k)) }
        return out
    }

    public init(decoding payload: [UInt8]) throws {
        guard case .object(let o) = try JSON.parse(payload), let id = o["id"]?.stringValue, let task = o["task"]?.stringValue else {
            throw ProtocolError.missingField("id/task")
        }
        self.init(id: id, task: task, args: o["args"]?.arrayValue ?? [], kwargs: o["kwargs"]?.objectValue ?? [:],
                  retries: o["retries"]?.intValue ?? 0, queue: o["queue"]?.stringValue ?? "celery",
                  rootID: o["root_id"]?.stringValue, parentID: o["parent_id"]?.stringValue,
                  deliveries: o["deliveries"]?.intValue ?? 1, softTimeLimit: o["soft"]?.doubleValue)
    }
}

/// What a child answers (one frame): ready at start, then one outcome per request.
public enum ChildReply: Sendable {
    case ready(pid: Int)
    case success(result: JSON, runtime: Double, rssKiB: Int)
    case failure(TaskError, traceback: String?, runtime: Double, rssKiB: Int)
    case retry(TaskRetry, runtime: Double, rssKiB: Int)

    public func encoded() -> [UInt8] {
        var o = JSONObject()
        switch self {
        case .ready(let pid):
            o["status"] = "ready"
            o["pid"] = JSON(pid)
        case .success(let result, let runtime, let rss):
            o["status"] = "success"
            o["result"] = result
            o["runtime"] = JSON(runtime)
            o["rss_kb"] = JSON(rss)
        case .failure(let error, let traceback, let runtime, let rss):
            o["status"] = "failure"
            o["exc_type"] = .string(error.type)
            o["exc_module"] = .string(error.module)
            o["message"] = .string(error.message)
            o["traceback"] = JSON(traceback)
            o["runtime"] = JSON(runtime)
            o["rss_kb"] = JSON(rss)
        case .retry(let retry, let runtime, let rss):
            o["status"] = "retry"
            o["countdown"] = JSON(retry.countdown)
            o["max_retries"] = JSON(retry.maxRetries)
            o["reason"] = .string(retry.reason)
            o["runtime"] = JSON(runtime)
            o["rss_kb"] = JSON(rss)
        }
        return FrameDecoder.frame(o.serialized())
    }

    public init(decoding payload: [UInt8]) throws {
        guard case .object(let o) = try JSON.parse(payload), let status = o["status"]?.stringValue else {
            throw ProtocolError.missingField("status")
        }
        let runtime = o["runtime"]?.doubleValue ?? 0
        let rss = o["rss_kb"]?.intValue ?? 0
        switch status {
        case "ready":
            self = .ready(pid: o["pid"]?.intValue ?? 0)
        case "success":
            self = .success(result: o["result"] ?? .null, runtime: runtime, rssKiB: rss)
        case "failure":
            self = .failure(TaskError(type: o["exc_type"]?.stringValue ?? "Exception", message: o["message"]?.stringValue ?? "",
                                      module: o["exc_module"]?.stringValue ?? "builtins"),
                            traceback: o["traceback"]?.stringValue, runtime: runtime, rssKiB: rss)
        case "retry":
            self = .retry(TaskRetry(countdown: o["countdown"]?.doubleValue, maxRetries: o["max_retries"]?.intValue,
                                    reason: o["reason"]?.stringValue ?? "retry requested"), runtime: runtime, rssKiB: rss)
        default:
            throw ProtocolError.wrongType(field: "status", expected: "ready|success|failure|retry")
        }
    }
}
