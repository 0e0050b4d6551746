import PropertyBased
import Testing

@testable import CarawayProtocol

/// The skimming parser must be the full parser with parts left unbuilt: same documents
/// accepted, same error (reason and offset) for the rest, and what it builds equal to the
/// same parts of a full parse.
@Suite("Fuzz: selective JSON parsing agrees with the full parser")
struct JSONSkimmingFuzzTests {
    /// Keys the generators use often, nested a few levels, so selections actually select.
    static let selection: JSONSelection = {
        let leaf = JSONSelection.only(["", "a", "celery", "add", "null", "é", "base64"])
        let middle = JSONSelection.only([("", leaf), ("a", .all), ("celery", leaf), ("utf-8", .all), ("x", leaf)])
        return .only([("", middle), ("a", middle), ("é", .all), ("add", leaf), ("not a date", middle)])
    }()

    /// The full parse restricted to `selection`: what a selective parse must build.
    static func restrict(_ value: JSON, to selection: JSONSelection) -> JSON {
        guard let members = selection.members, case .object(let object) = value else { return value }
        var kept = JSONObject()
        for (key, inner) in object {
            if let member = members.first(where: { $0.keyBytes == Array(key.utf8) }) { kept[key] = restrict(inner, to: member.selection) }
        }
        return .object(kept)
    }

    static func agree(_ bytes: [UInt8], selection: JSONSelection) throws(FuzzFailure) {
        let full = Result { () throws(ProtocolError) in try JSON.parse(bytes) }
        let skimmed = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try JSON.parse(buffer, selecting: selection) }
        }
        let ranges = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try JSON.elementRanges(buffer) }
        }
        switch (full, skimmed, ranges) {
        case (.failure(let a), .failure(let b), .failure(let c)):
            try fuzzExpect(a == b && a == c, "errors differ: full \(a), selective \(b), element ranges \(c)")
        case (.success(let value), .success(let built), .success(let elements)):
            try fuzzExpect(built == restrict(value, to: selection),
                           "selective parse built \(built.serializedString()), expected \(restrict(value, to: selection).serializedString())")
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
            throw FuzzFailure(message: "accepted by one and rejected by another: full \(full), selective \(skimmed), ranges \(ranges)")
        }
    }

    @Test("Selective parsing accepts, rejects and builds exactly as the full parser")
    func agreesWithFullParser() {
        let input = Gen.frequency(
            (weight: 1, gen: FuzzGen.randomBytes(max: 2048)),
            (weight: 3, gen: FuzzGen.tokenSoup(max: 2048)),
            (weight: 5, gen: FuzzGen.mutatedJSON()),
            (weight: 1, gen: FuzzGen.deepNesting()))
        Fuzz.check("JSONSkimmingFuzzTests/agreesWithFullParser", weight: 2, input: input) { (input: FuzzBytes) throws in
            try Self.agree(input.bytes, selection: Self.selection)
            try Self.agree(input.bytes, selection: CeleryMessage.envelopeSelection)
        }
    }

    @Test("Unbuilt members are still validated: each broken fragment fails the same way either way")
    func brokenFragmentsInSkippedMembers() throws {
        for fragment in FuzzJSON.rawFragments {
            let document = Array(#"{"a":1,"skipped":"#.utf8) + fragment + Array(#","a":2}"#.utf8)
            try Self.agree(document, selection: .only(["a"]))
            try Self.agree(Array("[".utf8) + fragment + Array("]".utf8), selection: .all)
        }
    }
}
