import CarawayBroker
import Testing

/// The `revoke` script through `Broker.revoke`: expiry (Redis time, ETA-aware, GT), pruning,
/// the REVOKED result record and its PUBLISH, and every key after.
struct RevokeScriptTests {
    /// An expected expiry: "TTL after the call's TIME" (between TIME read before and after), or exact.
    enum Expiry: Equatable, Sendable {
        case fromNow(Int64)
        case exact(Int64)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var ids: [String]
        var ttlSeconds = 600
        var resultTTLSeconds = 3_600
        /// Write result records (false: pass no result keys or records).
        var writeResults = true
        var added: Int
        var revoked: [String: Expiry]
        var published: [String: [String]]
        /// Everything but `revoked`, which is checked against `revoked` above.
        var after: BrokerState
    }

    static func record(_ status: String, _ id: String) -> String { #"{"status": "\#(status)", "result": null, "task_id": "\#(id)"}"# }
    static func revokedRecord(_ id: String) -> String {
        #"{"status": "REVOKED", "result": {"exc_type": "TaskRevokedError", "exc_message": ["revoked"], "exc_module": "celery.exceptions"}, "task_id": "\#(id)"}"#
    }
    static func written(_ ids: String..., ttl: Int? = 3_600) -> [String: BrokerState.StoredResult] {
        Dictionary(uniqueKeysWithValues: ids.map { ($0, BrokerState.StoredResult(revokedRecord($0), ttlSeconds: ttl)) })
    }
    static let tenMinutes: Int64 = 600_000

    static let cases: [Case] = [
        Case(testDescription: "new ids expire TTL after now; absent results get the REVOKED record with its TTL, published on the key",
             before: BrokerState(queues: ["q": ["m"]]),
             ids: ["a", "b"], added: 2,
             revoked: ["a": .fromNow(tenMinutes), "b": .fromNow(tenMinutes)],
             published: ["a": [revokedRecord("a")], "b": [revokedRecord("b")]],
             after: BrokerState(queues: ["q": ["m"]], results: written("a", "b"))),
        Case(testDescription: "the expiry outlives the latest delayed message by the TTL",
             before: { var s = BrokerState(); s.delay(tag: "soon", due: 60_000, destination: "q", envelope: "m1")
                       s.delay(tag: "late", due: 7_200_000, destination: "q", envelope: "m2"); return s }(),
             ids: ["a"], added: 1,
             revoked: ["a": .exact(7_200_000 + tenMinutes)],
             published: ["a": [revokedRecord("a")]],
             after: { var s = BrokerState(results: written("a")); s.delay(tag: "soon", due: 60_000, destination: "q", envelope: "m1")
                      s.delay(tag: "late", due: 7_200_000, destination: "q", envelope: "m2"); return s }()),
        Case(testDescription: "overdue delayed messages do not pull the expiry before now + TTL",
             before: { var s = BrokerState(); s.delay(tag: "overdue", due: -60_000, destination: "q", envelope: "m"); return s }(),
             ids: ["a"], added: 1,
             revoked: ["a": .fromNow(tenMinutes)],
             published: ["a": [revokedRecord("a")]],
             after: { var s = BrokerState(results: written("a")); s.delay(tag: "overdue", due: -60_000, destination: "q", envelope: "m"); return s }()),
        Case(testDescription: "GT: a later existing expiry is kept, an earlier live one is extended, neither counts as added",
             before: BrokerState(revoked: ["later": 100_000_000, "earlier": 5_000]),
             ids: ["later", "earlier"], added: 0,
             revoked: ["later": .exact(100_000_000), "earlier": .fromNow(tenMinutes)],
             published: ["later": [revokedRecord("later")], "earlier": [revokedRecord("earlier")]],
             after: BrokerState(results: written("later", "earlier"))),
        Case(testDescription: "expired entries are pruned, and an expired id revoked again counts as added",
             before: BrokerState(revoked: ["old": -5_000, "a": -1_000, "live": 60_000]),
             ids: ["a"], added: 1,
             revoked: ["a": .fromNow(tenMinutes), "live": .exact(60_000)],
             published: ["a": [revokedRecord("a")]],
             after: BrokerState(results: written("a"))),
        Case(testDescription: "REVOKED replaces only PENDING, RECEIVED and RETRY; final, STARTED and unreadable records are kept",
             before: BrokerState(results: [
                 "p": .init(record("PENDING", "p"), ttlSeconds: 50), "rc": .init(record("RECEIVED", "rc")), "r": .init(record("RETRY", "r")),
                 "s": .init(record("SUCCESS", "s"), ttlSeconds: 50), "f": .init(record("FAILURE", "f")), "st": .init(record("STARTED", "st")),
                 "rv": .init(record("REVOKED", "rv")), "g": .init("garbage{"), "n": .init(#"{"result": 1}"#), "arr": .init("[1]"),
             ]),
             ids: ["p", "rc", "r", "s", "f", "st", "rv", "g", "n", "arr"], added: 10,
             revoked: Dictionary(uniqueKeysWithValues: ["p", "rc", "r", "s", "f", "st", "rv", "g", "n", "arr"].map { ($0, .fromNow(tenMinutes)) }),
             published: ["p": [revokedRecord("p")], "rc": [revokedRecord("rc")], "r": [revokedRecord("r")],
                         "s": [], "f": [], "st": [], "rv": [], "g": [], "n": [], "arr": []],
             after: BrokerState(results: written("p", "rc", "r").merging([
                 "s": .init(record("SUCCESS", "s"), ttlSeconds: 50), "f": .init(record("FAILURE", "f")), "st": .init(record("STARTED", "st")),
                 "rv": .init(record("REVOKED", "rv")), "g": .init("garbage{"), "n": .init(#"{"result": 1}"#), "arr": .init("[1]"),
             ]) { a, _ in a })),
        Case(testDescription: "a result TTL of zero stores the record without expiry",
             before: BrokerState(), ids: ["a"], resultTTLSeconds: 0, added: 1,
             revoked: ["a": .fromNow(tenMinutes)], published: ["a": [revokedRecord("a")]],
             after: BrokerState(results: written("a", ttl: nil))),
        Case(testDescription: "without result keys only the revocation is recorded",
             before: BrokerState(), ids: ["a"], writeResults: false, added: 1,
             revoked: ["a": .fromNow(tenMinutes)], published: ["a": []],
             after: BrokerState()),
        Case(testDescription: "an id given twice is added once",
             before: BrokerState(), ids: ["a", "a"], added: 1,
             revoked: ["a": .fromNow(tenMinutes)], published: ["a": [revokedRecord("a")]],
             after: BrokerState(results: written("a"))),
        Case(testDescription: "no ids: nothing is added, expired entries are still pruned",
             before: BrokerState(revoked: ["old": -1, "live": 60_000]), ids: [], added: 0,
             revoked: ["live": .exact(60_000)], published: [:],
             after: BrokerState()),
    ]

    @Test("revoke records revocations and REVOKED results atomically", arguments: cases)
    func revoke(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let channels = try c.published.keys.map { ($0, try ChannelRecorder(h, channel: h.keys.result(taskID: $0))) }
        let broker = h.broker(node: "me")
        let from = try h.redisTime() - h.anchor
        let result = try h.wait("revoke") {
            broker.revoke(taskIDs: c.ids, ttlSeconds: c.ttlSeconds,
                          revokedRecords: c.writeResults ? c.ids.map { Array(Self.revokedRecord($0).utf8) } : [],
                          resultKeys: c.writeResults ? c.ids.map { h.keys.result(taskID: $0) } : [],
                          resultTTLSeconds: c.resultTTLSeconds, $0)
        }
        let to = try h.redisTime() - h.anchor
        #expect(try result.get() == c.added)
        for (id, channel) in channels { #expect(try channel.drain() == c.published[id], "published on \(id)") }
        var after = try h.snapshot()
        #expect(Set(after.revoked.keys) == Set(c.revoked.keys))
        for (id, expected) in c.revoked {
            switch expected {
            case .exact(let expiry): #expect(after.revoked[id] == expiry, "expiry of \(id)")
            case .fromNow(let ttl): #expect(((from + ttl)...(to + ttl)).contains(after.revoked[id] ?? .min), "expiry of \(id)")
            }
        }
        after.revoked = [:]
        #expect(after == c.after)
    }

    @Test func revocationsAndResultsUseTheirPrefixes() throws {
        let h = try BrokerHarness(prefix: "pfx:", resultPrefix: "res")
        let broker = h.broker(node: "me")
        let added = try h.wait("revoke") {
            broker.revoke(taskIDs: ["a"], ttlSeconds: 60, revokedRecords: [Array(Self.revokedRecord("a").utf8)],
                          resultKeys: [h.keys.result(taskID: "a")], resultTTLSeconds: 60, $0)
        }
        #expect(try added.get() == 1)
        #expect(try h.redis("ZCARD", "pfx:caraway:revoked").int == 1)
        #expect(try h.redis("GET", "res_celery-task-meta-a").string == Self.revokedRecord("a"))
    }
}
