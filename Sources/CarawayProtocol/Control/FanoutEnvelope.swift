/// The kombu envelope of a message that is not a task: pidbox requests and replies, events.
///
/// Same outer shape as a task message (spec §1.1): a base64 JSON body plus headers and
/// properties. Python's kombu accepts these only with `delivery_tag` present (spec §5.4).
public enum FanoutEnvelope {
    /// Encodes `body` in an envelope for `exchange`/`routingKey`.
    public static func encode(body: JSON, headers: JSONObject, exchange: String, routingKey: String,
                              deliveryTag: String = makeUUID()) -> [UInt8] {
        var properties = JSONObject()
        properties.append("delivery_mode", 1)
        properties.append("delivery_info", .object(["exchange": .string(exchange), "routing_key": .string(routingKey)]))
        properties.append("priority", 0)
        properties.append("body_encoding", "base64")
        properties.append("delivery_tag", .string(deliveryTag))
        var envelope = JSONObject()
        envelope.append("body", .string(Base64.encodeToString(body.serialized())))
        envelope.append("content-encoding", "utf-8")
        envelope.append("content-type", "application/json")
        envelope.append("headers", .object(headers))
        envelope.append("properties", .object(properties))
        return envelope.serialized()
    }

    /// Decodes an envelope into (headers, body). Throws like ``CeleryMessage/decode(_:)-([UInt8])``.
    public static func decode(_ raw: [UInt8]) throws(ProtocolError) -> (headers: JSONObject, body: JSON) {
        guard case .object(let envelope) = try JSON.parse(raw) else {
            throw .wrongType(field: "envelope", expected: "a JSON object")
        }
        if let type = try envelope.optionalString("content-type", path: "content-type"), type != "application/json" {
            throw .unsupportedContentType(type)
        }
        let headers = try envelope.optionalObject("headers", path: "headers") ?? JSONObject()
        let properties = try envelope.optionalObject("properties", path: "properties") ?? JSONObject()
        guard let body = envelope["body"] else { throw .missingField("body") }
        guard case .string(let text) = body else { throw .wrongType(field: "body", expected: "a string") }
        switch try properties.optionalString("body_encoding", path: "properties.body_encoding") {
        case "base64": return (headers, try JSON.parse(try Base64.decode(text)))
        case nil, "utf-8", "utf8": return (headers, try JSON.parse(text))
        case let other?: throw .unsupportedBodyEncoding(other)
        }
    }
}
