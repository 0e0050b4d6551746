import Testing
@testable import CarawayHTTP

@Suite struct HTTPServerFuzzTests {
    /// Invariant I5 at the socket level: no byte sequence crashes the server or wedges a
    /// connection, and a well-formed request is answered afterwards.
    @Test func thousandsOfRandomByteStringsLeaveTheServerServing() throws {
        let router = RouterTests.sampleRouter()
        let fixture = try ServerFixture(limits: .init(maxHeaderBytes: 512, maxBodyBytes: 512), handler: router.handle)
        var random = SeededRandom(seed: 0xCA7A_F022)
        let total = 3000
        let batch = 50
        var statuses: [Int: Int] = [:]
        for _ in 0..<(total / batch) {
            let clients = (0..<batch).map { _ in fixture.client() }
            for client in clients {
                client.send(random.fuzzInput())
                client.shutdownWrite()  // what a client does when done: the server must not wait for more
            }
            let allClosed = TestClient.drive(fixture.loop, clients) { clients.allSatisfy(\.isClosedByServer) }
            #expect(allClosed, "a connection stayed open after its client finished")
            for client in clients {
                var rest = client.received
                while let (response, length) = TestResponse.parse(rest) {
                    statuses[response.status, default: 0] += 1
                    rest.removeFirst(length)
                }
            }
        }
        TestClient.drive(fixture.loop, []) { fixture.server.connectionCount == 0 }
        #expect(fixture.server.connectionCount == 0)
        // The mix must have reached past the parser (200/404/405) and been refused by it (400).
        #expect(statuses[400, default: 0] > 0)
        #expect(statuses[200, default: 0] + statuses[404, default: 0] + statuses[405, default: 0] > 0)
        #expect(Set(statuses.keys).isSubset(of: [100, 200, 400, 404, 405, 413, 431]), "\(statuses)")

        let client = fixture.client()
        client.send("GET /inspect/active HTTP/1.1\r\n\r\n")
        #expect(try #require(client.readResponse()).text == "active")
        fixture.close()
    }
}
