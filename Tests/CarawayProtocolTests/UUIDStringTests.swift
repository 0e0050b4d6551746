import Testing

@testable import CarawayProtocol

@Suite("UUID strings")
struct UUIDStringTests {
    @Test("Generated ids are lowercase version 4 UUIDs with the RFC variant")
    func shape() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<500 {
            let id = makeUUID(using: &generator)
            let chars = Array(id)
            #expect(chars.count == 36)
            #expect([8, 13, 18, 23].allSatisfy { chars[$0] == "-" })
            #expect(chars[14] == "4")
            #expect("89ab".contains(chars[19]))
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) })
        }
    }

    @Test("The same seed gives the same ids, so tests can predict them")
    func deterministic() {
        var a = SeededGenerator(seed: 1)
        var b = SeededGenerator(seed: 1)
        #expect(makeUUID(using: &a) == makeUUID(using: &b))
        #expect(makeUUID(using: &a) != makeUUID())
    }

    @Test("Each nibble of the random words lands in order")
    func nibbleOrder() {
        struct Fixed: RandomNumberGenerator {
            var words: [UInt64] = [0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210]
            mutating func next() -> UInt64 { words.removeFirst() }
        }
        var fixed = Fixed()
        #expect(makeUUID(using: &fixed) == "01234567-89ab-4def-bedc-ba9876543210")
    }
}
