import Testing

@testable import CarawayProtocol

@Suite("Signature")
struct SignatureTests {
    @Test("A captured chain step reads every field and re-emits the same JSON")
    func readCaptured() throws {
        let step = try #require(try Fixture.message("chain3").chain.first)
        let signature = try Signature(json: step)
        #expect(signature.task == "caraway.sub")
        #expect(signature.args == [1])
        #expect(signature.kwargs.isEmpty)
        #expect(signature.immutable)
        #expect(signature.subtaskType == nil)
        #expect(signature.options["task_id"]?.stringValue != nil)
        #expect(signature.json == step)
    }

    @Test("Options decide id, queue, priority, links, group, limits and headers")
    func options() throws {
        let signature = Signature(task: "t", args: [1], kwargs: ["k": 2], options: [
            "task_id": "fixed", "queue": "q", "priority": 7, "link": ["task": "cb"],
            "link_error": [["task": "eb1"], ["task": "eb2"]], "group_id": "g", "group_index": 3,
            "time_limit": 10, "soft_time_limit": 5, "headers": ["x": 1], "shadow": "s", "ignore_result": true,
            "reply_to": "oid",
        ])
        let draft = try signature.draft(prependingArgs: [0], parentID: "p", rootID: "r", context: .fixed())
        #expect(draft.id == "fixed")
        #expect(draft.args == [0, 1])
        #expect(draft.kwargs == ["k": 2])
        #expect(draft.queue == "q")
        #expect(draft.priority == 7)
        #expect(draft.callbacks == [["task": "cb"]])
        #expect(draft.errbacks?.count == 2)
        #expect(draft.groupID == "g" && draft.groupIndex == 3)
        #expect(draft.timeLimit.hard == 10 && draft.timeLimit.soft == 5)
        #expect(draft.extraHeaders == ["x": 1])
        #expect(draft.shadow == "s")
        #expect(draft.ignoreResult)
        #expect(draft.replyTo == "oid")
        #expect(draft.parentID == "p" && draft.rootID == "r")
    }

    @Test("countdown and relative expires count from the injected clock; ISO values are absolute")
    func times() throws {
        let relative = Signature(task: "t", options: ["countdown": 10, "expires": 60])
        let draft = try relative.draft(parentID: nil, rootID: nil, context: .fixed(now: 1000))
        #expect(draft.eta == 1010 && draft.expires == 1060)
        let absolute = Signature(task: "t", options: [
            "eta": "2030-01-03T00:00:00+00:00", "expires": .kombuDatetime(epochSeconds: 1_893_628_860),
        ])
        let fixed = try absolute.draft(parentID: nil, rootID: nil, context: .fixed(now: 1000))
        #expect(fixed.eta == 1_893_628_800 && fixed.expires == 1_893_628_860)
        expectError(.invalidDate("\"later\"")) { () throws(ProtocolError) in
            try Signature(task: "t", options: ["eta": "later"]).draft(parentID: nil, rootID: nil, context: .fixed())
        }
    }

    @Test("Without options the default queue and a fresh id are used")
    func defaults() throws {
        let draft = try Signature(task: "t").draft(parentID: nil, rootID: nil, context: .fixed())
        #expect(draft.id == "id-1")
        #expect(draft.queue == "celery")
        #expect(draft.priority == 0)
        #expect(draft.chain == nil)
    }

    @Test("A chain signature starts its first task and queues the rest reversed ahead of the outer chain")
    func chainSignature() throws {
        let inner = Signature(task: "celery.chain", kwargs: ["tasks": [
            Signature(task: "a", args: [1]).json, Signature(task: "b").json, Signature(task: "c").json,
        ]], subtaskType: "chain")
        let draft = try inner.draft(prependingArgs: [9], parentID: "p", rootID: "r", chain: [["task": "outer"]],
                                    context: .fixed())
        #expect(draft.task == "a")
        #expect(draft.args == [9, 1])
        #expect(draft.chain?.map { $0["task"]?.stringValue } == ["outer", "c", "b"])
    }

    @Test("A group signature yields one message per member with a shared id and indexes")
    func groupSignature() throws {
        let group = Signature(task: "celery.group", kwargs: ["tasks": [Signature(task: "a").json,
                                                                        Signature(task: "b").json]],
                              options: ["task_id": "gid"], subtaskType: "group")
        let drafts = try group.drafts(prependingArgs: [5], parentID: "p", rootID: "r", context: .fixed())
        #expect(drafts.map(\.task) == ["a", "b"])
        #expect(drafts.map(\.groupID) == ["gid", "gid"])
        #expect(drafts.map(\.groupIndex) == [0, 1])
        #expect(drafts.allSatisfy { $0.args == [5] })
        #expect(throws: ProtocolError.self) {
            try group.draft(parentID: nil, rootID: nil, context: .fixed())
        }
    }

    @Test("Chords and malformed signatures are refused with a reason")
    func refusals() {
        expectError(.unsupportedSignature("subtask_type 'chord' is not supported")) { () throws(ProtocolError) in
            try Signature(task: "celery.chord", subtaskType: "chord").drafts(parentID: nil, rootID: nil,
                                                                             context: .fixed())
        }
        expectError(.wrongType(field: "signature", expected: "an object")) { () throws(ProtocolError) in
            try Signature(json: "caraway.add")
        }
        expectError(.wrongType(field: "signature.args", expected: "an array or null")) {
            () throws(ProtocolError) in try Signature(json: ["task": "t", "args": "x"])
        }
        expectError(.missingField("signature.kwargs.tasks")) { () throws(ProtocolError) in
            try Signature(task: "celery.chain", subtaskType: "chain").draft(parentID: nil, rootID: nil,
                                                                            context: .fixed())
        }
    }
}
