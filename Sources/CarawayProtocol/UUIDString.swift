/// Random (version 4) UUIDs in the lowercase `8-4-4-4-12` form Python's `str(uuid4())`
/// prints. Celery uses them for task ids, `delivery_tag`s and reply oids.
///
/// Randomness is a parameter (house rule 14) so tests can produce fixed ids.
/// - Parameter generator: the random source; called twice.
/// - Returns: e.g. `1f0e8a52-3b7c-4d21-9a6e-0c4d2f8b7a10`.
public func makeUUID<R: RandomNumberGenerator>(using generator: inout R) -> String {
    var high = generator.next() as UInt64
    var low = generator.next() as UInt64
    high = (high & ~0xF000) | 0x4000 // version 4 in bits 12–15 of time_hi
    low = (low & ~(0xC000 << 48)) | (0x8000 << 48) // RFC 4122 variant 10xx
    var output = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
    let hex = JSONWriter.hexDigits
    var at = 0
    for nibble in 0..<32 {
        if at == 8 || at == 13 || at == 18 || at == 23 { at += 1 } // dashes stay in place
        let word = nibble < 16 ? high : low
        let shift = UInt64(60 - 4 * (nibble % 16))
        output[at] = hex[Int(word >> shift & 0xF)]
        at += 1
    }
    return String(decoding: output, as: UTF8.self)
}

/// A version 4 UUID string from the system's secure random source.
public func makeUUID() -> String {
    var generator = SystemRandomNumberGenerator()
    return makeUUID(using: &generator)
}
