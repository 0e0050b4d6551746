import PropertyBased
import Testing

@testable import CarawayProtocol

/// The node's decoder converts located bytes straight into fields (no `JSON` values in
/// between). This holds it to the plain reading of the spec — parse the whole envelope, then
/// read each field from the parsed objects — on every kind of hostile input: the same fields,
/// or the same error.
@Suite("Fuzz: CeleryMessage.decode agrees with a decode of the fully parsed envelope")
struct CeleryMessageReferenceFuzzTests {
    /// The fields a node reads, from a full parse; `args`/`kwargs`/`embed` are the body's
    /// elements, built.
    struct Decoded: Equatable {
        var id, task: String
        var args, kwargs, embed: JSON
        var retries, deliveries, priority: Int
        var groupIndex: Int?
        var eta, expires, hard, soft, tick: Double?
        var rootID, parentID, groupID, shadow, origin, deliveryTag, routingKey, exchange, replyTo, correlationID: String?
        var ignoreResult, redelivered: Bool
        var scheduleID: Int64?

        static func == (a: Decoded, b: Decoded) -> Bool {
            // NaN (a time limit of `NaN`) equals itself here: both decoders must keep it.
            func same(_ x: Double?, _ y: Double?) -> Bool { x == y || (x?.isNaN == true && y?.isNaN == true) }
            return a.id == b.id && a.task == b.task && a.args == b.args && a.kwargs == b.kwargs && a.embed == b.embed
                && a.retries == b.retries && a.deliveries == b.deliveries && a.priority == b.priority
                && a.groupIndex == b.groupIndex && same(a.eta, b.eta) && same(a.expires, b.expires)
                && same(a.hard, b.hard) && same(a.soft, b.soft) && same(a.tick, b.tick) && a.rootID == b.rootID
                && a.parentID == b.parentID && a.groupID == b.groupID && a.shadow == b.shadow && a.origin == b.origin
                && a.deliveryTag == b.deliveryTag && a.routingKey == b.routingKey && a.exchange == b.exchange
                && a.replyTo == b.replyTo && a.correlationID == b.correlationID && a.ignoreResult == b.ignoreResult
                && a.redelivered == b.redelivered && a.scheduleID == b.scheduleID
        }
    }

    static func fields(of m: CeleryMessage) -> Decoded {
        Decoded(id: m.id, task: m.task, args: .array(m.args), kwargs: .object(m.kwargs), embed: .object(m.embed),
                retries: m.retries, deliveries: m.deliveries, priority: m.priority, groupIndex: m.groupIndex,
                eta: m.eta, expires: m.expires, hard: m.timeLimit.hard, soft: m.timeLimit.soft, tick: m.tick,
                rootID: m.rootID, parentID: m.parentID, groupID: m.groupID, shadow: m.shadow, origin: m.origin,
                deliveryTag: m.deliveryTag, routingKey: m.routingKey, exchange: m.exchange, replyTo: m.replyTo,
                correlationID: m.correlationID, ignoreResult: m.ignoreResult, redelivered: m.redelivered,
                scheduleID: m.scheduleID)
    }

