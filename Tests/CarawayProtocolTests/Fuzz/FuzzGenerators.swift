import PropertyBased

@testable import CarawayProtocol

// Input generators for the fuzz properties. Each is a PropertyBased `Generator` built from
// plain functions over a random number generator, so one case is one seeded draw.

extension RandomNumberGenerator {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
    mutating func pick<T>(_ options: [T]) -> T { options[int(0...(options.count - 1))] }
    mutating func byte() -> UInt8 { UInt8.random(in: .min ... .max, using: &self) }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in byte() } }
    /// Small sizes are likelier: `0...max` with a bias towards the bottom.
    mutating func size(_ max: Int) -> Int {
        let bound = pick([4, 16, 64, 256, 1024, max])
        return int(0...Swift.min(bound, max))
    }
}

/// One input for a byte-level decoder, with how it was made (shown on failure).
struct FuzzBytes: CustomStringConvertible, Sendable {
    var bytes: [UInt8]
    var how: String
    /// Seeds choices the property itself makes (edits to re-publish with, say).
    var seed: UInt64 = 0

    var description: String { "\(how) (\(bytes.count) bytes): \(FuzzText.escaped(bytes, limit: 600))" }
}

enum FuzzText {
    /// Bytes as printable text: ASCII as is, everything else as `\xNN`.
    static func escaped(_ bytes: [UInt8], limit: Int) -> String {
        var text = ""
        for byte in bytes.prefix(limit) {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return bytes.count > limit ? text + "…" : text
    }
}

/// Edge values for the JSON layer: literals at and past every limit.
enum FuzzJSON {
    /// Number literals the grammar accepts, chosen to hit conversions' edges.
    static let edgeNumbers = [
        "0", "-0", "-0.0", "0.0", "1", "-1", "1.0", "1e999", "-1e999", "1e-999", "1E+2", "1e-7", "0e0", "2.5",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "123456789012345678901234567890123456789", "1e308", "1.7976931348623157e309",
        "4.9e-324", "NaN", "Infinity", "-Infinity", "1e17", "1e16", "100000000000000000000", "-1e300", "1e300",
        "2147483647", "2147483648", "-2147483649", "9007199254740993", "0.1", "3",
    ]

    /// Strings that are valid Swift strings but awkward: control characters, NUL, quotes,
    /// combining marks, astral scalars, dates that are not dates.
    static let edgeStrings: [String] = [
        "", " ", "not a date", "\u{0}", "a\u{0}b", "\"", "\\", "\\u0000", "\n\r\t\u{8}\u{c}", "\u{1f}", "\u{7f}",
        "é", "e\u{301}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "\u{10FFFF}", "😀", "ключ", "\u{2028}\u{2029}",
        "2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31T23:59:59.999999", "2026-11-23T08:25:58.562587+00:00",
        "2026-11-23T08:25:58Z", "2026-11-23 08:25", "2026-11-23T24:00:00", "2026-11-23T08:25:58.+00:00",
        "2026-11-23T08:25:58-23:59:59", "2026-11-23T08:25:58+2400", "1e999", "NaN", "null", "true", "[]", "{}",
        "application/json", "base64", "utf-8", "zlib", "celery", "add", String(repeating: "x", count: 300),
        String(repeating: "é", count: 200), "__type__", "__value__", "datetime",
    ]

