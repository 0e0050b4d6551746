import PropertyBased

@testable import CarawayProtocol

/// Generators of Celery envelopes: captured fixtures mutated byte-wise, and structurally
/// valid envelopes whose fields and body are replaced by plausible or hostile values.
enum EnvelopeGen {
    static let headerKeys = [
        "id", "task", "eta", "expires", "retries", "timelimit", "root_id", "parent_id", "group", "group_index",
        "ignore_result", "shadow", "origin", CeleryMessage.deliveriesHeader, "redelivered", "compression", "argsrepr",
        "kwargsrepr", "lang", "stamps", "stamped_headers", "replaced_task_nesting", "x_custom",
    ]
    static let propertyKeys = ["priority", "delivery_tag", "body_encoding", "delivery_info", "reply_to",
                               "correlation_id", "delivery_mode"]
    static let deliveryInfoKeys = ["routing_key", "exchange", "redelivered", "priority"]
    static let topKeys = ["body", "content-type", "content-encoding", "headers", "properties"]

    /// Byte-mutated captured envelopes.
    static func mutated(_ fixtures: [(name: String, bytes: [UInt8])]) -> Generator<FuzzBytes, Shrink.None<FuzzBytes>> {
        FuzzGen.make { rng in
            let fixture = rng.pick(fixtures)
            let (bytes, how) = FuzzMutation.mutate(fixture.bytes, &rng)
            return FuzzBytes(bytes: bytes, how: "\(fixture.name) mutated [\(how)]", seed: rng.next())
        }
    }

    /// Parsed fixtures with 1–4 field or body edits, serialized, raw fragments spliced in.
    static func structural(_ fixtures: [(name: String, object: JSONObject)], bodyOnly: Bool = false)
        -> Generator<FuzzBytes, Shrink.None<FuzzBytes>>
    {
        FuzzGen.make { rng in
            let fixture = rng.pick(fixtures)
            var envelope = fixture.object
            var splicer = RawSplicer()
            var edits: [String] = []
            for _ in 0..<rng.int(1...4) {
                if bodyOnly || rng.chance(0.35) {
                    edits.append(editBody(&envelope, &rng, &splicer))
                } else {
                    edits.append(editField(&envelope, &rng, &splicer))
                }
            }
            var bytes = splicer.splice(envelope.serialized())
            if bytes.count > Fuzz.maximumInputBytes {
                bytes.removeSubrange(Fuzz.maximumInputBytes...)
                edits.append("cut to size")
            }
            return FuzzBytes(bytes: bytes, how: "\(fixture.name) [\(edits.joined(separator: "; "))]", seed: rng.next())
        }
    }

    // MARK: fields

    static func editField<R: RandomNumberGenerator>(_ envelope: inout JSONObject, _ rng: inout R,
                                                    _ splicer: inout RawSplicer) -> String {
        switch rng.int(0...9) {
        case 0...4:
            let key = rng.pick(headerKeys)
            var headers = envelope["headers"]?.objectValue ?? JSONObject()
            let value = fieldValue(key, &rng, &splicer)
            headers[key] = value
            envelope["headers"] = .object(headers)
            return "headers.\(key)=\(value.map(\.description) ?? "removed")"
        case 5...6:
            let key = rng.pick(propertyKeys)
            var properties = envelope["properties"]?.objectValue ?? JSONObject()
            let value = fieldValue(key, &rng, &splicer)
            properties[key] = value
            envelope["properties"] = .object(properties)
            return "properties.\(key)=\(value.map(\.description) ?? "removed")"
        case 7:
            let key = rng.pick(deliveryInfoKeys)
            var properties = envelope["properties"]?.objectValue ?? JSONObject()
            var info = properties["delivery_info"]?.objectValue ?? JSONObject()
            let value = fieldValue(key, &rng, &splicer)
            info[key] = value
            properties["delivery_info"] = .object(info)
            envelope["properties"] = .object(properties)
            return "properties.delivery_info.\(key)=\(value.map(\.description) ?? "removed")"
        default:
            let key = rng.pick(topKeys)
            let value: JSON? = rng.chance(0.3) ? nil : hostile(&rng, &splicer)
            envelope[key] = value
            return "\(key)=\(value.map(\.description) ?? "removed")"
        }
    }

