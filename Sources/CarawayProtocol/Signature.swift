/// A Celery canvas signature as it appears inside a message's `embed` (chain steps,
/// `link`/`link_error` callbacks, chord bodies): `{task, args, kwargs, options,
/// subtask_type, immutable}` (spec §1.4).
///
/// Turning one into a ``CeleryMessage/Draft`` mirrors Python's
/// `Signature.apply_async(args, **options)`: extra args are prepended unless the
/// signature is immutable, and the signature's own options (`task_id`, `queue`,
/// `priority`, `link`, ...) decide the rest.
public struct Signature: Sendable, Equatable {
    /// Registered task name.
    public var task: String
    /// Partial positional arguments; applied args are prepended to them.
    public var args: [JSON]
    /// Keyword arguments (for `chain`/`group`, `tasks` holds the members).
    public var kwargs: JSONObject
    /// `apply_async` options: `task_id`, `queue`, `priority`, `link`, `countdown`, ...
    public var options: JSONObject
    /// `nil` for a plain task, else `chain`, `group` or `chord`.
    public var subtaskType: String?
    /// If true, the parent's result is not prepended to ``args``.
    public var immutable: Bool
    /// The object as received, so unknown keys (`chord_size`, stamps) survive re-emission.
    public var raw: JSONObject

