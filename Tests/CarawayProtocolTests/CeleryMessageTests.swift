import Testing

@testable import CarawayProtocol

@Suite("CeleryMessage decoding")
struct CeleryMessageTests {
    @Test("Every captured Celery message decodes with its headers and delivery info")
    func allFixturesDecode() throws {
        let manifest = try Fixture.manifest()
        for name in Fixture.messageNames {
            let message = try Fixture.message(name)
            #expect(message.correlationID == message.id, "\(name)")
            #expect(message.rootID == message.id, "\(name)")
            #expect(message.deliveryTag?.count == 36, "\(name)")
            #expect(message.exchange == "", "\(name)")
            #expect(message.origin?.hasPrefix("gen") == true, "\(name)")
            #expect(message.redelivered == false)
            #expect(message.deliveries == 0)
            #expect(message.retries == 0)
            let key = try #require(manifest[name]?.stringValue)
            #expect(key.hasPrefix(message.routingKey ?? "?"), "\(name) came from \(key)")
        }
    }

    @Test("A plain add decodes args, empty kwargs and an embed of nulls")
    func plainAdd() throws {
        let message = try Fixture.message("plain_add")
        #expect(message.task == "caraway.add")
        #expect(message.id == "11111111-1111-4111-8111-111111111111")
        #expect(message.args == [2, 3])
        #expect(message.kwargs.isEmpty)
        #expect(message.embed.keys == ["callbacks", "errbacks", "chain", "chord"])
        #expect(message.chain.isEmpty && message.callbacks.isEmpty && message.errbacks.isEmpty)
        #expect(message.chord == nil)
        #expect(message.eta == nil && message.expires == nil)
        #expect(message.timeLimit.hard == nil && message.timeLimit.soft == nil)
        #expect(message.priority == 0)
        #expect(message.routingKey == "celery")
        #expect(message.ignoreResult == false)
        #expect(message.parentID == nil && message.groupID == nil && message.groupIndex == nil)
        #expect(message.replyTo?.isEmpty == false)
        #expect(message.envelope.keys == ["body", "content-encoding", "content-type", "headers", "properties"])
    }

    @Test("Unicode strings, big integers and float literals survive decoding")
    func unicodeKwargs() throws {
        let message = try Fixture.message("unicode_kwargs")
        #expect(message.args == ["héllo wörld ✓", "emoji 😀 and quote ' \" \\ and\nnewline\ttab"])
        #expect(message.kwargs["nested"]?["obj"]?["ключ"] == "значение")
        #expect(message.kwargs["big"]?.numberValue?.text == "123456789012345678901234567890")
        #expect(message.kwargs["float"]?.numberValue?.text == "1.0")
        #expect(message.kwargs["tiny"]?.numberValue?.text == "1e-07")
        #expect(message.kwargs["nested"]?["list"] == [1, 2.5, nil, true, false, .number(JSONNumber(literal: "1e+100")!)])
        #expect(message.kwargs["control"] == "\u{1}\u{1f}")
    }

    @Test("Countdown and expires become absolute timestamps")
    func countdownExpires() throws {
        let message = try Fixture.message("countdown_expires")
        #expect(message.eta != nil)
        #expect(message.expires != nil)
        #expect(message.properties["expiration"] == "3600000")
    }

    @Test("An explicit eta keeps its microseconds")
    func etaDatetime() throws {
        let message = try Fixture.message("eta_datetime")
        #expect(message.eta == 1_893_553_445.678901)
        #expect(message.expires == 1_893_628_800)
    }

    @Test("Priority 5 is read from properties and came from the step-3 sub-list")
    func priority() throws {
        let message = try Fixture.message("priority5")
        #expect(message.priority == 5)
        #expect(try Fixture.manifest()["priority5"] == "celery\u{6}\u{16}3")
    }

    @Test("Time limits are read in [hard, soft] order")
    func timeLimits() throws {
        let message = try Fixture.message("timelimit")
        #expect(message.timeLimit.hard == 30)
        #expect(message.timeLimit.soft == 20.5)
    }

    @Test("ignore_result true is read; Celery's null means false")
    func ignoreResult() throws {
        #expect(try Fixture.message("ignore_result").ignoreResult == true)
        #expect(try Fixture.message("plain_add").headers["ignore_result"] == .null)
    }

    @Test("Group members carry the group id and their index")
    func groupMembers() throws {
        let first = try Fixture.message("group_0")
        let second = try Fixture.message("group_1")
        #expect(first.groupID != nil)
        #expect(first.groupID == second.groupID)
        #expect(first.groupIndex == 0 && second.groupIndex == 1)
        #expect(first.args == [1, 1] && second.args == [2, 2])
    }

