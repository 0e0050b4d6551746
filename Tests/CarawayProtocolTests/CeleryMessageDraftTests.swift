import Foundation
import Testing

@testable import CarawayProtocol

@Suite("CeleryMessage.Draft encoding")
struct CeleryMessageDraftTests {
    static func sampleDraft() -> CeleryMessage.Draft {
        var draft = CeleryMessage.Draft(task: "caraway.add", id: "d-1", args: [2, 3], kwargs: ["z": "é"], queue: "jobs")
        draft.priority = 5
        draft.eta = 1_893_553_445.678901
        draft.expires = 1_893_628_800
        draft.timeLimit = (30, 20.5)
        draft.parentID = "p-1"
        draft.groupID = "g-1"
        draft.groupIndex = 2
        draft.origin = "caraway@host"
        draft.callbacks = [Signature(task: "caraway.log").json]
        draft.extraHeaders = ["x_tenant": "acme"]
        return draft
    }

    @Test("The envelope has every field Python consumers require, in Celery's order")
    func requiredFields() throws {
        let bytes = Self.sampleDraft().encodedEnvelope(deliveryTag: "tag-1")
        let envelope = try #require(JSON.parse(bytes).objectValue)
        #expect(envelope.keys == ["body", "content-encoding", "content-type", "headers", "properties"])
        #expect(envelope["content-type"] == "application/json")
        #expect(envelope["content-encoding"] == "utf-8")
        let properties = try #require(envelope["properties"]?.objectValue)
        #expect(properties.keys == ["correlation_id", "reply_to", "delivery_mode", "delivery_info", "priority",
                                    "body_encoding", "delivery_tag"])
        #expect(properties["correlation_id"] == "d-1")
        #expect(properties["reply_to"] == "")
        #expect(properties["delivery_mode"] == 2)
        #expect(properties["delivery_info"] == ["exchange": "", "routing_key": "jobs"])
        #expect(properties["priority"] == 5)
        #expect(properties["body_encoding"] == "base64")
        #expect(properties["delivery_tag"] == "tag-1")
        let headers = try #require(envelope["headers"]?.objectValue)
        let python = try Fixture.message("plain_add").headers.keys
        #expect(Array(headers.keys.prefix(python.count)) == python)
        #expect(headers["lang"] == "py")
        #expect(headers["eta"] == "2030-01-02T03:04:05.678901+00:00")
        #expect(headers["expires"] == "2030-01-03T00:00:00+00:00")
        #expect(headers["timelimit"] == [30.0, 20.5])
        #expect(headers["root_id"] == "d-1")
        #expect(headers["argsrepr"] == "(2, 3)")
        #expect(headers["kwargsrepr"] == "{'z': 'é'}")
        #expect(headers["stamps"] == [:])
        #expect(headers["x_tenant"] == "acme")
    }

    @Test("An encoded draft decodes back to the same message")
    func roundTrip() throws {
        let draft = Self.sampleDraft()
        let message = try CeleryMessage.decode(draft.encodedEnvelope(deliveryTag: "tag-1"))
        #expect(message.task == "caraway.add")
        #expect(message.id == "d-1")
        #expect(message.args == [2, 3])
        #expect(message.kwargs == ["z": "é"])
        #expect(message.priority == 5)
        #expect(message.eta == draft.eta)
        #expect(message.expires == draft.expires)
        #expect(message.timeLimit.hard == 30 && message.timeLimit.soft == 20.5)
        #expect(message.rootID == "d-1")
        #expect(message.parentID == "p-1")
        #expect(message.groupID == "g-1" && message.groupIndex == 2)
        #expect(message.routingKey == "jobs" && message.exchange == "")
        #expect(message.deliveryTag == "tag-1")
        #expect(message.origin == "caraway@host")
        #expect(message.callbacks.count == 1)
        #expect(message.embed.keys == ["callbacks", "errbacks", "chain", "chord"])
        #expect(message.embed["chain"] == .null)
    }

    @Test("A default draft matches Celery's plain send_task message field for field")
    func matchesPython() throws {
        let python = try Fixture.message("plain_add")
        var draft = CeleryMessage.Draft(task: "caraway.add", id: python.id, args: [2, 3])
        draft.argsrepr = "[2, 3]"
        draft.origin = try #require(python.origin)
        draft.replyTo = try #require(python.replyTo)
        let ours = try #require(JSON.parse(draft.encodedEnvelope(deliveryTag: python.deliveryTag!)).objectValue)
        var theirs = python.envelope
        // Python sends `ignore_result: null` for "not set"; we send false, which it reads the same.
        var headers = try #require(theirs["headers"]?.objectValue)
        headers["ignore_result"] = false
        theirs["headers"] = .object(headers)
        #expect(ours["headers"] == theirs["headers"])
        #expect(ours["properties"] == theirs["properties"])
        let ourBody = try Base64.decode(try #require(ours["body"]?.stringValue))
        let theirBody = try Base64.decode(try #require(theirs["body"]?.stringValue))
        #expect(try JSON.parse(ourBody) == JSON.parse(theirBody))
    }

    @Test("Root id defaults to the task id and priority is clamped")
    func defaults() throws {
        var draft = CeleryMessage.Draft(task: "t", id: "x")
        draft.priority = 12
        #expect(draft.headers["root_id"] == "x")
        #expect(draft.clampedPriority == 9)
        draft.rootID = "r"
        #expect(draft.headers["root_id"] == "r")
        #expect(draft.headers["argsrepr"] == "()")
        #expect(draft.headers["kwargsrepr"] == "{}")
        #expect(draft.payload == [[], [:], ["callbacks": nil, "errbacks": nil, "chain": nil, "chord": nil]])
    }

    /// With CARAWAY_ENVELOPE_DIR set, writes envelopes for
    /// `scripts/capture-fixtures.py --verify-envelopes DIR`, which runs a real Celery worker
    /// over them.
    @Test("Envelopes for the Python acceptance check are written on request")
    func writeEnvelopesForPython() throws {
        guard let directory = ProcessInfo.processInfo.environment["CARAWAY_ENVELOPE_DIR"] else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 99)
        var plain = CeleryMessage.Draft(task: "caraway.add", id: makeUUID(using: &generator), args: [2, 3])
        plain.origin = "caraway@test"
        var rich = CeleryMessage.Draft(task: "caraway.echo", id: makeUUID(using: &generator),
                                       args: ["héllo 😀", 1.0, nil], kwargs: ["when": .kombuDatetime(epochSeconds: 0)])
        rich.priority = 7
        rich.timeLimit = (60, 30)
        rich.expires = 4_102_444_800
        rich.queue = "other"
        var chained = CeleryMessage.Draft(task: "caraway.add", id: makeUUID(using: &generator), args: [1, 2])
        chained.chain = [Signature(task: "caraway.mul", args: [10], options: ["task_id": .string("chain-step-\(chained.id)")]).json]
        var envelopes: [(String, [UInt8])] = [("plain", plain), ("rich", rich), ("chained", chained)].map {
            ($0.0, $0.1.encodedEnvelope(deliveryTag: makeUUID(using: &generator)))
        }
        // Re-published Python messages: a requeue and a retry.
        envelopes.append(("requeued", try Fixture.message("plain_add").republished(redelivered: true, deliveries: 2)))
        envelopes.append(("retried", try Fixture.message("unicode_kwargs")
            .retryEnvelope(eta: 1_000_000_000, deliveryTag: makeUUID(using: &generator))))
        for (name, bytes) in envelopes {
            try Data(bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(name).json"))
        }
    }
}
