/// A Celery protocol v2 task message as kombu's Redis transport carries it (spec §1).
///
/// One Redis list element is a JSON envelope `{body, content-encoding, content-type,
/// headers, properties}` whose `body` is base64 of `[args, kwargs, embed]`. Decoding validates
/// the whole envelope and body but builds only the fields a node reads per task; it keeps the
/// envelope bytes (``raw``) and the body's JSON (`args`, `kwargs` as unparsed, validated byte
/// ranges), so the full trees (``envelope``, ``headers``, ``properties``, ``args``, ``kwargs``)
/// are built only when asked for — republishing, inspect, history — and a task's arguments go
/// to its child exactly as the producer wrote them (``argsJSON``, ``kwargsJSON``). Values are
/// immutable snapshots and safe to share across threads.
public struct CeleryMessage: Sendable {
    /// The envelope bytes exactly as they were on the list.
    public let raw: [UInt8]
    /// The body after undoing `body_encoding`: the JSON array `[args, kwargs, embed]`.
    let payload: [UInt8]
    let argsRange: Range<Int>
    let kwargsRange: Range<Int>

    /// The whole outer object, built from ``raw`` on each access.
    public var envelope: JSONObject {
        guard case .object(let object)? = try? JSON.parse(raw) else { return JSONObject() }
        return object
    }
    /// `envelope.headers` (built on each access).
    public var headers: JSONObject { envelope["headers"]?.objectValue ?? JSONObject() }
    /// `envelope.properties` (empty if the producer sent none; built on each access).
    public var properties: JSONObject { envelope["properties"]?.objectValue ?? JSONObject() }

    /// Task id (`headers.id`); also the result key suffix.
    public var id: String
    /// Registered task name (`headers.task`).
    public var task: String
    /// Positional arguments (body element 0), as the producer wrote them (validated JSON array).
    public var argsJSON: ArraySlice<UInt8> { payload[argsRange] }
    /// Keyword arguments (body element 1), as the producer wrote them (validated JSON object).
    public var kwargsJSON: ArraySlice<UInt8> { payload[kwargsRange] }
    /// Positional arguments (body element 0; built on each access).
    public var args: [JSON] { (try? JSON.parse(argsJSON))?.arrayValue ?? [] }
    /// Keyword arguments (body element 1; built on each access).
    public var kwargs: JSONObject { (try? JSON.parse(kwargsJSON))?.objectValue ?? JSONObject() }
    /// Canvas options (body element 2): `callbacks`, `errbacks`, `chain`, `chord`.
    /// A `null` embed, which some producers send for plain tasks, decodes as empty.
    public var embed: JSONObject

    /// Times this task has been retried (`headers.retries`, 0 if absent).
    public var retries: Int
    /// Earliest run time, epoch seconds (`headers.eta`).
    public var eta: Double?
    /// Expiry time, epoch seconds (`headers.expires`).
    public var expires: Double?
    /// `headers.timelimit`, which is `[hard, soft]` on the wire (the protocol doc says
    /// otherwise, and is wrong: spec §1.3). Limits above ``maximumTimeLimit`` (Python's
    /// `float('inf')` arrives as `Infinity`) read as ``maximumTimeLimit``.
    public var timeLimit: (hard: Double?, soft: Double?)
    /// Workflow root (`headers.root_id`).
    public var rootID: String?
    /// The task that published this one (`headers.parent_id`).
    public var parentID: String?
    /// Group id (`headers.group`); also set on chord header tasks.
    public var groupID: String?
    /// Position in the group (`headers.group_index`).
    public var groupIndex: Int?
    /// True if no result should be stored (`headers.ignore_result`; Celery sends `null` for false).
    public var ignoreResult: Bool
    /// Alternative display name (`headers.shadow`).
    public var shadow: String?
    /// Sender's node name (`headers.origin`).
    public var origin: String?
    /// How many times Caraway has delivered this message before (`headers.caraway_deliveries`,
    /// 0 if absent). Python ignores unknown headers, so the count survives mixed fleets.
    public var deliveries: Int
    /// The schedule that fired this execution (`headers.caraway_schedule_id`), if any.
    public var scheduleID: Int64?
    /// The schedule tick this execution belongs to (`headers.caraway_tick`), if any.
    public var tick: Double?

