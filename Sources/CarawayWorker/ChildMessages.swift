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
        var frame = FrameObjectWriter(capacity: 160 + id.utf8.count + task.utf8.count + queue.utf8.count
                                          + argsJSON.count + kwargsJSON.count)
        frame.member("id", .string(id))
        frame.member("task", .string(task))
        frame.member("retries", JSON(retries))
        frame.member("queue", .string(queue))
        frame.member("root_id", JSON(rootID))
        frame.member("parent_id", JSON(parentID))
        frame.member("deliveries", JSON(deliveries))
        frame.member("soft", JSON(softTimeLimit))
        frame.member("args", raw: argsJSON)
        frame.member("kwargs", raw: kwargsJSON)
        return frame.finish()
    }

    /// The members a child reads, located in one pass (no `JSONObject` built for the frame).
    enum Field: Int, CaseIterable, JSONFieldPath {
        case id, task, args, kwargs, retries, queue, rootID, parentID, deliveries, soft
        var slot: Int { rawValue }
        var path: [String] {
            switch self {
            case .id: ["id"]
            case .task: ["task"]
            case .args: ["args"]
            case .kwargs: ["kwargs"]
            case .retries: ["retries"]
            case .queue: ["queue"]
            case .rootID: ["root_id"]
            case .parentID: ["parent_id"]
            case .deliveries: ["deliveries"]
            case .soft: ["soft"]
            }
        }
    }

    static let fields = JSONFieldPaths(Field.allCases.map(\.path))

    /// Reads a request frame's payload. Only `id` and `task` are required; other members of
    /// the wrong type read as their defaults (the node writes every frame itself).
    public init(decoding payload: [UInt8]) throws {
        self = try payload.withUnsafeBytes { buffer throws in
            let frame = JSONLocatedValues(bytes: buffer, ranges: try JSON.locate(Self.fields, in: buffer))
            guard let id = try? frame.string(Field.id), let task = try? frame.string(Field.task) else {
                throw ProtocolError.missingField("id/task")
            }
            return ChildRequest(id: id, task: task, args: (try? frame.array(Field.args)) ?? [],
                                kwargs: (try frame.value(Field.kwargs))?.objectValue ?? [:],
                                retries: (try? frame.int(Field.retries)) ?? 0,
                                queue: (try? frame.string(Field.queue)) ?? "celery",
                                rootID: try? frame.string(Field.rootID), parentID: try? frame.string(Field.parentID),
                                deliveries: (try? frame.int(Field.deliveries)) ?? 1,
                                softTimeLimit: (try frame.value(Field.soft))?.doubleValue)
        }
    }
}

/// Writes one frame — a 4-byte length, then a JSON object — member by member, straight into
/// the bytes that go on the pipe: no `JSONObject` built, no payload copied into a frame after.
struct FrameObjectWriter {
    private var out: [UInt8]

    init(capacity: Int) {
        out = [0, 0, 0, 0]
        out.reserveCapacity(4 + capacity)
    }