    /// A value of the type the field has on the wire, at its edges (so decoding often
    /// succeeds and the success paths get exercised), or a hostile value of any type, or
    /// `nil` to remove the field.
    static func fieldValue<R: RandomNumberGenerator>(_ key: String, _ rng: inout R,
                                                     _ splicer: inout RawSplicer) -> JSON? {
        if rng.chance(0.1) { return nil }
        if rng.chance(0.1) { return .null }
        if rng.chance(0.25) { return hostile(&rng, &splicer) }
        switch key {
        case "eta", "expires":
            return .string(timestampText(&rng))
        case "retries", "group_index", CeleryMessage.deliveriesHeader, "replaced_task_nesting", "delivery_mode":
            return .number(integer(&rng))
        case "priority":
            return .number(FuzzJSON.number(&rng))
        case "timelimit":
            let limit = { (rng: inout R) -> JSON in rng.chance(0.3) ? .null : .number(FuzzJSON.number(&rng)) }
            return .array(rng.chance(0.9) ? [limit(&rng), limit(&rng)] : [limit(&rng)])
        case "ignore_result", "redelivered":
            return .bool(rng.chance(0.5))
        case "compression":
            return .null
        case "body_encoding":
            return .string(rng.pick(["base64", "base64", "utf-8", "utf8", "BASE64", "zlib", ""]))
        case "delivery_info":
            return .object(["exchange": .string(""), "routing_key": .string(FuzzJSON.string(&rng))])
        case "stamps":
            return .object([:])
        default:
            return .string(FuzzJSON.string(&rng))
        }
    }

    static func integer<R: RandomNumberGenerator>(_ rng: inout R) -> JSONNumber {
        if rng.chance(0.5) {
            return JSONNumber(literal: rng.pick(["0", "1", "-1", "5", "-0", "9223372036854775807", "-9223372036854775808",
                                                 "9223372036854775806", "2147483647", "9223372036854775808", "1.0", "1e3"]))!
        }
        return JSONNumber(rng.int(-1000...1000))
    }

