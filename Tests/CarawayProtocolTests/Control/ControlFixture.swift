import Foundation
import Testing

@testable import CarawayProtocol

/// Pidbox and event payloads captured from real Celery 5.7 (`Fixtures/control/README.md`).
enum ControlFixture {
    /// Payloads PUBLISHed on `/0.celery.pidbox` by the CLI, a client and the worker's mingle.
    static let requestNames = [
        "request_inspect_ping", "request_control_revoke", "request_control_terminate", "request_hello",
        "request_revoke_cast", "request_ping_destination", "request_ping_pattern",
    ]
    /// Replies a real worker LPUSHed to the client's reply queue.
    static let replyNames = ["reply_ping", "reply_revoke", "reply_active", "reply_scheduled"]
    /// One worker event per message.
    static let workerEventNames = ["event_worker_online", "event_worker_heartbeat", "event_worker_offline"]
    /// `task.multi` batches.
    static let taskBatchNames = ["event_task_multi_success", "event_task_multi_failure"]

    static var allNames: [String] { requestNames + replyNames + workerEventNames + taskBatchNames }

    /// The exact bytes Redis delivered.
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/control"),
            "fixture control/\(name).json is missing; run Fixtures/control/capture_control.py")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The outer envelope, parsed but with the body still encoded.
    static func envelope(_ name: String) throws -> JSONObject {
        try #require(JSON.parse(bytes(name)).objectValue)
    }

    /// Python's own decoding of `name` (`decoded.json`): `headers`, `properties` and `body`.
    static func python(_ name: String) throws -> JSONObject {
        let all = try #require(JSON.parse(bytes("decoded")).objectValue)
        return try #require(all[name]?.objectValue, "decoded.json has no entry \(name)")
    }

    /// Python's decoded body of `name`.
    static func pythonBody(_ name: String) throws -> JSON {
        try #require(python(name)["body"])
    }
}

/// The JSON kind of a value, with numbers split the way Python reads them (int vs float).
enum JSONKind: Equatable, CustomStringConvertible {
    case null, bool, int, float, string, array, object

    init(_ value: JSON) {
        switch value {
        case .null: self = .null
        case .bool: self = .bool
        case .number(let number): self = number.isInteger ? .int : .float
        case .string: self = .string
        case .array: self = .array
        case .object: self = .object
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        }
    }
}

extension JSONObject {
    /// Keys as a set (order-free comparisons of field names).
    var keySet: Set<String> { Set(keys) }
}
