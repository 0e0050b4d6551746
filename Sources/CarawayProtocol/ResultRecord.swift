/// One task's entry in Celery's Redis result backend: the JSON value of
/// `celery-task-meta-<task id>` (spec §4.2).
///
/// Builders produce byte-for-byte the field order Celery's `_get_result_meta` writes,
/// so Python clients (`AsyncResult.get()`, Flower) read Caraway results as their own.
/// Writing it (GET-guard against overwriting SUCCESS, then `SETEX` + `PUBLISH` in one
/// `MULTI`) is the broker layer's job; this type only builds and reads the value.
public struct ResultRecord: Sendable, Equatable {
    /// The task id (`task_id`).
    public var taskID: String
    /// The stored `status`.
    public var state: TaskState
    /// The return value (SUCCESS), `{"pid", "hostname"}` (STARTED), an exception object
    /// (FAILURE, REVOKED, RETRY with an exception) or null.
    public var result: JSON
    /// Formatted traceback for failures and retries.
    public var traceback: String?
    /// Result tuples of tasks this task started (``childTuple(taskID:)``,
    /// ``childTuple(groupID:memberIDs:)``); `nil` writes `null`.
    public var children: [JSON]?
    /// When the task reached a ready state, epoch seconds; `nil` for other states.
    public var dateDone: Double?
    /// `parent_id`, written only when set.
    public var parentID: String?
    /// `group_id`, written only when set.
    public var groupID: String?
    /// The `result_extended=True` fields, if wanted.
    public var extended: Extended?

    /// Fields Celery adds with `result_extended=True`.
    public struct Extended: Sendable, Equatable {
        /// The task name.
        public var name: String?
        /// Positional arguments the task ran with.
        public var args: [JSON]?
        /// Keyword arguments the task ran with.
        public var kwargs: JSONObject?
        /// The worker's node name.
        public var worker: String?
        /// The request's retry count.
        public var retries: Int?
        /// The routing key the task arrived on.
        public var queue: String?

        public init(name: String? = nil, args: [JSON]? = nil, kwargs: JSONObject? = nil, worker: String? = nil,
                    retries: Int? = nil, queue: String? = nil) {
            self.name = name
            self.args = args
            self.kwargs = kwargs
            self.worker = worker
            self.retries = retries
            self.queue = queue
        }
    }

    /// An exception as Celery's JSON backend stores it. Python clients rebuild it by
    /// `exc_module` + `exc_type`, falling back to a synthetic class, so any names are safe.
    public struct ExceptionInfo: Sendable, Equatable {
        /// Class name, e.g. `ValueError`.
        public var type: String
        /// The exception's `args`, e.g. `["boom"]`.
        public var message: [JSON]
        /// Module, e.g. `builtins`.
        public var module: String

        public init(type: String, message: [JSON], module: String = "builtins") {
            self.type = type
            self.message = message
            self.module = module
        }

        /// Convenience for the common single-message case.
        public init(type: String, message: String, module: String = "builtins") {
            self.init(type: type, message: [.string(message)], module: module)
        }

        /// `{"exc_type", "exc_message", "exc_module"}`.
        public var json: JSON {
            .object(["exc_type": .string(type), "exc_message": .array(message), "exc_module": .string(module)])
        }

        /// Reads the exception object; `nil` if `json` is not one.
        public init?(json: JSON) {
            guard let type = json["exc_type"]?.stringValue else { return nil }
            self.type = type
            switch json["exc_message"] {
            case .array(let list)?: message = list
            case nil, .null?: message = []
            case let single?: message = [single]
            }
            module = json["exc_module"]?.stringValue ?? "builtins"
        }
    }

    /// A record with every field given; prefer the state-specific builders below.
    public init(taskID: String, state: TaskState, result: JSON = .null, traceback: String? = nil,
                children: [JSON]? = nil, dateDone: Double? = nil, parentID: String? = nil, groupID: String? = nil,
                extended: Extended? = nil) {
        self.taskID = taskID
        self.state = state
        self.result = result
        self.traceback = traceback
        self.children = children
        self.dateDone = dateDone
        self.parentID = parentID
        self.groupID = groupID
        self.extended = extended
    }

    /// The Redis key, `celery-task-meta-<id>`; it is also the pub/sub channel waiters listen on.
    public static func key(forTaskID taskID: String) -> String {
        "celery-task-meta-" + taskID
    }

    /// A SUCCESS record. `children` defaults to `[]`, what a worker with a request writes.
    public static func success(taskID: String, result: JSON, dateDone: Double, children: [JSON]? = [],
                               parentID: String? = nil, groupID: String? = nil) -> ResultRecord {
        ResultRecord(taskID: taskID, state: .success, result: result, children: children, dateDone: dateDone,
                     parentID: parentID, groupID: groupID)
    }

    /// A FAILURE record with the exception object and its formatted traceback.
    public static func failure(taskID: String, exception: ExceptionInfo, traceback: String?, dateDone: Double,
                               children: [JSON]? = [], parentID: String? = nil,
                               groupID: String? = nil) -> ResultRecord {
        ResultRecord(taskID: taskID, state: .failure, result: exception.json, traceback: traceback,
                     children: children, dateDone: dateDone, parentID: parentID, groupID: groupID)
    }