    /// Mostly timestamps in the forms Python writes, some broken.
    static func timestampText<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch rng.int(0...3) {
        case 0:
            return Timestamp.format(rng.pick([0, 1_795_422_358.562587, Timestamp.minimumEpoch, Timestamp.maximumEpoch,
                                              -1e300, .nan, Double.random(in: -7e10...2.6e11, using: &rng)]))
        case 1:
            return rng.pick(FuzzJSON.edgeStrings)
        case 2:
            var bytes = Array(Timestamp.format(Double.random(in: -7e10...2.6e11, using: &rng)).utf8)
            bytes = FuzzMutation.mutate(bytes, &rng).bytes
            return String(decoding: bytes, as: UTF8.self)
        default:
            return FuzzTimestamp.grammar(&rng)
        }
    }

    /// Any JSON type: random values, edge numbers, or a raw fragment.
    static func hostile<R: RandomNumberGenerator>(_ rng: inout R, _ splicer: inout RawSplicer) -> JSON {
        switch rng.int(0...5) {
        case 0: return splicer.marker(rng.pick(FuzzJSON.rawFragments))
        case 1: return .number(JSONNumber(literal: rng.pick(FuzzJSON.edgeNumbers))!)
        case 2: return .string(rng.pick(FuzzJSON.edgeStrings))
        case 3:
            // Deep but within the parser's limit once inside the envelope.
            var value: JSON = rng.chance(0.5) ? [] : [:]
            for _ in 0..<rng.int(1...(JSON.maximumDepth - 8)) {
                value = rng.chance(0.5) ? .array([value]) : .object(["k": value])
            }
            return value
        default: return FuzzJSON.value(&rng, depth: 3)
        }
    }

    // MARK: body

    static func editBody<R: RandomNumberGenerator>(_ envelope: inout JSONObject, _ rng: inout R,
                                                   _ splicer: inout RawSplicer) -> String {
        var properties = envelope["properties"]?.objectValue ?? JSONObject()
        let base64 = rng.chance(0.85)
        properties["body_encoding"] = .string(base64 ? "base64" : "utf-8")
        envelope["properties"] = .object(properties)

        let how: String
        var payload: [UInt8]
        var bodySplicer = RawSplicer()
        switch rng.int(0...11) {
        case 0...3:
            payload = JSON.array([args(&rng, &bodySplicer), kwargs(&rng, &bodySplicer), embed(&rng)]).serialized()
            how = "payload [args, kwargs, embed]"
        case 4:
            payload = FuzzJSON.value(&rng, depth: 0).serialized()
            how = "payload scalar"
        case 5:
            payload = JSON.object(JSONObject([("args", .array([])), ("kwargs", .object([:]))])).serialized()
            how = "payload object"
        case 6:
            let count = rng.pick([0, 1, 2, 4, 5])
            payload = JSON.array((0..<count).map { _ in FuzzJSON.value(&rng, depth: 2) }).serialized()
            how = "payload \(count)-list"
        case 7:
            payload = JSON.array((0..<3).map { _ in hostile(&rng, &bodySplicer) }).serialized()
            how = "payload hostile 3-list"
        case 8:
            payload = rng.bytes(rng.size(512))
            how = "payload random bytes"
        case 9:
            // Deeper bodies are FuzzRegressionTests' job: base64 of 100 KB is slow in a debug build.
            payload = Array(repeating: UInt8(ascii: "["), count: rng.pick([JSON.maximumDepth, JSON.maximumDepth + 1, 4096]))
            how = "payload deep"
        default:
            let valid = JSON.array([args(&rng, &bodySplicer), kwargs(&rng, &bodySplicer), embed(&rng)]).serialized()
            payload = FuzzMutation.mutate(valid, &rng).bytes
            how = "payload mutated"
        }
        payload = bodySplicer.splice(payload)
        if payload.count > Fuzz.maximumInputBytes / 2 { payload.removeSubrange((Fuzz.maximumInputBytes / 2)...) }

        let body: JSON
        if base64 {
            var text = FuzzBase64.encode(payload)
            let corruption = rng.int(0...9)
            switch corruption {
            case 0 where !text.isEmpty:
                text[rng.int(0...(text.count - 1))] = rng.pick(Array("=-_ \n*.\u{7f}".utf8) + [0xC3])
            case 1 where !text.isEmpty:
                text.removeLast(rng.int(1...min(3, text.count)))
            case 2:
                text += Array(rng.pick(["=", "==", "===", "A", "AB=", "\n"]).utf8)
            case 3:
                while text.last == UInt8(ascii: "=") { text.removeLast() }  // unpadded: still valid
            default:
                break
            }
            body = .string(String(decoding: text, as: UTF8.self))
            envelope["body"] = body
            return "body base64(\(how))" + (corruption <= 3 ? " corrupted \(corruption)" : "")
        }
        if rng.chance(0.2) {
            body = splicer.marker([UInt8(ascii: "\"")] + escapedForJSONString(payload) + [UInt8(ascii: "\"")])
        } else {
            body = .string(String(decoding: payload, as: UTF8.self))
        }
        envelope["body"] = body
        return "body utf-8(\(how))"
    }

    /// `payload` as the inside of a JSON string literal, raw bytes (even invalid UTF-8) kept.
    static func escapedForJSONString(_ payload: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        for byte in payload {
            switch byte {
            case UInt8(ascii: "\""): output += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): output += Array("\\\\".utf8)
            case 0..<0x20: output += Array("\\u00".utf8) + Array(String(byte, radix: 16).fuzzPadded(2).utf8)
            default: output.append(byte)
            }
        }
        return output
    }

    static func args<R: RandomNumberGenerator>(_ rng: inout R, _ splicer: inout RawSplicer) -> JSON {
        if rng.chance(0.1) { return hostile(&rng, &splicer) }
        var elements = (0..<rng.size(6)).map { _ in FuzzJSON.value(&rng, depth: rng.pick([1, 2, 2, 3])) }
        if rng.chance(0.2) { elements.append(hostile(&rng, &splicer)) }
        return .array(elements)
    }

    static func kwargs<R: RandomNumberGenerator>(_ rng: inout R, _ splicer: inout RawSplicer) -> JSON {
        if rng.chance(0.1) { return hostile(&rng, &splicer) }
        var object = JSONObject()
        for _ in 0..<rng.size(6) { object[FuzzJSON.string(&rng)] = FuzzJSON.value(&rng, depth: rng.pick([1, 2, 2, 3])) }
        if rng.chance(0.2) { object["x"] = hostile(&rng, &splicer) }
        if rng.chance(0.1) { object["when"] = .kombuMarker(type: "datetime", value: .string(timestampText(&rng))) }
        return .object(object)
    }

    /// `null`, `{}`, or canvas options with random signatures.
    static func embed<R: RandomNumberGenerator>(_ rng: inout R) -> JSON {
        switch rng.int(0...4) {
        case 0: return .null
        case 1: return .object([:])
        case 2: return FuzzJSON.value(&rng, depth: 2)
        default:
            var object = JSONObject()
            for key in ["callbacks", "errbacks", "chain", "chord"] where rng.chance(0.5) {
                object[key] = key == "chord"
                    ? (rng.chance(0.5) ? .null : signature(&rng, depth: 2))
                    : .array((0..<rng.int(0...3)).map { _ in signature(&rng, depth: 2) })
            }
            return .object(object)
        }
    }

    /// A canvas signature, plausible or subtly wrong.
    static func signature<R: RandomNumberGenerator>(_ rng: inout R, depth: Int) -> JSON {
        if rng.chance(0.1) { return FuzzJSON.value(&rng, depth: 2) }
        var object = JSONObject()
        object["task"] = rng.chance(0.95) ? .string(rng.pick(["add", "mul", "t", FuzzJSON.string(&rng)])) : 5
        object["args"] = .array((0..<rng.size(3)).map { _ in FuzzJSON.value(&rng, depth: 1) })
        let type: JSON = depth > 0 ? rng.pick([.null, .null, .null, "chain", "group", "chord", "weird", 3]) : .null
        if type == "chain" || type == "group" || type == "chord" {
            object["kwargs"] = ["tasks": .array((0..<rng.int(0...3)).map { _ in signature(&rng, depth: depth - 1) })]
        } else {
            object["kwargs"] = .object([:])
        }
        var options = JSONObject()
        let optionKeys = ["task_id", "queue", "routing_key", "priority", "group_id", "group_index", "link",
                          "link_error", "chord", "shadow", "reply_to", "ignore_result", "time_limit", "soft_time_limit",
                          "headers", "countdown", "eta", "expires"]
        for key in optionKeys where rng.chance(0.2) {
            switch key {
            case "priority", "group_index", "time_limit", "soft_time_limit", "countdown":
                options[key] = .number(FuzzJSON.number(&rng))
            case "eta", "expires":
                options[key] = rng.pick([.string(timestampText(&rng)), .number(FuzzJSON.number(&rng)),
                                         .kombuMarker(type: "datetime", value: .string(timestampText(&rng)))])
            case "link", "link_error":
                options[key] = depth > 0 ? signature(&rng, depth: depth - 1) : .null
            case "ignore_result":
                options[key] = .bool(rng.chance(0.5))
            case "headers":
                options[key] = ["x_fuzz": FuzzJSON.value(&rng, depth: 1)]
            default:
                options[key] = rng.chance(0.9) ? .string(FuzzJSON.string(&rng)) : FuzzJSON.value(&rng, depth: 1)
            }
        }
        object["options"] = .object(options)
        object["subtask_type"] = type
        object["immutable"] = .bool(rng.chance(0.3))
        return .object(object)
    }
}