    /// The spec read plainly, check for check in the order the node's decoder checks.
    static func reference(_ raw: [UInt8]) throws(ProtocolError) -> Decoded {
        guard case .object(let envelope) = try JSON.parse(raw) else {
            throw .wrongType(field: "envelope", expected: "a JSON object")
        }
        guard let contentType = try envelope.optionalString("content-type", path: "content-type") else {
            throw .missingField("content-type")
        }
        guard contentType == "application/json" else { throw .unsupportedContentType(contentType) }
        guard let headers = try envelope.optionalObject("headers", path: "headers") else { throw .missingField("headers") }
        let properties = try envelope.optionalObject("properties", path: "properties") ?? JSONObject()
        if let compression = headers["compression"], !compression.isNull {
            throw .unsupportedCompression(compression.stringValue ?? compression.serializedString())
        }
        guard let task = try headers.optionalString("task", path: "headers.task") else { throw .notProtocolV2 }
        guard let id = try headers.optionalString("id", path: "headers.id") else { throw .missingField("headers.id") }

        guard let body = envelope["body"] else { throw .missingField("body") }
        guard case .string(let text) = body else { throw .wrongType(field: "body", expected: "a string") }
        let payload: [UInt8]
        switch try properties.optionalString("body_encoding", path: "properties.body_encoding") {
        case "base64": payload = try Base64.decode(text)
        case nil, "utf-8", "utf8": payload = Array(text.utf8)
        case let other?: throw .unsupportedBodyEncoding(other)
        }
        guard case .array(let parts) = try JSON.parse(payload), parts.count == 3 else {
            throw .wrongType(field: "body", expected: "an array [args, kwargs, embed]")
        }
        guard case .array = parts[0] else { throw .wrongType(field: "body.args", expected: "an array") }
        guard case .object = parts[1] else { throw .wrongType(field: "body.kwargs", expected: "an object") }
        let embed: JSON
        switch parts[2] {
        case .null: embed = .object(JSONObject())
        case .object: embed = parts[2]
        default: throw .wrongType(field: "body.embed", expected: "an object or null")
        }

        var limits: (Double?, Double?) = (nil, nil)
        if let pair = try headers.optionalArray("timelimit", path: "headers.timelimit") {
            guard pair.count == 2 else { throw .wrongType(field: "headers.timelimit", expected: "[hard, soft]") }
            func limit(_ value: JSON) throws(ProtocolError) -> Double? {
                switch value {
                case .null: return nil
                case .number(let number): return number.double.map { min($0, CeleryMessage.maximumTimeLimit) }
                default: throw .wrongType(field: "headers.timelimit", expected: "[hard, soft] of numbers or null")
                }
            }
            limits = (try limit(pair[0]), try limit(pair[1]))
        }
        let info = try properties.optionalObject("delivery_info", path: "properties.delivery_info") ?? JSONObject()
        let redelivered = try headers.optionalBool("redelivered", path: "headers.redelivered") ?? false
        let infoRedelivered = try info.optionalBool("redelivered", path: "properties.delivery_info.redelivered") ?? false
        // The same order of checks as the node's decoder, so the first error is the same one.
        let retries = try headers.optionalInt("retries", path: "headers.retries") ?? 0
        let eta = try headers.optionalTimestamp("eta", path: "headers.eta")
        let expires = try headers.optionalTimestamp("expires", path: "headers.expires")
        let rootID = try headers.optionalString("root_id", path: "headers.root_id")
        let parentID = try headers.optionalString("parent_id", path: "headers.parent_id")
        let groupID = try headers.optionalString("group", path: "headers.group")
        let groupIndex = try headers.optionalInt("group_index", path: "headers.group_index")
        let ignoreResult = try headers.optionalBool("ignore_result", path: "headers.ignore_result") ?? false
        let shadow = try headers.optionalString("shadow", path: "headers.shadow")
        let origin = try headers.optionalString("origin", path: "headers.origin")
        let deliveries = try headers.optionalInt("caraway_deliveries", path: "headers.caraway_deliveries") ?? 0
        let deliveryTag = try properties.optionalString("delivery_tag", path: "properties.delivery_tag")
        let routingKey = try info.optionalString("routing_key", path: "properties.delivery_info.routing_key")
        let exchange = try info.optionalString("exchange", path: "properties.delivery_info.exchange")
        let replyTo = try properties.optionalString("reply_to", path: "properties.reply_to")
        let correlationID = try properties.optionalString("correlation_id", path: "properties.correlation_id")
        return Decoded(
            id: id, task: task, args: parts[0], kwargs: parts[1], embed: embed, retries: retries,
            deliveries: deliveries, priority: CeleryMessage.clampedPriority(properties["priority"]),
            groupIndex: groupIndex, eta: eta, expires: expires, hard: limits.0, soft: limits.1,
            tick: headers["caraway_tick"]?.doubleValue, rootID: rootID, parentID: parentID, groupID: groupID,
            shadow: shadow, origin: origin, deliveryTag: deliveryTag, routingKey: routingKey, exchange: exchange,
            replyTo: replyTo, correlationID: correlationID, ignoreResult: ignoreResult,
            redelivered: redelivered || infoRedelivered,
            scheduleID: headers["caraway_schedule_id"]?.intValue.map(Int64.init))
    }

    static func agree(_ input: FuzzBytes, outcomes: FuzzCounter) throws(FuzzFailure) {
        let expected = Result { () throws(ProtocolError) in try Self.reference(input.bytes) }
        let decoded = Result { () throws(ProtocolError) in Self.fields(of: try CeleryMessage.decode(input.bytes)) }
        switch (expected, decoded) {
        case (.success(let a), .success(let b)):
            outcomes.add("decoded")
            try fuzzExpect(a == b, "fields differ:\n reference \(a)\n decoder   \(b)")
        case (.failure(let a), .failure(let b)):
            outcomes.add(CeleryMessageFuzzTests.kind(of: a))
            try fuzzExpect(a == b, "errors differ: reference \(a), decoder \(b)")
        default:
            throw FuzzFailure(message: "one decoded and one failed: reference \(expected), decoder \(decoded)")
        }
    }

    @Test("Mutated and structurally edited envelopes decode to the reference's fields, or fail with its error")
    func agreesWithReference() throws {
        let outcomes = FuzzCounter()
        let input = Gen.frequency(
            (weight: 2, gen: EnvelopeGen.mutated(try CeleryMessageFuzzTests.fixtures())),
            (weight: 3, gen: EnvelopeGen.structural(try CeleryMessageFuzzTests.parsedFixtures())))
        let stats = Fuzz.check("CeleryMessageReferenceFuzzTests/agreesWithReference", weight: 2, input: input) { input in
            try Self.agree(input, outcomes: outcomes)
        }
        print("fuzz CeleryMessageReferenceFuzzTests/agreesWithReference: outcomes \(outcomes.summary)")
        if stats.cases >= 200 { #expect(outcomes["decoded"] > 0 && outcomes["wrongType"] > 0, "\(outcomes.summary)") }
    }

    @Test("Any one field holding any JSON type (or a repeated key) decodes as the reference does")
    func everyFieldEveryType() throws {
        let outcomes = FuzzCounter()
        for variant in try CeleryMessageFuzzTests.everyFieldVariants() {
            let bytes = variant.bytes
            try Self.agree(FuzzBytes(bytes: bytes, how: "\(variant.fixture) \(variant.path) = \(variant.label)", seed: 0),
                           outcomes: outcomes)
            // The same key again, after the original object: the last one wins.
            if bytes.last == UInt8(ascii: "}"), variant.path.count == 1 {
                let repeated = Array(bytes.dropLast()) + Array(",\"\(variant.path[0])\":".utf8) + variant.raw + [UInt8(ascii: "}")]
                try Self.agree(FuzzBytes(bytes: repeated, how: "\(variant.fixture) \(variant.path) repeated = \(variant.label)", seed: 0),
                               outcomes: outcomes)
            }
        }
        print("fuzz CeleryMessageReferenceFuzzTests/everyFieldEveryType: outcomes \(outcomes.summary)")
        #expect(outcomes["decoded"] > 0 && outcomes["wrongType"] > 0)
    }
}
