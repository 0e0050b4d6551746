import CarawayLoop
import Logging

/// One accepted TCP connection: parses requests, hands them to the handler one at a time,
/// writes the answers in request order, enforces ``HTTPServer/Limits`` and closes.
///
/// See the CarawayHTTP article for the life cycle. In short: every parsed request gets a *slot*;
/// slots are answered in order; a slot whose answer ends the connection (`Connection: close`,
/// HTTP/1.0, an error, a timeout) is the last one written, after which the connection closes —
/// at once, or after lingering to drain the client's unread input when the answer was an error.
///
/// Thread: the loop thread only. Nothing here blocks; handler calls and write completions may
/// re-enter ``pump()``, which is why it guards itself and every step re-checks `isClosed`.
final class HTTPConnection {
    /// One request whose answer is owed, in arrival order.
    struct Slot {
        let sequence: UInt64
        /// false: this answer is the last one on the connection.
        let keepAlive: Bool
        /// An HTTP/1.0 client asked for keep-alive and must be told it got it.
        let announceKeepAlive: Bool
        let headRequest: Bool
        /// After this answer, drain the client's input before closing (error answers).
        let lingerAfter: Bool
        /// For the log; nil for answers the server made up (errors, timeouts).
        let method: String?
        let path: String?
        var response: HTTPResponse?
    }

    /// What the connection's single timer is currently measuring.
    enum Deadline: Equatable {
        case none
        /// The client must finish request number `message` (1-based) in time.
        case request(message: Int)
        /// Nothing in progress since `afterMessage` requests; the connection may be closed.
        case idle(afterMessage: Int)
        /// Draining input after the final answer.
        case linger
    }

    /// Pipelined requests parsed ahead of their answers. Bounds the memory one client can pin
    /// with a flood of tiny requests; beyond it the connection stops reading until answers go out.
    static let maxPipelinedRequests = 16
    /// Unsent response bytes above which no further request is parsed: a client that sends but
    /// never reads must not make the node buffer responses without bound.
    static let writeHighWater = 256 * 1024
    /// While lingering, a pause this long in the client's input ends the drain early.
    static let lingerQuietMilliseconds: UInt64 = 200

    // Fixed at construction.
    let id: UInt64
    let limits: HTTPServer.Limits
    let loop: EventLoop
    let logger: Logger
    private let stream: TCPStream
    let timer: LoopTimer
    private let handler: (HTTPRequest, HTTPResponder) -> Void
    private let onClosed: (HTTPConnection) -> Void
    private let thread = LoopThread()
    let driver: HTTPParserDriver

    // Loop-confined state.
    private var inbox: [UInt8] = []
    private var inboxStart = 0
    private(set) var slots: [Slot] = []
    private var nextSequence: UInt64 = 0
    /// false once no further request will be parsed (final answer queued, peer finished, failure).
    private(set) var acceptingInput = true
    private var peerClosedInput = false
    private var isReading = false
    private var writesInFlight = 0
    /// Set when the final answer has been handed to the stream; holds its linger wish.
    private var finalWriteLingers: Bool?
    /// Loop time at which lingering ends; non-nil while lingering.
    var lingerUntil: UInt64?
    var deadline: Deadline = .none
    private var pumping = false
    private var pumpAgain = false
    private(set) var isClosed = false
    private var handlesOpen = 2  // stream and timer
    private var closeWaiters: [() -> Void] = []

    init(id: UInt64, stream: TCPStream, loop: EventLoop, limits: HTTPServer.Limits, logger: Logger,
         handler: @escaping (HTTPRequest, HTTPResponder) -> Void, onClosed: @escaping (HTTPConnection) -> Void) {
        self.id = id
        self.stream = stream
        self.loop = loop
        self.limits = limits
        self.handler = handler
        self.onClosed = onClosed
        var logger = logger
        logger[metadataKey: "http.connection"] = "\(id)"
        self.logger = logger
        timer = LoopTimer(loop: loop)
        driver = HTTPParserDriver(maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes)
    }

