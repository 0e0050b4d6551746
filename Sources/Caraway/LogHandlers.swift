import CCaraway
import CarawayProtocol
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One line per event on stderr: `2026-11-23T10:00:00.123Z info task.succeeded task.id=… node=…`
/// (human) or one JSON object per line (`--log-format json`).
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable { case human, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let format: Format

    public init(label: String, format: Format, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var all = metadata
        if let explicit { all.merge(explicit) { $1 } }
        let time = Self.timestamp()
        var text: String
        switch format {
        case .human:
            text = "\(time) \(level) \(message)"
            for key in all.keys.sorted() { text += " \(key)=\(all[key]!)" }
        case .json:
            text = "{\"time\":\"\(time)\",\"level\":\"\(level)\",\"event\":\(Self.quote("\(message)"))"
            for key in all.keys.sorted() { text += ",\(Self.quote(key)):\(Self.quote("\(all[key]!)"))" }
            text += "}"
        }
        text += "\n"
        fputs(text, caraway_stderr())
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ n: Int) -> String { String(repeating: "0", count: max(0, n - String(v).count)) + String(v) }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }

    /// A JSON string literal (the protocol layer's serializer does the escaping).
    static func quote(_ s: String) -> String { JSON.string(s).serializedString() }
}
