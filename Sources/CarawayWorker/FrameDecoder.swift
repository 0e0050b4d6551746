/// Length-prefixed frames on the node↔child pipe: a 4-byte big-endian length, then that many
/// bytes of JSON. Small, self-delimiting, and cheap to parse on both sides.
public struct FrameDecoder {
    /// Frames larger than this are a protocol violation (a corrupted or hostile child).
    public static let maximumFrame = 256 << 20
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public enum Failure: Error { case frameTooLarge(Int) }

    /// Appends bytes and returns every complete frame's payload.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        while buffer.count - start >= 4 {
            let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            if length > Self.maximumFrame { throw .frameTooLarge(length) }
            guard buffer.count - start - 4 >= length else { break }
            frames.append(Array(buffer[(start + 4)..<(start + 4 + length)]))
            start += 4 + length
        }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65_536 {
            buffer.removeFirst(start)
            start = 0
        }
        return frames
    }

    /// Frames `payload` for writing.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 4)
        let n = payload.count
        out.append(UInt8(truncatingIfNeeded: n >> 24))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
        out.append(contentsOf: payload)
        return out
    }
}