    /// Raw JSON text spliced into otherwise valid documents where a Swift value cannot
    /// express it: lone surrogates, invalid UTF-8, raw control bytes, broken syntax, nesting
    /// past the parser's limit.
    static let rawFragments: [[UInt8]] = {
        var fragments: [[UInt8]] = [
            "\"\\ud800\"", "\"\\udfff\"", "\"\\ud800\\ud800\"", "\"\\ud800x\"", "\"\\ud800\\u0041\"", "\"\\udc00\\ud800\"",
            "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"a\\u0000b\"", "\"\\uD800\"", "\"\\u12\"", "\"\\x41\"", "\"\\",
            "\"abc", "1e999", "-1e999", "1e-999", "-0", "-0.0", "01", "1.", ".5", "+1", "-NaN", "infinity", "NaN",
            "Infinity", "-Infinity", "1e", "1e+", "--1", "0x10", "[1,]", "{\"a\"}", "{\"a\":}", "{,}", "[,1]", "nul",
            "tru", "falsee", "{\"a\":1,\"a\":2}", "[]]", "{}}", "", " ", "\"\u{7}\"",
        ].map { Array($0.utf8) }
        fragments += [[0x22, 0x61, 0x00, 0x62, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22],
                      [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
                      [0x22, 0xF0, 0x9F, 0x98, 0x22], [0x00], [0xFF, 0xFE]]
        for depth in [JSON.maximumDepth - 8, JSON.maximumDepth, JSON.maximumDepth + 1, 2_000] {
            fragments.append(Array(repeating: UInt8(ascii: "["), count: depth)
                + Array(repeating: UInt8(ascii: "]"), count: depth))
        }
        fragments.append(Array(String(repeating: "{\"a\":[", count: 300).utf8))
        fragments.append(Array(repeating: UInt8(ascii: "["), count: 20_000))
        return fragments
    }()

    static func number<R: RandomNumberGenerator>(_ rng: inout R) -> JSONNumber {
        if rng.chance(0.4) { return JSONNumber(literal: rng.pick(edgeNumbers))! }
        return JSONNumber(literal: numberLiteral(&rng))!
    }

    /// A random literal of the JSON number grammar (plus Python's extensions).
    static func numberLiteral<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        if rng.chance(0.05) { return rng.pick(["NaN", "Infinity", "-Infinity"]) }
        var text = rng.chance(0.3) ? "-" : ""
        if rng.chance(0.2) {
            text += "0"
        } else {
            text += String(rng.int(1...9))
            for _ in 0..<rng.pick([0, 1, 3, 18, 19, 20, 40]) { text += String(rng.int(0...9)) }
        }
        if rng.chance(0.3) {
            text += "."
            for _ in 0..<rng.int(1...20) { text += String(rng.int(0...9)) }
        }
        if rng.chance(0.25) {
            text += rng.pick(["e", "E"]) + rng.pick(["", "+", "-"])
            for _ in 0..<rng.int(1...4) { text += String(rng.int(0...9)) }
        }
        return text
    }

    static func string<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        if rng.chance(0.3) { return rng.pick(edgeStrings) }
        var text = String.UnicodeScalarView()
        for _ in 0..<rng.size(40) { text.append(scalar(&rng)) }
        return String(text)
    }

    /// Any scalar, biased to the interesting ranges (ASCII controls, quotes, multi-byte).
    static func scalar<R: RandomNumberGenerator>(_ rng: inout R) -> Unicode.Scalar {
        let value: UInt32
        switch rng.int(0...9) {
        case 0...3: value = UInt32(rng.int(0x20...0x7E))
        case 4: value = UInt32(rng.int(0...0x1F))
        case 5: value = rng.pick([0x22, 0x5C, 0x2F, 0x27, 0x7F])
        case 6: value = UInt32(rng.int(0x80...0x7FF))
        case 7: value = UInt32(rng.int(0x800...0xFFFF))
        default: value = UInt32(rng.int(0x10000...0x10FFFF))
        }
        // Surrogate code points are not scalars; map them just past the block.
        return Unicode.Scalar(value) ?? Unicode.Scalar(0xE000)!
    }

    /// A random JSON value, at most `depth` containers deep.
    static func value<R: RandomNumberGenerator>(_ rng: inout R, depth: Int) -> JSON {
        let kinds = depth > 0 ? 7 : 4
        switch rng.int(0...kinds) {
        case 0: return .null
        case 1: return .bool(rng.chance(0.5))
        case 2, 3: return .number(number(&rng))
        case 4: return .string(string(&rng))
        case 5, 6:
            return .array((0..<rng.size(8)).map { _ in value(&rng, depth: depth - 1) })
        default:
            var object = JSONObject()
            for _ in 0..<rng.size(8) {
                // Sometimes repeat a key: the parser keeps the last value.
                object[rng.chance(0.2) ? "k" : string(&rng)] = value(&rng, depth: depth - 1)
            }
            return .object(object)
        }
    }

    /// Valid JSON text for `value` written unlike the serializer: random whitespace and
    /// optional `\uXXXX` escapes (surrogate pairs for astral scalars), `\/`.
    static func looseText<R: RandomNumberGenerator>(_ value: JSON, _ rng: inout R) -> [UInt8] {
        var output: [UInt8] = []
        writeLoose(value, &rng, &output)
        return output
    }