    /// Starts serving; with `rejection`, writes it as the only answer instead and closes.
    func start(rejecting rejection: HTTPResponse? = nil) {
        stream.setNoDelay(true)
        if let rejection {
            enqueueFinal(rejection)
        }
        pump()
    }

    // MARK: Input

    private func didRead(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed else { return }
        if lingerUntil != nil {
            continueLingering()  // discarded: the answer is out, the client is still sending
            return
        }
        guard acceptingInput else { return }
        inbox.append(contentsOf: bytes)
        pump()
    }

    private func didEnd(_ error: LoopError?) {
        isReading = false
        guard !isClosed else { return }
        if let error {
            logger.debug("HTTP connection read failed", metadata: ["http.error": "\(error)"])
            close()
            return
        }
        peerClosedInput = true
        if lingerUntil != nil {
            close()
            return
        }
        // A client may half-close after sending its (pipelined) requests and still read the answers.
        acceptingInput = false
        pump()
    }

    private func updateReading() {
        let wanted = !isClosed && !peerClosedInput && (lingerUntil != nil || (acceptingInput && canParseMore))
        if wanted && !isReading {
            isReading = true
            stream.startReading({ [weak self] bytes in self?.didRead(bytes) },
                                onEnd: { [weak self] error in self?.didEnd(error) })
        } else if !wanted && isReading {
            isReading = false
            stream.stopReading()
        }
    }

    private var canParseMore: Bool {
        slots.count < Self.maxPipelinedRequests && stream.pendingWriteBytes < Self.writeHighWater
    }

    // MARK: The pump

    /// Parses what can be parsed, dispatches requests, writes the answers that are ready in order,
    /// then settles reading and the deadline. Re-entrant calls (from a handler answering at once,
    /// or a write completing at once) only ask for another round.
    func pump() {
        guard !isClosed else { return }
        if pumping {
            pumpAgain = true
            return
        }
        pumping = true
        repeat {
            pumpAgain = false
            parseInbox()
            if isClosed { break }
            flushReady()
            if isClosed { break }
            sendContinueIfDue()
        } while pumpAgain && !isClosed
        pumping = false
        guard !isClosed else { return }
        if acceptingInput == false && slots.isEmpty && writesInFlight == 0 && finalWriteLingers == nil
            && lingerUntil == nil {
            close()  // nothing owed and nothing more will be read (the peer finished)
            return
        }
        updateReading()
        updateDeadline()
    }

    private func parseInbox() {
        while acceptingInput && canParseMore && inboxStart < inbox.count {
            let (consumed, outcome) = inbox.withUnsafeBytes {
                driver.parse(UnsafeRawBufferPointer(rebasing: $0[inboxStart...]))
            }
            inboxStart += consumed
            switch outcome {
            case .request(let request)?:
                dispatch(request)
            case .failure(let failure)?:
                refuse(failure)
            case nil:
                if consumed == 0 { return }
            }
            if isClosed { return }
        }
        if inboxStart >= inbox.count {
            // Keep a small buffer for the next read; give back a large one (idle connections are many).
            inbox.removeAll(keepingCapacity: inbox.capacity <= 16 * 1024)
            inboxStart = 0
        }
    }

    private func dispatch(_ request: HTTPRequest) {
        let sequence = nextSequence
        nextSequence += 1
        slots.append(Slot(sequence: sequence, keepAlive: request.keepAlive,
                          announceKeepAlive: request.keepAlive && request.version == .http1_0,
                          headRequest: request.method == "HEAD", lingerAfter: false,
                          method: request.method, path: request.path, response: nil))
        if !request.keepAlive { acceptingInput = false }
        let responder = HTTPResponder { [weak self] delivery in
            self?.deliver(delivery, sequence: sequence)
        }
        handler(request, responder)
    }

    private func deliver(_ delivery: HTTPResponder.Delivery, sequence: UInt64) {
        thread.assertCurrent()
        guard !isClosed, let index = slots.firstIndex(where: { $0.sequence == sequence }) else { return }
        switch delivery {
        case .response(let response):
            slots[index].response = response
            // Requests pipelined behind this one will not be answered: don't even parse them.
            if response.asksToClose { acceptingInput = false }
        case .abandoned:
            logger.error("HTTP handler released its responder without answering", metadata: [
                "http.method": "\(slots[index].method ?? "-")", "http.path": "\(slots[index].path ?? "-")",
            ])
            slots[index].response = .error(status: 500, "handler did not respond", code: "NO_RESPONSE")
        }
        pump()
    }

