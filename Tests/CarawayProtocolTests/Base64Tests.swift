import Testing

@testable import CarawayProtocol

@Suite("Base64")
struct Base64Tests {
    @Test("Encoding matches RFC 4648 test vectors")
    func vectors() throws {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
                       "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encodeToString(Array(plain.utf8)) == encoded)
            #expect(try Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test("Every byte value and length round-trips")
    func allBytes() throws {
        let bytes = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 3) }
        for length in 0..<40 {
            let slice = Array(bytes[0..<length])
            #expect(try Base64.decode(Base64.encode(slice)) == slice)
        }
        #expect(try Base64.decode(Base64.encode(bytes)) == bytes)
    }

    @Test("Missing padding is tolerated")
    func missingPadding() throws {
        #expect(try Base64.decode("Zg") == Array("f".utf8))
        #expect(try Base64.decode("Zm8") == Array("fo".utf8))
        #expect(try Base64.decode("Zm9vYg") == Array("foob".utf8))
    }

    @Test("Characters outside the alphabet are rejected with their offset")
    func invalidCharacters() {
        expectError(.invalidBase64(offset: 2)) { () throws(ProtocolError) in try Base64.decode("Zm 9v") }
        expectError(.invalidBase64(offset: 4)) { () throws(ProtocolError) in try Base64.decode("Zm9v\nYmFy") }
        expectError(.invalidBase64(offset: 3)) { () throws(ProtocolError) in try Base64.decode("Zm9-") }
        expectError(.invalidBase64(offset: 1)) { () throws(ProtocolError) in try Base64.decode("Z=9v") }
        expectError(.invalidBase64(offset: 5)) { () throws(ProtocolError) in try Base64.decode("Zm9vY_==") }
    }

    @Test("Impossible lengths and misplaced padding are rejected")
    func invalidLengths() {
        expectError(.invalidBase64(offset: 0)) { () throws(ProtocolError) in try Base64.decode("Z") }
        expectError(.invalidBase64(offset: 4)) { () throws(ProtocolError) in try Base64.decode("Zm9vY") }
        expectError(.invalidBase64(offset: 1)) { () throws(ProtocolError) in try Base64.decode("Z=") }
        expectError(.invalidBase64(offset: 4)) { () throws(ProtocolError) in try Base64.decode("Zm9v=") }
        expectError(.invalidBase64(offset: 0)) { () throws(ProtocolError) in try Base64.decode("====") }
    }

    @Test("Every captured Celery body decodes to a JSON array")
    func capturedBodies() throws {
        for name in Fixture.messageNames {
            let envelope = try JSON.parse(Fixture.bytes(name))
            let body = try #require(envelope["body"]?.stringValue)
            let payload = try JSON.parse(Base64.decode(body))
            #expect(payload.arrayValue?.count == 3, "\(name)")
            #expect(Base64.encodeToString(try Base64.decode(body)) == body, "\(name)")
        }
    }
}
