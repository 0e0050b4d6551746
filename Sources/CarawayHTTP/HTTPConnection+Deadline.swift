/// The connection's single timer: request timeout, idle timeout and the linger drain.
///
/// Only one of them can apply at a time, so one `uv_timer` per connection suffices. A deadline is
/// re-armed only when *what* it measures changes (another request, another idle stretch), never
/// merely because bytes arrived: a client trickling one byte at a time cannot extend its request
/// time, and stray CRLFs between requests cannot extend idleness.
extension HTTPConnection {
    func updateDeadline() {
        guard lingerUntil == nil else { return }  // the linger drain manages the timer itself
        let wanted: Deadline
        if acceptingInput && (driver.isMidMessage || driver.messagesBegun == 0) {
            // The first request's clock starts at the accept, later ones at their first byte.
            wanted = .request(message: max(driver.messagesBegun, 1))
        } else if slots.isEmpty {
            // Idle between requests, or the final answer sits unsent because the client stopped reading.
            wanted = .idle(afterMessage: driver.messagesBegun)
        } else {
            // A handler owes an answer: its time is not the client's fault.
            wanted = .none
        }
        guard wanted != deadline else { return }
        deadline = wanted
        switch wanted {
        case .none, .linger:
            timer.stop()
        case .request:
            arm(after: limits.requestTimeout.loopMilliseconds)
        case .idle:
            arm(after: limits.idleTimeout.loopMilliseconds)
        }
    }

    private func arm(after milliseconds: UInt64) {
        timer.start(after: milliseconds) { [weak self] in self?.deadlinePassed() }
    }

    private func deadlinePassed() {
        guard !isClosed else { return }
        let passed = deadline
        deadline = .none
        switch passed {
        case .request where driver.isMidMessage:
            logger.info("HTTP request timed out", metadata: ["http.status": "408"])
            enqueueFinal(.error(status: 408, "request not completed within \(limits.requestTimeout)",
                                code: "REQUEST_TIMEOUT"))
            pump()
        case .request, .idle, .linger:
            close()  // nothing half-said to answer: leave quietly
        case .none:
            break
        }
    }

    /// Keeps reading (and discarding) after an error answer so that closing does not reset the
    /// connection under unread input — which would make the client lose the answer. Ends at the
    /// client's EOF, after a quiet pause, or at ``HTTPServer/Limits/lingerTimeout``.
    func startLingering() {
        lingerUntil = loop.nowMilliseconds + limits.lingerTimeout.loopMilliseconds
        deadline = .linger
        continueLingering()
    }

    func continueLingering() {
        guard let until = lingerUntil else { return }
        let now = loop.nowMilliseconds
        guard now < until else {
            close()
            return
        }
        arm(after: min(Self.lingerQuietMilliseconds, until - now))
    }
}
