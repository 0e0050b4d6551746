/// SplitMix64: a tiny deterministic generator, so a failing fuzz case can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static let validRequests: [[UInt8]] = [
        "GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /api/v1/tasks?x=1 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
        "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "DELETE /api/v1/tasks/1 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz",
    ].map { Array($0.utf8) }

    /// Half pure noise (mostly rejected at the first byte), half valid requests with a few bytes
    /// flipped, inserted or deleted (which reach deep into the parser's states).
    mutating func fuzzInput() -> [UInt8] {
        if Bool.random(using: &self) {
            return (0..<Int.random(in: 1...200, using: &self)).map { _ in UInt8.random(in: 0...255, using: &self) }
        }
        var bytes = Self.validRequests.randomElement(using: &self)!
        for _ in 0..<Int.random(in: 1...4, using: &self) {
            let index = Int.random(in: 0..<bytes.count, using: &self)
            switch Int.random(in: 0..<3, using: &self) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &self)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &self), at: index)
            default: if bytes.count > 1 { bytes.remove(at: index) }
            }
        }
        if Int.random(in: 0..<4, using: &self) == 0 { bytes += bytes }  // pipelined twice
        return bytes
    }
}
