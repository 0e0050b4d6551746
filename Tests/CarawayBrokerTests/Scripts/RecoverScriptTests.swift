import CarawayBroker
import Testing

/// The `recover` script through `Broker.recoverExpiredNodes`.
struct RecoverScriptTests {
    /// A recovered reservation in comparable form.
    struct Recovered: Hashable, Sendable {
        var field: String
        var sourceKey: String
        var queue: String
        var envelope: String
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var limit: Int = 16
        var reply: Set<Recovered>
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3)

    static let cases: [Case] = [
        Case(testDescription: "moves the entries of an expired node into the recoverer's hash as r:<node>:<field> and forgets the node",
             before: BrokerState(queues: [q0: ["waiting"]],
                                 inflight: ["me": ["1": stored(q0, "mine")],
                                            "dead": ["4": stored(q0, "a"), "5": stored(q3, "b\nwith newline")],
                                            "live": ["2": stored(q0, "c")]],
                                 nodes: ["me": 60_000, "dead": -1_000, "live": 60_000]),
             reply: [Recovered(field: "r:dead:4", sourceKey: q0, queue: "q", envelope: "a"),
                     Recovered(field: "r:dead:5", sourceKey: q3, queue: "q", envelope: "b\nwith newline")],
             after: BrokerState(queues: [q0: ["waiting"]],
                                inflight: ["me": ["1": stored(q0, "mine"), "r:dead:4": stored(q0, "a"), "r:dead:5": stored(q3, "b\nwith newline")],
                                           "live": ["2": stored(q0, "c")]],
                                nodes: ["me": 60_000, "live": 60_000])),
        Case(testDescription: "entries of two dead nodes with the same field do not collide",
             before: BrokerState(inflight: ["d1": ["1": stored(q0, "x")], "d2": ["1": stored(q0, "y")]],
                                 nodes: ["me": 60_000, "d1": -2_000, "d2": -1_000]),
             reply: [Recovered(field: "r:d1:1", sourceKey: q0, queue: "q", envelope: "x"),
                     Recovered(field: "r:d2:1", sourceKey: q0, queue: "q", envelope: "y")],
             after: BrokerState(inflight: ["me": ["r:d1:1": stored(q0, "x"), "r:d2:1": stored(q0, "y")]], nodes: ["me": 60_000])),
        Case(testDescription: "never recovers the recovering node itself, even when its own lease expired",
             before: BrokerState(inflight: ["me": ["1": stored(q0, "mine")]], nodes: ["me": -1_000]),
             reply: [],
             after: BrokerState(inflight: ["me": ["1": stored(q0, "mine")]], nodes: ["me": -1_000])),
        Case(testDescription: "leaves live nodes alone",
             before: BrokerState(inflight: ["live": ["2": stored(q0, "c")]], nodes: ["me": 60_000, "live": 1_000]),
             reply: [],
             after: BrokerState(inflight: ["live": ["2": stored(q0, "c")]], nodes: ["me": 60_000, "live": 1_000])),
        Case(testDescription: "deregisters a dead node that had nothing in flight",
             before: BrokerState(nodes: ["me": 60_000, "dead": -1_000]),
             reply: [],
             after: BrokerState(nodes: ["me": 60_000])),
        Case(testDescription: "handles at most limit dead nodes per call, longest dead first",
             before: BrokerState(inflight: ["d1": ["1": stored(q0, "x")], "d2": ["1": stored(q0, "y")]],
                                 nodes: ["me": 60_000, "d1": -2_000, "d2": -1_000]),
             limit: 1,
             reply: [Recovered(field: "r:d1:1", sourceKey: q0, queue: "q", envelope: "x")],
             after: BrokerState(inflight: ["me": ["r:d1:1": stored(q0, "x")], "d2": ["1": stored(q0, "y")]],
                                nodes: ["me": 60_000, "d2": -1_000])),
    ]

    @Test("recover takes over the in-flight work of expired nodes only", arguments: cases)
    func recover(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let broker = h.broker(node: "me")
        let result = try h.wait("recover") { broker.recoverExpiredNodes(limit: c.limit, $0) }
        let recovered = try result.get().map {
            Recovered(field: $0.field, sourceKey: $0.sourceKey, queue: $0.queue, envelope: String(decoding: $0.envelope, as: UTF8.self))
        }
        #expect(recovered.count == c.reply.count)
        #expect(Set(recovered) == c.reply)
        #expect(try h.snapshot() == c.after)
    }
}
