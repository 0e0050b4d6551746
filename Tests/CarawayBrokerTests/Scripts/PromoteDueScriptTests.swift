import CarawayBroker
import Testing

/// The `promote_due` script through `Broker.promoteDue`. Due times are relative to Redis's
/// `TIME` (the harness anchor), the clock the script itself reads.
struct PromoteDueScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var limit: Int = 500
        var moved: Int
        /// The next due time relative to the anchor; nil when nothing waits.
        var nextDue: Int64?
        var after: BrokerState
    }

    static func delayed(_ entries: (tag: String, due: Int64, destination: String, envelope: String)...) -> BrokerState {
        var state = BrokerState()
        for e in entries { state.delay(tag: e.tag, due: e.due, destination: e.destination, envelope: e.envelope) }
        return state
    }

    static let cases: [Case] = [
        Case(testDescription: "moves only due messages onto their queues and reports the next due time",
             before: {
                 var s = delayed(("t1", -1_000, "q1", "m1"), ("t2", -10, "q2\u{06}\u{16}3", "m2"), ("t3", 60_000, "q1", "m3"))
                 s.queues["q1"] = ["waiting"]
                 return s
             }(),
             moved: 2, nextDue: 60_000,
             after: {
                 var s = delayed(("t3", 60_000, "q1", "m3"))
                 s.queues = ["q1": ["m1", "waiting"], "q2\u{06}\u{16}3": ["m2"]]
                 return s
             }()),
        Case(testDescription: "due messages for one queue are consumed in due order",
             before: delayed(("late", -1_000, "q", "second"), ("early", -2_000, "q", "first")),
             moved: 2, nextDue: nil,
             after: BrokerState(queues: ["q": ["second", "first"]])),
        Case(testDescription: "respects the limit, earliest first, and reports the remaining due time",
             before: delayed(("a", -3_000, "q", "ma"), ("b", -2_000, "q", "mb"), ("c", -1_000, "q", "mc")),
             limit: 2, moved: 2, nextDue: -1_000,
             after: {
                 var s = delayed(("c", -1_000, "q", "mc"))
                 s.queues = ["q": ["mb", "ma"]]
                 return s
             }()),
        Case(testDescription: "drops a due tag that has no message body without counting it",
             before: BrokerState(delayed: ["orphan": -1_000]),
             moved: 0, nextDue: nil,
             after: BrokerState()),
        Case(testDescription: "with nothing delayed it moves nothing and reports no next due time",
             before: BrokerState(queues: ["q": ["x"]]),
             moved: 0, nextDue: nil,
             after: BrokerState(queues: ["q": ["x"]])),
        Case(testDescription: "with nothing due it moves nothing and reports the earliest future due time",
             before: delayed(("b", 90_000, "q", "mb"), ("a", 30_000, "q", "ma")),
             moved: 0, nextDue: 30_000,
             after: delayed(("b", 90_000, "q", "mb"), ("a", 30_000, "q", "ma"))),
    ]

    @Test("promote_due moves due delayed messages exactly once", arguments: cases)
    func promoteDue(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let broker = h.broker(node: "me")
        let first = try h.wait("promote_due") { broker.promoteDue(limit: c.limit, $0) }.get()
        #expect(first.moved == c.moved)
        #expect(first.nextDue.map { $0 - h.anchor } == c.nextDue)
        #expect(try h.snapshot() == c.after)

        // A second run finds nothing due (the limit case deliberately left a due message behind).
        guard c.limit >= 500 else { return }
        let second = try h.wait("promote_due again") { broker.promoteDue(limit: c.limit, $0) }.get()
        #expect(second.moved == 0)
        #expect(second.nextDue.map { $0 - h.anchor } == c.nextDue)
        #expect(try h.snapshot() == c.after)
    }
}
