/// A JSON number that keeps the exact literal text it was read from.
///
/// Python's `json` writes `1.0`, `1e+100` and arbitrarily large integers, and a
/// worker that re-publishes a message (retry, requeue, chain step) must hand
/// them back unchanged: converting through `Double` would turn `1.0` into an int
/// on the Python side and silently round big integers. So the text is the
/// value, and ``int`` / ``double`` are views of it.
///
/// Equality compares the text: `1` and `1.0` are different numbers, exactly as
/// Python sees `int` and `float` as different types.
///
/// Besides RFC 8259 numbers the text may be `NaN`, `Infinity` or `-Infinity`,
/// which Python's `json.dumps` emits for non-finite floats (`allow_nan=True` is
/// its default) and `json.loads` accepts.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal as written on the wire, e.g. `"2"`, `"1.0"`, `"1e+100"`.
    public let text: String

    /// Wraps text the parser has already validated.
    @usableFromInline
    init(validatedText: String) {
        self.text = validatedText
    }

    /// Makes an integer number.
    public init(_ value: Int) {
        self.text = String(value)
    }

    /// Makes a floating-point number written the way Python's `repr(float)` writes it:
    /// `16.0`, `0.5`, `1e-07`, `1e+16`, `Infinity` / `NaN` for non-finite values.
    public init(_ value: Double) {
        self.text = JSONNumber.pythonJSONText(value)
    }

    /// Validates `literal` against the JSON number grammar (plus Python's `NaN`/`Infinity`).
    /// - Returns: `nil` when `literal` is not a number.
    public init?(literal: String) {
        var copy = literal
        let ok = copy.withUTF8 { buffer in
            JSONNumber.scanLength(UnsafeRawBufferPointer(buffer), from: 0) == buffer.count
        }
        guard ok, !literal.isEmpty else { return nil }
        self.text = literal
    }

    /// True when the literal has no fraction or exponent (Python would read it as an `int`).
    public var isInteger: Bool {
        for byte in text.utf8 where byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
            || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "N") || byte == UInt8(ascii: "I") {
            return false
        }
        return true
    }

    /// The value as `Int` when the literal is an integer that fits in 64 bits; `nil` for
    /// `1.0`, `1e3` or out-of-range integers, so callers never get a silently rounded value.
    public var int: Int? {
        isInteger ? Int(text) : nil
    }

    /// The value as `Double` (integers convert, huge exponents become ±infinity).
    public var double: Double? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }

    public var description: String { text }

    /// Python `repr(float)` digits for finite values; Swift's shortest round-trip
    /// `description` uses the same digits and the same exponent thresholds
    /// (scientific below 1e-4 and from 1e16 on, `e-07` zero padding).
    static func pythonJSONText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return value.description
    }

    /// Length of the number literal starting at `start`, or `nil` if none is there.
    /// Shared by the parser and ``init(literal:)`` so both accept exactly one grammar.
    static func scanLength(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let end = bytes.count
        var i = start
        func digit(_ at: Int) -> Bool { at < end && bytes[at] >= 0x30 && bytes[at] <= 0x39 }
        func matches(_ word: StaticString, at: Int) -> Bool {
            let count = word.utf8CodeUnitCount
            guard at + count <= end else { return false }
            for k in 0..<count where bytes[at + k] != word.utf8Start[k] { return false }
            return true
        }
        if matches("NaN", at: i) { return 3 }
        if i < end, bytes[i] == UInt8(ascii: "-") { i += 1 }
        if matches("Infinity", at: i) { return i + 8 - start }
        guard digit(i) else { return nil }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while digit(i) { i += 1 }
        }
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        return i - start
    }
}