    /// `properties.priority` clamped to 0–9; missing or invalid counts as 0, as in kombu.
    public var priority: Int
    /// `properties.delivery_tag`: the key of this delivery in kombu's `unacked` hash.
    public var deliveryTag: String?
    /// `properties.delivery_info.routing_key`: the queue for anonymous-exchange routing.
    public var routingKey: String?
    /// `properties.delivery_info.exchange` (`""` for the default anonymous exchange).
    public var exchange: String?
    /// True if kombu (or Caraway) restored this message after an unacknowledged delivery.
    public var redelivered: Bool
    /// `properties.reply_to` (only the `rpc://` backend uses it).
    public var replyTo: String?
    /// `properties.correlation_id` (the task id for Celery clients).
    public var correlationID: String?

    /// The name of the caraway delivery-count header.
    public static let deliveriesHeader = "caraway_deliveries"

    /// The largest time limit a message keeps, in seconds (about 31 years): anything longer
    /// means "no practical limit", and a finite bound lets a node arm a timer in `UInt64`
    /// milliseconds without trapping on `Infinity` or `1e300`.
    public static let maximumTimeLimit: Double = 1e9
}

extension CeleryMessage {
    /// The envelope members a node reads per task; the rest is validated, not built.
    enum Field: Int, CaseIterable, JSONFieldPath {
        case contentType, body, headers, compression, task, id, timelimit, headerRedelivered, retries, eta, expires
        case rootID, parentID, group, groupIndex, ignoreResult, shadow, origin, deliveries, scheduleID, tick
        case properties, deliveryInfo, routingKey, exchange, infoRedelivered, priority, deliveryTag, replyTo
        case correlationID, bodyEncoding

        var slot: Int { rawValue }

        var path: [String] {
            switch self {
            case .contentType: ["content-type"]
            case .body: ["body"]
            case .headers: ["headers"]
            case .compression: ["headers", "compression"]
            case .task: ["headers", "task"]
            case .id: ["headers", "id"]
            case .timelimit: ["headers", "timelimit"]
            case .headerRedelivered: ["headers", "redelivered"]
            case .retries: ["headers", "retries"]
            case .eta: ["headers", "eta"]
            case .expires: ["headers", "expires"]
            case .rootID: ["headers", "root_id"]
            case .parentID: ["headers", "parent_id"]
            case .group: ["headers", "group"]
            case .groupIndex: ["headers", "group_index"]
            case .ignoreResult: ["headers", "ignore_result"]
            case .shadow: ["headers", "shadow"]
            case .origin: ["headers", "origin"]
            case .deliveries: ["headers", CeleryMessage.deliveriesHeader]
            case .scheduleID: ["headers", "caraway_schedule_id"]
            case .tick: ["headers", "caraway_tick"]
            case .properties: ["properties"]
            case .deliveryInfo: ["properties", "delivery_info"]
            case .routingKey: ["properties", "delivery_info", "routing_key"]
            case .exchange: ["properties", "delivery_info", "exchange"]
            case .infoRedelivered: ["properties", "delivery_info", "redelivered"]
            case .priority: ["properties", "priority"]
            case .deliveryTag: ["properties", "delivery_tag"]
            case .replyTo: ["properties", "reply_to"]
            case .correlationID: ["properties", "correlation_id"]
            case .bodyEncoding: ["properties", "body_encoding"]
            }
        }
    }

    static let fields = JSONFieldPaths(Field.allCases.map(\.path))

