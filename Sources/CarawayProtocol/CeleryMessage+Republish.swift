extension CeleryMessage {
    /// The envelope with small edits, for re-publishing this message: a retry (same id,
    /// `retries + 1`, new `eta`, new tag), a requeue (`redelivered: true`, tag kept), or a
    /// Caraway redelivery count. Every header and property not named here, including
    /// unknown ones and the body, is kept exactly as received, as Python's
    /// `signature_from_request` / kombu's restore keep them.
    ///
    /// - Parameters:
    ///   - deliveryTag: a new `properties.delivery_tag`, or `nil` to keep the current one
    ///     (kombu's restore keeps it; a retry is a new publish and needs a fresh one).
    ///   - retries: new `headers.retries`, or `nil` to keep.
    ///   - eta: new `headers.eta` in epoch seconds, or `nil` to keep. To clear it, pass
    ///     `["eta": .null]` in `extraHeaders`.
    ///   - redelivered: `true` sets `headers.redelivered` and
    ///     `properties.delivery_info.redelivered`; `false` removes both; `nil` keeps them.
    ///   - deliveries: new `headers.caraway_deliveries`, or `nil` to keep.
    ///   - extraHeaders: headers set last; they override everything above.
    /// - Returns: the edited envelope object.
    public func republishedEnvelope(
        deliveryTag: String? = nil,
        retries: Int? = nil,
        eta: Double? = nil,
        redelivered: Bool? = nil,
        deliveries: Int? = nil,
        extraHeaders: JSONObject = [:]
    ) -> JSONObject {
        var envelope = self.envelope  // built once: headers and properties come from it
        var headers = envelope["headers"]?.objectValue ?? JSONObject()
        var properties = envelope["properties"]?.objectValue ?? JSONObject()
        if let retries { headers["retries"] = JSON(retries) }
        if let eta { headers["eta"] = .string(Timestamp.format(eta)) }
        if let deliveries { headers[CeleryMessage.deliveriesHeader] = JSON(deliveries) }
        if let deliveryTag { properties["delivery_tag"] = .string(deliveryTag) }
        if let redelivered {
            var info = properties["delivery_info"]?.objectValue ?? JSONObject()
            if redelivered {
                headers["redelivered"] = true
                info["redelivered"] = true
            } else {
                headers.removeValue(forKey: "redelivered")
                info.removeValue(forKey: "redelivered")
            }
            properties["delivery_info"] = .object(info)
        }
        for (key, value) in extraHeaders { headers[key] = value }
        envelope["headers"] = .object(headers)
        envelope["properties"] = .object(properties)
        return envelope
    }

    /// ``republishedEnvelope(deliveryTag:retries:eta:redelivered:deliveries:extraHeaders:)``
    /// serialized, ready to push.
    public func republished(
        deliveryTag: String? = nil,
        retries: Int? = nil,
        eta: Double? = nil,
        redelivered: Bool? = nil,
        deliveries: Int? = nil,
        extraHeaders: JSONObject = [:]
    ) -> [UInt8] {
        republishedEnvelope(deliveryTag: deliveryTag, retries: retries, eta: eta, redelivered: redelivered,
                            deliveries: deliveries, extraHeaders: extraHeaders).serialized()
    }

    /// The envelope for `Task.retry()`: same id, lineage, group, embed, priority and queue;
    /// `retries + 1`, the new `eta`, a fresh delivery tag and no `redelivered` flag (a retry
    /// is a new publish, spec §1.4). The Caraway delivery count restarts too: it counts
    /// redeliveries of one publish, and a retry is a deliberate new run.
    /// - Parameters:
    ///   - eta: when to run again, epoch seconds; `nil` clears the `eta` (run at once).
    ///   - deliveryTag: a fresh UUID string.
    public func retryEnvelope(eta: Double?, deliveryTag: String) -> [UInt8] {
        // Saturating: a hostile `retries: 9223372036854775807` must not trap the node.
        let (next, overflow) = retries.addingReportingOverflow(1)
        var envelope = republishedEnvelope(deliveryTag: deliveryTag, retries: overflow ? retries : next, eta: eta,
                                           redelivered: false, extraHeaders: eta == nil ? ["eta": .null] : [:])
        if var headers = envelope["headers"]?.objectValue {
            headers.removeValue(forKey: CeleryMessage.deliveriesHeader)
            envelope["headers"] = .object(headers)
        }
        return envelope.serialized()
    }
}
