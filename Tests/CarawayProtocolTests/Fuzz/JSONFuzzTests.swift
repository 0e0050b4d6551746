import PropertyBased
import Testing

@testable import CarawayProtocol

@Suite("Fuzz: JSON parser and serializer")
struct JSONFuzzTests {
    /// Parses `bytes`; an accepted document must serialize to text that parses to the same
    /// value, and a rejection must name an offset inside the input.
    static func parseChecked(_ bytes: [UInt8]) throws(FuzzFailure) {
        try fuzzExpect(bytes.count <= Fuzz.maximumInputBytes, "input over the size bound")
        let value: JSON
        do {
            value = try JSON.parse(bytes)
        } catch {
            guard case .invalidJSON(let offset, let reason) = error else {
                throw FuzzFailure(message: "parse threw \(error), not invalidJSON")
            }
            try fuzzExpect((0...bytes.count).contains(offset) && !reason.isEmpty,
                           "error offset \(offset) outside 0...\(bytes.count) or no reason: \(error)")
            _ = error.description
            return
        }
        let text = value.serialized()
        guard let again = try? JSON.parse(text) else {
            throw FuzzFailure(message: "accepted, but its serialization \(FuzzText.escaped(text, limit: 300)) is rejected")
        }
        try fuzzExpect(again == value, "serialization parses to a different value")
        try fuzzExpect(again.serialized() == text, "serialization is not stable")
    }

    @Test("JSON.parse never traps: random bytes, token soup, mutated documents, deep nesting")
    func parseNeverTraps() {
        let input = Gen.frequency(
            (weight: 2, gen: FuzzGen.randomBytes(max: 4096)),
            (weight: 3, gen: FuzzGen.tokenSoup(max: 4096)),
            (weight: 4, gen: FuzzGen.mutatedJSON()),
            (weight: 1, gen: FuzzGen.deepNesting()))
        Fuzz.check("JSONFuzzTests/parseNeverTraps", weight: 2, input: input) { (input: FuzzBytes) throws in
            try Self.parseChecked(input.bytes)
        }
    }

    @Test("serialize → parse round-trips random values; numbers keep their text")
    func roundTrip() {
        let input = FuzzGen.make { rng in FuzzJSON.value(&rng, depth: 5) }
        Fuzz.check("JSONFuzzTests/roundTrip", weight: 1, input: input, describe: { $0.serializedString() }) { value in
            let text = value.serialized()
            try fuzzExpect(text.count <= 16 * Fuzz.maximumInputBytes, "generated value too large")
            guard let parsed = try? JSON.parse(text) else {
                throw FuzzFailure(message: "serialized text is rejected")
            }
            try fuzzExpect(parsed == value, "parsed value differs")
            try fuzzExpect(parsed.serialized() == text, "re-serialization differs: \(parsed.serializedString())")
        }
    }

    @Test("Loosely written JSON (whitespace, \\u escapes, surrogate pairs, \\/) parses to the same value")
    func looseText() {
        let input = FuzzGen.make { (rng: inout SplitMix64) -> (JSON, [UInt8]) in
            let value = FuzzJSON.value(&rng, depth: 4)
            return (value, FuzzJSON.looseText(value, &rng))
        }
        Fuzz.check("JSONFuzzTests/looseText", weight: 1, input: input,
                   describe: { FuzzText.escaped($0.1, limit: 2000) }) { value, text in
            guard let parsed = try? JSON.parse(text) else { throw FuzzFailure(message: "valid text is rejected") }
            try fuzzExpect(parsed.serialized() == value.serialized(),
                           "parsed to \(parsed.serializedString()), expected \(value.serializedString())")
        }
    }

    @Test("A number literal is accepted by JSON.parse exactly when JSONNumber(literal:) accepts it, text kept")
    func numberGrammar() {
        let input = FuzzGen.make { (rng: inout SplitMix64) -> String in
            if rng.chance(0.5) { return FuzzJSON.numberLiteral(&rng) }
            let alphabet = Array("0123456789-+.eE".utf8) + Array("NaInfity".utf8)
            let bytes = (0..<rng.int(1...12)).map { _ in rng.pick(alphabet) }
            return String(decoding: bytes, as: UTF8.self)
        }
        Fuzz.check("JSONFuzzTests/numberGrammar", weight: 2, input: input) { literal in
            let viaInit = JSONNumber(literal: literal)
            let viaParse = try? JSON.parse(literal)
            switch (viaInit, viaParse) {
            case (let number?, .number(let parsed)?):
                try fuzzExpect(number.text == literal && parsed.text == literal, "text changed")
                _ = (parsed.int, parsed.double, parsed.isInteger, PythonRepr.render(number: parsed))
            case (nil, nil), (nil, .some(.array)), (nil, .some(.object)), (nil, .some(.string)),
                 (nil, .some(.bool)), (nil, .some(.null)):
                break
            default:
                throw FuzzFailure(message: "JSONNumber(literal:) gives \(String(describing: viaInit)), parse gives \(String(describing: viaParse))")
            }
        }
    }
}
