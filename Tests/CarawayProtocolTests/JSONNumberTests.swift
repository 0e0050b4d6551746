import Testing

@testable import CarawayProtocol

@Suite("JSONNumber")
struct JSONNumberTests {
    @Test("Doubles are written the way Python's repr writes floats")
    func pythonReprDoubles() {
        let cases: [(Double, String)] = [
            (16.0, "16.0"), (0.5, "0.5"), (1e-07, "1e-07"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
            (0.1, "0.1"), (-0.0, "-0.0"), (1.5e300, "1.5e+300"), (0.0001, "0.0001"), (.infinity, "Infinity"),
            (-.infinity, "-Infinity"), (.nan, "NaN"),
        ]
        for (value, text) in cases {
            #expect(JSONNumber(value).text == text)
        }
    }

    @Test("Integer views refuse fractions and out-of-range values instead of rounding")
    func intView() {
        #expect(JSONNumber(literal: "42")?.int == 42)
        #expect(JSONNumber(literal: "-7")?.int == -7)
        #expect(JSONNumber(literal: "1.0")?.int == nil)
        #expect(JSONNumber(literal: "1e3")?.int == nil)
        #expect(JSONNumber(literal: "123456789012345678901234567890")?.int == nil)
        #expect(JSONNumber(literal: "123456789012345678901234567890")?.double == 1.2345678901234568e29)
        #expect(JSONNumber(literal: "1e400")?.double == .infinity)
    }

    @Test("Literal validation follows the JSON grammar")
    func literalValidation() {
        for good in ["0", "-0", "1.5", "1e5", "1E-5", "-12.5e+3", "NaN", "Infinity", "-Infinity"] {
            #expect(JSONNumber(literal: good) != nil, "\(good)")
        }
        for bad in ["", "01", "1.", ".5", "+1", "1e", "--1", "0x10", "1 ", "inf", "nan"] {
            #expect(JSONNumber(literal: bad) == nil, "\(bad)")
        }
    }

    @Test("Equality compares literal text, as Python distinguishes 1 from 1.0")
    func equality() {
        #expect(JSONNumber(1) == JSONNumber(literal: "1"))
        #expect(JSONNumber(1) != JSONNumber(literal: "1.0"))
        #expect(JSONNumber(1.0) == JSONNumber(literal: "1.0"))
    }
}
