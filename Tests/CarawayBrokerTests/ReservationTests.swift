import CarawayBroker
import Testing

struct ReservationTests {
    @Test func aStoredValueSplitsAtTheFirstNewline() throws {
        let keys = RedisKeys(prefix: "pfx:")
        let reservation = try #require(Reservation(field: "r:dead:4", storedValue: Array("pfx:q\u{06}\u{16}3\n{\"a\":\n1}".utf8), keys: keys))
        #expect(reservation.field == "r:dead:4")
        #expect(reservation.sourceKey == "pfx:q\u{06}\u{16}3")
        #expect(reservation.queue == "q")
        #expect(reservation.envelope == Array("{\"a\":\n1}".utf8))
    }

    @Test func anEmptyEnvelopeIsKept() throws {
        let reservation = try #require(Reservation(field: "1", storedValue: Array("q\n".utf8), keys: RedisKeys()))
        #expect(reservation.sourceKey == "q" && reservation.envelope.isEmpty)
    }

    @Test func aStoredValueWithoutNewlineIsRejected() {
        #expect(Reservation(field: "1", storedValue: Array("no-separator".utf8), keys: RedisKeys()) == nil)
    }
}
