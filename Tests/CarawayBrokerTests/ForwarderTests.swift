import CarawayBroker
import Testing

struct ForwarderTests {
    func delay(_ h: BrokerHarness, _ broker: Broker, tag: String, envelope: String, due: Int64) throws {
        let message = OutgoingMessage(destinationKey: "q", envelope: Array(envelope.utf8), dueMilliseconds: due, tag: tag)
        _ = try h.wait("enqueue \(tag)") { broker.enqueue([message], $0) }.get()
    }

    @Test func aDueMessageIsPromotedWithin300Milliseconds() throws {
        let h = try BrokerHarness()
        let broker = h.broker()
        let due = try h.redisTime() + 100
        try delay(h, broker, tag: "soon", envelope: "m1", due: due)
        try delay(h, broker, tag: "later", envelope: "m2", due: due + 60_000)
        let forwarder = Forwarder(loop: h.loop, broker: broker, maxIntervalMilliseconds: 100, logger: h.logger)
        forwarder.start()
        try h.run("the forwarder to promote the due message", seconds: 3) { forwarder.promoted == 1 }
        let promotedAt = try h.redisTime()
        forwarder.stop()
        #expect(promotedAt - due < 300)
        var expected = BrokerState(queues: ["q": ["m1"]])
        expected.delay(tag: "later", due: due + 60_000 - h.anchor, destination: "q", envelope: "m2")
        #expect(try h.snapshot() == expected)
    }

    @Test func aPokePromotesAtOnceInsteadOfWaitingForTheNextPoll() throws {
        let h = try BrokerHarness()
        let broker = h.broker()
        // A 10 s poll interval: only the poke can explain a promotion within the 2 s deadline.
        let forwarder = Forwarder(loop: h.loop, broker: broker, maxIntervalMilliseconds: 10_000, logger: h.logger)
        forwarder.start()
        // Driving the loop for one round trip fires the start timer, so the first pass (nothing
        // due yet) is sent before the enqueue below and has completed when the enqueue replies.
        try h.redis("PING")
        try delay(h, broker, tag: "due", envelope: "m1", due: try h.redisTime() - 1)
        forwarder.poke()
        try h.run("the poked forwarder to promote", seconds: 2) { forwarder.promoted == 1 }
        forwarder.stop()
        #expect(try h.snapshot() == BrokerState(queues: ["q": ["m1"]]))
    }
}
