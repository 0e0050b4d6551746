import PropertyBased
import Testing

@testable import CarawayProtocol

/// The locating pass must be the full parser with nothing built: same documents accepted, same
/// error (reason and offset) for the rest, and each located range holding exactly the value a
/// full parse has at that path (Python's rule for repeated keys: the last one wins, whole).
@Suite("Fuzz: locating JSON members agrees with the full parser")
struct JSONLocatingFuzzTests {
    /// Keys the generators use often, nested a few levels, so that paths actually match.
    static let paths: JSONFieldPaths = {
        let leaves = ["", "a", "celery", "add", "null", "é", "base64"]
        var paths: [[String]] = []
        for top in ["", "a", "é", "add", "not a date"] {
            paths.append([top])
            guard top != "é" else { continue }
            for middle in ["", "a", "celery", "utf-8", "x"] {
                paths.append([top, middle])
                guard !["a", "utf-8"].contains(middle) else { continue }
                paths += leaves.map { [top, middle, $0] }
            }
        }
        return JSONFieldPaths(paths)
    }()

    /// The value a full parse holds at `path`; nil if absent or below something not an object.
    static func value(at path: [String], in document: JSON) -> JSON? {
        var current = document
        for key in path {
            guard case .object(let object) = current, let next = object[key] else { return nil }
            current = next
        }
        return current
    }

    static func agree(_ bytes: [UInt8], paths: JSONFieldPaths) throws(FuzzFailure) {
        let full = Result { () throws(ProtocolError) in try JSON.parse(bytes) }
        let located = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try JSON.locate(paths, in: buffer) }
        }
        let ranges = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try JSON.elementRanges(buffer) }
        }
        switch (full, located, ranges) {
        case (.failure(let a), .failure(let b), .failure(let c)):
            try fuzzExpect(a == b && a == c, "errors differ: full \(a), locating \(b), element ranges \(c)")
        case (.success(let value), .success(let slots), .success(let elements)):
            try fuzzExpect(slots.count == paths.paths.count, "\(slots.count) slots for \(paths.paths.count) paths")
            for (slot, path) in paths.paths.enumerated() {
                let range = slots[slot]
                let expected = Self.value(at: path, in: value)
                var found: JSON?
                if let range {
                    guard let located = try? JSON.parse(bytes[range]) else {
                        throw FuzzFailure(message: "\(path): range \(range) holds no JSON value")
                    }
                    found = located
                }
                try fuzzExpect(found == expected, "\(path): located \(found?.serializedString() ?? "nothing"), "
                                   + "full parse has \(expected?.serializedString() ?? "nothing")")
            }
            if case .array(let items) = value {
                guard let elements else { throw FuzzFailure(message: "an array gave no element ranges") }
                try fuzzExpect(elements.count == items.count, "\(elements.count) ranges for \(items.count) elements")
                for (range, item) in zip(elements, items) {
                    try fuzzExpect((try? JSON.parse(bytes[range])) == item, "range \(range) does not hold its element")
                }
            } else {
                try fuzzExpect(elements == nil, "element ranges for a document that is not an array")
            }
        default:
            throw FuzzFailure(message: "accepted by one and rejected by another: full \(full), locating \(located), ranges \(ranges)")
        }
    }

    @Test("Locating accepts, rejects and finds exactly what the full parser does")
    func agreesWithFullParser() {
        let input = Gen.frequency(
            (weight: 1, gen: FuzzGen.randomBytes(max: 2048)),
            (weight: 3, gen: FuzzGen.tokenSoup(max: 2048)),
            (weight: 5, gen: FuzzGen.mutatedJSON()),
            (weight: 1, gen: FuzzGen.deepNesting()))
        Fuzz.check("JSONLocatingFuzzTests/agreesWithFullParser", weight: 2, input: input) { (input: FuzzBytes) throws in
            try Self.agree(input.bytes, paths: Self.paths)
            try Self.agree(input.bytes, paths: CeleryMessage.fields)
        }
    }

    @Test("Unlocated members are still validated: each broken fragment fails the same way either way")
    func brokenFragmentsInSkippedMembers() throws {
        let onlyA = JSONFieldPaths([["a"]])
        for fragment in FuzzJSON.rawFragments {
            let document = Array(#"{"a":1,"skipped":"#.utf8) + fragment + Array(#","a":2}"#.utf8)
            try Self.agree(document, paths: onlyA)
            try Self.agree(Array("[".utf8) + fragment + Array("]".utf8), paths: onlyA)
        }
    }

    @Test("A repeated key's last value wins whole, members below it included")
    func repeatedKeysLastWins() throws {
        let paths = JSONFieldPaths([["h"], ["h", "x"], ["h", "y"], ["h", "y", "z"]])
        for document in [#"{"h":{"x":1,"y":{"z":2}},"h":{"y":{}}}"#, #"{"h":{"x":1,"y":{"z":2}},"h":null}"#,
                         #"{"h":{"x":1},"h":[{"x":2}]}"#, #"{"h":{"y":{"z":1},"y":3}}"#, #"{"h":{"x":1,"x":{"y":2}}}"#] {
            try Self.agree(Array(document.utf8), paths: paths)
        }
        let located = try Array(#"{"h":{"x":1,"y":{"z":2}},"h":{"y":{}}}"#.utf8).withUnsafeBytes { try JSON.locate(paths, in: $0) }
        #expect(located[1] == nil && located[2] != nil && located[3] == nil)
    }
}
