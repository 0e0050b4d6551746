/// Object members, named by their paths from a document's root, whose values one validating
/// pass over the document locates — as byte ranges, building nothing.
///
/// Why: a node reads about 30 scalars of a Celery envelope per task. Building them as ``JSON``
/// values in ``JSONObject``s and then looking each up by key was most of the decode's cost
/// (docs/performance.md); locating them and converting each straight to its field is not.
/// Locating still validates every byte with the parser's own rules, so a document is accepted
/// or rejected exactly as ``JSON/parse(_:)-(UnsafeRawBufferPointer)`` would, with the same error.
public struct JSONFieldPaths: Sendable {
    struct Member: Sendable {
        /// Where the key's bytes sit in ``JSONFieldPaths/keyBytes``: a plain value, so finding a
        /// member retains nothing (an array per member cost a retain and release per key read).
        let keyStart: Int
        let keyCount: Int
        /// Length, first and last byte packed: most keys that are not this one differ here,
        /// so the byte compare runs almost only for the key that matches.
        let signature: UInt32
        /// Where this member's range goes in the located ranges.
        let slot: Int
        /// The tracked object this member's value is, when paths continue below it.
        let object: Int?
    }

    struct Object: Sendable {
        let members: [Member]
        /// Every slot below this object. Cleared whenever the member holding this object is met,
        /// so that of a repeated key the last value wins whole, nested members included
        /// (Python's `json.loads` keeps the last), even when that value is not an object.
        let descendants: [Int]
        /// Open-addressed table of member numbers by key signature (-1: empty). A Celery
        /// header object has ~20 keys and ~19 tracked members: a linear search per key was
        /// a tenth of the decode.
        let table: [Int8]

        init(members: [Member], descendants: [Int]) {
            precondition(members.count <= Self.tableSize / 2, "at most \(Self.tableSize / 2) members per object")
            self.members = members
            self.descendants = descendants
            var table = [Int8](repeating: -1, count: Self.tableSize)
            for (number, member) in members.enumerated() {
                var bucket = Self.bucket(member.signature)
                while table[bucket] >= 0 { bucket = (bucket + 1) & (Self.tableSize - 1) }
                table[bucket] = Int8(number)
            }
            self.table = table
        }

        static let tableSize = 64

        static func bucket(_ signature: UInt32) -> Int { Int((signature &* 0x9E37_79B1) >> 26) }
    }

    /// `objects[0]` is the document's root.
    let objects: [Object]
    /// Every member's key, one after another (see ``Member/keyStart``).
    let keyBytes: [UInt8]
    /// The path of each slot, as given.
    public let paths: [[String]]

    /// Slot `i` locates `paths[i]`. A path's parent must be listed before it (its slot holds
    /// the whole parent value, so a caller can tell "absent" from "not an object").
    public init(_ paths: [[String]]) {
        var objectOfSlot: [Int: Int] = [:]  // slot of a member with members below it → object number
        var objectCount = 1
        func parentSlot(_ path: [String]) -> Int? {
            path.count == 1 ? nil : paths.firstIndex(of: Array(path.dropLast()))
        }
        for (slot, path) in paths.enumerated() {
            precondition(!path.isEmpty && paths.firstIndex(of: path) == slot, "paths must be non-empty and distinct")
            if path.count > 1 {
                guard let parent = parentSlot(path), parent < slot else { preconditionFailure("\(path): parent not listed before it") }
                if objectOfSlot[parent] == nil {
                    objectOfSlot[parent] = objectCount
                    objectCount += 1
                }
            }
        }
        var members = [[Member]](repeating: [], count: objectCount)
        var descendants = [[Int]](repeating: [], count: objectCount)
        var keyBytes: [UInt8] = []
        for (slot, path) in paths.enumerated() {
            let key = Array(path.last!.utf8)
            let member = Member(keyStart: keyBytes.count, keyCount: key.count,
                                signature: Self.signature(of: key.withUnsafeBytes { $0 }), slot: slot,
                                object: objectOfSlot[slot])
            keyBytes += key
            members[parentSlot(path).map { objectOfSlot[$0]! } ?? 0].append(member)
            for depth in 1..<path.count {
                if let ancestor = paths.firstIndex(of: Array(path.prefix(depth))), let object = objectOfSlot[ancestor] {
                    descendants[object].append(slot)
                }
            }
        }
        self.objects = zip(members, descendants).map { Object(members: $0, descendants: $1) }
        self.keyBytes = keyBytes
        self.paths = paths
    }

    static func signature(of key: UnsafeRawBufferPointer) -> UInt32 {
        guard let first = key.first, let last = key.last else { return 0 }
        return UInt32(truncatingIfNeeded: key.count) << 16 | UInt32(first) << 8 | UInt32(last)
    }

