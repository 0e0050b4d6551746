/// A JSON value that round-trips exactly what Python sent.
///
/// Numbers keep their literal text (``JSONNumber``) and objects keep key order
/// (``JSONObject``), so a message decoded and serialized again differs from the
/// original only in whitespace and string escaping. Parse with
/// ``parse(_:)-(UnsafeRawBufferPointer)`` and write with ``serialized()``.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The string, if this is a string.
    @inlinable public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as `Int`, if this is an integer literal that fits (`1.0` gives `nil`).
    @inlinable public var intValue: Int? {
        if case .number(let value) = self { return value.int }
        return nil
    }

    /// The number as `Double`, if this is any number.
    @inlinable public var doubleValue: Double? {
        if case .number(let value) = self { return value.double }
        return nil
    }

    /// The boolean, if this is `true` or `false`.
    @inlinable public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    @inlinable public var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, if this is an object.
    @inlinable public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The number, if this is a number.
    @inlinable public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// True for JSON `null`.
    @inlinable public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member `key` of an object; `nil` if this is not an object or the key is absent.
    @inlinable public subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` of an array; `nil` if this is not an array or out of range.
    @inlinable public subscript(index: Int) -> JSON? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSON {
    /// Makes an integer number.
    @inlinable public init(_ value: Int) { self = .number(JSONNumber(value)) }
    /// Makes a floating-point number, written as Python's `repr` would.
    @inlinable public init(_ value: Double) { self = .number(JSONNumber(value)) }
    /// Makes a string.
    @inlinable public init(_ value: String) { self = .string(value) }
    /// Makes a string, or `null` for `nil`.
    @inlinable public init(_ value: String?) { self = value.map(JSON.string) ?? .null }
    /// Makes an integer, or `null` for `nil`.
    @inlinable public init(_ value: Int?) { self = value.map { JSON($0) } ?? .null }
    /// Makes a float, or `null` for `nil`.
    @inlinable public init(_ value: Double?) { self = value.map { JSON($0) } ?? .null }
}

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
}

extension JSON: CustomStringConvertible {
    /// The compact serialized form.
    public var description: String { serializedString() }
}
