import CarawayLoop
@testable import CarawayHTTP
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP client for driving a server that runs on the same thread: every wait runs the loop
/// without blocking (`runOnce`) and polls the client socket between rounds, so the test neither
/// sleeps nor needs a second thread.
final class TestClient {
    let fd: Int32
    let loop: EventLoop
    /// Bytes received and not yet taken by `readResponse`.
    private(set) var received: [UInt8] = []
    /// The server closed (EOF or reset).
    private(set) var isClosedByServer = false

    init(loop: EventLoop, port: Int) {
        self.loop = loop
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket failed")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        // Loopback connects complete in the kernel's backlog before the server accepts: no loop needed.
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(status == 0, "connect failed: errno \(errno)")
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { if !isReset { Glibc.close(fd) } }

    private var isReset = false

    /// Aborts the connection with a reset (SO_LINGER 0), as a crashed or impatient client does.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(fd)
        isReset = true
    }

    /// Sends everything, running the loop whenever the socket buffer is full.
    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        let finished = Self.drive(loop, [self]) {
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent > 0 {
                    offset += sent
                } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return false
                } else {
                    return true  // the server closed: the rest cannot be sent
                }
            }
            return true
        }
        precondition(finished, "send did not finish in time")
    }

    /// Says "no more requests" (FIN) while keeping the read side open, as a client does after its last request.
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Runs the loop until one whole response has arrived, and takes it.
    /// - Returns: nil if the server closed first or nothing came within `timeout` seconds.
    /// - Parameter headOnly: the response has no body whatever its Content-Length says (HEAD).
    func readResponse(timeout: Double = 2, headOnly: Bool = false) -> TestResponse? {
        var response: TestResponse?
        _ = Self.drive(loop, [self], timeout: timeout) {
            if let (parsed, length) = TestResponse.parse(received, headOnly: headOnly) {
                received.removeFirst(length)
                response = parsed
                return true
            }
            return isClosedByServer
        }
        return response
    }

    /// Runs the loop until the server closes the connection.
    /// - Returns: false if it stayed open for `timeout` seconds.
    func waitForClose(timeout: Double = 2) -> Bool {
        Self.drive(loop, [self], timeout: timeout) { isClosedByServer }
    }

    /// Reads what is available without blocking.
    func pollInput() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !isClosedByServer {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[..<count]
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                isClosedByServer = true  // EOF, or a reset
            } else {
                return
            }
        }
    }

    /// Alternates a non-blocking loop round with reading every client, until `condition` holds.
    /// - Returns: false when `timeout` seconds passed first.
    @discardableResult
    static func drive(_ loop: EventLoop, _ clients: [TestClient], timeout: Double = 2,
                      until condition: () -> Bool) -> Bool {
        let deadline = EventLoop.hrtime + UInt64(timeout * 1e9)
        while true {
            loop.runOnce()
            clients.forEach { $0.pollInput() }
            if condition() { return true }
            if EventLoop.hrtime > deadline { return false }
            // Wait for the client sockets briefly so that timer-driven tests do not spin the CPU.
            var fds = clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 1)
        }
    }
}

/// One response as the client saw it.
struct TestResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Parses one response framed by Content-Length (or none) from the front of `bytes`.
    /// - Returns: the response and the bytes it took, or nil while incomplete.
    static func parse(_ bytes: [UInt8], headOnly: Bool = false) -> (TestResponse, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4,
              let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).splitCRLF()
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters()))
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        let length = headOnly ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        let bodyStart = end + 4
        guard bytes.count >= bodyStart + length else { return nil }
        response.body = Array(bytes[bodyStart..<bodyStart + length])
        return (response, bodyStart + length)
    }
}

extension String {
    func splitCRLF() -> [String] {
        split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    }

    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// A logger that discards everything (the fuzz test would otherwise print thousands of lines).
let quietLogger = Logger(label: "caraway.http.test") { _ in SwiftLogNoOpLogHandler() }

/// A loop plus a server on 127.0.0.1 with a free port; `close()` shuts both down.
final class ServerFixture {
    let loop: EventLoop
    let server: HTTPServer

    /// - Parameter makeHandler: builds the handler from the loop (for handlers that answer later
    ///   from a timer); capturing the loop, not the fixture, keeps the test free of reference cycles.
    init(limits: HTTPServer.Limits = HTTPServer.Limits(), logger: Logger = quietLogger,
         makeHandler: (EventLoop) -> (HTTPRequest, HTTPResponder) -> Void) throws {
        loop = try EventLoop()
        server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0, limits: limits, logger: logger,
                                handler: makeHandler(loop))
    }

    convenience init(limits: HTTPServer.Limits = HTTPServer.Limits(), logger: Logger = quietLogger,
                     handler: @escaping (HTTPRequest, HTTPResponder) -> Void) throws {
        try self.init(limits: limits, logger: logger) { _ in handler }
    }

    func client() -> TestClient { TestClient(loop: loop, port: server.boundPort) }

    /// Closes the server and runs the loop until every handle is released.
    func close() {
        var closed = false
        server.close { closed = true }
        loop.run()
        precondition(closed, "server close callback did not fire")
    }
}
