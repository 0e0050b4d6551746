import Testing
@testable import CarawayHTTP

@Suite struct HTTPResponseTests {
    static func wire(_ response: HTTPResponse, keepAlive: Bool = true, announce: Bool = false, head: Bool = false) -> String {
        String(decoding: response.wireBytes(keepAlive: keepAlive, announceKeepAlive: announce, headRequest: head),
               as: UTF8.self)
    }

    @Test func aResponseCarriesStatusLineServerAndContentLength() {
        #expect(Self.wire(.text("hi")) ==
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nServer: caraway\r\nContent-Length: 2\r\n\r\nhi")
    }

    @Test func theServerOwnsTheFramingHeaders() {
        let response = HTTPResponse(status: 201, headers: [
            ("content-length", "999"), ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"), ("Server", "other"),
        ], body: Array("abc".utf8))
        #expect(Self.wire(response, keepAlive: false) ==
            "HTTP/1.1 201 Created\r\nServer: other\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
    }

    @Test func anHTTP10KeepAliveIsAnnounced() {
        #expect(Self.wire(.text(""), announce: true).contains("Connection: keep-alive\r\n"))
    }

    @Test func noContentAndNotModifiedCarryNeitherLengthNorBody() {
        let wire = Self.wire(HTTPResponse(status: 204, body: Array("dropped".utf8)))
        #expect(wire == "HTTP/1.1 204 No Content\r\nServer: caraway\r\n\r\n")
        #expect(!Self.wire(HTTPResponse(status: 304)).contains("Content-Length"))
    }

    @Test func aHEADAnswerKeepsTheLengthAndDropsTheBody() {
        #expect(Self.wire(.text("four"), head: true).hasSuffix("Content-Length: 4\r\n\r\n"))
    }

    @Test func lineBreaksInHeadersCannotSplitTheResponse() {
        let wire = Self.wire(HTTPResponse(status: 200, headers: [("X-A", "1\r\nSet-Cookie: evil")]))
        #expect(wire.contains("X-A: 1 Set-Cookie: evil\r\n"))
    }

    @Test func anImpossibleStatusBecomes500AndAnUnknownOneKeepsItsCode() {
        #expect(Self.wire(HTTPResponse(status: 42)).hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
        #expect(Self.wire(HTTPResponse(status: 299)).hasPrefix("HTTP/1.1 299 Status\r\n"))
    }

    @Test func theErrorShapeIsValidJSONWhateverTheMessage() {
        let response = HTTPResponse.error(status: 400, "bad \"quote\" \\ and \u{1}", code: "X")
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"error":"bad \"quote\" \\ and \u0001","code":"X"}"#)
        #expect(response.header("content-type") == "application/json")
    }

    @Test func aHandlerCanAskToClose() {
        #expect(HTTPResponse(status: 200, headers: [("Connection", "Keep-Alive, Close")]).asksToClose)
        #expect(!HTTPResponse(status: 200).asksToClose)
    }
}
