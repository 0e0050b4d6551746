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
        var size = 1 + decimalDigits(arguments.count) + 2
        for argument in arguments { size += 1 + decimalDigits(argument.count) + 2 + argument.count + 2 }
        var out: [UInt8] = []
        out.reserveCapacity(size + 1)  // + the NUL withTerminatedCommand adds
        out.append(UInt8(ascii: "*"))
        appendDecimal(arguments.count, to: &out)
        out.append(13); out.append(10)
        for argument in arguments {
            out.append(UInt8(ascii: "$"))
            appendDecimal(argument.count, to: &out)
            out.append(13); out.append(10)
            out.append(contentsOf: argument)
            out.append(13); out.append(10)
        }
        return out
    }

    /// Calls `body` with the encoding of `arguments` followed by a NUL byte that is not part of
    /// the command (`length` excludes it). Why: hiredis reads the formatted buffer as a C string —
    /// it finds SUBSCRIBE's channel names with `strchr` and peeks one byte past the first
    /// argument — which is safe with its own sds buffers (always terminated) and reads past the
    /// end of ours otherwise: a test process aborted on `nextArgument: Assertion 'p' failed`.
    static func withTerminatedCommand<R>(_ arguments: [[UInt8]], _ body: (_ text: UnsafePointer<CChar>, _ length: Int) -> R) -> R {
        var bytes = command(arguments)
        let length = bytes.count
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, length) }
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
