/// Celery's monitoring events (spec §6): what Flower and `celery events` read.
///
/// Each event is a flat JSON object with `type`, `hostname`, `timestamp`, `pid`, `clock` and
/// `utcoffset` plus type-specific fields. Worker events travel one per message on
/// `/{db}.celeryev/worker.<kind>`; task events in batches (a JSON array) on `…/task.multi`.
public struct CeleryEvent: Sendable {
    public var fields: JSONObject

    public var type: String { fields["type"]?.stringValue ?? "" }

    /// - Parameters:
    ///   - utcoffset: hours west of UTC as Celery 5.7 computes it, `time.timezone / 3600` (a float:
    ///     0.0 in UTC, -5.5 at UTC+5:30).
    public init(type: String, hostname: String, timestamp: Double, pid: Int, clock: Int, utcoffset: Double = 0,
                extra: JSONObject = [:]) {
        var fields = JSONObject()
        fields.reserveCapacity(8 + extra.count)
        fields.append("hostname", .string(hostname))
        fields.append("utcoffset", JSON(utcoffset))
        fields.append("pid", JSON(pid))
        fields.append("clock", JSON(clock))
        for (key, value) in extra { fields.append(key, value) }
        fields.append("timestamp", JSON(timestamp))
        fields.append("type", .string(type))
        self.fields = fields
    }

    /// The routing key kombu uses: the type with `-` replaced by `.` (`worker.heartbeat`).
    public var routingKey: String { type.replacingDashes() }

    /// Software fields every worker event carries (Flower shows them).
    public static func workerFields(frequency: Double, active: Int, processed: Int, loadAverage: [Double],
                                    version: String) -> JSONObject {
        [
            "freq": JSON(frequency),
            "sw_ident": "caraway",
            "sw_ver": .string(version),
            "sw_sys": "Linux",
            "active": JSON(active),
            "processed": JSON(processed),
            "loadavg": .array(loadAverage.map { JSON(($0 * 100).rounded() / 100) }),
        ]
    }

    /// One event in its own envelope (worker events).
    public func encoded(exchange: String = "celeryev") -> [UInt8] {
        FanoutEnvelope.encode(body: .object(fields), headers: ["hostname": fields["hostname"] ?? .null],
                              exchange: exchange, routingKey: routingKey)
    }

    /// A batch of task events in one `task.multi` envelope, as Celery's worker sends them.
    public static func encodedBatch(_ events: [CeleryEvent], hostname: String, exchange: String = "celeryev") -> [UInt8] {
        FanoutEnvelope.encode(body: .array(events.map { .object($0.fields) }), headers: ["hostname": .string(hostname)],
                              exchange: exchange, routingKey: "task.multi")
    }

    /// Decodes one envelope into its events (a batch gives several).
    public static func decode(_ raw: [UInt8]) throws(ProtocolError) -> [CeleryEvent] {
        let (_, body) = try FanoutEnvelope.decode(raw)
        switch body {
        case .object(let fields): return [CeleryEvent(fields: fields)]
        case .array(let items): return items.compactMap { $0.objectValue.map(CeleryEvent.init(fields:)) }
        default: throw .wrongType(field: "body", expected: "an event object or a list of them")
        }
    }

    public init(fields: JSONObject) { self.fields = fields }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(decoding: utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
    }
}
