import PropertyBased
import Testing

@testable import CarawayProtocol

@Suite("Fuzz: result records, timestamps, base64, saferepr")
struct ResultAndTextFuzzTests {
    static let resultKeys = ["status", "result", "traceback", "children", "date_done", "parent_id", "group_id",
                             "task_id", "name", "args", "kwargs", "worker", "retries", "queue"]

    static func resultFixtures() throws -> [(name: String, bytes: [UInt8])] {
        try Fixture.resultNames.map { ($0, try Fixture.bytes("result_\($0)")) }
    }

    /// A decoded record must encode to a value that decodes to the same record (`date_done`
    /// aside: a year-0000 date clamps to 0001 and microseconds blur past ±285 years).
    static func decodeChecked(_ bytes: [UInt8], outcomes: FuzzCounter) throws(FuzzFailure) {
        try fuzzExpect(bytes.count <= Fuzz.maximumInputBytes, "input over the size bound")
        let record: ResultRecord
        do {
            record = try ResultRecord.decode(bytes)
        } catch {
            _ = error.description
            outcomes.add(CeleryMessageFuzzTests.kind(of: error))
            return
        }
        outcomes.add("decoded")
        _ = (record.exception, record.status, record.state.isReady, record.state.isException)
        if let dateDone = record.dateDone { try fuzzExpect(dateDone.isFinite, "date_done \(dateDone)") }
        let encoded = record.encoded()
        let again: ResultRecord
        do {
            again = try ResultRecord.decode(encoded)
        } catch {
            throw FuzzFailure(message: "encoded record does not decode: \(error)")
        }
        var expected = record
        expected.dateDone = again.dateDone
        try fuzzExpect(again == expected, "record changed through encode → decode")
        try fuzzExpect((again.dateDone == nil) == (record.dateDone == nil), "date_done lost")
    }

