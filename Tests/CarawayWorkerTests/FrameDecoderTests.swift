import CarawayWorker
import Testing

struct FrameDecoderTests {
    static let payloads: [[UInt8]] = [Array(#"{"status":"ready","pid":42}"#.utf8), [], Array(repeating: 0xFF, count: 300), [0x00, 0x0A]]
    static let stream: [UInt8] = payloads.flatMap(FrameDecoder.frame)

    func feed(_ decoder: inout FrameDecoder, _ bytes: some Collection<UInt8>) throws -> [[UInt8]] {
        try Array(bytes).withUnsafeBytes { try decoder.feed($0) }
    }

    @Test func framesSplitAtEveryByteBoundaryReassemble() throws {
        for cut in 0...Self.stream.count {
            var decoder = FrameDecoder()
            let frames = try feed(&decoder, Self.stream[..<cut]) + feed(&decoder, Self.stream[cut...])
            #expect(frames == Self.payloads, "cut at byte \(cut)")
        }
    }

    @Test func framesFedOneByteAtATimeReassemble() throws {
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        for byte in Self.stream { frames += try feed(&decoder, [byte]) }
        #expect(frames == Self.payloads)
    }

    @Test func severalFramesInOneChunkAllCome() throws {
        var decoder = FrameDecoder()
        #expect(try feed(&decoder, Self.stream) == Self.payloads)
        #expect(try feed(&decoder, []) == [])
    }

    @Test func aTrailingPartialFrameWaitsForTheRest() throws {
        var decoder = FrameDecoder()
        let next = FrameDecoder.frame(Array("tail".utf8))
        #expect(try feed(&decoder, Self.stream + next.prefix(5)) == Self.payloads)
        #expect(try feed(&decoder, next.dropFirst(5)) == [Array("tail".utf8)])
    }

    @Test func aLongStreamWithAPartialFrameAcrossTheCompactionPointStaysIntact() throws {
        // More than 64 KiB consumed while a partial frame remains makes the decoder compact its buffer.
        let big = (0..<20).map { i in [UInt8](repeating: UInt8(i), count: 4_000) }
        let stream = big.flatMap(FrameDecoder.frame)
        var decoder = FrameDecoder()
        let cut = stream.count - 1_000
        var frames = try feed(&decoder, stream[..<cut])
        #expect(frames.count == 19)
        frames += try feed(&decoder, stream[cut...])
        #expect(frames == big)
        #expect(try feed(&decoder, FrameDecoder.frame([7])) == [[7]])
    }

    @Test func anOversizeLengthIsAnError() throws {
        let length = FrameDecoder.maximumFrame + 1
        let header: [UInt8] = [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        var decoder = FrameDecoder()
        #expect(throws: FrameDecoder.Failure.self) { try feed(&decoder, FrameDecoder.frame([1]) + header) }
        var another = FrameDecoder()
        do {
            _ = try feed(&another, header)
            Issue.record("expected frameTooLarge")
        } catch let FrameDecoder.Failure.frameTooLarge(reported) {
            #expect(reported == length)
        }
    }

    @Test func aLengthAtTheMaximumIsAcceptedAndAwaitsItsBytes() throws {
        let length = FrameDecoder.maximumFrame
        var decoder = FrameDecoder()
        #expect(try feed(&decoder, [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]) == [])
    }

    @Test func frameWritesABigEndianLengthThenThePayload() throws {
        #expect(FrameDecoder.frame([]) == [0, 0, 0, 0])
        #expect(FrameDecoder.frame([9, 8, 7]) == [0, 0, 0, 3, 9, 8, 7])
        #expect(Array(FrameDecoder.frame([UInt8](repeating: 1, count: 0x01_02_03)).prefix(4)) == [0x00, 0x01, 0x02, 0x03])
        let payload = Array("round trip ✓".utf8)
        var decoder = FrameDecoder()
        #expect(try feed(&decoder, FrameDecoder.frame(payload)) == [payload])
    }
}
