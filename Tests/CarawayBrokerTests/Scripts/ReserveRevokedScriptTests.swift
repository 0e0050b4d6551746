import CarawayBroker
import Testing

/// The revoked flag of the `reserve` script: the envelope's task id checked against
/// `caraway:revoked` at reserve time. The message is reserved exactly as usual either way.
struct ReserveRevokedScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        /// Revoked ids → expiry relative to the anchor.
        var revoked: [String: Int64]
        var envelope: String
        var flagged: Bool
    }

    /// A kombu JSON envelope as Celery's protocol v2 sends it: the id in headers and correlation_id.
    static func envelope(id: String) -> String {
        #"{"body": "W1tdLCB7fSwge31d", "content-encoding": "utf-8", "content-type": "application/json", "#
            + #""headers": {"lang": "py", "task": "tasks.add", "id": "\#(id)", "retries": 0}, "#
            + #""properties": {"correlation_id": "\#(id)", "delivery_tag": "dt-\#(id)", "body_encoding": "base64"}}"#
    }

    static let live: [String: Int64] = ["me": 60_000]

    static let cases: [Case] = [
        Case(testDescription: "an id revoked until later is flagged",
             revoked: ["abc": 60_000, "other": 60_000], envelope: envelope(id: "abc"), flagged: true),
        Case(testDescription: "an id that is not revoked is not flagged while others are",
             revoked: ["other": 60_000], envelope: envelope(id: "abc"), flagged: false),
        Case(testDescription: "an expired revocation no longer flags",
             revoked: ["abc": -1_000], envelope: envelope(id: "abc"), flagged: false),
        Case(testDescription: "with no revocations nothing is flagged",
             revoked: [:], envelope: envelope(id: "abc"), flagged: false),
        Case(testDescription: "an envelope that is not JSON is reserved unflagged, without a script error",
             revoked: ["abc": 60_000], envelope: #"{"headers": {"id": "abc"#, flagged: false),
        Case(testDescription: "a JSON envelope that is not an object is reserved unflagged",
             revoked: ["abc": 60_000], envelope: #"["abc"]"#, flagged: false),
        Case(testDescription: "a non-string id is not looked up",
             revoked: ["7": 60_000], envelope: #"{"headers": {"id": 7}, "properties": {"correlation_id": null}}"#, flagged: false),
        Case(testDescription: "headers that are not an object fall back to properties.correlation_id",
             revoked: ["abc": 60_000], envelope: #"{"headers": "x", "properties": {"correlation_id": "abc"}}"#, flagged: true),
        Case(testDescription: "a protocol v1 envelope (no id header) is matched by properties.correlation_id",
             revoked: ["abc": 60_000], envelope: #"{"headers": {}, "properties": {"correlation_id": "abc"}}"#, flagged: true),
    ]

    @Test("reserve flags a message whose task id is revoked, and reserves it either way", arguments: cases)
    func reserveFlagsRevoked(_ c: Case) throws {
        let h = try BrokerHarness()
        let before = BrokerState(queues: ["q": ["next", c.envelope]], nodes: Self.live, revoked: c.revoked)
        try h.seed(before)
        let broker = h.broker(node: "me")
        let result = try h.wait("reserve") { broker.reserve(from: h.keys.queueKeys("q"), $0) }
        #expect(ReserveScriptTests.Reply(result) == .reserved(field: "1", sourceKey: "q", queue: "q", envelope: c.envelope, revoked: c.flagged))
        #expect(try h.snapshot() == BrokerState(queues: ["q": ["next"]], inflight: ["me": ["1": stored("q", c.envelope)]],
                                                nodes: Self.live, revoked: c.revoked))
    }

    /// Commands the scripts ran since `CONFIG RESETSTAT`, from INFO commandstats.
    static func calls(_ h: BrokerHarness) throws -> [String: Int] {
        var calls: [String: Int] = [:]
        for line in (try h.redis("INFO", "commandstats").string ?? "").split(whereSeparator: \.isNewline)
        where line.hasPrefix("cmdstat_") {
            // cmdstat_zcard:calls=1,usec=2,usec_per_call=2.00,rejected_calls=0,failed_calls=0
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            let fields = line.drop { $0 != ":" }.dropFirst().split(separator: ",")
            let value = fields.first { $0.hasPrefix("calls=") }?.dropFirst("calls=".count) ?? ""
            calls[String(name)] = Int(value)
        }
        return calls
    }

    @Test func withNoRevocationsTheCheckCostsOneZCARD() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: ["q": [Self.envelope(id: "abc")]], nodes: Self.live))
        let broker = h.broker(node: "me")
        try h.redis("CONFIG", "RESETSTAT")
        let result = try h.wait("reserve") { broker.reserve(from: ["q"], $0) }
        #expect(try result.get()?.revoked == false)
        let calls = try Self.calls(h)
        #expect(calls["zcard"] == 1)
        #expect(calls["zrank"] == 1)  // the lease check (a rank: no score to format)
        #expect(calls["zscore"] == nil)
        #expect(calls["time"] == nil)
        #expect(calls["rpop"] == 1 && calls["hset"] == 1)
    }

    @Test func withRevocationsTheCheckAddsOneZSCOREAndTIME() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: ["q": [Self.envelope(id: "abc")]], nodes: Self.live, revoked: ["abc": 60_000]))
        let broker = h.broker(node: "me")
        try h.redis("CONFIG", "RESETSTAT")
        let result = try h.wait("reserve") { broker.reserve(from: ["q"], $0) }
        #expect(try result.get()?.revoked == true)
        let calls = try Self.calls(h)
        #expect(calls["zcard"] == 1 && calls["zrank"] == 1 && calls["zscore"] == 1 && calls["time"] == 1)
    }

    @Test func anEmptyQueueRunsNoRevocationCheck() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(nodes: Self.live, revoked: ["abc": 60_000]))
        let broker = h.broker(node: "me")
        try h.redis("CONFIG", "RESETSTAT")
        let result = try h.wait("reserve") { broker.reserve(from: ["q"], $0) }
        #expect(ReserveScriptTests.Reply(result) == .empty)
        #expect(try Self.calls(h)["zcard"] == nil)
    }
}
