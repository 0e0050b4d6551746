import Testing

@testable import CarawayProtocol

@Suite("ControlRequest: pidbox requests from real Celery 5.7")
struct ControlRequestTests {
    // MARK: captured requests

    @Test("Every captured request decodes to what Python reads from it", arguments: ControlFixture.requestNames)
    func decodesLikePython(_ name: String) throws {
        let request = try ControlRequest.decode(ControlFixture.bytes(name))
        let python = try ControlFixture.python(name)
        let body = try #require(python["body"]?.objectValue)
        let headers = try #require(python["headers"]?.objectValue)
        #expect(request.method == body["method"]?.stringValue)
        #expect(request.arguments == body["arguments"]?.objectValue)
        #expect(request.destination == body["destination"]?.arrayValue?.compactMap(\.stringValue))
        #expect(request.pattern == body["pattern"]?.stringValue)
        #expect(request.matcher == body["matcher"]?.stringValue)
        #expect(request.ticket == body["ticket"]?.stringValue)
        #expect(request.replyRoutingKey == body["reply_to"]?["routing_key"]?.stringValue)
        #expect(request.replyExchange == body["reply_to"]?["exchange"]?.stringValue)
        #expect(request.clock == headers["clock"]?.intValue)
        #expect(request.wantsReply == (body["ticket"] != nil))
    }

