/// Which members of a JSON object to build when parsing; everything else is validated and
/// skipped without building anything.
///
/// Why: a node reads about 20 of the ~35 values in a Celery envelope, and building the rest
/// (strings, nested objects, their teardown) was a sixth of its CPU per task
/// (docs/performance.md). Skipping still validates every byte with the parser's own rules, so
/// a document is accepted or rejected exactly as ``JSON/parse(_:)-(UnsafeRawBufferPointer)``
/// would, with the same error.
struct JSONSelection: Sendable {
    struct Member: Sendable {
        let key: String
        let keyBytes: [UInt8]
        /// Length, first and last byte packed: most keys that are not this one differ here,
        /// so the byte-by-byte compare runs almost only for the key that matches.
        let signature: UInt32
        let selection: JSONSelection

        init(key: String, selection: JSONSelection) {
            self.key = key
            self.keyBytes = Array(key.utf8)
            self.signature = Self.signature(of: keyBytes.withUnsafeBytes { $0 })
            self.selection = selection
        }

        static func signature(of key: UnsafeRawBufferPointer) -> UInt32 {
            guard let first = key.first, let last = key.last else { return 0 }
            return UInt32(truncatingIfNeeded: key.count) << 16 | UInt32(first) << 8 | UInt32(last)
        }
    }

    /// nil: build the whole value. Otherwise the value, if it is an object, keeps only these
    /// members (each built by its own selection); a value that is not an object is built whole.
    let members: [Member]?

    /// Build everything.
    static let all = JSONSelection(members: nil)

    /// Keep only the named members of an object, each built whole.
    static func only(_ keys: [String]) -> JSONSelection {
        only(keys.map { ($0, .all) })
    }

    /// Keep only the named members of an object, each built by its own selection.
    static func only(_ members: [(String, JSONSelection)]) -> JSONSelection {
        precondition(members.count <= 64, "a selection names at most 64 members")
        return JSONSelection(members: members.map { Member(key: $0.0, selection: $0.1) })
    }

    /// The member named by the key bytes (unescaped UTF-8), nil to skip it. Keys match byte for
    /// byte, as Python's dict keys (code points) do: no Unicode canonical equivalence.
    fileprivate func member(named key: UnsafeRawBufferPointer) -> Int? {
        guard let members else { return nil }
        let signature = Member.signature(of: key)
        for (number, member) in members.enumerated() where member.signature == signature {
            var index = 0
            while index < key.count, member.keyBytes[index] == key[index] { index += 1 }
            if index == key.count { return number }
        }
        return nil
    }
}

extension JSON {
    /// Parses one JSON document, building only what `selection` names (see ``JSONSelection``).
    /// Accepts and rejects exactly the documents ``parse(_:)-(UnsafeRawBufferPointer)`` does.
    static func parse(_ bytes: UnsafeRawBufferPointer, selecting selection: JSONSelection) throws(ProtocolError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(selecting: selection)
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.fail("unexpected data after the JSON value") }
        return value
    }

    /// Validates one JSON document that must be an array and returns the byte range of each
    /// element, unparsed; nil when the document is valid JSON but not an array.
    static func elementRanges(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> [Range<Int>]? {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        var ranges: [Range<Int>]?
        if !parser.atEnd, bytes[parser.position] == UInt8(ascii: "[") {
            ranges = try parser.skipArray(collecting: true)
        } else {
            try parser.skipValue()
        }
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.fail("unexpected data after the JSON value") }
        return ranges
    }
}

