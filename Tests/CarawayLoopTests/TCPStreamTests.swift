import Testing
@testable import CarawayLoop

@Suite struct TCPStreamTests {
    @Test func aConnectedStreamTalksToAServerOnTheSameLoop() throws {
        let loop = try EventLoop()
        var accepted: TCPStream?
        let server = try TCPServer(loop: loop, host: "127.0.0.1", port: 0) { client in
            accepted = client
            client.startReading({ bytes in client.write(Array(bytes)) }, onEnd: { _ in client.close() })  // echo
        }
        var echoed: [UInt8] = []
        TCPStream.connect(loop: loop, host: "127.0.0.1", port: server.port) { result in
            guard case .success(let stream) = result else { Issue.record("connect failed: \(result)"); server.close(); return }
            stream.startReading({ bytes in
                echoed += bytes
                if echoed.count == 5 { stream.close(); server.close() }
            }, onEnd: { _ in })
            stream.write(Array("hello".utf8))
        }
        loop.run()
        #expect(String(decoding: echoed, as: UTF8.self) == "hello")
        #expect(accepted != nil)
    }

    @Test func aRefusedConnectFailsOnceWithTheError() throws {
        let loop = try EventLoop()
        // Bind and close to learn a port nobody listens on.
        let probe = try TCPServer(loop: loop, host: "127.0.0.1", port: 0) { _ in }
        let port = probe.port
        probe.close()
        loop.run()
        var outcomes: [Result<TCPStream, LoopError>] = []
        TCPStream.connect(loop: loop, host: "127.0.0.1", port: port) { outcomes.append($0) }
        loop.run()
        #expect(outcomes.count == 1)
        if case .failure(let error) = outcomes.first { #expect(error.code < 0) } else { Issue.record("expected a refusal") }
    }

    @Test func aBadAddressFailsAtOnce() throws {
        let loop = try EventLoop()
        var failed = false
        TCPStream.connect(loop: loop, host: "not-an-ip", port: 1) { if case .failure = $0 { failed = true } }
        #expect(failed)
        loop.run()
    }
}
