import Testing

@testable import CarawayProtocol

@Suite("TaskRequestInfo: the request info of Celery's active/reserved/scheduled replies")
struct TaskRequestInfoTests {
    /// The single request of a captured `active` reply (w2@capture running capapp.sleepy(2)).
    static func pythonActive() throws -> JSONObject {
        let body = try ControlFixture.pythonBody("reply_active")
        return try #require(body["w2@capture"]?[0]?.objectValue)
    }

    /// The single entry of a captured `scheduled` reply (capapp.add(4, 5, z=None), countdown 120, priority 5).
    static func pythonScheduled() throws -> JSONObject {
        let body = try ControlFixture.pythonBody("reply_scheduled")
        return try #require(body["w2@capture"]?[0]?.objectValue)
    }

    @Test("A waiting request's info equals Python's exactly (scheduled request: not started, no pid)")
    func waitingRequestEqualsPython() throws {
        let python = try #require(Self.pythonScheduled()["request"]?.objectValue)
        let ours = TaskRequestInfo(id: "88888888-8888-4888-8888-888888888888", name: "capapp.add", args: [4, 5],
                                   kwargs: ["z": nil], hostname: "w2@capture", timeStart: nil, workerPID: nil,
                                   queue: "celery", priority: 5, redelivered: false)
        #expect(ours.json == .object(python))
    }

    @Test("A running request's info has Python's keys and types; acknowledged stays false (acks late)")
    func runningRequestMatchesPython() throws {
        let python = try Self.pythonActive()
        let timeStart = try #require(python["time_start"]?.doubleValue)
        let pid = try #require(python["worker_pid"]?.intValue)
        let ours = try #require(TaskRequestInfo(id: "77777777-7777-4777-8777-777777777777", name: "capapp.sleepy", args: [2],
                                                kwargs: [:], hostname: "w2@capture", timeStart: timeStart, workerPID: pid,
                                                queue: "celery").json.objectValue)
        #expect(ours.keySet == python.keySet)
        for (key, value) in python {
            #expect(JSONKind(ours[key] ?? .null) == JSONKind(value), "\(key)")
        }
        // Celery acknowledges early by default; Caraway settles (acks) only when the task finished.
        #expect(python["acknowledged"] == true)
        #expect(ours["acknowledged"] == false)
        var comparable = ours
        comparable["acknowledged"] = true
        #expect(comparable == python)
    }

    @Test("The key order is Request.info()'s")
    func keyOrder() {
        let info = TaskRequestInfo(id: "i", name: "n", args: [], kwargs: [:], hostname: "h", timeStart: nil, workerPID: nil, queue: "q")
        #expect(info.json.objectValue?.keys == ["id", "name", "args", "kwargs", "type", "hostname", "time_start", "acknowledged",
                                                 "delivery_info", "worker_pid"])
        #expect(info.json["type"] == "n")
        #expect(info.json["delivery_info"] == ["exchange": "", "routing_key": "q", "priority": 0, "redelivered": false])
    }

    @Test("A scheduled entry's eta is an ISO-8601 string Timestamp reads and writes the way Python does")
    func scheduledEta() throws {
        let eta = try #require(Self.pythonScheduled()["eta"]?.stringValue)
        let seconds = try Timestamp.parse(eta)
        #expect(Timestamp.format(seconds) == eta)
    }
}