    /// Keys are literals of plain ASCII (nothing to escape), so their bytes go in as they are.
    private mutating func key(_ key: StaticString) {
        out.append(out.count == 4 ? UInt8(ascii: "{") : UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    mutating func member(_ key: StaticString, _ value: JSON) {
        self.key(key)
        value.write(to: &out)
    }

    /// A member whose value is already valid JSON.
    mutating func member(_ key: StaticString, raw: ArraySlice<UInt8>) {
        self.key(key)
        out.append(contentsOf: raw)
    }

    consuming func finish() -> [UInt8] {
        if out.count == 4 { out.append(UInt8(ascii: "{")) }  // no members: "{}"
        out.append(UInt8(ascii: "}"))
        let length = out.count - 4
        for k in 0..<4 { out[k] = UInt8(truncatingIfNeeded: length >> (24 - 8 * k)) }
        return out
    }
}

/// What a child answers (one frame): ready at start, then one outcome per request.
public enum ChildReply: Sendable {
    case ready(pid: Int)
    case success(result: JSON, runtime: Double, rssKiB: Int)
    case failure(TaskError, traceback: String?, runtime: Double, rssKiB: Int)
    case retry(TaskRetry, runtime: Double, rssKiB: Int)

    public func encoded() -> [UInt8] {
        var frame = FrameObjectWriter(capacity: 96)
        switch self {
        case .ready(let pid):
            frame.member("status", "ready")
            frame.member("pid", JSON(pid))
        case .success(let result, let runtime, let rss):
            frame.member("status", "success")
            frame.member("result", result)
            frame.member("runtime", JSON(runtime))
            frame.member("rss_kb", JSON(rss))
        case .failure(let error, let traceback, let runtime, let rss):
            frame.member("status", "failure")
            frame.member("exc_type", .string(error.type))
            frame.member("exc_module", .string(error.module))
            frame.member("message", .string(error.message))
            frame.member("traceback", JSON(traceback))
            frame.member("runtime", JSON(runtime))
            frame.member("rss_kb", JSON(rss))
        case .retry(let retry, let runtime, let rss):
            frame.member("status", "retry")
            frame.member("countdown", JSON(retry.countdown))
            frame.member("max_retries", JSON(retry.maxRetries))
            frame.member("reason", .string(retry.reason))
            frame.member("runtime", JSON(runtime))
            frame.member("rss_kb", JSON(rss))
        }
        return frame.finish()
    }

    /// A success reply exactly as ``encoded()`` writes it — `{"status":"success","result":R,
    /// "runtime":N,"rss_kb":K}`, members in that order, no whitespace — read without the general
    /// decode: one per task, it was 8 % of a node's instructions per task. Anything else (or an
    /// R, N or K that does not parse) returns nil and takes the general path, which decides.
    /// The tail after R holds no strings, so its last `,"runtime":` and `,"rss_kb":` are ours
    /// whatever R contains.
    static func ownSuccess(_ payload: [UInt8]) -> ChildReply? {
        let head = Self.successHead, runtimeKey = Self.runtimeKey, rssKey = Self.rssKey
        guard payload.count > head.count + runtimeKey.count + rssKey.count + 1, payload.last == UInt8(ascii: "}"),
              payload.starts(with: head),
              let rssAt = lastIndex(of: rssKey, in: payload, before: payload.count - 1),
              let runtimeAt = lastIndex(of: runtimeKey, in: payload, before: rssAt), runtimeAt >= head.count,
              let rss = Int(decimal: payload[(rssAt + rssKey.count)..<(payload.count - 1)]),
              let runtime = (try? JSON.parse(payload[(runtimeAt + runtimeKey.count)..<rssAt]))?.doubleValue,
              let result = try? JSON.parse(payload[head.count..<runtimeAt]) else { return nil }
        return .success(result: result, runtime: runtime, rssKiB: rss)
    }

    private static let successHead = Array(#"{"status":"success","result":"#.utf8)
    private static let runtimeKey = Array(#","runtime":"#.utf8)
    private static let rssKey = Array(#","rss_kb":"#.utf8)

    /// Start of the last occurrence of `needle` in `bytes` that ends at or before `end`.
    private static func lastIndex(of needle: [UInt8], in bytes: [UInt8], before end: Int) -> Int? {
        var start = end - needle.count
        while start >= 0 {
            if bytes[start] == needle[0], bytes[start..<(start + needle.count)].elementsEqual(needle) { return start }
            start -= 1
        }
        return nil
    }

    enum Field: Int, CaseIterable, JSONFieldPath {
        case status, runtime, rss, pid, result, excType, message, excModule, traceback, countdown, maxRetries, reason
        var slot: Int { rawValue }
        var path: [String] {
            switch self {
            case .status: ["status"]
            case .runtime: ["runtime"]
            case .rss: ["rss_kb"]
            case .pid: ["pid"]
            case .result: ["result"]
            case .excType: ["exc_type"]
            case .message: ["message"]
            case .excModule: ["exc_module"]
            case .traceback: ["traceback"]
            case .countdown: ["countdown"]
            case .maxRetries: ["max_retries"]
            case .reason: ["reason"]
            }
        }
    }

    static let fields = JSONFieldPaths(Field.allCases.map(\.path))

    /// Reads a reply frame's payload. Only `status` is required; other members of the wrong
    /// type read as their defaults (a child writes every frame itself).
    public init(decoding payload: [UInt8]) throws {
        if let success = Self.ownSuccess(payload) {
            self = success
            return
        }
        self = try payload.withUnsafeBytes { buffer throws in
            let frame = JSONLocatedValues(bytes: buffer, ranges: try JSON.locate(Self.fields, in: buffer))
            guard let status = try? frame.string(Field.status) else { throw ProtocolError.missingField("status") }
            func string(_ field: Field) -> String? { try? frame.string(field) }
            func number(_ field: Field) -> JSON? { try? frame.value(field) }
            let runtime = number(.runtime)?.doubleValue ?? 0
            let rss = number(.rss)?.intValue ?? 0
            switch status {
            case "ready":
                return .ready(pid: number(.pid)?.intValue ?? 0)
            case "success":
                return .success(result: try frame.value(Field.result) ?? .null, runtime: runtime, rssKiB: rss)
            case "failure":
                return .failure(TaskError(type: string(.excType) ?? "Exception", message: string(.message) ?? "",
                                          module: string(.excModule) ?? "builtins"),
                                traceback: string(.traceback), runtime: runtime, rssKiB: rss)
            case "retry":
                return .retry(TaskRetry(countdown: number(.countdown)?.doubleValue, maxRetries: number(.maxRetries)?.intValue,
                                        reason: string(.reason) ?? "retry requested"), runtime: runtime, rssKiB: rss)
            default:
                throw ProtocolError.wrongType(field: "status", expected: "ready|success|failure|retry")
            }
        }
    }
}

extension Int {
    /// A non-negative decimal of at most 18 digits, nothing else (no sign, no spaces).
    init?(decimal digits: ArraySlice<UInt8>) {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        self = value
    }
}
