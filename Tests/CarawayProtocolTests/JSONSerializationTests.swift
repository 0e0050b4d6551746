import Testing

@testable import CarawayProtocol

@Suite("JSON serialization")
struct JSONSerializationTests {
    @Test("Compact serialization writes no whitespace and keeps key order")
    func compactSerialization() throws {
        let value = try JSON.parse(#"{ "b" : [2, 3.50] , "a" : {"z": null, "y": true} }"#)
        #expect(value.serializedString() == #"{"b":[2,3.50],"a":{"z":null,"y":true}}"#)
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

    @Test("A large real message parses and serializes back to an equal value")
    func realMessageRoundTrip() throws {
        for name in Fixture.messageNames {
            let value = try JSON.parse(Fixture.bytes(name))
            #expect(try JSON.parse(value.serialized()) == value, "\(name)")
        }
    }
}
