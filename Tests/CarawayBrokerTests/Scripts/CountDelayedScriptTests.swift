@testable import CarawayBroker
import Testing

/// The `count_delayed` script through `QueueAdmin.delayedByDestination`: per destination key,
/// over every chunk, writing nothing.
struct CountDelayedScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var counts: [String: Int]
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3)

    static func state(_ entries: [(tag: String, destination: String)], orphans: [String: String] = [:]) -> BrokerState {
        var s = BrokerState()
        for e in entries { s.delay(tag: e.tag, due: 60_000, destination: e.destination, envelope: "line1\nline2") }
        s.delayedMessages.merge(orphans) { a, _ in a }
        return s
    }

    static let cases: [Case] = [
        Case(testDescription: "nothing delayed", before: BrokerState(), counts: [:]),
        Case(testDescription: "counts per exact destination key, priority keys apart",
             before: state([("a", q0), ("b", q0), ("c", q3), ("d", "other")]),
             counts: [q0: 2, q3: 1, "other": 1]),
        Case(testDescription: "values without a destination line are skipped",
             before: state([("a", q0)], orphans: ["bare": "no-newline"]),
             counts: [q0: 1]),
    ]

    @Test("count_delayed counts delayed messages per destination key", arguments: cases)
    func countDelayed(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let counts = try h.wait("count_delayed") { h.admin().delayedByDestination($0) }
        #expect(try counts.get() == c.counts)
        #expect(try h.snapshot() == c.before)
    }

    @Test func aLargeDelayedSetIsCountedAcrossChunks() throws {
        let h = try BrokerHarness()
        try h.forceHashtableEncoding()
        try h.seedManyDelayed(600, tag: "a-", destination: Self.q0)
        try h.seedManyDelayed(250, tag: "b-", destination: Self.q3)
        let counts = try h.wait("count_delayed") { h.admin(scanCount: 10).delayedByDestination($0) }
        #expect(try counts.get() == [Self.q0: 600, Self.q3: 250])
    }
}
