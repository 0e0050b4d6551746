import CarawayBroker
import Testing

/// The `settle_reserve` script through `Broker.settleAndReserve`: the settle half, the reserve half,
/// and every key after.
struct SettleReserveScriptTests {
    enum Next: Equatable, Sendable {
        case reserved(field: String, sourceKey: String, envelope: String, revoked: Bool = false)
        case empty
        case leaseLost
        case failed(String)

        init(_ result: Result<Reservation?, BrokerError>) {
            switch result {
            case .success(let r?): self = .reserved(field: r.field, sourceKey: r.sourceKey, envelope: String(decoding: r.envelope, as: UTF8.self), revoked: r.revoked)
            case .success(nil): self = .empty
            case .failure(.leaseLost): self = .leaseLost
            case .failure(let error): self = .failed("\(error)")
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var storeResult = false
        var ours: Bool
        var next: Next
        var published: [String]
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3)
    static let live: [String: Int64] = ["me": 60_000]
    static let success = #"{"status": "SUCCESS", "result": 5, "task_id": "abc"}"#
    static let mine = ["7": stored(q0, "env")]

    static let cases: [Case] = [
        Case(testDescription: "settles the finished delivery and takes the next message from the first non-empty key",
             before: BrokerState(queues: [q3: ["newer", "older"]], inflight: ["me": mine], nodes: live),
             ours: true, next: .reserved(field: "1", sourceKey: q3, envelope: "older"), published: [],
             after: BrokerState(queues: [q3: ["newer"]], inflight: ["me": ["1": stored(q3, "older")]], nodes: live)),
        Case(testDescription: "stores and publishes the result before reserving",
             before: BrokerState(queues: [q0: ["next"]], inflight: ["me": mine], nodes: live),
             storeResult: true, ours: true, next: .reserved(field: "1", sourceKey: q0, envelope: "next"), published: [success],
             after: BrokerState(inflight: ["me": ["1": stored(q0, "next")]], nodes: live, results: ["abc": .init(success, ttlSeconds: 3_600)])),
        Case(testDescription: "settles and reports empty queues, taking nothing",
             before: BrokerState(inflight: ["me": mine], nodes: live),
             ours: true, next: .empty, published: [],
             after: BrokerState(nodes: live)),
        Case(testDescription: "a delivery recovered elsewhere settles as not ours (the result is still stored)",
             before: BrokerState(queues: [q0: ["next"]], nodes: live),
             storeResult: true, ours: false, next: .reserved(field: "1", sourceKey: q0, envelope: "next"), published: [success],
             after: BrokerState(inflight: ["me": ["1": stored(q0, "next")]], nodes: live, results: ["abc": .init(success, ttlSeconds: 3_600)])),
        Case(testDescription: "an unregistered node settles but reserves nothing (lease lost)",
             before: BrokerState(queues: [q0: ["next"]], inflight: ["me": mine], nodes: ["other": 60_000]),
             ours: true, next: .leaseLost, published: [],
             after: BrokerState(queues: [q0: ["next"]], nodes: ["other": 60_000])),
    ]

    @Test("settle_reserve settles one delivery and reserves the next", arguments: cases)
    func settleReserve(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let channel = try ChannelRecorder(h, channel: h.keys.result(taskID: "abc"))
        let broker = h.broker(node: "me")
        let reservation = Reservation(field: "7", sourceKey: Self.q0, queue: "q", envelope: Array("env".utf8))
        let write = c.storeResult ? ResultWrite(key: h.keys.result(taskID: "abc"), value: Array(Self.success.utf8), ttlSeconds: 3_600) : nil
        let result = try h.wait("settleAndReserve") { broker.settleAndReserve(reservation, result: write, from: [Self.q0, Self.q3], $0) }
        let outcome = try result.get()
        #expect(outcome.ours == c.ours)
        #expect(Next(outcome.next) == c.next)
        #expect(try channel.drain() == c.published)
        #expect(try h.snapshot() == c.after)
    }

    @Test func flagsARevokedNextMessage() throws {
        let h = try BrokerHarness()
        let envelope = #"{"headers": {"id": "t1"}, "properties": {}}"#
        try h.seed(BrokerState(queues: [Self.q0: [envelope]], inflight: ["me": Self.mine], nodes: Self.live, revoked: ["t1": 60_000]))
        let broker = h.broker(node: "me")
        let reservation = Reservation(field: "7", sourceKey: Self.q0, queue: "q", envelope: [])
        let outcome = try h.wait("settleAndReserve") { broker.settleAndReserve(reservation, result: nil, from: [Self.q0], $0) }.get()
        #expect(Next(outcome.next) == .reserved(field: "1", sourceKey: Self.q0, envelope: envelope, revoked: true))
    }
}