    /// Decodes one Redis list element.
    ///
    /// Accepts `body_encoding` `base64` (kombu's default on Redis) and `utf-8`/absent (the
    /// body string is the payload). Pure; callable from any thread.
    /// - Parameter raw: the envelope bytes (kept as ``raw``).
    /// - Returns: the decoded message.
    /// - Throws: ``ProtocolError``: `invalidJSON` for a broken envelope or body,
    ///   `unsupportedContentType` unless `application/json`, `unsupportedCompression` when a
    ///   `compression` header is present, `notProtocolV2` without a `task` header,
    ///   `missingField` / `wrongType` naming the field otherwise.
    public static func decode(_ raw: [UInt8]) throws(ProtocolError) -> CeleryMessage {
        let result: Result<CeleryMessage, ProtocolError> = raw.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in
                let ranges = try JSON.locate(fields, in: buffer)
                guard buffer.first(where: { !JSONParser.isWhitespace($0) }) == UInt8(ascii: "{") else {
                    throw .wrongType(field: "envelope", expected: "a JSON object")
                }
                return try decode(raw: raw, JSONLocatedValues(bytes: buffer, ranges: ranges))
            }
        }
        return try result.get()
    }

    /// Decodes one Redis list element. See ``decode(_:)-([UInt8])``.
    public static func decode(_ raw: UnsafeRawBufferPointer) throws(ProtocolError) -> CeleryMessage {
        try decode(Array(raw))
    }

    /// Decodes an already parsed envelope object. See ``decode(_:)-([UInt8])``.
    public static func decode(envelope: JSONObject) throws(ProtocolError) -> CeleryMessage {
        try decode(envelope.serialized())
    }

    /// `envelope` holds where the values of ``Field`` lie in `raw`, which is all of it.
    private static func decode(raw: [UInt8], _ envelope: JSONLocatedValues) throws(ProtocolError) -> CeleryMessage {
        guard let contentType = try envelope.string(Field.contentType) else { throw .missingField("content-type") }
        guard contentType == "application/json" else { throw .unsupportedContentType(contentType) }
        guard try envelope.isObject(Field.headers) else { throw .missingField("headers") }
        _ = try envelope.isObject(Field.properties)
        if let compression = try envelope.value(Field.compression), !compression.isNull {
            throw .unsupportedCompression(compression.stringValue ?? compression.serializedString())
        }
        guard let task = try envelope.string(Field.task) else { throw .notProtocolV2 }
        guard let id = try envelope.string(Field.id) else { throw .missingField("headers.id") }

        let payload = try decodeBody(envelope)
        let (argsRange, kwargsRange, embed) = try splitPayload(payload)

        var timeLimit: (hard: Double?, soft: Double?) = (nil, nil)
        if let limits = try envelope.array(Field.timelimit) {
            guard limits.count == 2 else { throw .wrongType(field: "headers.timelimit", expected: "[hard, soft]") }
            timeLimit = (try limitValue(limits[0]), try limitValue(limits[1]))
        }
        _ = try envelope.isObject(Field.deliveryInfo)
        let headerRedelivered = try envelope.bool(Field.headerRedelivered) ?? false
        let infoRedelivered = try envelope.bool(Field.infoRedelivered) ?? false

        return CeleryMessage(
            raw: raw,
            payload: payload,
            argsRange: argsRange,
            kwargsRange: kwargsRange,
            id: id,
            task: task,
            embed: embed,
            retries: try envelope.int(Field.retries) ?? 0,
            eta: try envelope.timestamp(Field.eta),
            expires: try envelope.timestamp(Field.expires),
            timeLimit: timeLimit,
            rootID: try envelope.string(Field.rootID),
            parentID: try envelope.string(Field.parentID),
            groupID: try envelope.string(Field.group),
            groupIndex: try envelope.int(Field.groupIndex),
            ignoreResult: try envelope.bool(Field.ignoreResult) ?? false,
            shadow: try envelope.string(Field.shadow),
            origin: try envelope.string(Field.origin),
            deliveries: try envelope.int(Field.deliveries) ?? 0,
            // Caraway's own bookkeeping headers: read leniently, they never block a task.
            scheduleID: (try? envelope.value(Field.scheduleID))?.intValue.map(Int64.init),
            tick: (try? envelope.value(Field.tick))?.doubleValue,
            priority: clampedPriority(try envelope.value(Field.priority)),
            deliveryTag: try envelope.string(Field.deliveryTag),
            routingKey: try envelope.string(Field.routingKey),
            exchange: try envelope.string(Field.exchange),
            redelivered: headerRedelivered || infoRedelivered,
            replyTo: try envelope.string(Field.replyTo),
            correlationID: try envelope.string(Field.correlationID)
        )
    }

    /// kombu's rule: priority is clamped to 0–9 and anything unusable counts as 0.
    static func clampedPriority(_ value: JSON?) -> Int {
        guard let number = value?.numberValue else { return 0 }
        let raw: Int
        if let int = number.int {
            raw = int
        } else if let double = number.double, double.isFinite {
            raw = Int(max(-1, min(10, double)))
        } else {
            return 0
        }
        return min(9, max(0, raw))
    }

    private static func limitValue(_ value: JSON) throws(ProtocolError) -> Double? {
        switch value {
        case .null: return nil
        case .number(let number): return number.double.map { min($0, maximumTimeLimit) }  // NaN stays NaN
        default: throw .wrongType(field: "headers.timelimit", expected: "[hard, soft] of numbers or null")
        }
    }

    /// The payload bytes, after undoing `body_encoding`.
    private static func decodeBody(_ envelope: JSONLocatedValues) throws(ProtocolError) -> [UInt8] {
        guard let body = envelope.ranges[Field.body.slot] else { throw .missingField("body") }
        guard envelope.bytes[body.lowerBound] == UInt8(ascii: "\"") else {
            throw .wrongType(field: "body", expected: "a string")
        }
        let encoding = try envelope.string(Field.bodyEncoding)
        switch encoding {
        case nil, "base64"?, "utf-8"?, "utf8"?: break
        case let other?: throw .unsupportedBodyEncoding(other)
        }
        // A body without escapes (kombu's base64 never has any) is decoded from the envelope's
        // own bytes, with no String in between.
        if let text = envelope.plainStringBytes(Field.body) {
            return encoding == "base64" ? try Base64.decode(text) : Array(text)
        }
        let text = try envelope.string(Field.body)!
        return encoding == "base64" ? try Base64.decode(text) : Array(text.utf8)
    }

    /// Validates the payload `[args, kwargs, embed]`: args and kwargs stay unparsed byte ranges,
    /// embed (small, read on every success) is built.
    private static func splitPayload(_ payload: [UInt8]) throws(ProtocolError) -> (Range<Int>, Range<Int>, JSONObject) {
        let result: Result<[Range<Int>]?, ProtocolError> = payload.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try JSON.elementRanges(buffer) }
        }
        guard let parts = try result.get(), parts.count == 3 else {
            throw .wrongType(field: "body", expected: "an array [args, kwargs, embed]")
        }
        guard payload[parts[0].lowerBound] == UInt8(ascii: "[") else {
            throw .wrongType(field: "body.args", expected: "an array")
        }
        guard payload[parts[1].lowerBound] == UInt8(ascii: "{") else {
            throw .wrongType(field: "body.kwargs", expected: "an object")
        }
        let embed: JSONObject
        switch try JSON.parse(payload[parts[2]]) {
        case .null: embed = JSONObject()
        case .object(let object): embed = object
        default: throw .wrongType(field: "body.embed", expected: "an object or null")
        }
        return (parts[0], parts[1], embed)
    }
}

extension CeleryMessage {
    /// `embed.chain`: the remaining chain steps, stored in reverse (next step last).
    public var chain: [JSON] { embed["chain"]?.arrayValue ?? [] }
    /// `embed.callbacks`: signatures to apply with the result on success (`link`).
    public var callbacks: [JSON] { embed["callbacks"]?.arrayValue ?? [] }
    /// `embed.errbacks`: signatures to apply on failure (`link_error`).
    public var errbacks: [JSON] { embed["errbacks"]?.arrayValue ?? [] }
    /// `embed.chord`: the chord body this task is a header member of, if any.
    public var chord: JSON? {
        guard let chord = embed["chord"], !chord.isNull else { return nil }
        return chord
    }
    /// The workflow root: `root_id`, or the task's own id when absent (Celery's default).
    public var effectiveRootID: String { rootID ?? id }
}
