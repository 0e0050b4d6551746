import Testing

@testable import CarawayProtocol

@Suite("CeleryMessage canvas follow-ups")
struct CeleryMessageCanvasTests {
    @Test("The captured two-step chain yields mul with the result prepended and an empty chain")
    func twoStepChain() throws {
        let message = try Fixture.message("chain")
        let stepJSON = try #require(message.chain.last)
        let next = try #require(try message.nextInChain(result: 5, context: .fixed()))
        #expect(next.task == "caraway.mul")
        #expect(next.args == [5, 4])
        #expect(next.id == stepJSON["options"]?["task_id"]?.stringValue)
        #expect(next.parentID == message.id)
        #expect(next.rootID == message.id)
        #expect(next.chain == [])
        #expect(next.replyTo == message.replyTo)
        #expect(next.origin == "caraway@test")
        let published = try CeleryMessage.decode(next.encodedEnvelope(deliveryTag: "t"))
        #expect(published.embed["chain"] == [])
        #expect(try published.nextInChain(result: 20, context: .fixed()) == nil)
    }

    @Test("A three-step chain is stored reversed: the last element runs next and the rest follows")
    func threeStepChain() throws {
        let message = try Fixture.message("chain3")
        #expect(message.chain.map { $0["task"]?.stringValue } == ["caraway.sub", "caraway.mul"])
        let next = try #require(try message.nextInChain(result: 5, context: .fixed()))
        #expect(next.task == "caraway.mul")
        #expect(next.args == [5, 4])
        #expect(next.chain?.count == 1)
        #expect(next.chain?.first?["task"] == "caraway.sub")

        let second = try CeleryMessage.decode(next.encodedEnvelope(deliveryTag: "t"))
        #expect(second.rootID == message.id && second.parentID == message.id)
        let last = try #require(try second.nextInChain(result: 20, context: .fixed()))
        #expect(last.task == "caraway.sub")
        #expect(last.args == [1], "an immutable step ignores the parent's result")
        #expect(last.parentID == second.id)
        #expect(last.rootID == message.id)
        #expect(message.chainTaskIDs == [next.id, last.id])
    }

    @Test("A plain message has no next chain step")
    func noChain() throws {
        #expect(try Fixture.message("plain_add").nextInChain(result: 5, context: .fixed()) == nil)
    }

    @Test("link callbacks get the result prepended; link_error errbacks get the failed task id")
    func callbacksAndErrbacks() throws {
        let message = try Fixture.message("link")
        let ids = IDSequence()
        let callbacks = try message.callbackDrafts(result: 4, context: .fixed(ids: ids))
        #expect(callbacks.count == 1)
        #expect(callbacks[0].task == "caraway.log_result")
        #expect(callbacks[0].args == [4, "tag"])
        #expect(callbacks[0].id == "id-1")
        #expect(callbacks[0].parentID == message.id)
        #expect(callbacks[0].rootID == message.id)
        let errbacks = try message.errbackDrafts(context: .fixed(ids: ids))
        #expect(errbacks.count == 1)
        #expect(errbacks[0].task == "caraway.on_error")
        #expect(errbacks[0].args == [.string(message.id)])
        #expect(errbacks[0].id == "id-2")
    }

    @Test("A malformed chain step is reported instead of being skipped")
    func malformedStep() throws {
        var draft = CeleryMessage.Draft(task: "t", id: "x")
        draft.chain = [["args": [1]]]
        let message = try CeleryMessage.decode(draft.encodedEnvelope(deliveryTag: "t"))
        expectError(.missingField("signature.task")) { () throws(ProtocolError) in
            try message.nextInChain(result: 1, context: .fixed())
        }
    }
}
