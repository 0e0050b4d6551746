import CarawayProtocol
import CarawayRedis
import Logging

/// Answers Celery's remote control ("pidbox", spec §5) so `celery inspect`, `celery control`,
/// `celery status` and Flower work against this node.
///
/// Requests arrive by pub/sub on `/{db}.celery.pidbox`; the node handles those addressed to it
/// and, for calls, pushes `{"<node>": payload}` to the client's reply list (one script). A
/// handler answers exactly once through its completion, with nil for casts or no reply.
public final class Pidbox {
    public typealias Handler = (ControlRequest, @escaping (JSON?) -> Void) -> Void

    let connection: RedisConnection
    let keys: ControlKeys
    let nodeName: String
    let clock: LamportClock
    let logger: Logger
    /// Runs each request addressed to this node.
    public var handler: Handler = { _, reply in reply(nil) }
    public private(set) var handled = 0
    public private(set) var malformed = 0

    public init(connection: RedisConnection, keys: ControlKeys, nodeName: String, clock: LamportClock, logger: Logger) {
        self.connection = connection
        self.keys = keys
        self.nodeName = nodeName
        self.clock = clock
        self.logger = logger
    }

    /// Starts listening on `subscriber` (shared with the node's other subscriptions).
    public func attach(to subscriber: RedisSubscriber) {
        subscriber.subscribe(keys.pidboxChannel) { [weak self] payload in self?.received(payload) }
    }

    func received(_ payload: [UInt8]) {
        let request: ControlRequest
        do {
            request = try ControlRequest.decode(payload)
        } catch {
            // A broken broadcast must not hurt the node; there is nobody to answer.
            malformed += 1
            logger.warning("control.malformed_request", metadata: ["error": "\(error)", "bytes": "\(payload.count)"])
            return
        }
        clock.witness(request.clock)
        guard request.isAddressed(to: nodeName) else { return }
        handled += 1
        logger.debug("control.request", metadata: ["method": "\(request.method)", "reply": "\(request.wantsReply)"])
        handler(request) { [weak self] payload in
            guard let self, let payload, request.wantsReply else { return }
            self.reply(to: request, payload: payload)
        }
    }

    func reply(to request: ControlRequest, payload: JSON) {
        guard let ticket = request.ticket, let routingKey = request.replyRoutingKey else { return }
        let envelope = ControlReply.encode(node: nodeName, payload: payload, ticket: ticket, clock: clock.tick(),
                                           routingKey: routingKey, exchange: request.replyExchange ?? "reply.celery.pidbox")
        connection.evaluate(ControlScripts.pidboxReply, keys: [Array(keys.replyBindings.utf8)],
                            arguments: [Array(routingKey.utf8), envelope, Array(keys.keys.prefix.utf8)]) { [logger] result in
            if case .failure(let error) = result {
                logger.warning("control.reply_failed", metadata: ["method": "\(request.method)", "error": "\(error)"])
            }
        }
    }
}
