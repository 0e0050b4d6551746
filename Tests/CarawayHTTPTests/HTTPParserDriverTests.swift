import Testing
@testable import CarawayHTTP

@Suite struct HTTPParserDriverTests {
    static func driver(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024) -> HTTPParserDriver {
        HTTPParserDriver(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    }

    /// Feeds `input` in pieces of `pieceSize` bytes, re-feeding what the driver did not consume
    /// (as the connection does), and collects every outcome.
    static func feed(_ driver: HTTPParserDriver, _ input: [UInt8], pieceSize: Int = .max) -> [HTTPParserDriver.Outcome] {
        var outcomes: [HTTPParserDriver.Outcome] = []
        var pending: [UInt8] = []
        var offset = 0
        while offset < input.count {
            let end = offset + min(pieceSize, input.count - offset)
            pending += input[offset..<end]
            offset = end
            while !pending.isEmpty {
                let (consumed, outcome) = pending.withUnsafeBytes { driver.parse($0) }
                pending.removeFirst(consumed)
                guard let outcome else { break }  // needs more input
                outcomes.append(outcome)
                if case .failure = outcome { return outcomes }
            }
        }
        return outcomes
    }

    static func requests(_ outcomes: [HTTPParserDriver.Outcome]) -> [HTTPRequest] {
        outcomes.compactMap { if case .request(let request) = $0 { request } else { nil } }
    }

    static let sample = Array((
        "POST /api/v1/tasks?queue=high%20prio&x=1&x=2&flag HTTP/1.1\r\n" +
        "Host: node-a\r\nX-Trace:  abc  \r\ncontent-length: 5\r\n\r\nhello" +
        "GET /two HTTP/1.1\r\nConnection: close\r\n\r\n").utf8)

    @Test func aRequestIsCopiedOutWithDecodedQueryAndOrderedHeaders() throws {
        let requests = Self.requests(Self.feed(Self.driver(), Self.sample))
        try #require(requests.count == 2)
        let post = requests[0]
        #expect(post.method == "POST")
        #expect(post.path == "/api/v1/tasks")
        #expect(post.query == ["queue": "high prio", "x": "1", "flag": ""])
        #expect(post.headers.map(\.name) == ["Host", "X-Trace", "content-length"])
        #expect(post.header("x-trace") == "abc")
        #expect(post.header("Content-Length") == "5")
        #expect(post.body == Array("hello".utf8))
        #expect(post.keepAlive)
        #expect(post.version == .http1_1)
        #expect(requests[1].path == "/two")
        #expect(!requests[1].keepAlive)
    }

    @Test func everySplitOfTheInputYieldsTheSameRequests() {
        for pieceSize in [1, 2, 3, 7, 64] {
            let requests = Self.requests(Self.feed(Self.driver(), Self.sample, pieceSize: pieceSize))
            #expect(requests.map(\.path) == ["/api/v1/tasks", "/two"], "piece size \(pieceSize)")
            #expect(requests.first?.body == Array("hello".utf8), "piece size \(pieceSize)")
            #expect(requests.first?.header("Host") == "node-a", "piece size \(pieceSize)")
        }
    }

    @Test func theParserStopsAfterEachRequestSoTheConnectionDecidesWhatComesNext() {
        let driver = Self.driver()
        let (consumed, outcome) = Self.sample.withUnsafeBytes { driver.parse($0) }
        guard case .request(let first)? = outcome else {
            Issue.record("expected a request, got \(String(describing: outcome))")
            return
        }
        #expect(first.path == "/api/v1/tasks")
        #expect(consumed == Self.sample.count - "GET /two HTTP/1.1\r\nConnection: close\r\n\r\n".utf8.count)
    }

    @Test func absoluteFormTargetsAreReducedToTheirPath() {
        let requests = Self.requests(Self.feed(Self.driver(), Array("GET http://node:8080/health?x=1 HTTP/1.1\r\n\r\n".utf8)))
        #expect(requests.first?.path == "/health")
        #expect(requests.first?.query == ["x": "1"])
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nBad Header\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"),
        ("FOO / HTTP/1.1\r\n\r\n", "HPE_INVALID_METHOD"),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "HPE_UNEXPECTED_CONTENT_LENGTH"),
        ("GET / HTTP/1.1x\r\n\r\n", "HPE_INVALID_VERSION"),
        ("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HPE_INVALID_CHUNK_SIZE"),
    ])
    func malformedInputIsAFailureNamingTheParserError(input: String, code: String) {
        let outcomes = Self.feed(Self.driver(), Array(input.utf8))
        guard case .failure(let failure)? = outcomes.last else {
            Issue.record("no failure for \(input.debugDescription)")
            return
        }
        #expect(failure.status == 400)
        #expect(failure.code == code)
        #expect(!failure.message.isEmpty)
    }

    @Test func headerBytesOverTheLimitFailWith431() {
        let input = "GET / HTTP/1.1\r\nA: \(String(repeating: "x", count: 100))\r\n\r\n"
        guard case .failure(let failure)? = Self.feed(Self.driver(maxHeaderBytes: 64), Array(input.utf8), pieceSize: 10).last else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.status == 431)
    }

    @Test func aFailedDriverStaysFailed() {
        let driver = Self.driver()
        _ = Self.feed(driver, Array("FOO / HTTP/1.1\r\n\r\n".utf8))
        #expect(driver.hasFailed)
        let (consumed, outcome) = Array("GET / HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { driver.parse($0) }
        #expect(consumed == 0 && outcome == nil)
    }

    @Test func expectContinueIsFlaggedUntilTheBodyStarts() {
        let driver = Self.driver()
        _ = Self.feed(driver, Array("PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n".utf8))
        #expect(driver.awaitsContinue)
        _ = Self.feed(driver, Array("abc".utf8))
        #expect(!driver.awaitsContinue)
    }

    @Test func randomBytesNeverCrashTheParser() {
        var random = SeededRandom(seed: 0xCA7A_0001)
        for _ in 0..<20_000 {
            let driver = Self.driver(maxHeaderBytes: 256, maxBodyBytes: 256)
            let input = random.fuzzInput()
            _ = Self.feed(driver, input, pieceSize: Int.random(in: 1...64, using: &random))
        }
    }
}
