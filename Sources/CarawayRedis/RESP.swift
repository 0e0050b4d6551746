/// RESP request encoding: a command is an array of bulk strings (`*N\r\n` then `$len\r\nbytes\r\n`
/// per argument).
///
/// Caraway formats commands itself and hands hiredis the finished bytes
/// (`redisAsyncFormattedCommand`): hiredis's own formatter builds each argument with
/// `sdscatfmt` and grows its buffer piecemeal, which callgrind put at ~7 % of a node's
/// instructions per task; this writes into one buffer sized up front (docs/performance.md).
enum RESP {
    /// The RESP encoding of one command.
    static func command(_ arguments: [[UInt8]]) -> [UInt8] {
        var out = encoded([arguments])
        out.removeLast()  // the NUL
        return out
    }

    /// The RESP encoding of one command whose arguments are `groups` one after another (an
    /// EVALSHA's head, keys and arguments without joining them first), then a NUL byte (see
    /// ``withTerminatedCommand(_:_:)``). Sized first, then written through a pointer:
    /// appending byte by byte cost ~5 % of a node's instructions per task (docs/performance.md).
    static func encoded(_ groups: [[[UInt8]]]) -> [UInt8] {
        var count = 0
        var size = 0
        for group in groups {
            count += group.count
            for argument in group { size += 1 + decimalDigits(argument.count) + 2 + argument.count + 2 }
        }
        size += 1 + decimalDigits(count) + 2
        return [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, initialized in
            var at = 0
            func put(_ byte: UInt8) {
                buffer[at] = byte
                at += 1
            }
            func putDecimal(_ value: Int) {
                let digits = decimalDigits(value)
                var rest = value
                for index in stride(from: at + digits - 1, through: at, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += digits
            }
            put(UInt8(ascii: "*"))
            putDecimal(count)
            put(13); put(10)
            for group in groups {
                for argument in group {
                    put(UInt8(ascii: "$"))
                    putDecimal(argument.count)
                    put(13); put(10)
                    argument.withUnsafeBufferPointer { bytes in
                        if let base = bytes.baseAddress, bytes.count > 0 {
                            (buffer.baseAddress! + at).update(from: base, count: bytes.count)
                        }
                    }
                    at += argument.count
                    put(13); put(10)
                }
            }
            buffer[at] = 0
            initialized = at + 1
        }
    }

    /// Calls `body` with the encoding of `arguments` followed by a NUL byte that is not part of
    /// the command (`length` excludes it). Why: hiredis reads the formatted buffer as a C string —
    /// it finds SUBSCRIBE's channel names with `strchr` and peeks one byte past the first
    /// argument — which is safe with its own sds buffers (always terminated) and reads past the
    /// end of ours otherwise: a test process aborted on `nextArgument: Assertion 'p' failed`.
    static func withTerminatedCommand<R>(_ arguments: [[UInt8]], _ body: (_ text: UnsafePointer<CChar>, _ length: Int) -> R) -> R {
        withTerminatedCommand(groups: [arguments], body)
    }

    /// ``withTerminatedCommand(_:_:)`` for a command whose arguments come in `groups`.
    static func withTerminatedCommand<R>(groups: [[[UInt8]]], _ body: (_ text: UnsafePointer<CChar>, _ length: Int) -> R) -> R {
        let bytes = encoded(groups)
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, buffer.count - 1) }
        }
    }

    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 { rest /= 10; digits += 1 }
        return digits
    }

    /// Appends a non-negative count in decimal without going through `String`.
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
