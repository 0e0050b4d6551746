import CarawayLoop
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CarawayHTTP

@Suite struct HTTPServerTests {
    /// Echoes method, path and body; `/slow/{ms}` answers after a timer, to exercise late answers.
    static func echo(loop: EventLoop) -> (HTTPRequest, HTTPResponder) -> Void {
        { request, responder in
            let answer = HTTPResponse.text("\(request.method) \(request.path) \(String(decoding: request.body, as: UTF8.self))")
            if request.path.hasPrefix("/slow/"), let delay = UInt64(request.path.dropFirst(6)) {
                LoopTimer.once(loop: loop, after: delay) { responder.respond(answer) }
            } else {
                responder.respond(answer)
            }
        }
    }

    @Test func aKeepAliveConnectionAnswersTwoRequestsInTurn() throws {
        let fixture = try ServerFixture(makeHandler: Self.echo)
        let client = fixture.client()
        client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try #require(client.readResponse())
        client.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        let second = try #require(client.readResponse())
        #expect(first.status == 200 && first.text == "GET /one ")
        #expect(second.status == 200 && second.text == "GET /two ")
        #expect(first.header("Connection") == nil)
        #expect(first.header("Server") == "caraway")
        #expect(!client.isClosedByServer)
        #expect(fixture.server.connectionCount == 1)
        fixture.close()
    }

