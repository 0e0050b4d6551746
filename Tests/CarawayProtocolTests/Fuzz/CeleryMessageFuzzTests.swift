import PropertyBased
import Testing

@testable import CarawayProtocol

@Suite("Fuzz: CeleryMessage decoding and re-publishing")
struct CeleryMessageFuzzTests {
    static func fixtures() throws -> [(name: String, bytes: [UInt8])] {
        try Fixture.messageNames.map { ($0, try Fixture.bytes($0)) }
    }

    static func parsedFixtures() throws -> [(name: String, object: JSONObject)] {
        try fixtures().map { ($0.name, try #require(JSON.parse($0.bytes).objectValue)) }
    }

    /// Decodes `input`: it returns or throws a ``ProtocolError`` (the signature guarantees the
    /// type; a trap would kill the run). A decoded message must hold values a node can use,
    /// re-publish to an envelope that decodes to the same task, and yield canvas follow-ups
    /// without trapping.
    static func decodeChecked(_ input: FuzzBytes, outcomes: FuzzCounter) throws(FuzzFailure) {
        try fuzzExpect(input.bytes.count <= Fuzz.maximumInputBytes, "input over the size bound")
        let message: CeleryMessage
        do {
            message = try CeleryMessage.decode(input.bytes)
        } catch {
            _ = error.description
            outcomes.add(Self.kind(of: error))
            return
        }
        outcomes.add("decoded")
        try checkFields(message)
        var rng = SplitMix64(state: input.seed)
        try checkRepublish(message, &rng)
        checkCanvas(message)
    }

    static func kind(of error: ProtocolError) -> String {
        switch error {
        case .invalidJSON: return "invalidJSON"
        case .missingField: return "missingField"
        case .wrongType: return "wrongType"
        case .invalidBase64: return "invalidBase64"
        case .invalidDate: return "invalidDate"
        default: return "other"
        }
    }

    /// What the consumer does with the fields must not trap: priorities index queues,
    /// time limits become `UInt64` milliseconds for timers, eta/expires become `Int64` ms.
    static func checkFields(_ m: CeleryMessage) throws(FuzzFailure) {
        try fuzzExpect((0...9).contains(m.priority), "priority \(m.priority) outside 0...9")
        for (name, value) in [("eta", m.eta), ("expires", m.expires)] {
            if let value {
                try fuzzExpect(value.isFinite && abs(value) < 1e15, "\(name) \(value) is not a usable epoch")
            }
        }
        for (name, limit) in [("hard", m.timeLimit.hard), ("soft", m.timeLimit.soft)] {
            if let limit, limit > 0 {
                try fuzzExpect(limit * 1000 < 1.8e19, "\(name) time limit \(limit) s overflows UInt64 milliseconds")
            }
        }
        _ = (m.chain, m.callbacks, m.errbacks, m.chord, m.effectiveRootID, m.chainTaskIDs)
        _ = PythonRepr.renderTuple(m.args)
        _ = PythonRepr.render(.object(m.kwargs))
    }

    static func sameTask(_ again: CeleryMessage, _ m: CeleryMessage, _ path: String) throws(FuzzFailure) {
        try fuzzExpect(again.id == m.id, "\(path): id \(again.id) != \(m.id)")
        try fuzzExpect(again.task == m.task, "\(path): task \(again.task) != \(m.task)")
        try fuzzExpect(again.args == m.args, "\(path): args changed")
        try fuzzExpect(again.kwargs == m.kwargs, "\(path): kwargs changed")
        try fuzzExpect(again.embed == m.embed, "\(path): embed changed")
        try fuzzExpect(again.priority == m.priority, "\(path): priority changed")
    }

    static func redecode(_ bytes: [UInt8], _ path: String) throws(FuzzFailure) -> CeleryMessage {
        do {
            return try CeleryMessage.decode(bytes)
        } catch {
            throw FuzzFailure(message: "\(path) does not decode: \(error)\n\(FuzzText.escaped(bytes, limit: 1500))")
        }
    }

    /// Property 2: every re-publish path decodes again to the same task.
    static func checkRepublish(_ m: CeleryMessage, _ rng: inout SplitMix64) throws(FuzzFailure) {
        let plain = try redecode(m.republished(), "republished()")
        try sameTask(plain, m, "republished()")
        try fuzzExpect(plain.retries == m.retries && plain.eta == m.eta && plain.deliveries == m.deliveries
                           && plain.redelivered == m.redelivered && plain.deliveryTag == m.deliveryTag,
                       "republished() changed a header")

        let tag: String? = rng.chance(0.5) ? FuzzJSON.string(&rng) : nil
        let retries: Int? = rng.chance(0.5) ? rng.pick([0, 1, -1, .max, .min, rng.int(-100...100)]) : nil
        let eta: Double? = rng.chance(0.5)
            ? rng.pick([0, -0.0, .nan, .infinity, -.infinity, 1e300, -1e300, Timestamp.maximumEpoch,
                        Timestamp.minimumEpoch, 1_795_422_358.562587, Double.random(in: -1e12...1e12, using: &rng)])
            : nil
        let redelivered: Bool? = rng.pick([nil, true, false])
        let deliveries: Int? = rng.chance(0.5) ? rng.pick([0, 1, .max, .min, rng.int(0...10)]) : nil
        let extra: JSON? = rng.chance(0.3) ? FuzzJSON.value(&rng, depth: 2) : nil
        let edits = "tag=\(String(describing: tag)) retries=\(String(describing: retries)) eta=\(String(describing: eta)) "
            + "redelivered=\(String(describing: redelivered)) deliveries=\(String(describing: deliveries))"
        let edited = try redecode(
            m.republished(deliveryTag: tag, retries: retries, eta: eta, redelivered: redelivered,
                          deliveries: deliveries, extraHeaders: extra.map { ["x_fuzz": $0] } ?? [:]),
            "republished(\(edits))")
        try sameTask(edited, m, "republished(\(edits))")
        try fuzzExpect(edited.retries == retries ?? m.retries, "retries \(edited.retries) after \(edits)")
        try fuzzExpect(edited.deliveries == deliveries ?? m.deliveries, "deliveries \(edited.deliveries) after \(edits)")
        try fuzzExpect(edited.deliveryTag == tag ?? m.deliveryTag, "delivery tag after \(edits)")
        try fuzzExpect(edited.redelivered == redelivered ?? m.redelivered, "redelivered after \(edits)")
        let expectedETA: Double? = if let eta { try? Timestamp.parse(Timestamp.format(eta)) } else { m.eta }
        try fuzzExpect(edited.eta == expectedETA, "eta \(String(describing: edited.eta)) after \(edits)")
        if let extra { try fuzzExpect(edited.headers["x_fuzz"] == extra, "extra header lost") }

        let retryETA: Double? = rng.chance(0.3) ? nil : (eta ?? 1_900_000_000)
        let retried = try redecode(m.retryEnvelope(eta: retryETA, deliveryTag: "fuzz-tag"), "retryEnvelope")
        try sameTask(retried, m, "retryEnvelope")
        let bumped = m.retries == .max ? Int.max : m.retries + 1
        try fuzzExpect(retried.retries == bumped, "retry count \(retried.retries) after \(m.retries)")
        try fuzzExpect(retried.deliveries == 0 && !retried.redelivered && retried.deliveryTag == "fuzz-tag",
                       "retryEnvelope kept delivery state")
        try fuzzExpect((retried.eta == nil) == (retryETA == nil), "retry eta \(String(describing: retried.eta))")
    }

    /// Canvas follow-ups of a decoded message: errors are fine, traps are not; every draft
    /// must encode, and its envelope must decode without trapping.
    static func checkCanvas(_ m: CeleryMessage) {
        let context = Signature.ApplyContext.fixed()
        var drafts: [CeleryMessage.Draft] = []
        if let next = try? m.nextInChain(result: 42, context: context) { drafts.append(next) }
        drafts += (try? m.callbackDrafts(result: ["r": [1, nil]], context: context)) ?? []
        drafts += (try? m.errbackDrafts(context: context)) ?? []
        for draft in drafts.prefix(50) {
            _ = try? CeleryMessage.decode(draft.encodedEnvelope(deliveryTag: "fuzz-tag"))
        }
    }

    static func run(_ name: String, weight: Double, input: Generator<FuzzBytes, some Sequence>,
                    minimumDecoded: Double = 0, sourceLocation: SourceLocation = #_sourceLocation) {
        let outcomes = FuzzCounter()
        let stats = Fuzz.check(name, weight: weight, input: input, sourceLocation: sourceLocation) { input in
            try Self.decodeChecked(input, outcomes: outcomes)
        }
        print("fuzz \(name): outcomes \(outcomes.summary)")
        // Guards the generators: a property whose inputs never decode tests nothing after decode.
        if stats.cases >= 200, minimumDecoded > 0 {
            #expect(Double(outcomes["decoded"]) >= minimumDecoded * Double(stats.cases),
                    "too few inputs decoded (\(outcomes.summary)); the generator no longer reaches the success path",
                    sourceLocation: sourceLocation)
        }
    }

    /// One value of every JSON type and at every edge, including raw text no `JSON` holds.
    static let everyType: [(String, [UInt8])] = {
        var values: [JSON] = [.null, true, false, "", "x", "not a date", "2026-02-30T25:61:61", "\u{0}", "😀", [], [:],
                              [1, "a", nil], ["k": "v"], ["__type__": "datetime", "__value__": "not a date"]]
        values += FuzzJSON.edgeNumbers.map { .number(JSONNumber(literal: $0)!) }
        var deep: JSON = []
        for _ in 0..<(JSON.maximumDepth - 6) { deep = [deep] }
        values.append(deep)
        var all = values.map { ($0.description.count > 60 ? "deep" : $0.description, $0.serialized()) }
        all += FuzzJSON.rawFragments.filter { $0.count < 100 }.map { (FuzzText.escaped($0, limit: 60), $0) }
        return all
    }()

    /// The `plain_add` and `chain` fixtures with one field (any header, property or top-level
    /// key) set to each value of ``everyType``, spliced in as raw bytes.
    static func everyFieldVariants() throws -> [(fixture: String, path: [String], label: String, raw: [UInt8], bytes: [UInt8])] {
        var variants: [(fixture: String, path: [String], label: String, raw: [UInt8], bytes: [UInt8])] = []
        for (name, original) in try parsedFixtures() where ["plain_add", "chain"].contains(name) {
            var paths: [[String]] = EnvelopeGen.topKeys.map { [$0] }
            paths += EnvelopeGen.headerKeys.map { ["headers", $0] }
            paths += EnvelopeGen.propertyKeys.map { ["properties", $0] }
            paths += EnvelopeGen.deliveryInfoKeys.map { ["properties", "delivery_info", $0] }
            for path in paths {
                for (label, raw) in everyType {
                    var envelope = original
                    envelope.set(path, to: "@@RAW0@@")
                    var bytes = envelope.serialized()
                    let needle = Array("\"@@RAW0@@\"".utf8)
                    if let range = bytes.firstRange(of: needle) { bytes.replaceSubrange(range, with: raw) }
                    variants.append((name, path, label, raw, bytes))
                }
            }
        }
        return variants
    }

    @Test("decode never traps when any one field holds any JSON type, and re-publishes what it accepts")
    func everyFieldEveryType() throws {
        let outcomes = FuzzCounter()
        var checked = 0
        let clock = ContinuousClock()
        let started = clock.now
        for variant in try Self.everyFieldVariants() {
            let input = FuzzBytes(bytes: variant.bytes,
                                  how: "\(variant.fixture) \(variant.path.joined(separator: ".")) = \(variant.label)",
                                  seed: Fuzz.fnv1a(variant.label) ^ UInt64(checked))
            do {
                try Self.decodeChecked(input, outcomes: outcomes)
            } catch {
                Issue.record("\(input.how): \(error.message)")
                return
            }
            checked += 1
        }
        print("fuzz CeleryMessageFuzzTests/everyFieldEveryType: \(checked) cases in \(clock.now - started), "
            + "outcomes \(outcomes.summary)")
        #expect(outcomes["decoded"] > 0 && outcomes["wrongType"] > 0)
    }

    @Test("decode never traps on random bytes")
    func randomBytes() {
        Self.run("CeleryMessageFuzzTests/randomBytes", weight: 1, input: FuzzGen.randomBytes(max: 4096))
    }

    @Test("decode never traps on captured envelopes with flipped, cut, duplicated or inserted bytes")
    func mutatedFixtures() throws {
        let fixtures = try Self.fixtures()
        Self.run("CeleryMessageFuzzTests/mutatedFixtures", weight: 3, input: EnvelopeGen.mutated(fixtures),
                 minimumDecoded: 0.03)
    }

    @Test("decode never traps on envelopes whose fields hold random or edge values of any JSON type")
    func structuralFields() throws {
        let fixtures = try Self.parsedFixtures()
        Self.run("CeleryMessageFuzzTests/structuralFields", weight: 2, input: EnvelopeGen.structural(fixtures),
                 minimumDecoded: 0.1)
    }

    @Test("decode never traps on bodies: invalid base64, base64 of random JSON, non-lists, 2/4-lists, canvas")
    func bodies() throws {
        let fixtures = try Self.parsedFixtures()
        Self.run("CeleryMessageFuzzTests/bodies", weight: 2, input: EnvelopeGen.structural(fixtures, bodyOnly: true),
                 minimumDecoded: 0.1)
    }

    @Test("decode never traps on random bytes around a valid envelope (a corrupt list element)")
    func framing() throws {
        let fixtures = try Self.fixtures()
        let input = FuzzGen.make { (rng: inout SplitMix64) -> FuzzBytes in
            let fixture = rng.pick(fixtures)
            let prefix = rng.chance(0.5) ? rng.bytes(rng.size(16)) : []
            let suffix = rng.chance(0.5) ? rng.bytes(rng.size(16)) : []
            let repeated = rng.chance(0.2) ? fixture.bytes : []
            return FuzzBytes(bytes: prefix + fixture.bytes + repeated + suffix, how: "\(fixture.name) framed",
                             seed: rng.next())
        }
        Self.run("CeleryMessageFuzzTests/framing", weight: 0.5, input: input)
    }
}

extension JSONObject {
    /// Sets the value at a key path, creating objects on the way (and replacing non-objects).
    mutating func set(_ path: [String], to value: JSON) {
        guard let key = path.first else { return }
        if path.count == 1 {
            self[key] = value
        } else {
            var inner = self[key]?.objectValue ?? JSONObject()
            inner.set(Array(path.dropFirst()), to: value)
            self[key] = .object(inner)
        }
    }
}
