import CarawayBroker
import Testing

/// The `reserve` script through `Broker.reserve`: seeded keys in, reply and every key out.
struct ReserveScriptTests {
    /// What `reserve` completed with, in a comparable form.
    enum Reply: Equatable, Sendable {
        case reserved(field: String, sourceKey: String, queue: String, envelope: String, revoked: Bool = false)
        case empty
        case leaseLost(node: String)
        case failed(String)

        init(_ result: Result<Reservation?, BrokerError>) {
            switch result {
            case .success(let r?):
                self = .reserved(field: r.field, sourceKey: r.sourceKey, queue: r.queue, envelope: String(decoding: r.envelope, as: UTF8.self),
                                 revoked: r.revoked)
            case .success(nil): self = .empty
            case .failure(.leaseLost(let node)): self = .leaseLost(node: node)
            case .failure(let error): self = .failed("\(error)")
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var order: [String]
        var reply: Reply
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3), q6 = priorityKey("q", 6), q9 = priorityKey("q", 9)
    static let live: [String: Int64] = ["me": 60_000, "other": 60_000]
    static let othersWork: [String: [String: String]] = ["other": ["1": stored(q0, "theirs")]]

    static let cases: [Case] = [
        Case(testDescription: "takes the tail of the first non-empty key in the given order and records <sourceKey>\\n<envelope>",
             before: BrokerState(queues: [q3: ["new", "old"], q6: ["x"]], inflight: othersWork, nodes: live),
             order: [q0, q3, q6, q9],
             reply: .reserved(field: "1", sourceKey: q3, queue: "q", envelope: "old"),
             after: BrokerState(queues: [q3: ["new"], q6: ["x"]], inflight: othersWork.merging(["me": ["1": stored(q3, "old")]]) { a, _ in a }, nodes: live)),
        Case(testDescription: "follows the caller's key order rather than the priority order",
             before: BrokerState(queues: [q0: ["a"], q6: ["b"]], nodes: live),
             order: [q6, q0],
             reply: .reserved(field: "1", sourceKey: q6, queue: "q", envelope: "b"),
             after: BrokerState(queues: [q0: ["a"]], inflight: ["me": ["1": stored(q6, "b")]], nodes: live)),
        Case(testDescription: "adds to an in-flight hash that already holds reservations",
             before: BrokerState(queues: ["other-queue": ["m"]], inflight: ["me": ["r:dead:4": stored(q0, "recovered")]], nodes: live),
             order: ["other-queue"],
             reply: .reserved(field: "1", sourceKey: "other-queue", queue: "other-queue", envelope: "m"),
             after: BrokerState(inflight: ["me": ["r:dead:4": stored(q0, "recovered"), "1": stored("other-queue", "m")]], nodes: live)),
        Case(testDescription: "keeps an envelope containing newlines intact",
             before: BrokerState(queues: [q0: ["line1\nline2\n"]], nodes: live),
             order: [q0],
             reply: .reserved(field: "1", sourceKey: q0, queue: "q", envelope: "line1\nline2\n"),
             after: BrokerState(inflight: ["me": ["1": stored(q0, "line1\nline2\n")]], nodes: live)),
        Case(testDescription: "returns nil and changes nothing when every given key is empty",
             before: BrokerState(queues: ["elsewhere": ["z"]], inflight: othersWork, nodes: live, deadLetter: ["d"]),
             order: [q0, q3, q6, q9],
             reply: .empty,
             after: BrokerState(queues: ["elsewhere": ["z"]], inflight: othersWork, nodes: live, deadLetter: ["d"])),
        Case(testDescription: "fails with leaseLost and takes nothing when the node is not in caraway:nodes",
             before: BrokerState(queues: [q0: ["a"]], inflight: othersWork, nodes: ["other": 60_000]),
             order: [q0],
             reply: .leaseLost(node: "me"),
             after: BrokerState(queues: [q0: ["a"]], inflight: othersWork, nodes: ["other": 60_000])),
        Case(testDescription: "still reserves while the node's lapsed lease has not been recovered",
             before: BrokerState(queues: [q0: ["a"]], nodes: ["me": -1_000]),
             order: [q0],
             reply: .reserved(field: "1", sourceKey: q0, queue: "q", envelope: "a"),
             after: BrokerState(inflight: ["me": ["1": stored(q0, "a")]], nodes: ["me": -1_000])),
    ]

    @Test("reserve moves one message into this node's in-flight hash", arguments: cases)
    func reserve(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let broker = h.broker(node: "me")
        let result = try h.wait("reserve") { broker.reserve(from: c.order, $0) }
        #expect(Reply(result) == c.reply)
        #expect(try h.snapshot() == c.after)
    }

    @Test func successiveReservationsUseDistinctFieldsAndDrainTheQueueOldestFirst() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: [Self.q0: ["m3", "m2", "m1"]], nodes: ["me": 60_000]))
        let broker = h.broker(node: "me")
        var replies: [Reply] = []
        for _ in 0..<4 { replies.append(Reply(try h.wait("reserve") { broker.reserve(from: [Self.q0], $0) })) }
        #expect(replies == [
            .reserved(field: "1", sourceKey: Self.q0, queue: "q", envelope: "m1"),
            .reserved(field: "2", sourceKey: Self.q0, queue: "q", envelope: "m2"),
            .reserved(field: "3", sourceKey: Self.q0, queue: "q", envelope: "m3"),
            .empty,
        ])
        #expect(try h.snapshot() == BrokerState(
            inflight: ["me": ["1": stored(Self.q0, "m1"), "2": stored(Self.q0, "m2"), "3": stored(Self.q0, "m3")]],
            nodes: ["me": 60_000]))
    }

    @Test func underAGlobalKeyPrefixTheReservationNamesTheBareQueue() throws {
        let h = try BrokerHarness(prefix: "pfx:")
        let key = h.keys.queue("orders", priority: 7)
        try h.seed(BrokerState(queues: [key: ["a"]], nodes: ["me": 60_000]))
        let broker = h.broker(node: "me")
        let result = try h.wait("reserve") { broker.reserve(from: h.keys.queueKeys("orders"), $0) }
        #expect(Reply(result) == .reserved(field: "1", sourceKey: "pfx:orders\u{06}\u{16}6", queue: "orders", envelope: "a"))
        #expect(try h.snapshot() == BrokerState(inflight: ["me": ["1": stored(key, "a")]], nodes: ["me": 60_000]))
        #expect(try h.redis("EXISTS", "pfx:caraway:inflight:me").int == 1)
    }
}
