import Testing

@testable import CarawayProtocol

@Suite("CeleryMessage re-publishing")
struct CeleryMessageRepublishTests {
    @Test("A requeue sets both redelivered flags and keeps everything else")
    func requeue() throws {
        let original = try Fixture.message("custom_headers")
        let bytes = original.republished(redelivered: true, deliveries: 1)
        let again = try CeleryMessage.decode(bytes)
        #expect(again.redelivered)
        #expect(again.headers["redelivered"] == true)
        #expect(again.properties["delivery_info"]?["redelivered"] == true)
        #expect(again.deliveries == 1)
        #expect(again.deliveryTag == original.deliveryTag)
        #expect(again.envelope["body"] == original.envelope["body"])
        var headers = again.headers
        headers.removeValue(forKey: "redelivered")
        headers.removeValue(forKey: CeleryMessage.deliveriesHeader)
        #expect(headers == original.headers)
        #expect(Array(again.headers.keys.prefix(original.headers.count)) == original.headers.keys)
    }

    @Test("A retry bumps retries, sets the new eta and tag, and keeps id, lineage and embed")
    func retry() throws {
        let original = try Fixture.message("chain")
        let requeued = try CeleryMessage.decode(original.republished(redelivered: true, deliveries: 2))
        let again = try CeleryMessage.decode(requeued.retryEnvelope(eta: 1_893_628_800, deliveryTag: "new-tag"))
        #expect(again.id == original.id)
        #expect(again.retries == 1)
        #expect(again.eta == 1_893_628_800)
        #expect(again.headers["eta"] == "2030-01-03T00:00:00+00:00")
        #expect(again.deliveryTag == "new-tag")
        #expect(again.redelivered == false)
        #expect(again.headers["redelivered"] == nil)
        #expect(again.deliveries == 0)
        #expect(again.chain == original.chain)
        #expect(again.rootID == original.rootID)
        #expect(again.priority == original.priority)
        #expect(again.routingKey == original.routingKey)
    }

    @Test("A retry without an eta clears it")
    func retryNow() throws {
        let original = try Fixture.message("countdown_expires")
        let again = try CeleryMessage.decode(original.retryEnvelope(eta: nil, deliveryTag: "t"))
        #expect(again.eta == nil)
        #expect(again.headers["eta"] == .null)
        #expect(again.expires == original.expires)
    }

    @Test("Extra headers override standard ones last")
    func extraHeaders() throws {
        let original = try Fixture.message("plain_add")
        let envelope = original.republishedEnvelope(retries: 4, extraHeaders: ["retries": 9, "x_new": "v"])
        #expect(envelope["headers"]?["retries"] == 9)
        #expect(envelope["headers"]?["x_new"] == "v")
        #expect(envelope.keys == original.envelope.keys)
    }

    @Test("Re-publishing with no edits reproduces the envelope value")
    func noEdits() throws {
        let original = try Fixture.message("unicode_kwargs")
        #expect(try JSON.parse(original.republished()) == .object(original.envelope))
    }
}
