import CarawayBroker
import Testing

struct RecovererTests {
    @Test func reservationsOfANodeWhoseLeaseIsInThePastAreHandedOver() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(inflight: ["dead": ["4": stored("q", "a")]], nodes: ["me": 60_000, "dead": -1]))
        let recoverer = Recoverer(loop: h.loop, broker: h.broker(node: "me"), intervalMilliseconds: 20, logger: h.logger)
        var handed: [Reservation]?
        recoverer.onRecovered = { handed = $0 }
        recoverer.start()
        try h.run("onRecovered") { handed != nil }
        recoverer.stop()
        #expect(handed?.map(\.field) == ["r:dead:4"])
        #expect(handed?.map(\.sourceKey) == ["q"])
        #expect(handed?.map { String(decoding: $0.envelope, as: UTF8.self) } == ["a"])
        #expect(try h.snapshot() == BrokerState(inflight: ["me": ["r:dead:4": stored("q", "a")]], nodes: ["me": 60_000]))
    }

    @Test("leaves live nodes and a disabled recoverer alone", arguments: [
        (["me": 60_000, "live": 60_000] as [String: Int64], true),
        (["me": 60_000, "dead": -1_000] as [String: Int64], false),
    ])
    func leavesAlone(nodes: [String: Int64], enabled: Bool) throws {
        let h = try BrokerHarness()
        let node = nodes.keys.first { $0 != "me" }!
        let before = BrokerState(inflight: [node: ["4": stored("q", "a")]], nodes: nodes)
        try h.seed(before)
        let recoverer = Recoverer(loop: h.loop, broker: h.broker(node: "me"), intervalMilliseconds: 20, logger: h.logger)
        var handed: [Reservation]?
        var ticks = 0
        recoverer.onRecovered = { handed = $0 }
        // isEnabled is asked once per pass that is not still waiting for the previous one, so
        // three asks mean at least two completed passes when enabled.
        recoverer.isEnabled = { ticks += 1; return enabled }
        recoverer.start()
        try h.run("three recoverer ticks") { ticks >= 3 }
        recoverer.stop()
        try h.redis("PING")  // any recover call still in flight has completed behind this
        #expect(handed == nil)
        #expect(try h.snapshot() == before)
    }
}
