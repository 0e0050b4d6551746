import CarawayBroker
import CarawayControl
import CarawayProtocol
import CarawayRedis
import Foundation
import Testing

/// What kombu's `Mailbox` does on the client side of a pidbox call (spec §5.2, §5.5): bind a
/// reply queue to the reply exchange, PUBLISH the request, collect the replies from the list.
struct CeleryClient {
    let harness: ControlHarness
    /// The client's oid: its reply routing key.
    let oid: String

    init(_ harness: ControlHarness, oid: String = makeUUID()) {
        self.harness = harness
        self.oid = oid
    }

    /// The reply queue's name as bound (kombu's queue names carry no prefix in the binding).
    var queueName: String { oid + ".reply.celery.pidbox" }
    /// The list the replies land on (the key prefix applies to the list, spec §2.4).
    var replyList: String { harness.keys.prefix + queueName }

    /// `SADD _kombu.binding.reply.celery.pidbox "oid\x06\x16\x06\x16oid.reply.celery.pidbox"`.
    func declareReplyQueue(queue: String? = nil) throws {
        let member = oid + RedisKeys.separator + RedisKeys.separator + (queue ?? queueName)
        try harness.redis("SADD", harness.control.replyBindings, member)
    }

    /// `PUBLISH /{db}.celery.pidbox <envelope>`; returns how many subscribers received it.
    @discardableResult
    func publish(_ raw: [UInt8]) throws -> Int {
        Int(try harness.redis(bytes: [Array("PUBLISH".utf8), Array(harness.control.pidboxChannel.utf8), raw]).int ?? -1)
    }

    /// A call: ticket and reply_to set to this client.
    @discardableResult
    func call(_ method: String, arguments: JSONObject = [:], destination: [String]? = nil, pattern: String? = nil,
              matcher: String? = nil, ticket: String = makeUUID(), clock: Int = 1) throws -> String {
        let request = ControlRequest(method: method, arguments: arguments, destination: destination, pattern: pattern,
                                     matcher: matcher, ticket: ticket, replyRoutingKey: oid,
                                     replyExchange: "reply.celery.pidbox", clock: clock)
        try publish(request.encoded())
        return ticket
    }

    /// Runs the loop until the reply list holds `count` replies; returns them oldest first.
    func awaitReplies(_ count: Int, list: String? = nil) throws -> [Reply] {
        let key = list ?? replyList
        try harness.poll("\(count) repl(ies) on \(key)", ["LLEN", key]) { ($0.int ?? 0) >= Int64(count) }
        return try replies(list: key)
    }

    /// The replies on the list now, oldest first (the worker LPUSHes; kombu pops from the right).
    func replies(list: String? = nil) throws -> [Reply] {
        let items = try harness.redis("LRANGE", list ?? replyList, "0", "-1").array ?? []
        return try items.reversed().map { item in
            let bytes = try #require(item.bytes)
            let envelope = try #require(JSON.parse(bytes).objectValue)
            let (headers, body) = try FanoutEnvelope.decode(bytes)
            return Reply(envelope: envelope, headers: headers, body: body)
        }
    }

    struct Reply {
        let envelope: JSONObject
        let headers: JSONObject
        let body: JSON
        var ticket: String? { headers["ticket"]?.stringValue }
        var properties: JSONObject { envelope["properties"]?.objectValue ?? [:] }
    }
}

/// A fixture captured from real Celery, read from the protocol tests' fixture folder.
enum CapturedFixture {
    /// Tests/CarawayControlTests/Support/this file → Tests/CarawayProtocolTests/Fixtures/control.
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("CarawayProtocolTests/Fixtures/control/\(name).json")
        return [UInt8](try Data(contentsOf: url))
    }
}
