import Testing

@testable import CarawayProtocol

@Suite("JSON parsing")
struct JSONParsingTests {
    @Test("Numbers keep their literal text through a round trip")
    func numbersKeepText() throws {
        let text = #"[1.0,1e400,-0,123456789012345678901234567890,1E+5,2.5e-3,0.1]"#
        #expect(try JSON.parse(text).serializedString() == text)
    }

    @Test("Python's NaN and Infinity extensions are accepted and written back")
    func nonFiniteNumbers() throws {
        let value = try JSON.parse("[NaN,Infinity,-Infinity]")
        #expect(value[0]?.doubleValue?.isNaN == true)
        #expect(value[1]?.doubleValue == .infinity)
        #expect(value[2]?.doubleValue == -.infinity)
        #expect(value.serializedString() == "[NaN,Infinity,-Infinity]")
    }

    @Test("The word-at-a-time string scan stops at the first special byte, wherever it sits in a word")
    func wordScanFindsFirstSpecialByte() throws {
        // Strings are scanned 8 bytes per step and the scan steps straight to the lowest flagged
        // byte of a word; bytes above it can be flagged falsely (0x01 after a quote, 0x21 after a
        // 0x1F, …), so put each special byte at every offset of two words, with such bytes after it.
        let specials: [(String, String)] = [("\"", ""), ("\\n", "\n"), ("é", "é"), ("\u{7f}", "\u{7f}")]
        for offset in 0..<16 {
            for (raw, decoded) in specials {
                let head = String(repeating: "a", count: offset)
                let text = "[\"" + head + raw + "\u{1}!#[]zz\", 1]"
                let expected = raw == "\"" ? nil : head + decoded + "\u{1}!#[]zz"
                let bytes = Array(text.utf8)
                if let expected {
                    // A control byte inside a string is invalid JSON: both scanners must say so at
                    // the same offset, after the special byte has been passed correctly.
                    #expect(throws: ProtocolError.invalidJSON(offset: 2 + head.utf8.count + raw.utf8.count,
                                                              reason: "unescaped control character in string")) {
                        try JSON.parse(bytes)
                    }
                    let valid = Array(("[\"" + head + raw + "!#[]zz\", 1]").utf8)
                    #expect(try JSON.parse(valid)[0]?.stringValue == head + decoded + "!#[]zz", "offset \(offset) \(raw)")
                    let located = try valid.withUnsafeBytes { try JSON.locate(JSONFieldPaths([["k"]]), in: $0) }
                    #expect(located.count == 1)
                } else {
                    // The quote ends the string: what follows is not a value separator.
                    #expect(throws: ProtocolError.self) { try JSON.parse(bytes) }
                    #expect(try JSON.parse(Array(("[\"" + head + "\", 1]").utf8))[0]?.stringValue == head)
                }
            }
        }
    }

    @Test("Escapes decode, including surrogate pairs Python writes for emoji")
    func escapes() throws {
        let value = try JSON.parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u2713", "\ud83d\ude00", "\u0000"]"#)
        #expect(value[0]?.stringValue == "a\"b\\c/d\u{8}\u{c}\n\r\t")
        #expect(value[1]?.stringValue == "é✓")
        #expect(value[2]?.stringValue == "😀")
        #expect(value[3]?.stringValue == "\u{0}")
    }

    @Test("Raw UTF-8 in strings is validated")
    func invalidUTF8() {
        expectInvalidJSON(at: 2) { () throws(ProtocolError) in try JSON.parse([0x5B, 0x22, 0xFF, 0x22, 0x5D]) }
        // Overlong encoding of '/', and a UTF-8-encoded surrogate (U+D800).
        expectInvalidJSON(at: 1) { () throws(ProtocolError) in try JSON.parse([0x22, 0xC0, 0xAF, 0x22]) }
        expectInvalidJSON(at: 1) { () throws(ProtocolError) in try JSON.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        expectInvalidJSON(at: 1) { () throws(ProtocolError) in try JSON.parse([0x22, 0xE2, 0x9C]) }
    }

    @Test("Malformed documents are rejected with the byte offset of the problem")
    func malformed() {
        let cases: [(String, Int)] = [
            ("", 0), ("   ", 3), ("[1,]", 3), ("[1 2]", 3), ("{\"a\" 1}", 5), ("{\"a\":1,}", 7), ("{1:2}", 1),
            ("[01]", 2), ("1.", 0), ("-", 0), ("1e", 0), ("tru", 0), ("nul", 0), ("[\"a\nb\"]", 3),
            ("\"abc", 0), ("[\"\\x\"]", 2), ("[\"\\u12G4\"]", 6), ("{\"a\":1} x", 8), ("[] []", 3), ("'a'", 0),
            ("[\"\\ud800\"]", 2), ("[\"\\udc00\"]", 2), ("[\"\\ud800\\u0041\"]", 2), ("+1", 0), ("[", 1),
            ("\u{FEFF}[]", 0), ("[nulL]", 1), ("[trUe]", 1), ("[falsE]", 1), ("[fAlse]", 1), ("[nul]", 1), ("[nullx]", 5),
        ]
        for (text, offset) in cases {
            expectInvalidJSON(at: offset) { () throws(ProtocolError) in try JSON.parse(text) }
        }
    }

    @Test("Nesting deeper than the limit is rejected instead of overflowing the stack")
    func depthLimit() throws {
        let ok = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        _ = try JSON.parse(ok)
        let deep = String(repeating: "[", count: 100_000)
        expectInvalidJSON(at: JSON.maximumDepth) { () throws(ProtocolError) in try JSON.parse(deep) }
        let deepObjects = String(repeating: "{\"a\":", count: JSON.maximumDepth + 1)
        #expect(throws: ProtocolError.self) { try JSON.parse(deepObjects) }
    }

    @Test("Scalars, whitespace and empty containers parse at top level")
    func scalars() throws {
        #expect(try JSON.parse(" \t\r\n42 ") == 42)
        #expect(try JSON.parse("\"x\"") == "x")
        #expect(try JSON.parse("true") == true)
        #expect(try JSON.parse("null") == .null)
        #expect(try JSON.parse("[]") == [])
        #expect(try JSON.parse("{}") == [:])
    }

    @Test("Slices and unsafe buffers parse like arrays")
    func inputKinds() throws {
        let bytes = Array("xx[1,2]yy".utf8)
        #expect(try JSON.parse(bytes[2..<7]) == [1, 2])
        let fromBuffer = try bytes[2..<7].withUnsafeBytes { try JSON.parse($0) }
        #expect(fromBuffer == [1, 2])
    }

    @Test("Duplicate keys keep the first position and the last value, like a Python dict")
    func duplicateKeys() throws {
        let value = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.serializedString() == #"{"a":3,"b":2}"#)
    }
}
