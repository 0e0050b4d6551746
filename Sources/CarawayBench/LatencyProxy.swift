import CCaraway
import CarawayLoop
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy that holds every chunk for a fixed one-way delay before passing it on, in
/// both directions — the "1 ms between workers and Redis" of bench scenario (f).
///
/// libuv timers tick in milliseconds, too coarse for a 0.5 ms hold, so due chunks are released by
/// one CLOCK_MONOTONIC timerfd watched on the loop. Order is kept per direction (one FIFO each); a
/// peer that closes closes its partner once the queue toward it is flushed.
final class LatencyProxy {
    private let loop: EventLoop
    private let upstreamHost: String
    private let upstreamPort: Int
    private let delayNanoseconds: UInt64
    private var server: TCPServer!
    private let timerFD: Int32
    private var timerPoll: Poll!
    private var armedFor: UInt64 = 0
    private var pipes: [ObjectIdentifier: Pipe] = [:]

    /// One direction of one connection: a FIFO of (due time, bytes) toward `destination`.
    final class Pipe {
        var queue: [(due: UInt64, bytes: [UInt8])] = []
        var head = 0
        var destination: TCPStream?
        var sourceEnded = false
        weak var partner: Pipe?
        var isEmpty: Bool { head == queue.count }
    }

    init(loop: EventLoop, listenPort: Int, upstreamHost: String, upstreamPort: Int, oneWayDelayMicroseconds: Int) throws {
        self.loop = loop
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        delayNanoseconds = UInt64(max(oneWayDelayMicroseconds, 0)) * 1_000
        timerFD = caraway_timerfd_create()
        guard timerFD >= 0 else { throw LoopError(code: -errno, operation: "timerfd_create") }
        timerPoll = try Poll(loop: loop, fileDescriptor: timerFD)
        try timerPoll.start(.readable) { [unowned self] _ in
            var expirations: UInt64 = 0
            _ = Glibc.read(self.timerFD, &expirations, 8)
            self.armedFor = 0
            self.flushDue()
        }
        server = try TCPServer(loop: loop, host: "127.0.0.1", port: listenPort) { [unowned self] client in
            self.accepted(client)
        }
    }

    var port: Int { server.port }

    private func accepted(_ client: TCPStream) {
        client.setNoDelay(true)
        let up = Pipe(), down = Pipe()
        up.partner = down
        down.partner = up
        down.destination = client
        pipes[ObjectIdentifier(up)] = up
        pipes[ObjectIdentifier(down)] = down
        read(from: client, into: up)
        TCPStream.connect(loop: loop, host: upstreamHost, port: upstreamPort) { [unowned self] result in
            switch result {
            case .success(let upstream):
                upstream.setNoDelay(true)
                up.destination = upstream
                self.read(from: upstream, into: down)
                self.flushDue()
            case .failure:
                self.tearDown(up)
            }
        }
    }

    private func read(from source: TCPStream, into pipe: Pipe) {
        source.startReading({ [unowned self] bytes in
            pipe.queue.append((EventLoop.hrtime + self.delayNanoseconds, Array(bytes)))
            self.arm(for: pipe.queue[pipe.queue.count - 1].due)
        }, onEnd: { [unowned self] _ in
            pipe.sourceEnded = true
            self.flushDue()
        })
    }

    private func arm(for due: UInt64) {
        guard armedFor == 0 || due < armedFor else { return }
        armedFor = due
        let now = EventLoop.hrtime
        _ = caraway_timerfd_arm(timerFD, Int64(due > now ? due - now : 1))
    }

    private func flushDue() {
        let now = EventLoop.hrtime
        var next: UInt64 = 0
        for pipe in Array(pipes.values) {
            guard let destination = pipe.destination else {
                if let first = pipe.queue.dropFirst(pipe.head).first { next = next == 0 ? first.due : min(next, first.due) }
                continue
            }
            while pipe.head < pipe.queue.count, pipe.queue[pipe.head].due <= now {
                destination.write(pipe.queue[pipe.head].bytes)
                pipe.head += 1
            }
            if pipe.isEmpty {
                pipe.queue.removeAll(keepingCapacity: true)
                pipe.head = 0
                if pipe.sourceEnded { tearDown(pipe) }
            } else {
                let due = pipe.queue[pipe.head].due
                next = next == 0 ? due : min(next, due)
            }
        }
        if next != 0 { arm(for: next) }
    }

    /// Closes both sockets of a connection and forgets both directions.
    private func tearDown(_ pipe: Pipe) {
        for p in [pipe, pipe.partner].compactMap({ $0 }) {
            p.destination?.close()
            p.destination = nil
            pipes[ObjectIdentifier(p)] = nil
        }
    }
}