// The object and array loops below repeat the parser's grammar (JSON+Parsing.swift) on purpose:
// one walker shared through closures (tried on 2026-12-06, with `@inline(__always)`) made the
// full parse 5–15 % slower in `caraway-bench micro`, and the full parser runs in every child for
// every task. The differential fuzz test (JSONSkimmingFuzzTests) holds the copies to one grammar.
extension JSONParser {
    mutating func parseValue(selecting selection: JSONSelection) throws(ProtocolError) -> JSON {
        guard selection.members != nil, !atEnd, bytes[position] == UInt8(ascii: "{") else { return try parseValue() }
        try enterContainer()
        position += 1
        let members = selection.members ?? []
        var object = JSONObject()
        object.storage.reserveCapacity(members.count)
        // Members seen so far, by number: a first sighting appends without searching the object
        // (a duplicate key, which Python resolves to the last value, takes the slow path).
        var seen: UInt64 = 0  // a selection names at most 64 members (checked in only(_:))
        skipWhitespace()
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
            let number = try selectedMember(of: selection)
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            position += 1
            skipWhitespace()
            if let number {
                let member = members[number]
                let value = try parseValue(selecting: member.selection)
                if seen & (1 << number) != 0 {
                    object.setParsed(member.key, value)
                } else {
                    seen |= 1 << number
                    object.append(member.key, value)
                }
            } else {
                try skipValue()
            }
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

    /// Reads an object key starting at its quote and returns the number of the selection's
    /// member it names, if any. An escape-free key (nearly all) is compared in place, so a skipped member costs
    /// no String at all.
    private mutating func selectedMember(of selection: JSONSelection) throws(ProtocolError) -> Int? {
        let quote = position
        let escaped = try skipString()
        guard escaped else {
            return selection.member(named: UnsafeRawBufferPointer(rebasing: bytes[(quote + 1)..<(position - 1)]))
        }
        position = quote
        var key = try parseString()
        return key.withUTF8 { selection.member(named: UnsafeRawBufferPointer($0)) }
    }

    /// Validates one value and steps over it, building nothing.
    mutating func skipValue() throws(ProtocolError) {
        guard !atEnd else { throw fail("unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try skipObject()
        case UInt8(ascii: "["): _ = try skipArray(collecting: false)
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expectWord("true")
        case UInt8(ascii: "f"): try expectWord("false")
        case UInt8(ascii: "n"): try expectWord("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "N"), UInt8(ascii: "I"):
            guard let length = JSONNumber.scanLength(bytes, from: position) else { throw fail("invalid number") }
            position += length
        default:
            throw fail("unexpected character '\(Self.printable(bytes[position]))', expected a value")
        }
    }

    /// Steps over an array; with `collecting`, returns each element's byte range.
    mutating func skipArray(collecting: Bool) throws(ProtocolError) -> [Range<Int>] {
        try enterContainer()
        position += 1
        var ranges: [Range<Int>] = []
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return ranges
        }
        while true {
            skipWhitespace()
            let start = position
            try skipValue()
            if collecting { ranges.append(start..<position) }
            skipWhitespace()
            guard !atEnd else { throw fail("unexpected end of input in array") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "]") { break }
            throw fail("expected ',' or ']' in array", at: position - 1)
        }
        depth -= 1
        return ranges
    }

    private mutating func skipObject() throws(ProtocolError) {
        try enterContainer()
        position += 1
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: "\"") else {
                throw fail(atEnd ? "unexpected end of input in object" : "expected a string key in object")
            }
            try skipString()
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            position += 1
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard !atEnd else { throw fail("unexpected end of input in object") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "}") { break }
            throw fail("expected ',' or '}' in object", at: position - 1)
        }
        depth -= 1
    }

    /// Validates a string starting at its opening quote (escapes, surrogates, UTF-8) as
    /// ``parseString()`` does, without making one. Returns true if it held an escape.
    @discardableResult
    private mutating func skipString() throws(ProtocolError) -> Bool {
        position += 1
        let start = position
        var escaped = false
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return escaped
            }
            if byte == UInt8(ascii: "\\") {
                _ = try readEscape()
                escaped = true
            } else if byte < 0x20 {
                throw fail("unescaped control character in string")
            } else if byte < 0x80 {
                position += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        throw fail("unterminated string", at: start - 1)
    }
}
