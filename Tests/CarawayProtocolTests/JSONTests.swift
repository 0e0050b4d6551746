import Testing

@testable import CarawayProtocol

@Suite("JSON parsing and serialization")
struct JSONTests {
    @Test("Compact serialization writes no whitespace and keeps key order")
    func compactSerialization() throws {
        let value = try JSON.parse(#"{ "b" : [2, 3.50] , "a" : {"z": null, "y": true} }"#)
        #expect(value.serializedString() == #"{"b":[2,3.50],"a":{"z":null,"y":true}}"#)
    }

    @Test("Numbers keep their literal text through a round trip")
    func numbersKeepText() throws {
        let text = #"[1.0,1e400,-0,123456789012345678901234567890,1E+5,2.5e-3,0.1]"#
        #expect(try JSON.parse(text).serializedString() == text)
    }

    @Test("Python's NaN and Infinity extensions are accepted and written back")
    func nonFiniteNumbers() throws {
        let value = try JSON.parse("[NaN,Infinity,-Infinity]")
        #expect(value[0]?.doubleValue?.isNaN == true)
        #expect(value[1]?.doubleValue == .infinity)
        #expect(value[2]?.doubleValue == -.infinity)
        #expect(value.serializedString() == "[NaN,Infinity,-Infinity]")
    }

    @Test("Escapes decode, including surrogate pairs Python writes for emoji")
    func escapes() throws {
        let value = try JSON.parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u2713", "\ud83d\ude00", "\u0000"]"#)
        #expect(value[0]?.stringValue == "a\"b\\c/d\u{8}\u{c}\n\r\t")
        #expect(value[1]?.stringValue == "é✓")
        #expect(value[2]?.stringValue == "😀")
        #expect(value[3]?.stringValue == "\u{0}")
    }

    @Test("Serialization escapes quotes, backslashes and control characters but writes non-ASCII raw")
    func serializationEscapes() {
        let value: JSON = ["q\"b\\n\n\t\u{1}\u{1f}", "héllo 😀"]
        #expect(value.serializedString() == #"["q\"b\\n\n\t\u0001\u001f","héllo 😀"]"#)
    }

    @Test("Unicode round-trips byte for byte when written raw")
    func unicodeRoundTrip() throws {
        let text = #"{"ключ":"значение","emoji":"😀","cjk":"漢字"}"#
        #expect(try JSON.parse(text).serializedString() == text)
        #expect(try JSON.parse(Array(text.utf8)).serialized() == Array(text.utf8))
    }

    @Test("Raw UTF-8 in strings is validated")
    func invalidUTF8() {
        expectInvalidJSON(at: 2) { () throws(ProtocolError) in try JSON.parse([0x5B, 0x22, 0xFF, 0x22, 0x5D]) }
        // Overlong encoding of '/', and a UTF-8-encoded surrogate (U+D800).
        expectInvalidJSON(at: 1) { () throws(ProtocolError) in try JSON.parse([0x22, 0xC0, 0xAF, 0x22]) }
        expectInvalidJSON(at: 1) { () throws(ProtocolError) in try JSON.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        expectInvalidJSON(at: 1) { () throws(ProtocolError) in try JSON.parse([0x22, 0xE2, 0x9C]) }
    }

    @Test("Malformed documents are rejected with the byte offset of the problem")
    func malformed() {
        let cases: [(String, Int)] = [
            ("", 0), ("   ", 3), ("[1,]", 3), ("[1 2]", 3), ("{\"a\" 1}", 5), ("{\"a\":1,}", 7), ("{1:2}", 1),
            ("[01]", 2), ("1.", 0), ("-", 0), ("1e", 0), ("tru", 0), ("nul", 0), ("[\"a\nb\"]", 3),
            ("\"abc", 0), ("[\"\\x\"]", 2), ("[\"\\u12G4\"]", 6), ("{\"a\":1} x", 8), ("[] []", 3), ("'a'", 0),
            ("[\"\\ud800\"]", 2), ("[\"\\udc00\"]", 2), ("[\"\\ud800\\u0041\"]", 2), ("+1", 0), ("[", 1),
            ("\u{FEFF}[]", 0),
        ]
        for (text, offset) in cases {
            expectInvalidJSON(at: offset) { () throws(ProtocolError) in try JSON.parse(text) }
        }
    }

    @Test("Nesting deeper than the limit is rejected instead of overflowing the stack")
    func depthLimit() throws {
        let ok = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        _ = try JSON.parse(ok)
        let deep = String(repeating: "[", count: 100_000)
        expectInvalidJSON(at: JSON.maximumDepth) { () throws(ProtocolError) in try JSON.parse(deep) }
        let deepObjects = String(repeating: "{\"a\":", count: JSON.maximumDepth + 1)
        #expect(throws: ProtocolError.self) { try JSON.parse(deepObjects) }
    }

    @Test("Scalars, whitespace and empty containers parse at top level")
    func scalars() throws {
        #expect(try JSON.parse(" \t\r\n42 ") == 42)
        #expect(try JSON.parse("\"x\"") == "x")
        #expect(try JSON.parse("true") == true)
        #expect(try JSON.parse("null") == .null)
        #expect(try JSON.parse("[]") == [])
        #expect(try JSON.parse("{}") == [:])
    }

    @Test("Slices and unsafe buffers parse like arrays")
    func inputKinds() throws {
        let bytes = Array("xx[1,2]yy".utf8)
        #expect(try JSON.parse(bytes[2..<7]) == [1, 2])
        let fromBuffer = try bytes[2..<7].withUnsafeBytes { try JSON.parse($0) }
        #expect(fromBuffer == [1, 2])
    }

    @Test("Duplicate keys keep the first position and the last value, like a Python dict")
    func duplicateKeys() throws {
        let value = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.serializedString() == #"{"a":3,"b":2}"#)
    }

    @Test("Accessors return values only for the matching type")
    func accessors() {
        let value: JSON = ["s": "text", "i": 3, "d": 2.5, "b": false, "n": nil, "a": [1], "o": ["k": "v"]]
        #expect(value["s"]?.stringValue == "text")
        #expect(value["i"]?.intValue == 3)
        #expect(value["i"]?.doubleValue == 3)
        #expect(value["d"]?.doubleValue == 2.5)
        #expect(value["d"]?.intValue == nil)
        #expect(value["b"]?.boolValue == false)
        #expect(value["n"]?.isNull == true)
        #expect(value["a"]?.arrayValue == [1])
        #expect(value["o"]?.objectValue?["k"] == "v")
        #expect(value["s"]?.intValue == nil)
        #expect(value["missing"] == nil)
        #expect(value["a"]?[0] == 1)
        #expect(value["a"]?[5] == nil)
        #expect(JSON.string("x")["k"] == nil)
    }

    @Test("Literals build the expected cases")
    func literals() {
        let value: JSON = [nil, true, 1, 1.5, "s", [2], ["k": 3]]
        #expect(value == .array([.null, .bool(true), .number(JSONNumber(1)), .number(JSONNumber(1.5)),
                                 .string("s"), .array([.number(JSONNumber(2))]),
                                 .object(JSONObject([("k", .number(JSONNumber(3)))]))]))
        #expect(JSON(Optional<String>.none) == .null)
        #expect(JSON(16.0).serializedString() == "16.0")
    }

    @Test("A large real message parses and serializes back to an equal value")
    func realMessageRoundTrip() throws {
        for name in Fixture.messageNames {
            let value = try JSON.parse(Fixture.bytes(name))
            #expect(try JSON.parse(value.serialized()) == value, "\(name)")
        }
    }
}
