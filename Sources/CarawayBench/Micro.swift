import CarawayLoop
import CarawayProtocol
import CarawayWorker

// caraway-bench micro COUNT [STEP]: the node's per-task CPU steps in isolation, in ns per call,
// so a change to the hot path can be measured without Redis, children or the host's scheduling
// noise (docs/performance.md). Each step (or only STEP, for a clean profile) runs COUNT times on
// a Celery-shaped no-op message.

/// Runs `body` `count` times and returns nanoseconds per call.
func nanosecondsPerCall(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
    let start = EventLoop.hrtime
    for _ in 0..<count { try body() }
    return Double(EventLoop.hrtime - start) / Double(count)
}

func runMicro(count: Int, only: String?) throws {
    // A no-op, and a task with ~1 KiB of arguments (a record and its line items: the size of a
    // typical report or sync job), whose argsrepr/kwargsrepr Celery also puts in the headers.
    let items: [JSON] = (0..<12).map { .object(["sku": .string("SKU-\($0)"), "qty": JSON($0), "price": 9.99]) }
    let shapes: [(String, [JSON], JSONObject)] = [
        ("noop", [], [:]),
        ("args", ["order-12345", 42, .object(["items": .array(items), "currency": "EUR"])],
         ["notify": true, "customer": "c-98765", "tags": ["priority", "export"]]),
    ]
    var out = JSONObject()
    var sink = 0
    for (shape, args, kwargs) in shapes {
        var draft = CeleryMessage.Draft(task: "caraway.noop", id: makeUUID(), args: args, kwargs: kwargs)
        draft.ignoreResult = true
        let raw = draft.encodedEnvelope(deliveryTag: makeUUID())
        let message = try CeleryMessage.decode(raw)
        let steps: [(String, () throws -> Void)] = [
            ("decode", { sink &+= try CeleryMessage.decode(raw).id.utf8.count }),
            ("full_parse", { sink &+= try JSON.parse(raw).objectValue?.count ?? 0 }),
            ("child_frame", {
                sink &+= ChildRequest.frame(id: message.id, task: message.task, argsJSON: message.argsJSON,
                                            kwargsJSON: message.kwargsJSON, retries: message.retries, queue: "celery",
                                            rootID: message.rootID, parentID: message.parentID, deliveries: 1,
                                            softTimeLimit: nil).count
            }),
        ]
        out[shape + "_envelope_bytes"] = JSON(raw.count)
        for (name, body) in steps where only == nil || only == name {
            out[shape + "_" + name + "_ns"] = JSON(try nanosecondsPerCall(count, body).rounded())
        }
    }
    let reply = Array(ChildReply.success(result: .null, runtime: 0.000012, rssKiB: 9_000).encoded().dropFirst(4))
    if only == nil || only == "child_reply" {
        out["child_reply_ns"] = JSON(try nanosecondsPerCall(count) { if case .success = try ChildReply(decoding: reply) { sink &+= 1 } }.rounded())
    }
    out["sink"] = JSON(sink & 1)
    print(JSON.object(out).serializedString())
}