    /// Makes a signature in Python's field order.
    public init(task: String, args: [JSON] = [], kwargs: JSONObject = [:], options: JSONObject = [:],
                subtaskType: String? = nil, immutable: Bool = false) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.subtaskType = subtaskType
        self.immutable = immutable
        self.raw = JSONObject()
    }

    /// Reads a signature object.
    /// - Throws: ``ProtocolError/wrongType(field:expected:)`` if it is not an object or a field
    ///   has the wrong type; ``ProtocolError/missingField(_:)`` without `task`.
    public init(json: JSON) throws(ProtocolError) {
        guard case .object(let object) = json else { throw .wrongType(field: "signature", expected: "an object") }
        guard let task = try object.optionalString("task", path: "signature.task") else {
            throw .missingField("signature.task")
        }
        self.task = task
        self.args = try object.optionalArray("args", path: "signature.args") ?? []
        self.kwargs = try object.optionalObject("kwargs", path: "signature.kwargs") ?? JSONObject()
        self.options = try object.optionalObject("options", path: "signature.options") ?? JSONObject()
        self.subtaskType = try object.optionalString("subtask_type", path: "signature.subtask_type")
        self.immutable = try object.optionalBool("immutable", path: "signature.immutable") ?? false
        self.raw = object
    }

    /// The signature as JSON: the received object with the known fields updated.
    public var json: JSON {
        var object = raw
        object["task"] = .string(task)
        object["args"] = .array(args)
        object["kwargs"] = .object(kwargs)
        object["options"] = .object(options)
        object["subtask_type"] = JSON(subtaskType)
        object["immutable"] = .bool(immutable)
        return .object(object)
    }

    /// What applying a signature needs from the caller: time and ids are injected.
    ///
    /// Deliberately not `Sendable`: it lives for one call on the caller's thread, and the
    /// id source is often a stateful closure (a seeded generator in tests).
    public struct ApplyContext {
        /// Current time, epoch seconds; `countdown` and relative `expires` count from it.
        public var now: Double
        /// Node name for `headers.origin`.
        public var origin: String
        /// Queue used when the signature names none (Celery's default is `celery`).
        public var defaultQueue: String
        /// Routing rules for signatures that name no queue (before `defaultQueue`).
        public var routes: TaskRoutes
        /// Source of ids for steps without a pre-assigned `task_id`.
        public var newID: () -> String

        /// - Parameters:
        ///   - now: current time, epoch seconds, from the injected clock.
        ///   - origin: this node's name.
        ///   - defaultQueue: queue for signatures that name none.
        ///   - newID: id source, e.g. a seeded ``makeUUID(using:)`` in tests.
        public init(now: Double, origin: String, defaultQueue: String = "celery", routes: TaskRoutes = TaskRoutes(),
                    newID: @escaping () -> String = { makeUUID() }) {
            self.now = now
            self.origin = origin
            self.defaultQueue = defaultQueue
            self.routes = routes
            self.newID = newID
        }
    }

    /// The message that applying this signature publishes, for plain and `chain` signatures.
    ///
    /// A `chain` signature yields its first task, with the other steps (reversed) ahead of
    /// `chain` in the new message's chain list.
    /// - Parameters:
    ///   - prependingArgs: the parent's result (`[retval]`) or, for errbacks, `[task_id]`.
    ///   - parentID: the task that triggers this one.
    ///   - rootID: the workflow root to carry on.
    ///   - chain: the rest of the enclosing chain (reversed), or `nil` for none.
    ///   - context: clock, origin and id source.
    /// - Throws: ``ProtocolError/unsupportedSignature(_:)`` for `group`/`chord` (use
    ///   ``drafts(prependingArgs:parentID:rootID:chain:context:)`` for groups), or a field error.
    public func draft(prependingArgs: [JSON] = [], parentID: String?, rootID: String?, chain: [JSON]? = nil,
                      context: ApplyContext) throws(ProtocolError) -> CeleryMessage.Draft {
        let drafts = try drafts(prependingArgs: prependingArgs, parentID: parentID, rootID: rootID, chain: chain,
                                context: context)
        guard drafts.count == 1, subtaskType != "group" else {
            throw .unsupportedSignature("a group signature produces several messages; use drafts()")
        }
        return drafts[0]
    }

    /// Every message that applying this signature publishes: one for a plain task or a
    /// chain, one per member for a group (sharing a group id, with `group_index` set).
    /// Chords are refused: their join needs result-backend state this pure layer lacks.
    /// Groups are published without saving a `GroupResult`.
    public func drafts(prependingArgs: [JSON] = [], parentID: String?, rootID: String?, chain: [JSON]? = nil,
                       context: ApplyContext) throws(ProtocolError) -> [CeleryMessage.Draft] {
        let extra = immutable ? [] : prependingArgs
        switch subtaskType {
        case nil:
            return [try plainDraft(prependingArgs: extra, parentID: parentID, rootID: rootID, chain: chain,
                                   context: context)]
        case "chain":
            let steps = try memberSignatures()
            guard let first = steps.first else { throw .unsupportedSignature("an empty chain") }
            let rest = steps.dropFirst().reversed().map(\.json)
            return try first.drafts(prependingArgs: extra, parentID: parentID, rootID: rootID,
                                    chain: (chain ?? []) + rest, context: context)
        case "group":
            let groupID = try options.optionalString("task_id", path: "signature.options.task_id")
                ?? context.newID()
            var drafts: [CeleryMessage.Draft] = []
            for (index, member) in try memberSignatures().enumerated() {
                var member = member
                member.options["group_id"] = .string(groupID)
                member.options["group_index"] = JSON(index)
                drafts += try member.drafts(prependingArgs: extra, parentID: parentID, rootID: rootID,
                                            chain: chain, context: context)
            }
            return drafts
        case let other?:
            throw .unsupportedSignature("subtask_type '\(other)' is not supported")
        }
    }

    /// Members of a chain or group, from `kwargs.tasks`.
    private func memberSignatures() throws(ProtocolError) -> [Signature] {
        guard let tasks = try kwargs.optionalArray("tasks", path: "signature.kwargs.tasks") else {
            throw .missingField("signature.kwargs.tasks")
        }
        var members: [Signature] = []
        for task in tasks { members.append(try Signature(json: task)) }
        return members
    }

    private func plainDraft(prependingArgs: [JSON], parentID: String?, rootID: String?, chain: [JSON]?,
                            context: ApplyContext) throws(ProtocolError) -> CeleryMessage.Draft {
        let o = options
        func path(_ key: String) -> String { "signature.options." + key }
        let id = try o.optionalString("task_id", path: path("task_id")) ?? context.newID()
        var queue = context.routes.queue(for: task) ?? context.defaultQueue
        if let named = try o.optionalString("queue", path: path("queue")) {
            queue = named
        } else if let routingKey = try o.optionalString("routing_key", path: path("routing_key")) {
            queue = routingKey
        }
        var draft = CeleryMessage.Draft(task: task, id: id, args: prependingArgs + args, kwargs: kwargs, queue: queue)
        draft.origin = context.origin
        draft.parentID = parentID
        draft.rootID = rootID
        draft.chain = chain
        draft.priority = CeleryMessage.clampedPriority(o["priority"])
        draft.groupID = try o.optionalString("group_id", path: path("group_id"))
        draft.groupIndex = try o.optionalInt("group_index", path: path("group_index"))
        draft.callbacks = Self.signatureList(o["link"])
        draft.errbacks = Self.signatureList(o["link_error"])
        if let chord = o["chord"], !chord.isNull { draft.chord = chord }
        draft.shadow = try o.optionalString("shadow", path: path("shadow"))
        draft.replyTo = try o.optionalString("reply_to", path: path("reply_to")) ?? ""
        draft.ignoreResult = try o.optionalBool("ignore_result", path: path("ignore_result")) ?? false
        draft.timeLimit = (try o.optionalDouble("time_limit", path: path("time_limit")),
                           try o.optionalDouble("soft_time_limit", path: path("soft_time_limit")))
        if let headers = try o.optionalObject("headers", path: path("headers")) { draft.extraHeaders = headers }
        // `countdown` wins over `eta` only when set, as in `as_task_v2`.
        if let countdown = try o.optionalDouble("countdown", path: path("countdown")), countdown != 0 {
            draft.eta = context.now + countdown
        } else if let eta = o["eta"], !eta.isNull {
            guard let epoch = eta.kombuDatetimeEpoch else { throw .invalidDate(eta.serializedString()) }
            draft.eta = epoch
        }
        switch o["expires"] {
        case nil, .null?: break
        case .number(let seconds)?: draft.expires = context.now + (seconds.double ?? 0)
        case let value?:
            guard let epoch = value.kombuDatetimeEpoch else { throw .invalidDate(value.serializedString()) }
            draft.expires = epoch
        }
        return draft
    }

    /// `link`/`link_error` hold one signature or a list of them.
    private static func signatureList(_ value: JSON?) -> [JSON]? {
        switch value {
        case nil, .null?: return nil
        case .array(let list)?: return list
        case let single?: return [single]
        }
    }
}
