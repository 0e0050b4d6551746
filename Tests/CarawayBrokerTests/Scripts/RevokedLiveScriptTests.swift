import CarawayBroker
import Testing

/// The `revoked_live` script through `Broker.revokedIDs` and `Broker.isRevoked`: only entries
/// whose expiry is after Redis's TIME count, and nothing is written.
struct RevokedLiveScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var revoked: [String: Int64]
        /// Live entries, expiry relative to the anchor.
        var live: [String: Int64]
        /// id → isRevoked.
        var lookups: [String: Bool]
    }

    static let cases: [Case] = [
        Case(testDescription: "nothing revoked", revoked: [:], live: [:], lookups: ["a": false]),
        Case(testDescription: "live entries are listed with their expiry; expired ones are not, and are left in place",
             revoked: ["a": 60_000, "b": 86_400_000, "old": -1_000],
             live: ["a": 60_000, "b": 86_400_000],
             lookups: ["a": true, "b": true, "old": false, "never": false]),
        Case(testDescription: "only expired entries", revoked: ["x": -10, "y": -60_000], live: [:], lookups: ["x": false, "y": false]),
    ]

    @Test("revokedIDs and isRevoked see live revocations only", arguments: cases)
    func live(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(revoked: c.revoked))
        let broker = h.broker(node: "me")
        let live = try h.wait("revokedIDs") { broker.revokedIDs($0) }.get()
        #expect(live.mapValues { $0 - h.anchor } == c.live)
        for (id, expected) in c.lookups {
            #expect(try h.wait("isRevoked \(id)") { broker.isRevoked(id, $0) }.get() == expected, "isRevoked(\(id))")
        }
        #expect(try h.snapshot() == BrokerState(revoked: c.revoked))
    }

    @Test func aRevocationWrittenByRevokeIsLiveAndFlagsTheReserve() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: ["q": [ReserveRevokedScriptTests.envelope(id: "abc")]], nodes: ["me": 60_000]))
        let broker = h.broker(node: "me")
        _ = try h.wait("revoke") { broker.revoke(taskIDs: ["abc"], ttlSeconds: 60, revokedRecords: [], resultKeys: [], resultTTLSeconds: 0, $0) }.get()
        #expect(try h.wait("isRevoked") { broker.isRevoked("abc", $0) }.get())
        let reservation = try h.wait("reserve") { broker.reserve(from: ["q"], $0) }.get()
        #expect(reservation?.revoked == true)
    }
}