    @Test func pipelinedRequestsAreAnsweredInRequestOrderEvenWhenHandlersFinishOutOfOrder() throws {
        let fixture = try ServerFixture(makeHandler: Self.echo)
        let client = fixture.client()
        // The first answer comes 30 ms late, the others at once: the order on the wire must not change.
        client.send("GET /slow/30 HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /d HTTP/1.1\r\n\r\n")
        var texts: [String] = []
        for _ in 0..<4 {
            texts.append(try #require(client.readResponse()).text)
        }
        #expect(texts == ["GET /slow/30 ", "GET /b ", "POST /c hi", "GET /d "])
        fixture.close()
    }

    @Test func aPostBodyArrivesIntactAndTheJSONAnswerCarriesItsLength() throws {
        var seen: [UInt8] = []
        let fixture = try ServerFixture { request, responder in
            seen = request.body
            responder.respond(.json(status: 201, "{\"size\":\(request.body.count)}"))
        }
        let body = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let client = fixture.client()
        client.send(Array("POST /api/v1/tasks HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n".utf8) + body)
        let response = try #require(client.readResponse())
        #expect(seen == body)
        #expect(response.status == 201)
        #expect(response.text == "{\"size\":5000}")
        #expect(response.header("Content-Length") == "13")
        #expect(response.header("Content-Type") == "application/json")
        fixture.close()
    }

    @Test func aChunkedBodyIsDeliveredDechunked() throws {
        var seen = ""
        let fixture = try ServerFixture { request, responder in
            seen = String(decoding: request.body, as: UTF8.self)
            responder.respond(.text("ok"))
        }
        let client = fixture.client()
        client.send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(try #require(client.readResponse()).status == 200)
        #expect(seen == "hello world")
        fixture.close()
    }

    @Test func aFloodOfPipelinedRequestsIsAnsweredInFullAndInOrder() throws {
        let fixture = try ServerFixture { loop in
            { request, responder in
                // Answer from a later loop turn so answers pile up past the pipelining bound.
                LoopTimer.once(loop: loop, after: 0) { responder.respond(.text(request.path)) }
            }
        }
        let client = fixture.client()
        client.send((0..<100).map { "GET /\($0) HTTP/1.1\r\n\r\n" }.joined())
        for index in 0..<100 {
            #expect(try #require(client.readResponse()).text == "/\(index)")
        }
        fixture.close()
    }

    @Test func aClientThatDoesNotReadStopsBeingServedUntilItDoes() throws {
        let payload = [UInt8](repeating: 0x61, count: 1024 * 1024)
        var handled = 0
        let fixture = try ServerFixture { request, responder in
            handled += 1
            responder.respond(HTTPResponse(status: 200, headers: [("X-Path", request.path)], body: payload))
        }
        let client = fixture.client()
        let requests = Array((0..<30).map { "GET /\($0) HTTP/1.1\r\n\r\n" }.joined().utf8)
        #expect(requests.withUnsafeBytes { send(client.fd, $0.baseAddress, $0.count, 0) } == requests.count)
        // 30 MiB of answers cannot all sit in socket buffers: the server must stop parsing.
        for _ in 0..<200 { fixture.loop.runOnce() }
        #expect(handled < 30)
        for index in 0..<30 {
            let response = try #require(client.readResponse())
            #expect(response.header("X-Path") == "/\(index)" && response.body.count == payload.count)
        }
        #expect(handled == 30)
        fixture.close()
    }

    @Test func aClientResettingDuringALargeAnswerDoesNotKillTheProcess() throws {
        // Writing to a reset socket raises SIGPIPE, whose default action ends the process.
        let payload = [UInt8](repeating: 0x62, count: 8 * 1024 * 1024)
        let fixture = try ServerFixture { _, responder in responder.respond(HTTPResponse(status: 200, body: payload)) }
        let client = fixture.client()
        client.send("GET /big HTTP/1.1\r\n\r\n")
        client.shutdownWrite()  // the server's socket is now in CLOSE_WAIT, where a reset turns writes into EPIPE
        TestClient.drive(fixture.loop, [client]) { client.received.count > 64 * 1024 }
        client.reset()
        TestClient.drive(fixture.loop, []) { fixture.server.connectionCount == 0 }
        #expect(fixture.server.connectionCount == 0)
        let next = fixture.client()
        next.send("GET /after HTTP/1.1\r\n\r\n")
        #expect(try #require(next.readResponse()).body.count == payload.count)
        fixture.close()
    }

    @Test func anUpgradeRequestIsAnsweredAndTheConnectionClosed() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("no upgrades")) }
        let client = fixture.client()
        client.send("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}binary")
        let response = try #require(client.readResponse())
        #expect(response.text == "no upgrades" && response.header("Connection") == "close")
        #expect(client.waitForClose())
        fixture.close()
    }

    @Test func connectionCloseEndsTheConnectionAfterTheAnswer() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("bye")) }
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.text == "bye")
        #expect(response.header("Connection") == "close")
        #expect(client.waitForClose())
        #expect(client.received.isEmpty)  // the request after `Connection: close` was not answered
        fixture.close()
    }

    @Test func anHTTP10RequestClosesUnlessItAsksForKeepAlive() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("ok")) }
        let plain = fixture.client()
        plain.send("GET / HTTP/1.0\r\n\r\n")
        #expect(try #require(plain.readResponse()).header("Connection") == "close")
        #expect(plain.waitForClose())

        let keepAlive = fixture.client()
        keepAlive.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try #require(keepAlive.readResponse()).header("Connection") == "keep-alive")
        keepAlive.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try #require(keepAlive.readResponse()).status == 200)
        fixture.close()
    }

    @Test func aHandlerAskingForCloseEndsTheConnection() throws {
        let fixture = try ServerFixture { _, responder in
            responder.respond(HTTPResponse(status: 200, headers: [("Connection", "close")], body: Array("x".utf8)))
        }
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\n\r\n")
        #expect(try #require(client.readResponse()).header("Connection") == "close")
        #expect(client.waitForClose())
        fixture.close()
    }

    @Test func requestsPipelinedBehindAnAnswerThatClosesAreNotHandled() throws {
        var handled: [String] = []
        let fixture = try ServerFixture { request, responder in
            handled.append(request.path)
            responder.respond(HTTPResponse(status: 200, headers: [("Connection", "close")]))
        }
        let client = fixture.client()
        client.send("GET /first HTTP/1.1\r\n\r\nPOST /side-effect HTTP/1.1\r\n\r\n")
        #expect(try #require(client.readResponse()).status == 200)
        #expect(client.waitForClose())
        #expect(handled == ["/first"])
        fixture.close()
    }

    @Test func aHEADAnswerAnnouncesTheLengthButSendsNoBody() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("twelve bytes")) }
        let client = fixture.client()
        client.send("HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        // Our test parser would read the GET's body as the HEAD's if the HEAD answer carried one.
        let head = try #require(client.readResponse(headOnly: true))
        #expect(head.status == 200 && head.header("Content-Length") == "12")
        let get = try #require(client.readResponse())
        #expect(get.text == "twelve bytes")
        fixture.close()
    }

    @Test func aClientThatHalfClosesStillGetsItsAnswers() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("ok")) }
        let client = fixture.client()
        client.send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        client.shutdownWrite()
        #expect(try #require(client.readResponse()).status == 200)
        #expect(try #require(client.readResponse()).status == 200)
        #expect(client.waitForClose())
        fixture.close()
    }

    @Test func anAnswerForAConnectionThatDiedMeanwhileIsIgnored() throws {
        var kept: HTTPResponder?
        let fixture = try ServerFixture { _, responder in kept = responder }
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\n\r\n")
        TestClient.drive(fixture.loop, [client]) { kept != nil }
        client.reset()
        TestClient.drive(fixture.loop, []) { fixture.server.connectionCount == 0 }
        #expect(fixture.server.connectionCount == 0)
        try #require(kept).respond(.text("too late"))
        #expect(kept?.hasResponded == true)
        fixture.close()
    }

    @Test func aConnectionWhoseClientLeftIsClosedOnceTheLateAnswerIsWritten() throws {
        let fixture = try ServerFixture(makeHandler: Self.echo)
        do {
            let client = fixture.client()
            client.send("GET /slow/20 HTTP/1.1\r\n\r\n")
        }  // closed with a FIN: the server cannot tell this from a half-close, so it still answers
        TestClient.drive(fixture.loop, []) { fixture.server.connectionCount == 1 }
        TestClient.drive(fixture.loop, []) { fixture.server.connectionCount == 0 }
        #expect(fixture.server.connectionCount == 0)
        fixture.close()
    }

    @Test func aResponderReleasedWithoutAnAnswerSends500() throws {
        let fixture = try ServerFixture { _, _ in }
        let client = fixture.client()
        client.send("GET / HTTP/1.1\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 500)
        #expect(response.text.contains("NO_RESPONSE"))
        fixture.close()
    }

    @Test func anExpectContinueClientGets100BeforeSendingItsBody() throws {
        let fixture = try ServerFixture { request, responder in
            responder.respond(.text(String(decoding: request.body, as: UTF8.self)))
        }
        let client = fixture.client()
        client.send("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        let interim = try #require(client.readResponse())
        #expect(interim.status == 100)
        client.send("data")
        #expect(try #require(client.readResponse()).text == "data")
        fixture.close()
    }

    @Test func bindingAPortInUseThrowsALoopErrorNamingIt() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("ok")) }
        #expect(throws: LoopError.self) {
            _ = try HTTPServer(loop: fixture.loop, host: "127.0.0.1", port: fixture.server.boundPort,
                               logger: quietLogger) { _, _ in }
        }
        do {
            _ = try HTTPServer(loop: fixture.loop, host: "127.0.0.1", port: fixture.server.boundPort,
                               logger: quietLogger) { _, _ in }
        } catch {
            #expect(error.name == "EADDRINUSE")
        }
        fixture.close()
    }

    @Test func closingTheServerClosesEveryConnectionSoTheLoopRunsOut() throws {
        let fixture = try ServerFixture { _, responder in responder.respond(.text("ok")) }
        let clients = (0..<3).map { _ in fixture.client() }
        for client in clients {
            client.send("GET / HTTP/1.1\r\n\r\n")
            #expect(try #require(client.readResponse()).status == 200)
        }
        #expect(fixture.server.connectionCount == 3)
        fixture.close()  // loop.run() returns only once no handle is left
        #expect(fixture.server.connectionCount == 0)
        for client in clients {
            client.pollInput()
            #expect(client.isClosedByServer)
        }
    }
}