    /// The member of tracked object `object` named by the key bytes (unescaped UTF-8), if any.
    /// Keys match byte for byte, as Python's dict keys (code points) do: no Unicode canonical
    /// equivalence.
    func member(of object: Int, named key: UnsafeRawBufferPointer) -> Member? {
        let signature = Self.signature(of: key)
        var bucket = Object.bucket(signature)
        // Read in place (`objects[object].…`): a local copy of the Object costs a retain and a
        // release per array it holds, per key of the document.
        while true {
            let number = Int(objects[object].table[bucket])
            guard number >= 0 else { return nil }
            let member = objects[object].members[number]
            if member.signature == signature, member.keyCount == key.count, keyBytes.withUnsafeBufferPointer({ stored in
                var index = 0
                while index < key.count, stored[member.keyStart + index] == key[index] { index += 1 }
                return index == key.count
            }) {
                return member
            }
            bucket = (bucket + 1) & (Object.tableSize - 1)
        }
    }
}

/// Per slot of a ``JSONFieldPaths``, the byte range of its value in one document, if located.
///
/// Stored as plain `Int` bounds: an array of `Range<Int>?` made the runtime look up its
/// generic metadata on every allocation, ~1 % of a node's CPU per task.
public struct JSONLocations: Sendable {
    private var bounds: [Int]

    init(count: Int) {
        bounds = Array(repeating: -1, count: 2 * count)
    }

    /// The number of slots.
    public var count: Int { bounds.count / 2 }

    public subscript(slot: Int) -> Range<Int>? {
        get {
            let lower = bounds[2 * slot]
            return lower < 0 ? nil : lower..<bounds[2 * slot + 1]
        }
        set {
            bounds[2 * slot] = newValue?.lowerBound ?? -1
            bounds[2 * slot + 1] = newValue?.upperBound ?? -1
        }
    }
}

/// The state of one locating pass: the paths and, per slot, where its value lies.
struct JSONLocator {
    let paths: JSONFieldPaths
    var ranges: JSONLocations
}

extension JSON {
    /// Validates one JSON document and returns, per slot of `paths`, the byte range of the
    /// value at that path (nil where absent, or where an ancestor is not an object). Accepts
    /// and rejects exactly the documents ``parse(_:)-(UnsafeRawBufferPointer)`` does.
    public static func locate(_ paths: JSONFieldPaths, in bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> JSONLocations {
        var parser = JSONParser(bytes: bytes)
        var locator: JSONLocator? = JSONLocator(paths: paths, ranges: JSONLocations(count: paths.paths.count))
        parser.skipWhitespace()
        try parser.skipValue(tracking: 0, &locator)
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.fail("unexpected data after the JSON value") }
        return locator!.ranges
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
// every task. The differential fuzz test (JSONLocatingFuzzTests) holds the copies to one grammar.
extension JSONParser {
    /// Validates one value and steps over it, building nothing.
    mutating func skipValue() throws(ProtocolError) {
        var untracked: JSONLocator? = nil
        try skipValue(tracking: nil, &untracked)
    }

    /// Validates one value and steps over it; if it is the tracked object `object`, records in
    /// `locator` where its tracked members' values lie.
    mutating func skipValue(tracking object: Int?, _ locator: inout JSONLocator?) throws(ProtocolError) {
        guard !atEnd else { throw fail("unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try skipObject(tracking: object, &locator)
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

    private mutating func skipObject(tracking object: Int?, _ locator: inout JSONLocator?) throws(ProtocolError) {
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
            var member: JSONFieldPaths.Member?
            if let object { member = try trackedMember(of: object, locator) } else { try skipString() }
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            position += 1
            skipWhitespace()
            if let member {
                let start = position
                // Of a repeated key the last value wins whole: forget what an earlier one held.
                if let nested = member.object, let descendants = locator?.paths.objects[nested].descendants {
                    for slot in descendants { locator?.ranges[slot] = nil }
                }
                try skipValue(tracking: member.object, &locator)
                locator?.ranges[member.slot] = start..<position
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
    }

    /// Reads an object key starting at its quote and returns the tracked member it names, if
    /// any. An escape-free key (nearly all) is compared in place, so an untracked member costs
    /// no String at all.
    private mutating func trackedMember(of object: Int, _ locator: JSONLocator?) throws(ProtocolError) -> JSONFieldPaths.Member? {
        let quote = position
        let escaped = try skipString()
        guard let paths = locator?.paths else { return nil }
        guard escaped else {
            return paths.member(of: object, named: UnsafeRawBufferPointer(rebasing: bytes[(quote + 1)..<(position - 1)]))
        }
        position = quote
        var key = try parseString()
        return key.withUTF8 { paths.member(of: object, named: UnsafeRawBufferPointer($0)) }
    }

    /// Validates a string starting at its opening quote (escapes, surrogates, UTF-8) as
    /// ``parseString()`` does, without making one. Returns true if it held an escape.
    @discardableResult
    private mutating func skipString() throws(ProtocolError) -> Bool {
        position += 1
        let start = position
        var escaped = false
        while position < bytes.count {
            position = skipPlainASCII(from: position)
            guard position < bytes.count else { break }
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
