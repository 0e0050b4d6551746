import Testing

@testable import CarawayProtocol

@Suite("ControlReply and FanoutEnvelope: replies a Celery client accepts")
struct ControlReplyTests {
    @Test("A real worker's reply decodes: {node: payload}, ticket and clock headers", arguments: ControlFixture.replyNames)
    func decodesCapturedReply(_ name: String) throws {
        let (headers, body) = try FanoutEnvelope.decode(ControlFixture.bytes(name))
        let python = try ControlFixture.python(name)
        #expect(body == python["body"])
        #expect(headers == python["headers"]?.objectValue)
        #expect(headers.keySet == ["ticket", "clock"])
        #expect(JSONKind(headers["clock"] ?? .null) == .int)
        #expect(body.objectValue?.count == 1)  // {node: payload}
        #expect(body.objectValue?.keys.first?.hasSuffix("@capture") == true)
    }

    @Test("The reply to ping is {\"ok\": \"pong\"}; to revoke an ok sentence")
    func capturedPayloads() throws {
        let (_, ping) = try FanoutEnvelope.decode(ControlFixture.bytes("reply_ping"))
        #expect(ping["w1@capture"] == ControlReply.ok("pong"))
        let (_, revoke) = try FanoutEnvelope.decode(ControlFixture.bytes("reply_revoke"))
        #expect(revoke["w1@capture"] == ControlReply.ok("tasks {'33333333-3333-4333-8333-333333333333'} flagged as revoked"))
    }

    @Test("Our reply envelope equals the real worker's except for the delivery tag", arguments: ControlFixture.replyNames)
    func encodedLikeCelery(_ name: String) throws {
        let python = try ControlFixture.python(name)
        let pythonEnvelope = try ControlFixture.envelope(name)
        let pythonProperties = try #require(python["properties"]?.objectValue)
        let headers = try #require(python["headers"]?.objectValue)
        let body = try #require(python["body"]?.objectValue)
        let routingKey = try #require(pythonProperties["delivery_info"]?["routing_key"]?.stringValue)

        let node = try #require(body.keys.first)
        let raw = ControlReply.encode(node: node, payload: try #require(body[node]),
                                      ticket: try #require(headers["ticket"]?.stringValue),
                                      clock: try #require(headers["clock"]?.intValue), routingKey: routingKey)
        let ours = try #require(JSON.parse(raw).objectValue)
        #expect(ours.keySet == pythonEnvelope.keySet)
        #expect(ours["content-type"] == pythonEnvelope["content-type"])
        #expect(ours["content-encoding"] == pythonEnvelope["content-encoding"])
        #expect(ours["headers"]?.objectValue == headers)

        var properties = try #require(ours["properties"]?.objectValue)
        // kombu requires delivery_tag (spec §5.4); it is fresh per message.
        let tag = try #require(properties["delivery_tag"]?.stringValue)
        #expect(tag.count == 36 && tag != pythonProperties["delivery_tag"]?.stringValue)
        properties["delivery_tag"] = pythonProperties["delivery_tag"]
        #expect(properties == pythonProperties)
        #expect(properties["body_encoding"] == "base64")

        let (decodedHeaders, decodedBody) = try FanoutEnvelope.decode(raw)
        #expect(decodedHeaders == headers)
        #expect(decodedBody == .object(body))
    }

    @Test("encode → decode keeps node, payload, ticket, clock, exchange and routing key")
    func roundTrip() throws {
        let payload: JSON = ["total": ["tasks.add": 3], "clock": "12", "pool": ["max-concurrency": 4], "uptime": 1.5]
        let raw = ControlReply.encode(node: "caraway@host-1", payload: payload, ticket: "tk", clock: 99, routingKey: "oid",
                                      exchange: "reply.ops.pidbox")
        let (headers, body) = try FanoutEnvelope.decode(raw)
        #expect(headers == ["ticket": "tk", "clock": 99])
        #expect(body == .object(["caraway@host-1": payload]))
        let envelope = try #require(JSON.parse(raw).objectValue)
        #expect(envelope["properties"]?["delivery_info"] == ["exchange": "reply.ops.pidbox", "routing_key": "oid"])
        #expect(envelope["properties"]?["delivery_mode"] == 1)
        #expect(envelope["properties"]?["priority"] == 0)
        // The body on the wire is base64 of compact JSON.
        let text = try #require(envelope["body"]?.stringValue)
        #expect(try JSON.parse(Base64.decode(text)) == body)
    }

    @Test("Each encode gets its own delivery tag; an explicit one is kept")
    func deliveryTags() throws {
        let a = try #require(JSON.parse(ControlReply.encode(node: "n", payload: .null, ticket: "t", clock: 1, routingKey: "r")).objectValue)
        let b = try #require(JSON.parse(ControlReply.encode(node: "n", payload: .null, ticket: "t", clock: 1, routingKey: "r")).objectValue)
        #expect(a["properties"]?["delivery_tag"] != b["properties"]?["delivery_tag"])
        let fixed = FanoutEnvelope.encode(body: [:], headers: [:], exchange: "x", routingKey: "", deliveryTag: "tag-1")
        #expect(try JSON.parse(fixed)["properties"]?["delivery_tag"] == "tag-1")
    }

    @Test("ok and error are Celery's {\"ok\": msg} and {\"error\": msg}")
    func okAndError() {
        #expect(ControlReply.ok("pong") == ["ok": "pong"])
        #expect(ControlReply.error("unknown command 'x'") == ["error": "unknown command 'x'"])
    }

    @Test("Envelopes with unicode and control characters round-trip")
    func unicode() throws {
        let payload: JSON = ["ok": "ünïcødé \u{1F600} \"quoted\" \\ back\nslash \u{06}\u{16}"]
        let raw = ControlReply.encode(node: "nœud@hôte", payload: payload, ticket: "t", clock: 1, routingKey: "r")
        let (_, body) = try FanoutEnvelope.decode(raw)
        #expect(body == ["nœud@hôte": payload])
    }
}
