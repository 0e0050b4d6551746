/// Everything that can go wrong while reading or writing Celery's wire format.
///
/// Each case carries enough context to find the offending byte or field in a
/// captured message; ``description`` is a sentence suitable for a log line.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not valid JSON (RFC 8259); `offset` is the byte index where parsing stopped.
    case invalidJSON(offset: Int, reason: String)
    /// A required envelope, header or body field is absent. The name is a dotted path such as `headers.id`.
    case missingField(String)
    /// A field is present but has the wrong JSON type. The name is a dotted path.
    case wrongType(field: String, expected: String)
    /// The envelope's `content-type` is not `application/json`, e.g. a pickle or msgpack message.
    case unsupportedContentType(String)
    /// The message carries a `compression` header; compressed bodies are not supported.
    case unsupportedCompression(String)
    /// `properties.body_encoding` is neither `base64` nor `utf-8`.
    case unsupportedBodyEncoding(String)
    /// A base64 string contains a character outside the standard alphabet, misplaced padding,
    /// or an impossible length; `offset` is the index of the first bad character.
    case invalidBase64(offset: Int)
    /// A timestamp is not an ISO-8601 string that Python's `datetime.fromisoformat` would accept.
    case invalidDate(String)
    /// The message has no `task` header, so it is not a Celery protocol v2 message
    /// (protocol v1 or some other producer).
    case notProtocolV2
    /// A canvas signature uses a feature Caraway cannot apply itself (e.g. a nested chord).
    case unsupportedSignature(String)

    public var description: String {
        switch self {
        case .invalidJSON(let offset, let reason):
            return "The message is not valid JSON: \(reason) at byte \(offset)."
        case .missingField(let field):
            return "The message has no `\(field)` field, which Celery protocol v2 requires."
        case .wrongType(let field, let expected):
            return "The field `\(field)` should be \(expected)."
        case .unsupportedContentType(let type):
            return "The content type `\(type)` is not supported; only application/json can be read "
                + "(set task_serializer='json' on the Python side)."
        case .unsupportedCompression(let type):
            return "The message is compressed with `\(type)`, which is not supported "
                + "(unset task_compression on the Python side)."
        case .unsupportedBodyEncoding(let encoding):
            return "The body encoding `\(encoding)` is not supported; expected base64 or utf-8."
        case .invalidBase64(let offset):
            return "The body is not valid base64: bad character or padding at offset \(offset)."
        case .invalidDate(let text):
            return "`\(text)` is not an ISO-8601 timestamp."
        case .notProtocolV2:
            return "The message has no `task` header, so it is not a Celery protocol v2 message "
                + "(a protocol v1 client or a foreign producer may be writing to this queue)."
        case .unsupportedSignature(let what):
            return "The canvas signature cannot be applied: \(what)."
        }
    }
}
