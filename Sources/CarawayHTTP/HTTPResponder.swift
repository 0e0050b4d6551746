/// The one-shot answer channel of one request: the handler calls ``respond(_:)`` exactly once,
/// now or later.
///
/// A handler may keep the responder and answer from a later loop callback (a Redis reply, a
/// timer). If the connection is gone by then, the answer is dropped. Responses on one connection
/// go out in request order whatever order handlers answer in.
///
/// A responder released without an answer sends `500` (and the server logs it), so a forgotten
/// path in a handler costs one error, not a connection hung until its client gives up.
///
/// Thread: the loop thread only.
public final class HTTPResponder {
    enum Delivery {
        case response(HTTPResponse)
        /// Released unanswered.
        case abandoned
    }

    private let deliver: (Delivery) -> Void
    /// Whether ``respond(_:)`` has been called.
    public private(set) var hasResponded = false

    init(deliver: @escaping (Delivery) -> Void) {
        self.deliver = deliver
    }

    /// A responder that hands its response to `sink` instead of a connection — for testing routes
    /// and handlers without sockets. `sink` is called at most once (with a 500 if the responder is
    /// released unanswered).
    public convenience init(sink: @escaping (HTTPResponse) -> Void) {
        self.init { delivery in
            switch delivery {
            case .response(let response): sink(response)
            case .abandoned: sink(.error(status: 500, "handler did not respond", code: "NO_RESPONSE"))
            }
        }
    }

    /// Sends `response` for this responder's request.
    ///
    /// A no-op if the connection has closed meanwhile. Calling it twice is a programming error:
    /// it stops debug builds and is ignored in release builds.
    /// - Parameter response: The response; the server adds the framing headers.
    public func respond(_ response: HTTPResponse) {
        guard !hasResponded else {
            assertionFailure("HTTPResponder.respond called twice")
            return
        }
        hasResponded = true
        deliver(.response(response))
    }

    deinit {
        if !hasResponded { deliver(.abandoned) }
    }
}
