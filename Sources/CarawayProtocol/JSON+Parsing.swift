extension JSON {
    /// Deepest array/object nesting the parser accepts. The parser recurses once per level,
    /// so this bounds stack use against hostile input; Celery messages nest about 6 deep.
    public static let maximumDepth = 512

    /// Parses one JSON document (RFC 8259) from UTF-8 bytes.
    ///
    /// Accepts Python's `NaN`, `Infinity` and `-Infinity` number extensions (see
    /// ``JSONNumber``). Rejects invalid UTF-8, lone surrogate escapes (Swift strings cannot
    /// hold them), nesting deeper than ``maximumDepth`` and anything after the value
    /// except whitespace. Safe to call from any thread.
    /// - Parameter bytes: the document; it need not outlive the call.
    /// - Returns: the parsed value.
    /// - Throws: ``ProtocolError/invalidJSON(offset:reason:)`` naming the byte offset.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// Parses one JSON document from a byte array. See ``parse(_:)-(UnsafeRawBufferPointer)``.
    public static func parse(_ bytes: [UInt8]) throws(ProtocolError) -> JSON {
        let result: Result<JSON, ProtocolError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one JSON document from a byte slice. Offsets in errors count from the slice start.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(ProtocolError) -> JSON {
        let result: Result<JSON, ProtocolError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one JSON document from a string's UTF-8.
    public static func parse(_ text: String) throws(ProtocolError) -> JSON {
        var text = text
        let result: Result<JSON, ProtocolError> = text.withUTF8 { buffer in
            Result { () throws(ProtocolError) in try parse(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }
}

/// Recursive-descent parser over a borrowed buffer. One instance parses one document.
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    var depth = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var atEnd: Bool { position >= bytes.count }

    func fail(_ reason: String, at offset: Int? = nil) -> ProtocolError {
        .invalidJSON(offset: offset ?? position, reason: reason)
    }

    mutating func parseDocument() throws(ProtocolError) -> JSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard atEnd else { throw fail("unexpected data after the JSON value") }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        // Whitespace is at most a space or two between tokens (Python's ", " and ": "): test the
        // byte here, loop only when there is some.
        guard position < bytes.count, bytes[position] <= 0x20 else { return }
        while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
    }

    /// RFC 8259's four whitespace bytes.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    mutating func parseValue() throws(ProtocolError) -> JSON {
        guard !atEnd else { throw fail("unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "N"), UInt8(ascii: "I"):
            return .number(try parseNumber())
        default:
            throw fail("unexpected character '\(Self.printable(bytes[position]))', expected a value")
        }
    }

    mutating func expectWord(_ word: StaticString) throws(ProtocolError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw fail("unexpected end of input in literal") }
        // null, true, false: four bytes compared as one word, then what is left one by one.
        let expected = UnsafeRawPointer(word.utf8Start)
        var k = 0
        if count >= 4 {
            guard bytes.baseAddress!.loadUnaligned(fromByteOffset: position, as: UInt32.self)
                    == expected.loadUnaligned(as: UInt32.self) else { throw fail("invalid literal, expected '\(word)'") }
            k = 4
        }
        while k < count {
            guard bytes[position + k] == word.utf8Start[k] else { throw fail("invalid literal, expected '\(word)'") }
            k += 1
        }
        position += count
    }

    mutating func enterContainer() throws(ProtocolError) {
        depth += 1
        guard depth <= JSON.maximumDepth else {
            throw fail("nesting deeper than \(JSON.maximumDepth) levels")
        }
    }

    private mutating func parseArray() throws(ProtocolError) -> JSON {
        try enterContainer()
        position += 1
        var elements: [JSON] = []
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard !atEnd else { throw fail("unexpected end of input in array") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "]") { break }
            throw fail("expected ',' or ']' in array", at: position - 1)
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func parseObject() throws(ProtocolError) -> JSON {
        try enterContainer()
        position += 1
        var object = JSONObject()
        skipWhitespace()
        // Most objects in Celery traffic have 2–8 keys: one allocation instead of growing 1→2→4→8.
        object.storage.reserveCapacity(8)
        if !atEnd, bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: "\"") else {
                throw fail(atEnd ? "unexpected end of input in object" : "expected a string key in object")
            }
            let key = try parseString()
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            // Python keeps the last value of a duplicated key; so does setParsed.
            object.setParsed(key, value)
            skipWhitespace()
            guard !atEnd else { throw fail("unexpected end of input in object") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "}") { break }
            throw fail("expected ',' or '}' in object", at: position - 1)
        }
        depth -= 1
        return .object(object)
    }

    private mutating func parseNumber() throws(ProtocolError) -> JSONNumber {
        guard let length = JSONNumber.scanLength(bytes, from: position) else {
            throw fail("invalid number")
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]),
                          as: UTF8.self)
        position += length
        return JSONNumber(validatedText: text)
    }

    /// Parses a string starting at its opening quote. Strings without escapes (nearly all
    /// of them in Celery traffic) are validated in place and copied once.
    mutating func parseString() throws(ProtocolError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            position = skipPlainASCII(from: position)
            guard position < bytes.count else { break }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]),
                                  as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return try parseEscapedString(from: start) }
            if byte < 0x20 { throw fail("unescaped control character in string") }
            if byte < 0x80 { position += 1 } else { try skipUTF8Sequence() }
        }
        throw fail("unterminated string", at: start - 1)
    }

    private mutating func parseEscapedString(from start: Int) throws(ProtocolError) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(position - start + 16)
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                try appendEscape(to: &buffer)
            } else if byte < 0x20 {
                throw fail("unescaped control character in string")
            } else if byte < 0x80 {
                buffer.append(byte)
                position += 1
            } else {
                let first = position
                try skipUTF8Sequence()
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[first..<position]))
            }
        }
        throw fail("unterminated string", at: start - 1)
    }

    private mutating func appendEscape(to buffer: inout [UInt8]) throws(ProtocolError) {
        Self.appendUTF8(try readEscape(), to: &buffer)
    }

    /// Reads one escape sequence starting at its backslash and returns the scalar it stands for
    /// (a surrogate pair counts as one). Shared by the parser and the validating skimmer.
    mutating func readEscape() throws(ProtocolError) -> UInt32 {
        let escapeStart = position
        position += 1
        guard !atEnd else { throw fail("unterminated escape sequence") }
        let code = bytes[position]
        position += 1
        switch code {
        case UInt8(ascii: "\""): return 0x22
        case UInt8(ascii: "\\"): return 0x5C
        case UInt8(ascii: "/"): return 0x2F
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by an escaped low surrogate (UTF-16 pair).
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u") else {
                    throw fail("lone high surrogate in \\u escape", at: escapeStart)
                }
                position += 2
                let low = try readHex4()
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw fail("high surrogate not followed by a low surrogate", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw fail("lone low surrogate in \\u escape", at: escapeStart)
            }
            return scalar
        default:
            throw fail("invalid escape sequence", at: escapeStart)
        }
    }

    private mutating func readHex4() throws(ProtocolError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    static func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            buffer.append(UInt8(scalar))
        case ..<0x800:
            buffer.append(UInt8(0xC0 | scalar >> 6))
            buffer.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            buffer.append(UInt8(0xE0 | scalar >> 12))
            buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            buffer.append(UInt8(0x80 | scalar & 0x3F))
        default:
            buffer.append(UInt8(0xF0 | scalar >> 18))
            buffer.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            buffer.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `position` (Unicode table 3-7: no overlongs,
    /// no surrogates, nothing above U+10FFFF) and steps over it.
    mutating func skipUTF8Sequence() throws(ProtocolError) {
        let lead = bytes[position]
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        let continuations: Int
        switch lead {
        case 0xC2...0xDF: continuations = 1
        case 0xE0: continuations = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: continuations = 2
        case 0xED: continuations = 2; high = 0x9F
        case 0xF0: continuations = 3; low = 0x90
        case 0xF1...0xF3: continuations = 3
        case 0xF4: continuations = 3; high = 0x8F
        default: throw fail("invalid UTF-8 lead byte")
        }
        guard position + continuations < bytes.count else { throw fail("truncated UTF-8 sequence") }
        for k in 1...continuations {
            let byte = bytes[position + k]
            let (min, max): (UInt8, UInt8) = k == 1 ? (low, high) : (0x80, 0xBF)
            guard byte >= min && byte <= max else { throw fail("invalid UTF-8 sequence") }
        }
        position += continuations + 1
    }

    /// The index of the first byte at or after `index` that is not printable ASCII other than
    /// `"` and `\\` — the only bytes inside a string that need a closer look. Eight bytes per
    /// step: strings (base64 bodies, ids) are most of a Celery envelope, and a byte-at-a-time
    /// scan of them was a third of its decode (docs/performance.md).
    func skipPlainASCII(from index: Int) -> Int {
        guard let base = bytes.baseAddress else { return index }
        var index = index
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let special = Self.specialBytes(word)
            // The lowest flagged byte is exact (see specialBytes): most strings end inside their
            // first word, and stepping to the quote here skips a byte-by-byte walk to it.
            if special != 0 { return index + special.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte >= 0x80 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
            index += 1
        }
        return index
    }

    /// True if any byte of `word` is below 0x20, at or above 0x80, `"` or `\\` (exact: the
    /// classic "has zero byte" / "has byte less than n" bit tricks have no false positives
    /// in deciding whether such a byte exists).
    /// The high bit of each byte of `word` that may be special (below 0x20, at or above 0x80,
    /// `"` or `\\`), read little-endian. Bytes above the lowest flagged one can be flagged
    /// falsely (a borrow runs upwards), never the lowest: it is always the first special byte.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let control = (word &- 0x20 &* ones) & ~word & highs
        let quote = hasZeroByte(word ^ (0x22 &* ones))
        let backslash = hasZeroByte(word ^ (0x5C &* ones))
        return control | quote | backslash | (word & highs)
    }

    static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
