@testable import CarawayBroker
import Testing

/// The `count_inflight` script through `QueueAdmin.inflightBySource`: messages held by the nodes
/// in `caraway:nodes`, per source list key, writing nothing.
struct CountInflightScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var counts: [String: Int]
    }

    static let q0 = priorityKey("q", 0), q6 = priorityKey("q", 6)

    static let cases: [Case] = [
        Case(testDescription: "no nodes", before: BrokerState(), counts: [:]),
        Case(testDescription: "sums every registered node's hash per source key, lapsed leases included",
             before: BrokerState(inflight: ["n1": ["1": stored(q0, "a"), "2": stored(q6, "b\nc")],
                                            "n2": ["1": stored(q0, "d"), "r:n9:3": stored("other", "e")]],
                                 nodes: ["n1": 60_000, "n2": -1_000]),
             counts: [q0: 2, q6: 1, "other": 1]),
        Case(testDescription: "a hash whose node is not registered is ignored",
             before: BrokerState(inflight: ["n1": ["1": stored(q0, "a")], "gone": ["1": stored(q0, "x")]], nodes: ["n1": 60_000]),
             counts: [q0: 1]),
        Case(testDescription: "a registered node without in-flight work adds nothing; values without a source line are skipped",
             before: BrokerState(inflight: ["n1": ["1": "bare"]], nodes: ["n1": 60_000, "idle": 60_000]),
             counts: [:]),
    ]

    @Test("count_inflight counts held messages per source key", arguments: cases)
    func countInflight(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let counts = try h.wait("count_inflight") { h.admin().inflightBySource($0) }
        #expect(try counts.get() == c.counts)
        #expect(try h.snapshot() == c.before)
    }

    @Test func underAGlobalKeyPrefixTheNodesPrefixedHashesAreRead() throws {
        let h = try BrokerHarness(prefix: "pfx:")
        try h.seed(BrokerState(inflight: ["n1": ["1": stored("pfx:q", "a")]], nodes: ["n1": 60_000]))
        try h.redis("HSET", "caraway:inflight:n1", "1", stored("q", "unprefixed"))
        let counts = try h.wait("count_inflight") { h.admin().inflightBySource($0) }
        #expect(try counts.get() == ["pfx:q": 1])
    }
}