    @Test("Chord header members carry the chord body in embed")
    func chordMembers() throws {
        let member = try Fixture.message("chord_0")
        let body = try Signature(json: try #require(member.chord))
        #expect(body.task == "caraway.tsum")
        #expect(body.options["group_id"]?.stringValue == member.groupID)
    }

    @Test("Custom headers, shadow and a non-default queue are kept")
    func customHeaders() throws {
        let message = try Fixture.message("custom_headers")
        #expect(message.headers["x_tenant"] == "acme")
        #expect(message.headers["x_attempt"] == 3)
        #expect(message.shadow == "add-shadow")
        #expect(message.routingKey == "other")
    }

    @Test("A plain utf-8 body and a null embed are accepted")
    func plainBody() throws {
        let raw = #"{"body":"[[1],{\"k\":2},null]","content-type":"application/json","headers":{"task":"t","id":"raw-min-1"},"properties":{"body_encoding":"utf-8"}}"#
        let message = try CeleryMessage.decode(Array(raw.utf8))
        #expect(message.id == "raw-min-1")
        #expect(message.args == [1])
        #expect(message.kwargs["k"] == 2)
        #expect(message.embed.isEmpty)
        #expect(message.priority == 0)
        #expect(message.deliveryTag == nil)
        #expect(message.effectiveRootID == "raw-min-1")
    }

    @Test("Redelivered flags and the caraway delivery count are read")
    func redelivered() throws {
        let raw = #"{"body":"[[],{},{}]","content-type":"application/json","headers":{"task":"t","id":"x","caraway_deliveries":3},"properties":{"delivery_info":{"exchange":"","routing_key":"q","redelivered":true},"priority":42}}"#
        let message = try CeleryMessage.decode(Array(raw.utf8))
        #expect(message.redelivered)
        #expect(message.deliveries == 3)
        #expect(message.priority == 9)
    }

    @Test("Unusable priorities count as 0 and others clamp to 0–9")
    func priorityClamping() {
        #expect(CeleryMessage.clampedPriority(nil) == 0)
        #expect(CeleryMessage.clampedPriority("5") == 0)
        #expect(CeleryMessage.clampedPriority(-3) == 0)
        #expect(CeleryMessage.clampedPriority(7.9) == 7)
        #expect(CeleryMessage.clampedPriority(.number(JSONNumber(literal: "1e400")!)) == 0)
        #expect(CeleryMessage.clampedPriority(.number(JSONNumber(literal: "99999999999999999999")!)) == 9)
    }

    @Test("Envelopes that are not Celery JSON messages are rejected with the matching error")
    func rejections() {
        func envelope(_ headers: String = #"{"task":"t","id":"x"}"#, body: String = #""W10sIHt9LCB7fV0=""#,
                      contentType: String = #""application/json""#, properties: String = #"{"body_encoding":"base64"}"#)
            -> [UInt8]
        {
            Array(#"{"body":\#(body),"content-type":\#(contentType),"headers":\#(headers),"properties":\#(properties)}"#.utf8)
        }
        // "W10sIHt9LCB7fV0=" is base64 of "[], {}, {}]": not a 3-element array.
        let goodBody = #""W1tdLCB7fSwge31d""#
        expectError(.unsupportedContentType("application/x-python-serialize")) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(body: goodBody, contentType: #""application/x-python-serialize""#))
        }
        expectError(.missingField("content-type")) { () throws(ProtocolError) in
            try CeleryMessage.decode(Array(#"{"body":"","headers":{}}"#.utf8))
        }
        expectError(.unsupportedCompression("application/x-gzip")) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(#"{"task":"t","id":"x","compression":"application/x-gzip"}"#,
                                              body: goodBody))
        }
        expectError(.notProtocolV2) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(#"{"id":"x"}"#, body: goodBody))
        }
        expectError(.missingField("headers.id")) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(#"{"task":"t"}"#, body: goodBody))
        }
        expectError(.wrongType(field: "headers.task", expected: "a string or null")) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(#"{"task":5,"id":"x"}"#, body: goodBody))
        }
        expectError(.invalidJSON(offset: 2, reason: "unexpected data after the JSON value")) {
            () throws(ProtocolError) in try CeleryMessage.decode(envelope())
        }
        expectError(.invalidBase64(offset: 1)) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(body: #""W!tdLCB7fSwge31d""#))
        }
        expectError(.unsupportedBodyEncoding("gzip")) { () throws(ProtocolError) in
            try CeleryMessage.decode(envelope(body: goodBody, properties: #"{"body_encoding":"gzip"}"#))
        }
        expectError(.missingField("body")) { () throws(ProtocolError) in
            try CeleryMessage.decode(Array(#"{"content-type":"application/json","headers":{"task":"t","id":"x"}}"#.utf8))
        }
        expectError(.wrongType(field: "envelope", expected: "a JSON object")) { () throws(ProtocolError) in
            try CeleryMessage.decode(Array("[1]".utf8))
        }
    }

    @Test("Bodies that are not [args, kwargs, embed] are rejected naming the part")
    func bodyShape() {
        func decodePlain(_ body: String) throws(ProtocolError) -> CeleryMessage {
            var envelope = JSONObject()
            envelope["body"] = .string(body)
            envelope["content-type"] = "application/json"
            envelope["headers"] = ["task": "t", "id": "x"]
            return try CeleryMessage.decode(envelope.serialized())
        }
        expectError(.wrongType(field: "body", expected: "an array [args, kwargs, embed]")) {
            () throws(ProtocolError) in try decodePlain("[[], {}]")
        }
        expectError(.wrongType(field: "body", expected: "an array [args, kwargs, embed]")) {
            () throws(ProtocolError) in try decodePlain("{}")
        }
        expectError(.wrongType(field: "body.args", expected: "an array")) { () throws(ProtocolError) in
            try decodePlain("[{}, {}, {}]")
        }
        expectError(.wrongType(field: "body.kwargs", expected: "an object")) { () throws(ProtocolError) in
            try decodePlain("[[], [], {}]")
        }
        expectError(.wrongType(field: "body.embed", expected: "an object or null")) { () throws(ProtocolError) in
            try decodePlain("[[], {}, []]")
        }
        expectError(.invalidJSON(offset: 1, reason: "unexpected end of input, expected a value")) {
            () throws(ProtocolError) in try decodePlain("[")
        }
    }

    @Test("Headers with the wrong type are rejected naming the header")
    func headerTypes() {
        func decode(_ headers: JSONObject) throws(ProtocolError) -> CeleryMessage {
            var all: JSONObject = ["task": "t", "id": "x"]
            for (key, value) in headers { all[key] = value }
            let envelope: JSONObject = ["body": "[[],{},{}]", "content-type": "application/json", "headers": .object(all)]
            return try CeleryMessage.decode(envelope.serialized())
        }
        expectError(.wrongType(field: "headers.retries", expected: "an integer")) { () throws(ProtocolError) in
            try decode(["retries": 1.5])
        }
        expectError(.wrongType(field: "headers.timelimit", expected: "[hard, soft]")) { () throws(ProtocolError) in
            try decode(["timelimit": [1]])
        }
        expectError(.wrongType(field: "headers.timelimit", expected: "[hard, soft] of numbers or null")) {
            () throws(ProtocolError) in try decode(["timelimit": ["1", nil]])
        }
        expectError(.invalidDate("soon")) { () throws(ProtocolError) in try decode(["eta": "soon"]) }
        expectError(.wrongType(field: "headers.eta", expected: "a string or null")) { () throws(ProtocolError) in
            try decode(["eta": 5])
        }
        expectError(.wrongType(field: "headers.ignore_result", expected: "a boolean or null")) {
            () throws(ProtocolError) in try decode(["ignore_result": "yes"])
        }
    }

    @Test("Every captured message decodes to what a full parse of its envelope and body says")
    func lazyPartsMatchAFullParse() throws {
        for name in Fixture.messageNames {
            let raw = try Fixture.bytes(name)
            let message = try CeleryMessage.decode(raw)
            let envelope = try #require(JSON.parse(raw).objectValue)
            #expect(message.raw == raw)
            #expect(message.envelope == envelope)
            #expect(message.headers == envelope["headers"]?.objectValue)
            #expect(message.properties == (envelope["properties"]?.objectValue ?? [:]))
            let body = try #require(envelope["body"]?.stringValue)
            let payload = try #require(JSON.parse(Base64.decode(body)).arrayValue)
            #expect(message.args == payload[0].arrayValue, "\(name)")
            #expect(message.kwargs == payload[1].objectValue, "\(name)")
            #expect(try JSON.parse(message.argsJSON) == payload[0], "\(name)")
            #expect(try JSON.parse(message.kwargsJSON) == payload[1], "\(name)")
            #expect(message.embed == (payload[2].objectValue ?? [:]), "\(name)")
        }
    }

    @Test("args and kwargs are the producer's own bytes, spacing and escapes included")
    func argumentsPassThroughUntouched() throws {
        let body = #"[ [1, "\u00e9", 2.50] , {"k" : [null]}, null ]"#
        let raw = Array(#"{"body": "\#(Base64.encodeToString(Array(body.utf8)))", "content-type": "application/json", "headers": {"task": "t", "id": "i", "argsrepr": "(1, 'é', 2.5)"}, "properties": {"body_encoding": "base64"}}"#.utf8)
        let message = try CeleryMessage.decode(raw)
        #expect(String(decoding: message.argsJSON, as: UTF8.self) == #"[1, "\u00e9", 2.50]"#)
        #expect(String(decoding: message.kwargsJSON, as: UTF8.self) == #"{"k" : [null]}"#)
        #expect(message.args == [1, "é", .number(JSONNumber(literal: "2.50")!)])
        #expect(message.embed.isEmpty)
    }

    @Test("A broken value in a header the node never reads still fails the decode, with the parser's error")
    func unbuiltHeadersAreValidated() throws {
        for value in [#""\ud800""#, "01", "[1,]", #""\u12""#, "[[[["] {
            let raw = Array(#"{"content-type": "application/json", "headers": {"task": "t", "id": "i", "argsrepr": \#(value)}, "body": "W1tdLHt9LG51bGxd", "properties": {"body_encoding": "base64"}}"#.utf8)
            guard case .failure(let expected) = Result(catching: { () throws(ProtocolError) in try JSON.parse(raw) }) else {
                Issue.record("\(value) should be invalid JSON")
                continue
            }
            #expect(throws: expected) { try CeleryMessage.decode(raw) }
        }
    }
}
