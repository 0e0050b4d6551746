import Testing

@testable import CarawayProtocol

@Suite("ProtocolError")
struct ProtocolErrorTests {
    @Test("Descriptions are sentences that name the context")
    func descriptions() {
        let cases: [(ProtocolError, String)] = [
            (.invalidJSON(offset: 7, reason: "unterminated string"), "byte 7"),
            (.missingField("headers.id"), "headers.id"),
            (.wrongType(field: "body.args", expected: "an array"), "body.args"),
            (.unsupportedContentType("application/x-msgpack"), "task_serializer"),
            (.unsupportedCompression("application/x-gzip"), "task_compression"),
            (.unsupportedBodyEncoding("hex"), "hex"),
            (.invalidBase64(offset: 3), "offset 3"),
            (.invalidDate("soon"), "soon"),
            (.notProtocolV2, "protocol v1"),
            (.unsupportedSignature("a chord"), "a chord"),
        ]
        for (error, fragment) in cases {
            #expect(error.description.contains(fragment), "\(error.description)")
            #expect(error.description.hasSuffix("."))
            #expect(error.description.first?.isUppercase == true || error.description.first == "`")
        }
    }
}