    /// A RETRY record; `result` is the exception passed to `retry(exc=...)`, or null.
    /// Not a ready state, so `date_done` is null.
    public static func retry(taskID: String, exception: ExceptionInfo? = nil, traceback: String? = nil,
                             children: [JSON]? = [], parentID: String? = nil,
                             groupID: String? = nil) -> ResultRecord {
        ResultRecord(taskID: taskID, state: .retry, result: exception?.json ?? .null, traceback: traceback,
                     children: children, parentID: parentID, groupID: groupID)
    }

    /// A REVOKED record: `TaskRevokedError` from `celery.exceptions` with `["revoked"]`, or
    /// `["expired"]` when the task was dropped for passing its `expires`.
    public static func revoked(taskID: String, expired: Bool = false, dateDone: Double,
                               parentID: String? = nil, groupID: String? = nil) -> ResultRecord {
        let exception = ExceptionInfo(type: "TaskRevokedError", message: expired ? "expired" : "revoked",
                                      module: "celery.exceptions")
        return ResultRecord(taskID: taskID, state: .revoked, result: exception.json, dateDone: dateDone,
                            parentID: parentID, groupID: groupID)
    }

    /// A STARTED record (`task_track_started`): `result` is `{"pid", "hostname"}`.
    public static func started(taskID: String, pid: Int, hostname: String, parentID: String? = nil,
                               groupID: String? = nil) -> ResultRecord {
        ResultRecord(taskID: taskID, state: .started, result: ["pid": JSON(pid), "hostname": .string(hostname)],
                     parentID: parentID, groupID: groupID)
    }

    /// `[[id, null], null]`: the `children` entry for one plain subtask.
    public static func childTuple(taskID: String) -> JSON {
        [[.string(taskID), nil], nil]
    }

    /// `[[group id, null], [[[id, null], null], ...]]`: the `children` entry for a group.
    public static func childTuple(groupID: String, memberIDs: [String]) -> JSON {
        [[.string(groupID), nil], .array(memberIDs.map { childTuple(taskID: $0) })]
    }

    /// The `status` string, e.g. `SUCCESS`.
    public var status: String { state.rawValue }

    /// The exception object in `result`, for FAILURE, REVOKED and RETRY records.
    public var exception: ExceptionInfo? { ExceptionInfo(json: result) }

    /// The value in Celery's field order: `status, result, traceback, children, date_done,
    /// [group_id], [parent_id], [extended fields], task_id`.
    public var json: JSONObject {
        var object = JSONObject()
        object.reserveCapacity(14)
        object.append("status", .string(state.rawValue))
        object.append("result", result)
        object.append("traceback", JSON(traceback))
        object.append("children", children.map(JSON.array) ?? .null)
        object.append("date_done", dateDone.map { .string(Timestamp.format($0)) } ?? .null)
        if let groupID { object.append("group_id", .string(groupID)) }
        if let parentID { object.append("parent_id", .string(parentID)) }
        if let extended {
            object.append("name", JSON(extended.name))
            object.append("args", extended.args.map(JSON.array) ?? .null)
            object.append("kwargs", extended.kwargs.map(JSON.object) ?? .null)
            object.append("worker", JSON(extended.worker))
            object.append("retries", JSON(extended.retries))
            object.append("queue", JSON(extended.queue))
        }
        object.append("task_id", .string(taskID))
        return object
    }

    /// The value as compact JSON bytes, ready for `SETEX` and `PUBLISH`.
    public func encoded() -> [UInt8] { json.serialized() }
}

extension ResultRecord {
    /// Reads a stored result value (written by Celery or Caraway), e.g. for `call --wait`.
    /// Unknown states are kept as they are. Pure; callable from any thread.
    /// - Throws: ``ProtocolError/invalidJSON(offset:reason:)``, ``ProtocolError/missingField(_:)``
    ///   without `status`, ``ProtocolError/wrongType(field:expected:)``, or
    ///   ``ProtocolError/invalidDate(_:)`` for a bad `date_done`.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> ResultRecord {
        guard case .object(let object) = try JSON.parse(bytes) else {
            throw .wrongType(field: "result", expected: "a JSON object")
        }
        return try decode(object: object)
    }

    /// Reads a stored result value. See ``decode(_:)-(UnsafeRawBufferPointer)``.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> ResultRecord {
        let result: Result<ResultRecord, ProtocolError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtocolError) in try decode(buffer) }
        }
        return try result.get()
    }

    /// Reads an already parsed result object.
    public static func decode(object: JSONObject) throws(ProtocolError) -> ResultRecord {
        guard let status = try object.optionalString("status", path: "status") else { throw .missingField("status") }
        var record = ResultRecord(
            taskID: try object.optionalString("task_id", path: "task_id") ?? "",
            state: TaskState(rawValue: status),
            result: object["result"] ?? .null,
            traceback: try object.optionalString("traceback", path: "traceback"),
            children: try object.optionalArray("children", path: "children"),
            dateDone: try object.optionalTimestamp("date_done", path: "date_done"),
            parentID: try object.optionalString("parent_id", path: "parent_id"),
            groupID: try object.optionalString("group_id", path: "group_id")
        )
        if object["name"] != nil || object["worker"] != nil {
            record.extended = Extended(
                name: try object.optionalString("name", path: "name"),
                args: try object.optionalArray("args", path: "args"),
                kwargs: try object.optionalObject("kwargs", path: "kwargs"),
                worker: try object.optionalString("worker", path: "worker"),
                retries: try object.optionalInt("retries", path: "retries"),
                queue: try object.optionalString("queue", path: "queue"))
        }
        return record
    }
}
