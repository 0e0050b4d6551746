import CarawayBroker
import Testing

/// The `requeue` script through `Broker.requeue`.
struct RequeueScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var field: String = "7"
        var destination: String?
        var reply: Bool
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3)
    static let live: [String: Int64] = ["me": 60_000]

    static let cases: [Case] = [
        Case(testDescription: "when ours it drops the reservation and RPUSHes the envelope to the consuming end of its source key",
             before: BrokerState(queues: [q3: ["newer", "older"]], inflight: ["me": ["7": stored(q3, "env"), "8": stored(q0, "x")]], nodes: live),
             reply: true,
             after: BrokerState(queues: [q3: ["newer", "older", "env-redelivered"]], inflight: ["me": ["8": stored(q0, "x")]], nodes: live)),
        Case(testDescription: "recreates an emptied source list",
             before: BrokerState(inflight: ["me": ["7": stored(q3, "env")]], nodes: live),
             reply: true,
             after: BrokerState(queues: [q3: ["env-redelivered"]], nodes: live)),
        Case(testDescription: "an explicit destination overrides the source key",
             before: BrokerState(queues: [q3: ["a"]], inflight: ["me": ["7": stored(q3, "env")]], nodes: live, deadLetter: ["old-record"]),
             destination: "caraway:dead",
             reply: true,
             after: BrokerState(queues: [q3: ["a"]], nodes: live, deadLetter: ["old-record", "env-redelivered"])),
        Case(testDescription: "when no longer ours it returns false and pushes nothing",
             before: BrokerState(queues: [q3: ["a"]], inflight: ["me": ["8": stored(q0, "x")], "other": ["7": stored(q3, "env")]], nodes: live),
             reply: false,
             after: BrokerState(queues: [q3: ["a"]], inflight: ["me": ["8": stored(q0, "x")], "other": ["7": stored(q3, "env")]], nodes: live)),
    ]

    @Test("requeue gives a reservation back to its queue only while it is ours", arguments: cases)
    func requeue(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let broker = h.broker(node: "me")
        let reservation = Reservation(field: c.field, sourceKey: Self.q3, queue: "q", envelope: Array("env".utf8))
        let result = try h.wait("requeue") {
            broker.requeue(reservation, envelope: Array("env-redelivered".utf8), to: c.destination, $0)
        }
        #expect(try result.get() == c.reply)
        #expect(try h.snapshot() == c.after)
    }

    @Test func aRequeuedMessageIsTheNextOneReserved() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: [Self.q0: ["b", "a"]], nodes: Self.live))
        let broker = h.broker(node: "me")
        let first = try h.wait("reserve") { broker.reserve(from: [Self.q0], $0) }.get()
        #expect(first.map { String(decoding: $0.envelope, as: UTF8.self) } == "a")
        let requeued = try h.wait("requeue") { broker.requeue(first!, envelope: Array("a-again".utf8), $0) }
        #expect(try requeued.get() == true)
        let next = try h.wait("reserve") { broker.reserve(from: [Self.q0], $0) }.get()
        #expect(next.map { String(decoding: $0.envelope, as: UTF8.self) } == "a-again")
        #expect(try h.snapshot() == BrokerState(queues: [Self.q0: ["b"]], inflight: ["me": ["2": stored(Self.q0, "a-again")]], nodes: Self.live))
    }
}
