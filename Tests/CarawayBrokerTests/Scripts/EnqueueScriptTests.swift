import CarawayBroker
import Testing

/// The `enqueue` script through `Broker.enqueue`.
struct EnqueueScriptTests {
    struct Message: Sendable {
        var destination: String
        var envelope: String
        var dueIn: Int64? = nil
        var tag: String
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var messages: [Message]
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q6 = priorityKey("q", 6)

    static let cases: [Case] = [
        Case(testDescription: "messages without a due time are LPUSHed now, consumed in the order given",
             before: BrokerState(queues: [q0: ["older"]]),
             messages: [Message(destination: q0, envelope: "m1", tag: "t1"), Message(destination: q0, envelope: "m2", tag: "t2"),
                        Message(destination: q6, envelope: "m3", tag: "t3")],
             after: BrokerState(queues: [q0: ["m2", "m1", "older"], q6: ["m3"]])),
        Case(testDescription: "messages with a due time go to the delayed zset and hash together",
             before: BrokerState(),
             messages: [Message(destination: q0, envelope: "later", dueIn: 5_000, tag: "t1"),
                        Message(destination: q6, envelope: "much\nlater", dueIn: 60_000, tag: "t2")],
             after: {
                 var s = BrokerState()
                 s.delay(tag: "t1", due: 5_000, destination: q0, envelope: "later")
                 s.delay(tag: "t2", due: 60_000, destination: q6, envelope: "much\nlater")
                 return s
             }()),
        Case(testDescription: "a mixed batch publishes each message its own way",
             before: BrokerState(queues: ["other": ["x"]]),
             messages: [Message(destination: q0, envelope: "now", tag: "t1"),
                        Message(destination: q0, envelope: "later", dueIn: 5_000, tag: "t2")],
             after: {
                 var s = BrokerState(queues: ["other": ["x"], q0: ["now"]])
                 s.delay(tag: "t2", due: 5_000, destination: q0, envelope: "later")
                 return s
             }()),
        Case(testDescription: "an empty batch publishes nothing",
             before: BrokerState(queues: [q0: ["older"]]),
             messages: [],
             after: BrokerState(queues: [q0: ["older"]])),
    ]

    @Test("enqueue publishes messages now or delayed", arguments: cases)
    func enqueue(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let broker = h.broker(node: "me")
        let messages = c.messages.map {
            OutgoingMessage(destinationKey: $0.destination, envelope: Array($0.envelope.utf8),
                            dueMilliseconds: $0.dueIn.map { h.anchor + $0 }, tag: $0.tag)
        }
        let result = try h.wait("enqueue") { broker.enqueue(messages, $0) }
        #expect(try result.get() == c.messages.count)
        #expect(try h.snapshot() == c.after)
    }
}
