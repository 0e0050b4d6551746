import Testing

@testable import CarawayProtocol

@Suite("JSONObject typed field reads")
struct JSONObjectFieldsTests {
    let object: JSONObject = ["s": "x", "i": 3, "f": 1.5, "b": true, "n": nil, "o": ["k": 1], "a": [1],
                              "t": "2030-01-03T00:00:00+00:00"]

    @Test("Absent and null fields both read as nil")
    func absentAndNull() throws {
        #expect(try object.optionalString("missing", path: "p") == nil)
        #expect(try object.optionalString("n", path: "p") == nil)
        #expect(try object.optionalInt("n", path: "p") == nil)
        #expect(try object.optionalTimestamp("n", path: "p") == nil)
    }

    @Test("Present fields of the right type are returned")
    func present() throws {
        #expect(try object.optionalString("s", path: "p") == "x")
        #expect(try object.optionalInt("i", path: "p") == 3)
        #expect(try object.optionalDouble("i", path: "p") == 3)
        #expect(try object.optionalDouble("f", path: "p") == 1.5)
        #expect(try object.optionalBool("b", path: "p") == true)
        #expect(try object.optionalObject("o", path: "p") == ["k": 1])
        #expect(try object.optionalArray("a", path: "p") == [1])
        #expect(try object.optionalTimestamp("t", path: "p") == 1_893_628_800)
    }

    @Test("A wrong type is an error naming the dotted path")
    func wrongType() {
        expectError(.wrongType(field: "headers.s", expected: "an integer or null")) { () throws(ProtocolError) in
            try object.optionalInt("s", path: "headers.s")
        }
        expectError(.wrongType(field: "headers.f", expected: "an integer")) { () throws(ProtocolError) in
            try object.optionalInt("f", path: "headers.f")
        }
        expectError(.wrongType(field: "x", expected: "an object or null")) { () throws(ProtocolError) in
            try object.optionalObject("a", path: "x")
        }
        expectError(.invalidDate("x")) { () throws(ProtocolError) in try object.optionalTimestamp("s", path: "p") }
    }
}
