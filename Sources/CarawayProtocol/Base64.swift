/// Standard base64 (RFC 4648 §4, `+` and `/`, `=` padding), as kombu's Redis transport
/// uses for every message body. Table-driven, four characters per step, no Foundation.
public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0xFF marks bytes outside the alphabet.
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, char) in alphabet.enumerated() { table[Int(char)] = UInt8(value) }
        return table
    }()

    /// Encodes `bytes` as padded base64.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        bytes.withUnsafeBytes { encode($0, appendingTo: &output) }
        return output
    }

    /// Encodes `bytes` as a padded base64 string.
    public static func encodeToString(_ bytes: [UInt8]) -> String {
        String(decoding: encode(bytes), as: UTF8.self)
    }

    /// Appends the padded base64 encoding of `input` to `output`, so an envelope can be built
    /// in one buffer.
    public static func encode(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let fullGroups = input.count / 3
        let remainder = input.count % 3
        let start = output.count
        let encodedCount = (fullGroups + (remainder > 0 ? 1 : 0)) * 4
        output.append(contentsOf: repeatElement(UInt8(ascii: "="), count: encodedCount))
        alphabet.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBufferPointer { out in
                var o = start
                var i = 0
                for _ in 0..<fullGroups {
                    let word = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    out[o] = table[Int(word >> 18 & 0x3F)]
                    out[o + 1] = table[Int(word >> 12 & 0x3F)]
                    out[o + 2] = table[Int(word >> 6 & 0x3F)]
                    out[o + 3] = table[Int(word & 0x3F)]
                    i += 3
                    o += 4
                }
                if remainder == 1 {
                    let word = UInt32(input[i]) << 16
                    out[o] = table[Int(word >> 18 & 0x3F)]
                    out[o + 1] = table[Int(word >> 12 & 0x3F)]
                } else if remainder == 2 {
                    let word = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                    out[o] = table[Int(word >> 18 & 0x3F)]
                    out[o + 1] = table[Int(word >> 12 & 0x3F)]
                    out[o + 2] = table[Int(word >> 6 & 0x3F)]
                }
            }
        }
    }

    /// Decodes standard base64. Padding may be omitted (some non-Python producers drop it),
    /// but if present it must be correct and final.
    ///
    /// Stricter than Python's default `b64decode`, which silently skips foreign characters:
    /// a body with stray bytes is corrupt, and guessing would run a task with wrong arguments.
    /// - Throws: ``ProtocolError/invalidBase64(offset:)`` with the first bad character's index.
    public static func decode(_ input: UnsafeRawBufferPointer) throws(ProtocolError) -> [UInt8] {
        var length = input.count
        var padding = 0
        while length > 0 && input[length - 1] == UInt8(ascii: "=") && padding < 2 {
            length -= 1
            padding += 1
        }
        // Padding only ever completes a 4-character group; "A=" or "AAAA=" are wrong.
        if padding > 0 && (length + padding) % 4 != 0 { throw .invalidBase64(offset: length) }
        var output = [UInt8](repeating: 0, count: length / 4 * 3 + max(0, length % 4 - 1))
        let failure: Int? = decodeTable.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBufferPointer { out in
                var i = 0
                var o = 0
                while i + 4 <= length {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 {
                        return i + [a, b, c, d].firstIndex(where: { $0 == 0xFF })!
                    }
                    let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: word >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: word)
                    i += 4
                    o += 3
                }
                let tail = length - i
                guard tail > 0 else { return nil }
                var word: UInt32 = 0
                for k in 0..<tail {
                    let value = table[Int(input[i + k])]
                    if value == 0xFF { return i + k }
                    word |= UInt32(value) << (18 - 6 * UInt32(k))
                }
                // One leftover character carries only 6 bits: no byte can end there.
                if tail == 1 { return i }
                out[o] = UInt8(truncatingIfNeeded: word >> 16)
                if tail == 3 { out[o + 1] = UInt8(truncatingIfNeeded: word >> 8) }
                return nil
            }
        }
        if let failure { throw .invalidBase64(offset: failure) }
        return output
    }

    /// Decodes standard base64 from a byte array. See ``decode(_:)-(UnsafeRawBufferPointer)``.
    public static func decode(_ input: [UInt8]) throws(ProtocolError) -> [UInt8] {
        let result: Result<[UInt8], ProtocolError> = input.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try decode(buffer) }
        }
        return try result.get()
    }

    /// Decodes standard base64 from a string. See ``decode(_:)-(UnsafeRawBufferPointer)``.
    public static func decode(_ input: String) throws(ProtocolError) -> [UInt8] {
        var input = input
        let result: Result<[UInt8], ProtocolError> = input.withUTF8 { buffer in
            Result { () throws(ProtocolError) in try decode(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }
}