    @Test("celery inspect ping: a call to every node, replies routed by the client's oid")
    func inspectPing() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_inspect_ping"))
        #expect(request.method == "ping")
        #expect(request.arguments.isEmpty)
        #expect(request.destination == nil)
        #expect(request.pattern == nil && request.matcher == nil)
        #expect(request.wantsReply)
        #expect(try #require(request.ticket).count == 36)
        #expect(try #require(request.replyRoutingKey).count == 36)
        #expect(request.replyExchange == "reply.celery.pidbox")
        #expect(request.clock == 1)  // a fresh CLI process
        #expect(request.isAddressed(to: "w1@capture"))
        #expect(request.isAddressed(to: "caraway@anything"))
    }

    @Test("celery control revoke: task_id is a list, no terminate or signal")
    func controlRevoke() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_control_revoke"))
        #expect(request.method == "revoke")
        #expect(request.arguments == ["task_id": ["11111111-1111-4111-8111-111111111111"]])
        #expect(request.wantsReply)
    }

    @Test("celery control terminate SIGKILL: method terminate with signal and a task_id list")
    func controlTerminate() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_control_terminate"))
        #expect(request.method == "terminate")
        #expect(request.arguments["signal"] == "SIGKILL")
        #expect(request.arguments["task_id"] == ["22222222-2222-4222-8222-222222222222"])
        #expect(request.wantsReply)
    }

    @Test("app.control.revoke without reply is a cast: no ticket, no reply_to, task_id a string")
    func revokeCast() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_revoke_cast"))
        #expect(request.method == "revoke")
        #expect(request.arguments == ["task_id": "44444444-4444-4444-8444-444444444444", "terminate": false, "signal": "SIGTERM"])
        #expect(request.ticket == nil)
        #expect(request.replyRoutingKey == nil && request.replyExchange == nil)
        #expect(!request.wantsReply)
        #expect(request.clock > 1)
    }

    @Test("A worker's mingle hello names its node and carries its revoked list")
    func mingleHello() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_hello"))
        #expect(request.method == "hello")
        #expect(request.arguments == ["from_node": "w1@capture", "revoked": []])
        #expect(request.wantsReply)
    }

    @Test("A destination list addresses only the nodes it names")
    func capturedDestination() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_ping_destination"))
        #expect(request.destination == ["w1@capture"])
        #expect(request.isAddressed(to: "w1@capture"))
        #expect(!request.isAddressed(to: "w2@capture"))
        #expect(!request.isAddressed(to: "w1@capture2"))
    }

    @Test("A glob pattern with matcher glob addresses the nodes it matches")
    func capturedPattern() throws {
        let request = try ControlRequest.decode(ControlFixture.bytes("request_ping_pattern"))
        #expect(request.pattern == "w1@*")
        #expect(request.matcher == "glob")
        #expect(request.destination == nil)
        #expect(request.isAddressed(to: "w1@capture"))
        #expect(request.isAddressed(to: "w1@"))
        #expect(!request.isAddressed(to: "w2@capture"))
        #expect(!request.isAddressed(to: "xw1@capture"))
    }

    // MARK: our encoding

    @Test("Our encoded call carries the envelope, headers and body keys Celery's client sends")
    func encodedCallMatchesCeleryShape() throws {
        let python = try ControlFixture.envelope("request_inspect_ping")
        let pythonBody = try #require(ControlFixture.pythonBody("request_inspect_ping").objectValue)
        let request = ControlRequest(method: "ping", ticket: "t-1", replyRoutingKey: "oid-1", clock: 7)
        let ours = try #require(JSON.parse(request.encoded()).objectValue)
        #expect(ours.keySet == python.keySet)
        #expect(ours["content-type"] == "application/json")
        #expect(ours["content-encoding"] == "utf-8")
        #expect(try #require(ours["headers"]?.objectValue).keySet == ["clock", "expires"])
        #expect(ours["headers"]?["clock"] == 7)
        let properties = try #require(ours["properties"]?.objectValue)
        #expect(properties.keySet == python["properties"]?.objectValue?.keySet)
        #expect(properties["body_encoding"] == "base64")
        #expect(properties["delivery_info"] == ["exchange": "celery.pidbox", "routing_key": ""])
        #expect(properties["delivery_tag"]?.stringValue?.count == 36)
        let (_, body) = try FanoutEnvelope.decode(request.encoded())
        let object = try #require(body.objectValue)
        #expect(object.keySet == pythonBody.keySet)
        #expect(object["reply_to"] == ["exchange": "reply.celery.pidbox", "routing_key": "oid-1"])
        #expect(object["destination"] == .null && object["pattern"] == .null && object["matcher"] == .null)
    }

    @Test("Our encoded cast has the body keys of Celery's cast (no ticket, no reply_to)")
    func encodedCastMatchesCeleryShape() throws {
        let pythonBody = try #require(ControlFixture.pythonBody("request_revoke_cast").objectValue)
        let request = ControlRequest(method: "revoke", arguments: ["task_id": "x"], replyRoutingKey: "ignored-without-ticket")
        let (_, body) = try FanoutEnvelope.decode(request.encoded())
        #expect(try #require(body.objectValue).keySet == pythonBody.keySet)
        #expect(!(try ControlRequest.decode(request.encoded())).wantsReply)
    }

    @Test("Captured requests survive decode → encode → decode", arguments: ControlFixture.requestNames)
    func reencodesCaptured(_ name: String) throws {
        let request = try ControlRequest.decode(ControlFixture.bytes(name))
        #expect(try ControlRequest.decode(request.encoded()) == request)
    }

    @Test("encoded() round-trips every field")
    func roundTrip() throws {
        let requests = [
            ControlRequest(method: "ping"),
            ControlRequest(method: "revoke", arguments: ["task_id": ["a", "b"], "terminate": true, "signal": "SIGKILL"],
                           destination: ["n1@h", "n2@h"], ticket: "tk", replyRoutingKey: "oid", replyExchange: "reply.celery.pidbox",
                           clock: 42),
            ControlRequest(method: "stats", pattern: "n*@h", matcher: "glob", ticket: "tk2", replyRoutingKey: "oid2",
                           replyExchange: "reply.celery.pidbox", clock: 1),
            ControlRequest(method: "rate_limit", arguments: ["task_name": "t", "rate_limit": "10/m", "nested": ["a": [1, 2.5, nil]]]),
        ]
        for request in requests {
            #expect(try ControlRequest.decode(request.encoded()) == request)
        }
        // A custom control exchange renames the reply exchange too.
        let custom = ControlRequest(method: "ping", ticket: "t", replyRoutingKey: "o")
        #expect(try ControlRequest.decode(custom.encoded(exchange: "ops.pidbox")).replyExchange == "reply.ops.pidbox")
    }

    // MARK: addressing (kombu's Node.handle_message)

    @Test("isAddressed: destination list, glob pattern, or everyone")
    func addressing() {
        let everyone = ControlRequest(method: "ping")
        #expect(everyone.isAddressed(to: "a@h"))
        let emptyList = ControlRequest(method: "ping", destination: [])
        #expect(emptyList.isAddressed(to: "a@h"))  // Python: an empty list is falsy → every node

        let listed = ControlRequest(method: "ping", destination: ["a@h", "b@h"])
        #expect(listed.isAddressed(to: "a@h") && listed.isAddressed(to: "b@h"))
        #expect(!listed.isAddressed(to: "c@h"))
        #expect(!listed.isAddressed(to: "a@h2"))

        // The destination wins over a pattern (Python checks it first).
        let both = ControlRequest(method: "ping", destination: ["a@h"], pattern: "*", matcher: "glob")
        #expect(!both.isAddressed(to: "b@h"))

        let glob = ControlRequest(method: "ping", pattern: "worker-*@prod", matcher: "glob")
        #expect(glob.isAddressed(to: "worker-1@prod"))
        #expect(glob.isAddressed(to: "worker-@prod"))
        #expect(!glob.isAddressed(to: "worker-1@staging"))
        #expect(!glob.isAddressed(to: "beat@prod"))
        #expect(ControlRequest(method: "ping", pattern: "*", matcher: "glob").isAddressed(to: "anything"))
        #expect(ControlRequest(method: "ping", pattern: "*@h", matcher: "glob").isAddressed(to: "a@h"))
        #expect(ControlRequest(method: "ping", pattern: "a*b*c", matcher: "glob").isAddressed(to: "aXXbYYc"))
        #expect(!ControlRequest(method: "ping", pattern: "a*b*c", matcher: "glob").isAddressed(to: "aXXbYYcd"))

        // pcre is documented as understood only for literal names.
        let literal = ControlRequest(method: "ping", pattern: "a@h", matcher: "pcre")
        #expect(literal.isAddressed(to: "a@h"))
        #expect(!literal.isAddressed(to: "b@h"))
    }

    @Test("isAddressed: glob ? and [...] match as fnmatch does")
    func globWildcardsLikeFnmatch() {
        // kombu's glob matcher is fnmatch.fnmatch: `?` is any one character, `[12]` a class.
        let question = ControlRequest(method: "ping", pattern: "w?@capture", matcher: "glob")
        let bracket = ControlRequest(method: "ping", pattern: "w[12]@capture", matcher: "glob")
        #expect(question.isAddressed(to: "w1@capture"))
        #expect(bracket.isAddressed(to: "w2@capture"))
        #expect(!bracket.isAddressed(to: "w3@capture"))
    }

    @Test("isAddressed: a glob with many stars is matched in linear time, not by exponential backtracking")
    func globIsNotExponential() {
        // Anyone who can PUBLISH on the pidbox channel picks the pattern, and isAddressed runs on
        // the node's loop thread: 10 stars take ~1 s in a debug build (×5 per 2 more stars), so
        // `app.control.broadcast("ping", pattern="*" * 20 + "x", matcher="glob")` would freeze
        // every Caraway node for hours. fnmatch answers in microseconds.
        let request = ControlRequest(method: "ping", pattern: String(repeating: "*", count: 10) + "x", matcher: "glob")
        let clock = ContinuousClock()
        var addressed = true
        let elapsed = clock.measure { addressed = request.isAddressed(to: "caraway@host-1") }
        #expect(!addressed)
        #expect(elapsed < .milliseconds(50), "took \(elapsed)")
    }

    @Test("isAddressed: a pattern without a matcher addresses every node, as kombu does")
    func patternWithoutMatcher() {
        // kombu: `elif pattern and matcher:` — with matcher None it falls through to "run".
        let request = ControlRequest(method: "ping", pattern: "other@*", matcher: nil)
        #expect(request.isAddressed(to: "w1@capture"))
    }

    @Test("A destination of non-strings addresses no node, as in Python")
    func nonStringDestination() throws {
        // Python: `if destination: if hostname in destination` — [1] is truthy and holds no name.
        let body: JSON = ["method": "shutdown", "arguments": [:], "destination": [1, nil]]
        let raw = FanoutEnvelope.encode(body: body, headers: ["clock": 1], exchange: "celery.pidbox", routingKey: "")
        let request = try ControlRequest.decode(raw)
        #expect(!request.isAddressed(to: "w1@capture"))
    }

    // MARK: malformed input (decode throws, never traps)

    static func envelope(body: JSON, headers: JSON = ["clock": 1]) -> [UInt8] {
        let raw: JSON = ["body": .string(Base64.encodeToString(body.serialized())), "content-encoding": "utf-8",
                         "content-type": "application/json", "headers": headers,
                         "properties": ["body_encoding": "base64", "delivery_tag": "x"]]
        return raw.serialized()
    }

    /// Asserts that decoding `raw` throws exactly `expected`.
    static func expectRejected(_ raw: [UInt8], _ expected: ProtocolError, sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(expected, sourceLocation: sourceLocation) { () throws(ProtocolError) in try ControlRequest.decode(raw) }
    }

    @Test("Malformed requests throw a ProtocolError naming the problem")
    func malformed() {
        let cases: [(JSON, ProtocolError)] = [
            ([1, 2], .wrongType(field: "body", expected: "a JSON object")),
            ("ping", .wrongType(field: "body", expected: "a JSON object")),
            (["arguments": [:]], .missingField("method")),
            (["method": nil], .missingField("method")),
            (["method": 5], .wrongType(field: "method", expected: "a string or null")),
            (["method": "ping", "arguments": "x=1"], .wrongType(field: "arguments", expected: "an object or null")),
            (["method": "ping", "destination": 3], .wrongType(field: "destination", expected: "a list of node names or null")),
            (["method": "ping", "ticket": 3], .wrongType(field: "ticket", expected: "a string or null")),
            (["method": "ping", "ticket": "t", "reply_to": "oid"], .wrongType(field: "reply_to", expected: "an object or null")),
            (["method": "ping", "reply_to": ["routing_key": 1]],
             .wrongType(field: "reply_to.routing_key", expected: "a string or null")),
            (["method": "ping", "pattern": ["a"]], .wrongType(field: "pattern", expected: "a string or null")),
            (["method": "ping", "matcher": false], .wrongType(field: "matcher", expected: "a string or null")),
        ]
        for (body, expected) in cases {
            Self.expectRejected(Self.envelope(body: body), expected)
        }
        Self.expectRejected(Self.envelope(body: ["method": "ping"], headers: [1]),
                            .wrongType(field: "headers", expected: "an object or null"))
    }

    @Test("Envelope-level garbage throws: non-JSON, wrong types, bad base64, foreign serializers")
    func malformedEnvelopes() {
        expectInvalidJSON(at: 0) { () throws(ProtocolError) -> JSON in
            _ = try ControlRequest.decode(Array("not json".utf8))
            return .null
        }
        let cases: [(String, ProtocolError)] = [
            ("[1]", .wrongType(field: "envelope", expected: "a JSON object")),
            (#"{"headers":{}}"#, .missingField("body")),
            (#"{"body":{"method":"ping"},"properties":{"body_encoding":"base64"}}"#, .wrongType(field: "body", expected: "a string")),
            (#"{"body":"@@@@","properties":{"body_encoding":"base64"}}"#, .invalidBase64(offset: 0)),
            (#"{"body":"e30=","content-type":"application/x-python-serialize"}"#,
             .unsupportedContentType("application/x-python-serialize")),
            (#"{"body":"7b7d","properties":{"body_encoding":"hex"}}"#, .unsupportedBodyEncoding("hex")),
            (#"{"body":"e30=","properties":[]}"#, .wrongType(field: "properties", expected: "an object or null")),
        ]
        for (raw, expected) in cases {
            Self.expectRejected(Array(raw.utf8), expected)
        }
        // base64 that decodes to something other than JSON
        let notJSON = Base64.encodeToString(Array("ping!".utf8))
        do {
            _ = try ControlRequest.decode(Array(#"{"body":"\#(notJSON)","properties":{"body_encoding":"base64"}}"#.utf8))
            Issue.record("decoded a body that is not JSON")
        } catch {
            guard case .invalidJSON = error else { Issue.record("expected invalidJSON, got \(error)"); return }
        }
    }

    @Test("A utf-8 body (no base64) is accepted, as kombu accepts it")
    func plainBody() throws {
        let raw = Array(#"{"body":"{\"method\":\"ping\",\"arguments\":{}}","headers":{"clock":3},"#.utf8)
            + Array(#""properties":{"body_encoding":"utf-8"}}"#.utf8)
        let request = try ControlRequest.decode(raw)
        #expect(request.method == "ping" && request.clock == 3)
    }

    @Test("Mutated captured requests decode or throw, never trap")
    func mutationsNeverTrap() throws {
        var rng = SeededGenerator(seed: 0xC047_2001)
        var decoded = 0
        var rejected = 0
        for name in ControlFixture.requestNames {
            let original = try ControlFixture.bytes(name)
            for _ in 0..<300 {
                var bytes = original
                switch rng.next() % 4 {
                case 0: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
                case 1:
                    for _ in 0..<(1 + rng.next() % 4) {
                        bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                    }
                case 2:
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes.insert(contentsOf: Array(#"null,"\"#.utf8).shuffled(using: &rng), at: at)
                default:
                    // Mutate inside the base64 body, where the JSON decoder sees the damage.
                    let envelope = try #require(JSON.parse(original).objectValue)
                    var body = try Base64.decode(try #require(envelope["body"]?.stringValue))
                    body[Int(rng.next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: rng.next())
                    var copy = envelope
                    copy["body"] = .string(Base64.encodeToString(body))
                    bytes = JSON.object(copy).serialized()
                }
                do {
                    let request = try ControlRequest.decode(bytes)
                    _ = request.isAddressed(to: "w1@capture")
                    _ = request.encoded()
                    decoded += 1
                } catch {
                    _ = error.description
                    rejected += 1
                }
            }
        }
        #expect(decoded > 0 && rejected > 0)
    }
}
