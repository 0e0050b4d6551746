import Testing
@testable import CarawayHTTP

@Suite struct RequestTargetTests {
    @Test func theQueryIsSplitOffAndDecoded() {
        let (path, query) = RequestTarget.split("/api/v1/executions?task=caraway.add&since=2024-01-01T00%3A00&q=a+b#frag")
        #expect(path == "/api/v1/executions")
        #expect(query == ["task": "caraway.add", "since": "2024-01-01T00:00", "q": "a b"])
    }

    @Test func thePathKeepsItsPercentEncoding() {
        #expect(RequestTarget.split("/a%2Fb/c").path == "/a%2Fb/c")
    }

    @Test func malformedEscapesAreKeptLiterally() {
        #expect(RequestTarget.percentDecode("100%", plusAsSpace: false) == "100%")
        #expect(RequestTarget.percentDecode("%zz%4", plusAsSpace: false) == "%zz%4")
        #expect(RequestTarget.percentDecode("%C3%A9", plusAsSpace: false) == "é")
    }

    @Test func aRepeatedNameKeepsItsFirstValue() {
        #expect(RequestTarget.decodeQuery("x=1&x=2&&y") == ["x": "1", "y": ""])
    }

    @Test func headerLookupIgnoresCase() {
        let request = HTTPRequest(method: "GET", path: "/", headers: [("X-Node", "a"), ("x-node", "b")])
        #expect(request.header("X-NODE") == "a")
        #expect(request.header("X-Nod") == nil)
    }
}
