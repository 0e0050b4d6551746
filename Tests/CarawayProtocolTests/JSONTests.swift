import Testing

@testable import CarawayProtocol

@Suite("JSON values")
struct JSONTests {
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
}
