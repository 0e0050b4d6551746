/// A member path a locating pass tracks, and where its range goes (see ``JSONFieldPaths``).
public protocol JSONFieldPath {
    /// The slot of this path in its ``JSONFieldPaths``.
    var slot: Int { get }
    /// Member keys from the document's root; joined with `.` they name the field in errors.
    var path: [String] { get }
}

/// Typed reads of the values a locating pass found (``JSON/locate(_:in:)``), converted
/// straight from their bytes, with the rules of `JSONObject+Fields`: absent and `null` both
/// mean "not set"; any other wrong type is an error naming the field.
///
/// The bytes were validated by the locating pass, so a located value is well-formed JSON and
/// its first byte tells its type.
public struct JSONLocatedValues {
    public let bytes: UnsafeRawBufferPointer
    public let ranges: JSONLocations

    /// `ranges` as ``JSON/locate(_:in:)`` returned them for `bytes`.
    public init(bytes: UnsafeRawBufferPointer, ranges: JSONLocations) {
        self.bytes = bytes
        self.ranges = ranges
    }

    /// The value's byte range; nil if absent or `null`.
    public func range(_ field: some JSONFieldPath) -> Range<Int>? {
        guard let range = ranges[field.slot], bytes[range.lowerBound] != UInt8(ascii: "n") else { return nil }
        return range  // only `null` starts with "n" (`NaN` with "N")
    }

    /// The whole value, built; nil if absent (a `null` is `.null`).
    public func value(_ field: some JSONFieldPath) throws(ProtocolError) -> JSON? {
        guard let range = ranges[field.slot] else { return nil }
        var parser = JSONParser(bytes: bytes)
        parser.position = range.lowerBound
        return try parser.parseValue()
    }

    public func string(_ field: some JSONFieldPath) throws(ProtocolError) -> String? {
        guard let range = range(field) else { return nil }
        guard bytes[range.lowerBound] == UInt8(ascii: "\"") else { throw wrongType(field, "a string or null") }
        let text = (range.lowerBound + 1)..<(range.upperBound - 1)
        if let plain = Self.unescaped(UnsafeRawBufferPointer(rebasing: bytes[text])) {
            return String(decoding: plain, as: UTF8.self)  // validated UTF-8: decoding repairs nothing
        }
        var parser = JSONParser(bytes: bytes)
        parser.position = range.lowerBound
        return try parser.parseString()
    }

    /// The raw text of a string value without escapes (nearly every string in Celery traffic):
    /// its bytes are its UTF-8. Nil for any other value, or a string with an escape.
    public func plainStringBytes(_ field: some JSONFieldPath) -> UnsafeRawBufferPointer? {
        guard let range = range(field), bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        return Self.unescaped(UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]))
    }

    public func int(_ field: some JSONFieldPath) throws(ProtocolError) -> Int? {
        guard range(field) != nil else { return nil }
        guard case .number(let number)? = try value(field) else { throw wrongType(field, "an integer or null") }
        guard let value = number.int else { throw wrongType(field, "an integer") }
        return value
    }

    public func bool(_ field: some JSONFieldPath) throws(ProtocolError) -> Bool? {
        guard let range = range(field) else { return nil }
        switch bytes[range.lowerBound] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: throw wrongType(field, "a boolean or null")
        }
    }

    /// True for an object, false if absent or `null`.
    public func isObject(_ field: some JSONFieldPath) throws(ProtocolError) -> Bool {
        guard let range = range(field) else { return false }
        guard bytes[range.lowerBound] == UInt8(ascii: "{") else { throw wrongType(field, "an object or null") }
        return true
    }

    /// The elements of an array, built; nil if absent or `null`.
    public func array(_ field: some JSONFieldPath) throws(ProtocolError) -> [JSON]? {
        guard range(field) != nil else { return nil }
        guard case .array(let elements)? = try value(field) else { throw wrongType(field, "an array or null") }
        return elements
    }

    /// An ISO-8601 string such as `eta`/`expires`, as epoch seconds.
    public func timestamp(_ field: some JSONFieldPath) throws(ProtocolError) -> Double? {
        guard let text = try string(field) else { return nil }
        return try Timestamp.parse(text)
    }

    public func wrongType(_ field: some JSONFieldPath, _ expected: String) -> ProtocolError {
        .wrongType(field: field.path.joined(separator: "."), expected: expected)
    }

    private static func unescaped(_ text: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        for byte in text where byte == UInt8(ascii: "\\") { return nil }
        return text
    }
}
