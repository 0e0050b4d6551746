extension JSON {
    /// The value as compact JSON (`{"a":1,"b":[2]}`) in UTF-8.
    ///
    /// Numbers are written from their literal text, object keys in stored order,
    /// non-ASCII as raw UTF-8, and `"`, `\` and control characters escaped. Python's
    /// `json.loads` reads the output back to the same values. Safe from any thread.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(to: &output)
        return output
    }

    /// The value as a compact JSON string. See ``serialized()``.
    public func serializedString() -> String {
        String(decoding: serialized(), as: UTF8.self)
    }

    /// Appends the compact serialization to `output`, so callers can build an envelope in
    /// one buffer without intermediate arrays.
    public func write(to output: inout [UInt8]) {
        switch self {
        case .null:
            JSONWriter.appendASCII("null", to: &output)
        case .bool(let value):
            JSONWriter.appendASCII(value ? "true" : "false", to: &output)
        case .number(let number):
            output.append(contentsOf: number.text.utf8)
        case .string(let string):
            JSONWriter.appendQuoted(string, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                element.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            object.write(to: &output)
        }
    }
}

extension JSONObject {
    /// The object as compact JSON. See ``JSON/serialized()``.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(to: &output)
        return output
    }

    /// Appends the compact serialization to `output`.
    public func write(to output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in storage {
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.appendQuoted(key, to: &output)
            output.append(UInt8(ascii: ":"))
            value.write(to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }
}

/// Byte-level helpers shared by the serializer and the envelope encoder.
enum JSONWriter {
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    static func appendASCII(_ text: StaticString, to output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `string` as a quoted JSON string. Runs of bytes that need no escaping are
    /// copied in bulk straight from the string's UTF-8 storage.
    static func appendQuoted(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if runStart < i { output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x22: output.append(UInt8(ascii: "\""))
                case 0x5C: output.append(UInt8(ascii: "\\"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                case 0x09: output.append(UInt8(ascii: "t"))
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                default:
                    output.append(UInt8(ascii: "u"))
                    output.append(UInt8(ascii: "0"))
                    output.append(UInt8(ascii: "0"))
                    output.append(hexDigits[Int(byte >> 4)])
                    output.append(hexDigits[Int(byte & 0xF)])
                }
            }
            if runStart < utf8.count {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