    private func refuse(_ failure: HTTPParseFailure) {
        logger.info("HTTP request refused", metadata: [
            "http.status": "\(failure.status)", "http.error": "\(failure.code)",
        ])
        enqueueFinal(.error(status: failure.status, failure.message, code: failure.code))
    }

    /// Queues an answer the server makes up (error, timeout, overload) as the connection's last.
    func enqueueFinal(_ response: HTTPResponse) {
        slots.append(Slot(sequence: nextSequence, keepAlive: false, announceKeepAlive: false, headRequest: false,
                          lingerAfter: true, method: nil, path: nil, response: response))
        nextSequence += 1
        acceptingInput = false
        inbox = []
        inboxStart = 0
    }

    // MARK: Output

    /// Writes every answer that is ready and next in order, in one write.
    private func flushReady() {
        guard finalWriteLingers == nil else { return }
        var bytes: [UInt8] = []
        var lastSlot: Slot?
        while let slot = slots.first, let response = slot.response {
            slots.removeFirst()
            // The last answer says so: the slot asked, the handler asked, or nothing more will be read.
            let isLast = !slot.keepAlive || response.asksToClose || (!acceptingInput && slots.isEmpty)
            bytes += response.wireBytes(keepAlive: !isLast, announceKeepAlive: slot.announceKeepAlive && !isLast,
                                        headRequest: slot.headRequest)
            if let method = slot.method {
                logger.debug("HTTP request answered", metadata: [
                    "http.method": "\(method)", "http.path": "\(slot.path ?? "")", "http.status": "\(response.status)",
                ])
            }
            if isLast {
                lastSlot = slot
                acceptingInput = false
                slots.removeAll()  // later answers, if any, are no longer wanted
                inbox = []
                inboxStart = 0
                break
            }
        }
        guard !bytes.isEmpty else { return }
        pumpAgain = true  // slots were freed: parsing may go on
        let isFinal = lastSlot != nil
        if let lastSlot { finalWriteLingers = lastSlot.lingerAfter }
        writesInFlight += 1
        stream.write(bytes) { [weak self] error in
            self?.writeFinished(error, final: isFinal)
        }
    }

    /// `Expect: 100-continue` clients wait for this before sending the body. It may only go out
    /// when every earlier answer has, or it would be read as the start of one of those.
    private func sendContinueIfDue() {
        guard driver.awaitsContinue, acceptingInput, slots.isEmpty else { return }
        driver.clearContinue()
        writesInFlight += 1
        stream.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) { [weak self] error in
            self?.writeFinished(error, final: false)
        }
    }

    private func writeFinished(_ error: LoopError?, final: Bool) {
        writesInFlight -= 1
        guard !isClosed else { return }
        if let error {
            logger.debug("HTTP connection write failed", metadata: ["http.error": "\(error)"])
            close()
            return
        }
        if final {
            finishAfterFinalWrite(linger: finalWriteLingers ?? false)
        } else {
            pump()
        }
    }

    private func finishAfterFinalWrite(linger: Bool) {
        guard linger, !peerClosedInput else {
            close()
            return
        }
        startLingering()
        updateReading()
    }

    // MARK: Closing

    /// Closes the connection now; owed answers are dropped. `then` fires once, after libuv has
    /// released both handles.
    func close(then: (() -> Void)? = nil) {
        thread.assertCurrent()
        if let then {
            if handlesOpen == 0 { then() } else { closeWaiters.append(then) }
        }
        guard !isClosed else { return }
        isClosed = true
        slots.removeAll()
        inbox = []
        let released = { [self] in
            handlesOpen -= 1
            guard handlesOpen == 0 else { return }
            let waiters = closeWaiters
            closeWaiters = []
            waiters.forEach { $0() }
        }
        timer.close(then: released)
        stream.close(then: released)
        onClosed(self)
    }
}
