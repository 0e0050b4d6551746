import CarawayBroker
import Testing

/// Broker operations that are plain commands rather than scripts.
struct BrokerTests {
    @Test func inflightReservationsListsEverythingThisNodeHolds() throws {
        let h = try BrokerHarness()
        let q3 = priorityKey("q", 3)
        try h.seed(BrokerState(inflight: ["me": ["1": stored("q", "a"), "r:dead:2": stored(q3, "b")], "other": ["9": stored("q", "c")]],
                               nodes: ["me": 60_000]))
        let result = try h.wait("inflightReservations") { h.broker(node: "me").inflightReservations($0) }
        let held = try result.get().map { "\($0.field)|\($0.sourceKey)|\($0.queue)|\(String(decoding: $0.envelope, as: UTF8.self))" }
        #expect(Set(held) == ["1|q|q|a", "r:dead:2|\(q3)|q|b"])
    }

    @Test func deregisterRemovesOnlyThisNodeFromTheRegistry() throws {
        let h = try BrokerHarness()
        let before = BrokerState(inflight: ["other": ["9": stored("q", "c")]], nodes: ["me": 60_000, "other": 60_000])
        try h.seed(before)
        try h.wait("deregister") { h.broker(node: "me").deregister($0) }.get()
        var after = before
        after.nodes["me"] = nil
        #expect(try h.snapshot() == after)
    }
}
