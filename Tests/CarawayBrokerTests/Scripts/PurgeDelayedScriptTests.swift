@testable import CarawayBroker
import Testing

/// The `purge_delayed` script through `QueueAdmin.purgeDelayed` (the cursor walk over
/// `caraway:delayed:messages`): only messages bound for the given list keys go, zset and hash
/// together; in-flight and queue lists are never touched.
struct PurgeDelayedScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var destinations: [String]
        var dryRun = false
        /// Per destination key: how many were removed (or counted).
        var counts: [String: Int]
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3), q9 = priorityKey("q", 9)
    static let qKeys = [q0, q3, priorityKey("q", 6), q9]

    static func state(_ entries: [(tag: String, destination: String)], orphans: [String: String] = [:]) -> BrokerState {
        var s = BrokerState(queues: [q0: ["waiting"]], inflight: ["me": ["1": stored(q0, "held")]], nodes: ["me": 60_000])
        for e in entries { s.delay(tag: e.tag, due: 60_000, destination: e.destination, envelope: "env-\(e.tag)") }
        s.delayedMessages.merge(orphans) { a, _ in a }
        return s
    }

    static let mixed: [(tag: String, destination: String)] = [
        ("a", q0), ("b", q3), ("c", q9), ("o1", "other"), ("o2", priorityKey("other", 3)), ("s", "q.sub"), ("p", "pfx:q"),
    ]

    static let cases: [Case] = [
        Case(testDescription: "removes the queue's delayed messages on every priority key, zset and hash together, and nothing else",
             before: state(mixed), destinations: qKeys,
             counts: [q0: 1, q3: 1, priorityKey("q", 6): 0, q9: 1],
             after: state(Array(mixed.dropFirst(3)))),
        Case(testDescription: "a dry run counts the same and changes nothing",
             before: state(mixed), destinations: qKeys, dryRun: true,
             counts: [q0: 1, q3: 1, priorityKey("q", 6): 0, q9: 1],
             after: state(mixed)),
        Case(testDescription: "only the exact destination keys given match",
             before: state(mixed), destinations: [q3],
             counts: [q3: 1],
             after: state(mixed.filter { $0.tag != "b" })),
        Case(testDescription: "hash values without a destination line are left alone",
             before: state([("a", q0)], orphans: ["bare": "no-newline"]), destinations: qKeys,
             counts: [q0: 1, q3: 0, priorityKey("q", 6): 0, q9: 0],
             after: state([], orphans: ["bare": "no-newline"])),
        Case(testDescription: "nothing delayed: zero counts",
             before: state([]), destinations: qKeys,
             counts: [q0: 0, q3: 0, priorityKey("q", 6): 0, q9: 0],
             after: state([])),
    ]

    @Test("purge_delayed removes one queue's delayed messages", arguments: cases)
    func purgeDelayed(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let admin = h.admin()
        let counts = try h.wait("purge_delayed") { admin.purgeDelayed(destinations: c.destinations, dryRun: c.dryRun, $0) }
        #expect(try counts.get() == c.counts)
        #expect(try h.snapshot() == c.after)
    }

    @Test("the walk takes many chunks and still counts exactly", arguments: [false, true])
    func chunkedWalk(dryRun: Bool) throws {
        let h = try BrokerHarness()
        try h.forceHashtableEncoding()
        try h.seedManyDelayed(700, tag: "q-", destination: Self.q0)
        try h.seedManyDelayed(300, tag: "o-", destination: "other")
        let admin = h.admin(scanCount: 7)
        try h.redis("CONFIG", "RESETSTAT")
        let counts = try h.wait("purge_delayed") { admin.purgeDelayed(destinations: [Self.q0], dryRun: dryRun, $0) }
        #expect(try counts.get() == [Self.q0: 700])
        let calls = try h.redis("INFO", "commandstats").string ?? ""
        #expect(calls.contains("cmdstat_hscan:calls=") && !calls.contains("cmdstat_hscan:calls=1,"), "several HSCAN chunks")
        let after = try h.snapshot()
        #expect(after.delayed.count == (dryRun ? 1_000 : 300))
        #expect(after.delayedMessages.count == (dryRun ? 1_000 : 300))
        #expect(after.delayedMessages.values.allSatisfy { dryRun || $0.hasPrefix("other\n") })
    }
}