    @Test("ResultRecord.decode never traps: random bytes, mutated captures, fields of any type")
    func resultRecords() throws {
        let fixtures = try Self.resultFixtures()
        let objects = try fixtures.map { ($0.name, try #require(JSON.parse($0.bytes).objectValue)) }
        let structural = FuzzGen.make { (rng: inout SplitMix64) -> FuzzBytes in
            let (name, original) = rng.pick(objects)
            var object = original
            var splicer = RawSplicer()
            var edits: [String] = []
            for _ in 0..<rng.int(1...3) {
                let key = rng.pick(Self.resultKeys)
                let value: JSON?
                switch rng.int(0...5) {
                case 0: value = nil
                case 1: value = .string(EnvelopeGen.timestampText(&rng))
                case 2: value = .string(FuzzJSON.string(&rng))
                case 3: value = .number(EnvelopeGen.integer(&rng))
                default: value = EnvelopeGen.hostile(&rng, &splicer)
                }
                object[key] = value
                edits.append("\(key)=\(value.map(\.description) ?? "removed")")
            }
            var bytes = splicer.splice(object.serialized())
            if bytes.count > Fuzz.maximumInputBytes { bytes.removeSubrange(Fuzz.maximumInputBytes...) }
            return FuzzBytes(bytes: bytes, how: "result_\(name) [\(edits.joined(separator: "; "))]")
        }
        let mutated = FuzzGen.make { (rng: inout SplitMix64) -> FuzzBytes in
            let fixture = rng.pick(fixtures)
            let (bytes, how) = FuzzMutation.mutate(fixture.bytes, &rng)
            return FuzzBytes(bytes: bytes, how: "result_\(fixture.name) mutated [\(how)]")
        }
        let input = Gen.frequency((weight: 1, gen: FuzzGen.randomBytes(max: 2048)),
                                  (weight: 3, gen: mutated),
                                  (weight: 4, gen: structural))
        let outcomes = FuzzCounter()
        let stats = Fuzz.check("ResultAndTextFuzzTests/resultRecords", weight: 2, input: input) { input in
            try Self.decodeChecked(input.bytes, outcomes: outcomes)
        }
        print("fuzz ResultAndTextFuzzTests/resultRecords: outcomes \(outcomes.summary)")
        if stats.cases >= 200 {
            #expect(outcomes["decoded"] * 10 >= stats.cases, "too few records decoded: \(outcomes.summary)")
        }
    }

    @Test("Timestamp.parse never traps on random strings; what it accepts formats and parses again")
    func timestamps() {
        let input = FuzzGen.make { (rng: inout SplitMix64) -> String in
            switch rng.int(0...5) {
            case 0:
                return String(decoding: rng.bytes(rng.size(64)), as: UTF8.self)
            case 1:
                let alphabet = Array("0123456789-:Tt Zz+.,".utf8)
                return String(decoding: (0..<rng.size(40)).map { _ in rng.pick(alphabet) }, as: UTF8.self)
            case 2, 3:
                return EnvelopeGen.timestampText(&rng)
            default:
                return FuzzTimestamp.grammar(&rng)
            }
        }
        let outcomes = FuzzCounter()
        Fuzz.check("ResultAndTextFuzzTests/timestamps", weight: 3, input: input, describe: { "\"\($0.debugDescription)\"" }) { text in
            try fuzzExpect(text.utf8.count <= Fuzz.maximumInputBytes, "input over the size bound")
            _ = JSON.string(text).kombuDatetimeEpoch
            _ = JSON.kombuMarker(type: "datetime", value: .string(text)).kombuDatetimeEpoch
            let epoch: Double
            do throws(ProtocolError) {
                epoch = try Timestamp.parse(text)
            } catch {
                _ = error.description
                outcomes.add("rejected")
                return
            }
            outcomes.add("parsed")
            try fuzzExpect(epoch.isFinite, "parsed to \(epoch)")
            let formatted = Timestamp.format(epoch)
            guard let again = try? Timestamp.parse(formatted) else {
                throw FuzzFailure(message: "formatted \(formatted) does not parse")
            }
            if Timestamp.isRepresentable(epoch) && abs(epoch) < 4e9 {
                try fuzzExpect(again == epoch, "\(formatted) parses to \(again), not \(epoch)")
            }
        }
        print("fuzz ResultAndTextFuzzTests/timestamps: outcomes \(outcomes.summary)")
    }

    @Test("Timestamp.format never traps on any Double, and its text always parses")
    func timestampFormat() {
        let input = FuzzGen.make { (rng: inout SplitMix64) -> Double in
            switch rng.int(0...3) {
            case 0: return Double(bitPattern: rng.next())
            case 1: return rng.pick([.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                     .leastNonzeroMagnitude, -0.0, Timestamp.minimumEpoch, Timestamp.maximumEpoch,
                                     Timestamp.minimumEpoch - 1, Timestamp.maximumEpoch + 0.9999999])
            default: return Double.random(in: -1e12...1e12, using: &rng)
            }
        }
        Fuzz.check("ResultAndTextFuzzTests/timestampFormat", weight: 2, input: input) { epoch in
            let text = Timestamp.format(epoch)
            guard let parsed = try? Timestamp.parse(text) else {
                throw FuzzFailure(message: "format(\(epoch)) = \(text) does not parse")
            }
            try fuzzExpect(Timestamp.isRepresentable(parsed), "\(text) parses outside years 1–9999")
            _ = JSON.kombuDatetime(epochSeconds: epoch)
        }
    }

    @Test("Base64.decode never traps; encode → decode round-trips, with or without padding")
    func base64() {
        let input = FuzzGen.make { (rng: inout SplitMix64) -> ([UInt8], [UInt8]) in
            let data = rng.bytes(rng.size(300))
            var text = Base64.encode(data)
            if rng.chance(0.6) { text = FuzzMutation.mutate(text, &rng).bytes }
            if rng.chance(0.2) {
                let alphabet = Array("ABCXYZabcxyz0189+/=-_ \n".utf8)
                text = (0..<rng.size(40)).map { _ in rng.pick(alphabet) }
            }
            return (data, text)
        }
        Fuzz.check("ResultAndTextFuzzTests/base64", weight: 2, input: input,
                   describe: { "data \($0.0), text \(FuzzText.escaped($0.1, limit: 500))" }) { data, text in
            let encoded = Base64.encode(data)
            try fuzzExpect(encoded == FuzzBase64.encode(data), "Base64.encode differs from the reference encoder")
            try fuzzExpect((try? Base64.decode(encoded)) == data, "encode → decode changed the bytes")
            let unpadded = Array(encoded.reversed().drop { $0 == UInt8(ascii: "=") }.reversed())
            try fuzzExpect((try? Base64.decode(unpadded)) == data, "unpadded text decodes differently")
            let decoded: [UInt8]
            do throws(ProtocolError) {
                decoded = try Base64.decode(text)
            } catch {
                guard case .invalidBase64(let offset) = error else { throw FuzzFailure(message: "threw \(error)") }
                try fuzzExpect((0...text.count).contains(offset), "offset \(offset) outside the text")
                return
            }
            try fuzzExpect((try? Base64.decode(Base64.encode(decoded))) == decoded, "re-encoding changed the bytes")
        }
    }

    @Test("PythonRepr.render never traps for any value, length budget or level limit")
    func saferepr() {
        let input = FuzzGen.make { (rng: inout SplitMix64) -> (JSON, Int, Int) in
            (FuzzJSON.value(&rng, depth: 6), rng.pick([-5, 0, 1, 2, 3, 7, 50, 1024, rng.int(0...4096)]),
             rng.pick([-1, 0, 1, 2, 3, 8]))
        }
        Fuzz.check("ResultAndTextFuzzTests/saferepr", weight: 1, input: input,
                   describe: { "\($0.0.serializedString()) maxLength \($0.1) maxLevels \($0.2)" }) { value, length, levels in
            let text = PythonRepr.render(value, maxLength: length, maxLevels: levels)
            let tuple = PythonRepr.renderTuple(value.arrayValue ?? [value], maxLength: length, maxLevels: levels)
            try fuzzExpect(!text.isEmpty && !tuple.isEmpty, "empty repr")
        }
    }
}
