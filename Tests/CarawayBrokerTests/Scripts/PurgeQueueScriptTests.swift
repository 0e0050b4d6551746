@testable import CarawayBroker
import CarawayRedis
import Testing

/// The `purge_queue` script through `QueueAdmin.purgeLists`: exact counts, all four priority
/// lists, nothing else touched; and exactness while another client pushes.
struct PurgeQueueScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var queue = "q"
        var dryRun = false
        var count: Int
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3), q6 = priorityKey("q", 6), q9 = priorityKey("q", 9)
    /// Everything that is not queue q's lists: another queue, a name sharing q's prefix, held and delayed work.
    static let bystanders: BrokerState = {
        var s = BrokerState(queues: ["other": ["o"], "q.sub": ["s"], priorityKey("qq", 3): ["x"]],
                            inflight: ["me": ["1": stored(q0, "held")]], nodes: ["me": 60_000])
        s.delay(tag: "t", due: 60_000, destination: q0, envelope: "later")
        return s
    }()
    static func with(_ queues: [String: [String]]) -> BrokerState {
        var s = bystanders
        s.queues.merge(queues) { a, _ in a }
        return s
    }

    static let cases: [Case] = [
        Case(testDescription: "removes all four priority lists and counts every message",
             before: with([q0: ["a", "b"], q3: ["c"], q6: ["d", "e", "f"], q9: ["g"]]),
             count: 7, after: bystanders),
        Case(testDescription: "a dry run counts the same and changes nothing",
             before: with([q0: ["a", "b"], q3: ["c"], q6: ["d", "e", "f"], q9: ["g"]]),
             dryRun: true, count: 7, after: with([q0: ["a", "b"], q3: ["c"], q6: ["d", "e", "f"], q9: ["g"]])),
        Case(testDescription: "only some priority lists exist",
             before: with([q9: ["g"]]), count: 1, after: bystanders),
        Case(testDescription: "an empty queue counts zero and changes nothing",
             before: bystanders, count: 0, after: bystanders),
    ]

    @Test("purge_queue empties one queue's lists atomically with an exact count", arguments: cases)
    func purgeQueue(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let admin = h.admin()
        let count = try h.wait("purge_queue") { admin.purgeLists(of: c.queue, dryRun: c.dryRun, $0) }
        #expect(try count.get() == c.count)
        #expect(try h.snapshot() == c.after)
    }

    @Test func underAGlobalKeyPrefixOnlyThePrefixedListsArePurged() throws {
        let h = try BrokerHarness(prefix: "pfx:")
        try h.seed(BrokerState(queues: ["pfx:q": ["a"], h.keys.queue("q", priority: 9): ["b"], "q": ["unprefixed"]]))
        let count = try h.wait("purge_queue") { h.admin().purgeLists(of: "q", dryRun: false, $0) }
        #expect(try count.get() == 2)
        #expect(try h.snapshot() == BrokerState(queues: ["q": ["unprefixed"]]))
    }

    @Test func aKeyOfTheWrongTypeFailsThePurgeAndRemovesNothing() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: [Self.q0: ["a"]]))
        try h.redis("SET", Self.q9, "not a list")
        let result = try h.wait("purge_queue") { h.admin().purgeLists(of: "q", dryRun: false, $0) }
        #expect(throws: BrokerError.self) { try result.get() }
        #expect(try h.getQueue(Self.q0) == ["a"])
    }

    /// 5,000 LPUSHes from another client, spread over the four priority lists and kept 16 in
    /// flight at a time, race a purge issued every 300 acknowledged pushes: every message is
    /// either purged (and counted once) or left on a list.
    @Test func countsAreExactWhileAnotherClientPushes() throws {
        let h = try BrokerHarness()
        let pusher = try h.secondConnection(name: "pusher")
        defer { pusher.close() }
        let admin = h.admin()
        let keys = h.keys.queueKeys("q")
        let pushes = 5_000
        var sent = 0, acknowledged = 0, purged = 0, purges = 0, purgesDone = 0
        var failure: String?
        func pushNext() {
            guard sent < pushes else { return }
            let i = sent
            sent += 1
            pusher.send(["LPUSH", keys[i % keys.count], "m\(i)"]) { result in
                if case .failure(let e) = result { failure = "\(e)" }
                acknowledged += 1
                if acknowledged % 300 == 0 {
                    purges += 1
                    admin.purge(queues: ["q"], delayed: false, dryRun: false) { result in
                        switch result {
                        case .success(let report): purged += report.reduce(0) { $0 + $1.waiting }
                        case .failure(let e): failure = "\(e)"
                        }
                        purgesDone += 1
                    }
                }
                pushNext()
            }
        }
        for _ in 0..<16 { pushNext() }
        try h.run("5,000 pushes and their racing purges", seconds: 30) { acknowledged == pushes && purgesDone == purges }
        #expect(failure == nil)
        let left = try keys.reduce(0) { $0 + Int(try h.redis("LLEN", $1).int ?? 0) }
        #expect(purges == 16)
        #expect(purged > 0 && left > 0)
        #expect(purged + left == pushes)
    }
}