    private static func space<R: RandomNumberGenerator>(_ rng: inout R, _ output: inout [UInt8]) {
        guard rng.chance(0.3) else { return }
        for _ in 0..<rng.int(1...3) { output.append(rng.pick([0x20, 0x09, 0x0A, 0x0D])) }
    }

    private static func writeLoose<R: RandomNumberGenerator>(_ value: JSON, _ rng: inout R, _ output: inout [UInt8]) {
        space(&rng, &output)
        switch value {
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                writeLoose(element, &rng, &output)
            }
            space(&rng, &output)
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (i, (key, element)) in object.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                space(&rng, &output)
                writeLooseString(key, &rng, &output)
                space(&rng, &output)
                output.append(UInt8(ascii: ":"))
                writeLoose(element, &rng, &output)
            }
            space(&rng, &output)
            output.append(UInt8(ascii: "}"))
        case .string(let string):
            writeLooseString(string, &rng, &output)
        default:
            value.write(to: &output)
        }
        space(&rng, &output)
    }

    private static func writeLooseString<R: RandomNumberGenerator>(_ string: String, _ rng: inout R,
                                                                   _ output: inout [UInt8]) {
        func hex4(_ value: UInt32) -> [UInt8] {
            let digits = Array((rng.chance(0.5) ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
            return [UInt8(ascii: "\\"), UInt8(ascii: "u"), digits[Int(value >> 12 & 0xF)], digits[Int(value >> 8 & 0xF)],
                    digits[Int(value >> 4 & 0xF)], digits[Int(value & 0xF)]]
        }
        output.append(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || v == 0x22 || v == 0x5C || rng.chance(0.1) {
                if v == 0x2F, rng.chance(0.5) {
                    output += [UInt8(ascii: "\\"), UInt8(ascii: "/")]
                } else if v >= 0x10000 {
                    let u = v - 0x10000
                    output += hex4(0xD800 + (u >> 10)) + hex4(0xDC00 + (u & 0x3FF))
                } else {
                    output += hex4(v)
                }
            } else {
                output += Array(String(scalar).utf8)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// Byte-level mutations, as a coverage-blind fuzzer would make them.
enum FuzzMutation {
    /// Interesting tokens to splice in.
    static let tokens: [[UInt8]] = FuzzJSON.rawFragments.filter { $0.count < 64 }
        + ["[", "]", "{", "}", "\"", ":", ",", "\\", "\\u", "=", "==", "null", "true", "0", "-", "e"].map { Array($0.utf8) }

    static func mutate<R: RandomNumberGenerator>(_ input: [UInt8], _ rng: inout R) -> (bytes: [UInt8], how: String) {
        var bytes = input
        var steps: [String] = []
        for _ in 0..<rng.pick([1, 1, 2, 3, 8]) {
            let n = bytes.count
            switch rng.int(0...7) {
            case 0 where n > 0:
                let at = rng.int(0...(n - 1))
                bytes[at] ^= 1 << UInt8(rng.int(0...7))
                steps.append("flip@\(at)")
            case 1 where n > 0:
                let at = rng.int(0...(n - 1))
                bytes[at] = rng.byte()
                steps.append("set@\(at)")
            case 2:
                let at = rng.int(0...n)
                bytes.removeSubrange(at...)
                steps.append("truncate@\(at)")
            case 3 where n > 0:
                let start = rng.int(0...(n - 1))
                let end = rng.int(start...Swift.min(n, start + 512))
                let at = rng.int(0...n)
                bytes.insert(contentsOf: bytes[start..<end], at: at)
                steps.append("duplicate \(start)..<\(end)@\(at)")
            case 4:
                let at = rng.int(0...n)
                bytes.insert(contentsOf: rng.bytes(rng.int(1...16)), at: at)
                steps.append("insert-random@\(at)")
            case 5:
                let at = rng.int(0...n)
                bytes.insert(contentsOf: rng.pick(tokens), at: at)
                steps.append("insert-token@\(at)")
            case 6 where n > 0:
                let start = rng.int(0...(n - 1))
                let end = rng.int(start...Swift.min(n, start + 64))
                bytes.removeSubrange(start..<end)
                steps.append("delete \(start)..<\(end)")
            default:
                if n > 1 {
                    let a = rng.int(0...(n - 1)), b = rng.int(0...(n - 1))
                    bytes.swapAt(a, b)
                    steps.append("swap \(a),\(b)")
                }
            }
        }
        if bytes.count > Fuzz.maximumInputBytes { bytes.removeSubrange(Fuzz.maximumInputBytes...) }
        return (bytes, steps.joined(separator: ","))
    }
}

/// Raw splicing: values are written as marker strings, serialized, and the markers then
/// replaced by raw fragments that no `JSON` value can hold.
struct RawSplicer {
    private(set) var fragments: [[UInt8]] = []

    /// A marker string value standing for `fragment`.
    mutating func marker(_ fragment: [UInt8]) -> JSON {
        fragments.append(fragment)
        return .string("@@RAW\(fragments.count - 1)@@")
    }

    func splice(_ bytes: [UInt8]) -> [UInt8] {
        guard !fragments.isEmpty else { return bytes }
        var output = bytes
        for (i, fragment) in fragments.enumerated() {
            let needle = Array("\"@@RAW\(i)@@\"".utf8)
            if let range = output.firstRange(of: needle) { output.replaceSubrange(range, with: fragment) }
        }
        return output
    }
}

/// The shared input generators.
enum FuzzGen {
    /// A PropertyBased generator from a function of a concrete, fast generator seeded by
    /// one draw: the generation code specializes instead of going through an existential.
    static func make<T>(_ body: @Sendable @escaping (inout SplitMix64) -> T) -> Generator<T, Shrink.None<T>> {
        Generator { rng in
            var fast = SplitMix64(state: rng.next())
            return body(&fast)
        }
    }

    /// Uniform random bytes, up to `max` long.
    static func randomBytes(max: Int) -> Generator<FuzzBytes, Shrink.None<FuzzBytes>> {
        FuzzGen.make { rng in FuzzBytes(bytes: rng.bytes(rng.size(max)), how: "random bytes") }
    }

    /// Bytes drawn from a syntax-heavy alphabet, so random input gets past the first byte.
    static func tokenSoup(max: Int) -> Generator<FuzzBytes, Shrink.None<FuzzBytes>> {
        FuzzGen.make { rng in
            let alphabet = Array("[]{}\",:0123456789.eE+-\\/ubfnrt truefalsenullNaNInfinity \n\u{7f}".utf8) + [0, 0xC3, 0xA9, 0xFF]
            var bytes: [UInt8] = []
            let target = rng.size(max)
            while bytes.count < target {
                if rng.chance(0.15) { bytes += rng.pick(FuzzMutation.tokens) } else { bytes.append(rng.pick(alphabet)) }
            }
            return FuzzBytes(bytes: Array(bytes.prefix(max)), how: "token soup")
        }
    }

    /// A random valid document, mutated.
    static func mutatedJSON() -> Generator<FuzzBytes, Shrink.None<FuzzBytes>> {
        FuzzGen.make { rng in
            let text = FuzzJSON.looseText(FuzzJSON.value(&rng, depth: 4), &rng)
            let (bytes, how) = FuzzMutation.mutate(text, &rng)
            return FuzzBytes(bytes: bytes, how: "mutated JSON [\(how)]")
        }
    }

    /// Pathological nesting: openers up to the size bound, sometimes closed again.
    static func deepNesting() -> Generator<FuzzBytes, Shrink.None<FuzzBytes>> {
        FuzzGen.make { rng in
            let (open, center, close) = rng.pick([("[", "", "]"), ("{\"a\":", "1", "}"), ("[{\"\":", "1", "}]"),
                                                  ("[[1,", "1", "]]")])
            let unit = Array(open.utf8)
            let depth = rng.pick([JSON.maximumDepth - 1, JSON.maximumDepth, JSON.maximumDepth + 1,
                                  rng.int(1...(Fuzz.maximumInputBytes / unit.count))])
            var bytes: [UInt8] = []
            bytes.reserveCapacity(depth * unit.count)
            for _ in 0..<depth { bytes += unit }
            if rng.chance(0.5) {
                bytes += Array(center.utf8)
                for _ in 0..<depth { bytes += Array(close.utf8) }
            }
            return FuzzBytes(bytes: Array(bytes.prefix(Fuzz.maximumInputBytes)), how: "nesting \(open) x\(depth)")
        }
    }
}
