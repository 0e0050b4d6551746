import CarawayBroker
import Testing

/// The `heartbeat` script through `Broker.heartbeat`.
struct HeartbeatScriptTests {
    enum Outcome: Equatable, Sendable {
        /// The node's expiry became Redis's `now` + the lease.
        case leased
        case leaseLost(node: String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var nodes: [String: Int64]
        var renew: Bool
        var outcome: Outcome
    }

    static let others: [String: Int64] = ["other": 5_000, "dead": -5_000]

    static let cases: [Case] = [
        Case(testDescription: "register adds the node with an expiry of Redis time plus the lease",
             nodes: others, renew: false, outcome: .leased),
        Case(testDescription: "register replaces an expired entry of the same node",
             nodes: others.merging(["me": -5_000]) { a, _ in a }, renew: false, outcome: .leased),
        Case(testDescription: "renew moves a registered node's expiry forward",
             nodes: others.merging(["me": 100]) { a, _ in a }, renew: true, outcome: .leased),
        Case(testDescription: "renew of a lapsed lease that nobody recovered yet still succeeds",
             nodes: others.merging(["me": -100]) { a, _ in a }, renew: true, outcome: .leased),
        Case(testDescription: "renew after the node was removed fails with leaseLost and does not re-add it",
             nodes: others, renew: true, outcome: .leaseLost(node: "me")),
    ]

    @Test("heartbeat registers or renews this node's lease", arguments: cases)
    func heartbeat(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: ["q": ["untouched"]], nodes: c.nodes))
        let broker = h.broker(node: "me")
        let lease = 30_000
        let result = try h.wait("heartbeat") { broker.heartbeat(leaseMilliseconds: lease, renew: c.renew, $0) }
        var expected = BrokerState(queues: ["q": ["untouched"]], nodes: c.nodes)
        switch (c.outcome, result) {
        case (.leased, .success(let now)):
            // The reply is Redis's clock, read inside the script, a moment after the anchor.
            #expect(now >= h.anchor && now < h.anchor + 5_000)
            expected.nodes["me"] = now - h.anchor + Int64(lease)
        case (.leaseLost(let node), .failure(.leaseLost(let lost))):
            #expect(lost == node)
        default:
            Issue.record("expected \(c.outcome), got \(result)")
        }
        #expect(try h.snapshot() == expected)
    }
}
