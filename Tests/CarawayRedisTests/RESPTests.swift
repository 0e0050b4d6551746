import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CarawayRedis

/// Caraway's own RESP request formatting (what hiredis's formatter produced before).
@Suite struct RESPTests {
    @Test func formatsACommandAsAnArrayOfBulkStrings() {
        let bytes = RESP.command([Array("SET".utf8), Array("k".utf8), Array("a\r\nb".utf8)])
        #expect(String(decoding: bytes, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n")
    }

    @Test func formatsEmptyAndLongArgumentsWithExactLengths() {
        let long = [UInt8](repeating: 0x78, count: 12_345)
        let bytes = RESP.command([Array("ECHO".utf8), [], long])
        let prefix = "*3\r\n$4\r\nECHO\r\n$0\r\n\r\n$12345\r\n"
        #expect(Array(bytes.prefix(prefix.utf8.count)) == Array(prefix.utf8))
        #expect(bytes.count == prefix.utf8.count + 12_345 + 2)
        #expect(bytes.suffix(2) == [13, 10])
    }

    /// hiredis scans the formatted buffer as a C string (SUBSCRIBE's channel names, one byte past
    /// the first argument), so what it is handed must end in a NUL that the length excludes.
    @Test func theBufferHandedToHiredisIsNulTerminatedOutsideItsLength() {
        for arguments in [["PING"], ["SUBSCRIBE", "a", "b"], ["SET", "k", String(repeating: "v", count: 5_000)]] {
            let encoded = RESP.command(arguments.map { Array($0.utf8) })
            RESP.withTerminatedCommand(arguments.map { Array($0.utf8) }) { text, length in
                #expect(length == encoded.count)
                #expect(text[length] == 0)
                #expect(strlen(text) == length)
                #expect(Array(UnsafeRawBufferPointer(start: text, count: length)) == encoded)
            }
        }
    }

    @Test func writesDecimalsWithoutLeadingZeros() {
        for value in [0, 7, 10, 99, 100, 1_000_000] {
            var out: [UInt8] = []
            RESP.appendDecimal(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
    }
}
