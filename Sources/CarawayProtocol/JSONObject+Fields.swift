/// Typed reads of optional message fields. Absent and `null` both mean "not set" (Celery
/// writes `null` for unset headers); any other wrong type is an error naming the field,
/// because guessing would run a task with the wrong lineage or limits.
extension JSONObject {
    func optionalString(_ key: String, path: String) throws(ProtocolError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .wrongType(field: path, expected: "a string or null")
        }
    }

    func optionalInt(_ key: String, path: String) throws(ProtocolError) -> Int? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let number)?:
            guard let value = number.int else { throw .wrongType(field: path, expected: "an integer") }
            return value
        default: throw .wrongType(field: path, expected: "an integer or null")
        }
    }

    func optionalDouble(_ key: String, path: String) throws(ProtocolError) -> Double? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let number)?: return number.double
        default: throw .wrongType(field: path, expected: "a number or null")
        }
    }

    func optionalBool(_ key: String, path: String) throws(ProtocolError) -> Bool? {
        switch self[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw .wrongType(field: path, expected: "a boolean or null")
        }
    }

    func optionalObject(_ key: String, path: String) throws(ProtocolError) -> JSONObject? {
        switch self[key] {
        case nil, .null?: return nil
        case .object(let value)?: return value
        default: throw .wrongType(field: path, expected: "an object or null")
        }
    }

    func optionalArray(_ key: String, path: String) throws(ProtocolError) -> [JSON]? {
        switch self[key] {
        case nil, .null?: return nil
        case .array(let value)?: return value
        default: throw .wrongType(field: path, expected: "an array or null")
        }
    }

    /// An ISO-8601 header such as `eta`/`expires`, as epoch seconds.
    func optionalTimestamp(_ key: String, path: String) throws(ProtocolError) -> Double? {
        guard let text = try optionalString(key, path: path) else { return nil }
        return try Timestamp.parse(text)
    }
}
