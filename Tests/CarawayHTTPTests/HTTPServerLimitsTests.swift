import CarawayLoop
import Testing
@testable import CarawayHTTP

@Suite struct HTTPServerLimitsTests {
    static func ok(_ request: HTTPRequest, _ responder: HTTPResponder) {
        responder.respond(.text("ok \(request.path)"))
    }

    /// A fresh request on a fresh connection still gets its 200 (invariant I5: the node goes on serving).
    static func expectServing(_ fixture: ServerFixture) throws {
        let client = fixture.client()
        client.send("GET /still HTTP/1.1\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 200 && response.text == "ok /still")
    }

    @Test func aMalformedRequestLineGets400NamingTheParserErrorAndIsClosed() throws {
        let fixture = try ServerFixture(handler: Self.ok)
        let client = fixture.client()
        client.send("GET /a b c\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 400)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("Connection") == "close")
        #expect(response.text.hasPrefix("{\"error\":"))
        #expect(response.text.contains("\"code\":\"HPE_"))
        client.shutdownWrite()
        #expect(client.waitForClose())
        try Self.expectServing(fixture)
        fixture.close()
    }

    @Test func aBadMethodIsAnsweredAfterTheGoodRequestsBeforeIt() throws {
        let fixture = try ServerFixture(handler: Self.ok)
        let client = fixture.client()
        client.send("GET /first HTTP/1.1\r\n\r\nBREW /pot HTTP/1.1\r\n\r\n")
        #expect(try #require(client.readResponse()).text == "ok /first")
        let refused = try #require(client.readResponse())
        #expect(refused.status == 400)
        #expect(refused.text.contains("HPE_INVALID_METHOD"))
        fixture.close()
    }

    @Test func anOversizedHeaderGets431AndTheServerKeepsServing() throws {
        let fixture = try ServerFixture(limits: .init(maxHeaderBytes: 1024), handler: Self.ok)
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 2000))\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 431)
        #expect(response.text.contains("HEADER_TOO_LARGE"))
        try Self.expectServing(fixture)
        fixture.close()
    }

    @Test func aHeaderJustUnderTheLimitIsAccepted() throws {
        let fixture = try ServerFixture(limits: .init(maxHeaderBytes: 1024), handler: Self.ok)
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 900))\r\n\r\n")
        #expect(try #require(client.readResponse()).status == 200)
        fixture.close()
    }

    @Test func anOversizedAnnouncedBodyGets413BeforeTheBodyIsSent() throws {
        var called = false
        let fixture = try ServerFixture(limits: .init(maxBodyBytes: 1024)) { _, responder in
            called = true
            responder.respond(.text("no"))
        }
        let client = fixture.client()
        client.send("POST /upload HTTP/1.1\r\nContent-Length: 2048\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 413)
        #expect(response.text.contains("BODY_TOO_LARGE"))
        #expect(!called)
        fixture.close()
    }

    @Test func anOversizedChunkedBodyGets413AndTheServerKeepsServing() throws {
        let fixture = try ServerFixture(limits: .init(maxBodyBytes: 1024), handler: Self.ok)
        let client = fixture.client()
        let chunk = String(repeating: "z", count: 600)
        // Sent after the answer would normally be a reset hazard: the server lingers and drains it.
        client.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 413)
        try Self.expectServing(fixture)
        fixture.close()
    }

    @Test func aSlowClientIsCutOffWith408AfterTheRequestTimeout() throws {
        let fixture = try ServerFixture(limits: .init(requestTimeout: .milliseconds(200)), handler: Self.ok)
        let client = fixture.client()
        let start = EventLoop.hrtime
        client.send("GET /slow HTTP/1.1\r\nHost: exa")
        let response = try #require(client.readResponse())
        let elapsed = Double(EventLoop.hrtime - start) / 1e6
        #expect(response.status == 408)
        #expect(response.text.contains("REQUEST_TIMEOUT"))
        #expect(elapsed >= 190 && elapsed < 1000, "408 after \(elapsed) ms")
        #expect(client.waitForClose())
        try Self.expectServing(fixture)
        fixture.close()
    }

    @Test func aClientThatNeverSendsIsClosedSilentlyAfterTheRequestTimeout() throws {
        let fixture = try ServerFixture(limits: .init(requestTimeout: .milliseconds(100)), handler: Self.ok)
        let client = fixture.client()
        #expect(client.waitForClose())
        #expect(client.received.isEmpty)
        fixture.close()
    }

    @Test func trickledBytesDoNotExtendTheRequestTimeout() throws {
        let fixture = try ServerFixture(limits: .init(requestTimeout: .milliseconds(200)), handler: Self.ok)
        let client = fixture.client()
        let start = EventLoop.hrtime
        for byte in "GET /trickle HTTP/1.1\r\n".utf8 {
            client.send([byte])
            let answered = TestClient.drive(fixture.loop, [client], timeout: 0.02) { !client.received.isEmpty }
            if answered { break }
        }
        let response = try #require(client.readResponse())
        let elapsed = Double(EventLoop.hrtime - start) / 1e6
        #expect(response.status == 408)
        #expect(elapsed < 400, "408 after \(elapsed) ms")
        fixture.close()
    }

    @Test func anIdleKeepAliveConnectionIsClosedSilently() throws {
        let fixture = try ServerFixture(limits: .init(idleTimeout: .milliseconds(100)), handler: Self.ok)
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\n\r\n")
        #expect(try #require(client.readResponse()).status == 200)
        #expect(client.waitForClose())
        #expect(client.received.isEmpty)
        fixture.close()
    }

    @Test func connectionsBeyondTheLimitGet503AndTheOthersAreServed() throws {
        let fixture = try ServerFixture(limits: .init(maxConnections: 2), handler: Self.ok)
        let first = fixture.client()
        let second = fixture.client()
        TestClient.drive(fixture.loop, []) { fixture.server.connectionCount == 2 }
        let third = fixture.client()
        third.send("GET / HTTP/1.1\r\n\r\n")
        let refused = try #require(third.readResponse())
        #expect(refused.status == 503)
        #expect(refused.text.contains("OVERLOADED"))
        third.shutdownWrite()
        #expect(third.waitForClose())
        for client in [first, second] {
            client.send("GET /x HTTP/1.1\r\n\r\n")
            #expect(try #require(client.readResponse()).status == 200)
        }
        fixture.close()
    }
}
