/// kombu ≥ 5.3 writes values plain JSON lacks (datetime, date, time, Decimal, UUID, bytes)
/// as `{"__type__": T, "__value__": V}` (spec §1.5). Caraway never rewrites these inside
/// messages: they pass through args and kwargs untouched so a Python peer decodes them
/// as it sent them. These helpers let Swift task handlers read them.
extension JSON {
    /// A kombu type marker: the `__type__` name and the raw `__value__`.
    public struct KombuMarker: Sendable, Equatable {
        /// The type name, e.g. `datetime`, `date`, `time`, `decimal`, `uuid`, `bytes`, `base64`.
        public var type: String
        /// The encoded value (an ISO string for dates, `{"hex": ...}` for UUIDs, ...).
        public var value: JSON

        public init(type: String, value: JSON) {
            self.type = type
            self.value = value
        }
    }

    /// The marker, if this is an object whose key set is exactly `{__type__, __value__}` and
    /// whose `__type__` is a string. kombu's decoder uses the same test, so a user dict with
    /// exactly those keys is a marker to Python as well.
    public var kombuMarker: KombuMarker? {
        guard case .object(let object) = self, object.count == 2,
              case .string(let type)? = object["__type__"], let value = object["__value__"] else { return nil }
        return KombuMarker(type: type, value: value)
    }

    /// Makes a kombu marker object.
    public static func kombuMarker(type: String, value: JSON) -> JSON {
        .object(["__type__": .string(type), "__value__": value])
    }

    /// A kombu `datetime` marker for `epochSeconds`, written as aware UTC (`+00:00`),
    /// which is how Python's kombu serializes a timezone-aware datetime.
    public static func kombuDatetime(epochSeconds: Double) -> JSON {
        kombuMarker(type: "datetime", value: .string(Timestamp.format(epochSeconds)))
    }

    /// Seconds since the epoch for a kombu `datetime`/`date` marker or, for kombu ≤ 5.2
    /// peers, a plain ISO-8601 string. Naive values are read as UTC.
    /// - Returns: `nil` if this is neither, or the text is not a valid timestamp.
    public var kombuDatetimeEpoch: Double? {
        if let marker = kombuMarker {
            guard marker.type == "datetime" || marker.type == "date",
                  case .string(let text) = marker.value else { return nil }
            return try? Timestamp.parse(text)
        }
        if case .string(let text) = self { return try? Timestamp.parse(text) }
        return nil
    }
}
