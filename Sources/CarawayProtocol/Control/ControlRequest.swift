/// One Celery remote-control ("pidbox") request, as `app.control.broadcast` sends it (spec §5.2).
public struct ControlRequest: Sendable, Equatable {
    public var method: String
    /// Keyword arguments for the command (`{"task_id": ..., "terminate": true}` for revoke).
    public var arguments: JSONObject
    /// Node names the request is for; nil or empty means every node.
    public var destination: [String]?
    /// A glob or regular expression over node names (`matcher` says which), when set.
    public var pattern: String?
    public var matcher: String?
    /// Present only when the sender waits for replies (a "call", not a "cast").
    public var ticket: String?
    /// The client's reply routing key (its oid); replies go to the queue bound with it.
    public var replyRoutingKey: String?
    public var replyExchange: String?
    /// The sender's Lamport clock.
    public var clock: Int

    public init(method: String, arguments: JSONObject = [:], destination: [String]? = nil, pattern: String? = nil,
                matcher: String? = nil, ticket: String? = nil, replyRoutingKey: String? = nil,
                replyExchange: String? = nil, clock: Int = 0) {
        self.method = method
        self.arguments = arguments
        self.destination = destination
        self.pattern = pattern
        self.matcher = matcher
        self.ticket = ticket
        self.replyRoutingKey = replyRoutingKey
        self.replyExchange = replyExchange
        self.clock = clock
    }

    /// Whether the sender expects a reply.
    public var wantsReply: Bool { ticket != nil && replyRoutingKey != nil }

    /// Decodes a pidbox envelope. Throws ``ProtocolError`` naming the bad field.
    public static func decode(_ raw: [UInt8]) throws(ProtocolError) -> ControlRequest {
        let (headers, body) = try FanoutEnvelope.decode(raw)
        guard case .object(let object) = body else { throw .wrongType(field: "body", expected: "a JSON object") }
        guard let method = try object.optionalString("method", path: "method") else { throw .missingField("method") }
        var request = ControlRequest(method: method)
        request.arguments = try object.optionalObject("arguments", path: "arguments") ?? JSONObject()
        switch object["destination"] {
        case nil, .null?: break
        // Python compares names by equality, so a non-string entry matches no node: keep it as
        // text that cannot be a node name rather than dropping it (an empty list means "all").
        case .array(let names)?: request.destination = names.map { $0.stringValue ?? "\u{0}" + $0.serializedString() }
        case .string(let name)?: request.destination = [name]
        default: throw .wrongType(field: "destination", expected: "a list of node names or null")
        }
        request.pattern = try object.optionalString("pattern", path: "pattern")
        request.matcher = try object.optionalString("matcher", path: "matcher")
        request.ticket = try object.optionalString("ticket", path: "ticket")
        if let replyTo = try object.optionalObject("reply_to", path: "reply_to") {
            request.replyRoutingKey = try replyTo.optionalString("routing_key", path: "reply_to.routing_key")
            request.replyExchange = try replyTo.optionalString("exchange", path: "reply_to.exchange")
        }
        request.clock = headers["clock"]?.intValue ?? 0
        return request
    }

    /// Encodes the request as Celery's client would (used by Caraway's own CLI and tests).
    public func encoded(exchange: String = "celery.pidbox") -> [UInt8] {
        var body = JSONObject()
        body.append("method", .string(method))
        body.append("arguments", .object(arguments))
        body.append("destination", destination.map { .array($0.map(JSON.string)) } ?? .null)
        body.append("pattern", JSON(pattern))
        body.append("matcher", JSON(matcher))
        if let ticket, let replyRoutingKey {
            body.append("ticket", .string(ticket))
            body.append("reply_to", .object(["exchange": .string(replyExchange ?? "reply." + exchange), "routing_key": .string(replyRoutingKey)]))
        }
        return FanoutEnvelope.encode(body: .object(body), headers: ["clock": JSON(clock), "expires": 0],
                                     exchange: exchange, routingKey: "")
    }

    /// Whether a node called `nodeName` should handle this request (spec §5.3).
    public func isAddressed(to nodeName: String) -> Bool {
        if let destination, !destination.isEmpty { return destination.contains(nodeName) }
        // kombu applies a pattern only together with a matcher (spec §5.3).
        if let pattern, !pattern.isEmpty, let matcher {
            switch matcher {
            case "glob": return Glob.matches(pattern, nodeName)
            default: return pattern == nodeName  // pcre: only literal names are understood
            }
        }
        return true
    }
}

/// The reply envelope to a pidbox call: body `{"<node>": payload}` (spec §5.4).
public enum ControlReply {
    public static func encode(node: String, payload: JSON, ticket: String, clock: Int, routingKey: String,
                              exchange: String = "reply.celery.pidbox") -> [UInt8] {
        FanoutEnvelope.encode(body: .object([node: payload]), headers: ["ticket": .string(ticket), "clock": JSON(clock)],
                              exchange: exchange, routingKey: routingKey)
    }

    /// `{"ok": message}`, Celery's success reply to control commands.
    public static func ok(_ message: String) -> JSON { .object(["ok": .string(message)]) }
    /// `{"error": message}`, Celery's failure reply.
    public static func error(_ message: String) -> JSON { .object(["error": .string(message)]) }
}