/// Timestamp-shaped text from the grammar `Timestamp.parse` documents, with wrong widths,
/// out-of-range fields and stray characters mixed in.
enum FuzzTimestamp {
    static func grammar<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        func digits(_ count: Int, _ rng: inout R) -> String {
            String((0..<count).map { _ in Character(String(rng.int(0...9))) })
        }
        func field(_ width: Int, _ range: ClosedRange<Int>, _ rng: inout R) -> String {
            if rng.chance(0.1) { return digits(rng.int(0...(width + 2)), &rng) }
            return String(rng.int(range)).fuzzPadded(width)
        }
        var text = field(4, 0...9999, &rng) + "-" + field(2, rng.chance(0.9) ? 1...12 : 0...99, &rng) + "-"
            + field(2, rng.chance(0.9) ? 1...31 : 0...99, &rng)
        if rng.chance(0.85) {
            text += rng.pick(["T", "T", "t", " ", "_"]) + field(2, rng.chance(0.9) ? 0...23 : 0...99, &rng)
            if rng.chance(0.8) {
                text += ":" + field(2, rng.chance(0.9) ? 0...59 : 0...99, &rng)
                if rng.chance(0.8) {
                    text += ":" + field(2, rng.chance(0.9) ? 0...59 : 0...99, &rng)
                    if rng.chance(0.6) { text += rng.pick([".", ","]) + digits(rng.pick([0, 1, 3, 6, 7, 9, 40]), &rng) }
                }
            }
            switch rng.int(0...4) {
            case 0: break
            case 1: text += rng.pick(["Z", "z", "ZZ", "Z+00:00"])
            default:
                text += rng.pick(["+", "-", "±"]) + field(2, rng.chance(0.9) ? 0...23 : 0...99, &rng)
                if rng.chance(0.8) {
                    let colon = rng.chance(0.7)
                    text += (colon ? ":" : "") + field(2, 0...59, &rng)
                    if rng.chance(0.2) { text += (colon ? ":" : "") + field(2, 0...59, &rng) }
                } else if rng.chance(0.3) {
                    text += ":"
                }
            }
        }
        return text
    }
}

extension String {
    func fuzzPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Standard padded base64, written for speed in a debug build (the library's encoder is
/// checked against its own decoder in ResultAndTextFuzzTests).
enum FuzzBase64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: UInt8(ascii: "="), count: (bytes.count + 2) / 3 * 4)
        output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                alphabet.withUnsafeBufferPointer { table in
                    var i = 0, o = 0
                    while i < input.count {
                        let b0 = UInt32(input[i])
                        let b1 = i + 1 < input.count ? UInt32(input[i + 1]) : 0
                        let b2 = i + 2 < input.count ? UInt32(input[i + 2]) : 0
                        let word = b0 << 16 | b1 << 8 | b2
                        out[o] = table[Int(word >> 18 & 0x3F)]
                        out[o + 1] = table[Int(word >> 12 & 0x3F)]
                        if i + 1 < input.count { out[o + 2] = table[Int(word >> 6 & 0x3F)] }
                        if i + 2 < input.count { out[o + 3] = table[Int(word & 0x3F)] }
                        i += 3
                        o += 4
                    }
                }
            }
        }
        return output
    }
}
