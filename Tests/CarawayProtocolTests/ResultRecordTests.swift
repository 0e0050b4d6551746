import Testing

@testable import CarawayProtocol

@Suite("ResultRecord")
struct ResultRecordTests {
    static let dateDone = 1_795_422_358.562587

    /// The captured record with `date_done` replaced by ours, so bytes can be compared.
    static func captured(_ name: String) throws -> [UInt8] {
        var object = try #require(JSON.parse(Fixture.bytes("result_\(name)")).objectValue)
        if object["date_done"] != .null { object["date_done"] = .string(Timestamp.format(dateDone)) }
        return object.serialized()
    }

    @Test("The key is celery-task-meta-<id>")
    func key() {
        #expect(ResultRecord.key(forTaskID: "abc") == "celery-task-meta-abc")
    }

    @Test("SUCCESS matches Celery's record byte for byte")
    func success() throws {
        let record = ResultRecord.success(taskID: "r-success", result: 5, dateDone: Self.dateDone, children: nil)
        #expect(record.encoded() == (try Self.captured("success")))
    }

    @Test("FAILURE carries the exception object and traceback exactly as Celery writes them")
    func failure() throws {
        let traceback = "Traceback (most recent call last):\n  File \"t.py\", line 1\nValueError: boom\n"
        let record = ResultRecord.failure(taskID: "r-failure", exception: .init(type: "ValueError", message: "boom"),
                                          traceback: traceback, dateDone: Self.dateDone, children: nil)
        #expect(record.encoded() == (try Self.captured("failure")))
    }

    @Test("REVOKED uses TaskRevokedError from celery.exceptions")
    func revoked() throws {
        let record = ResultRecord.revoked(taskID: "r-revoked", dateDone: Self.dateDone)
        #expect(record.encoded() == (try Self.captured("revoked")))
        let expired = ResultRecord.revoked(taskID: "x", expired: true, dateDone: 0)
        #expect(expired.exception?.message == ["expired"])
    }

    @Test("STARTED and RETRY are not ready, so date_done is null")
    func notReady() throws {
        let started = ResultRecord.started(taskID: "r-started", pid: 4242, hostname: "celery@host")
        #expect(started.encoded() == (try Self.captured("started")))
        let retry = ResultRecord.retry(taskID: "r-retry", children: nil)
        #expect(retry.encoded() == (try Self.captured("retry")))
    }

    @Test("Children tuples, group and parent ids match Celery's shapes and order")
    func children() throws {
        let record = ResultRecord.success(
            taskID: "r-children", result: ["answer": [1, 2]], dateDone: Self.dateDone,
            children: [ResultRecord.childTuple(taskID: "child-1"),
                       ResultRecord.childTuple(groupID: "g-child", memberIDs: ["gm-1", "gm-2"])],
            parentID: "p-1", groupID: "g-1")
        #expect(record.encoded() == (try Self.captured("children")))
    }

    @Test("Every captured record decodes with its state, result and time")
    func decodeCaptured() throws {
        for name in Fixture.resultNames {
            let record = try ResultRecord.decode(Fixture.bytes("result_\(name)"))
            #expect(record.taskID == "r-\(name)")
            #expect((record.dateDone != nil) == record.state.isReady, "\(name)")
        }
        let failure = try ResultRecord.decode(Fixture.bytes("result_failure"))
        #expect(failure.state == .failure)
        #expect(failure.exception == .init(type: "ValueError", message: "boom", module: "builtins"))
        #expect(failure.traceback?.hasSuffix("ValueError: boom\n") == true)
        let children = try ResultRecord.decode(Fixture.bytes("result_children"))
        #expect(children.parentID == "p-1" && children.groupID == "g-1")
        #expect(children.children?.first == [["child-1", nil], nil])
        #expect(try ResultRecord.decode(Fixture.bytes("result_success")).result == 5)
    }

    @Test("Extended fields are written before task_id and read back")
    func extended() throws {
        var record = ResultRecord.success(taskID: "t", result: nil, dateDone: 0)
        record.extended = .init(name: "caraway.add", args: [1], kwargs: [:], worker: "w@h", retries: 0, queue: "celery")
        let object = record.json
        #expect(object.keys == ["status", "result", "traceback", "children", "date_done", "name", "args", "kwargs",
                                "worker", "retries", "queue", "task_id"])
        #expect(try ResultRecord.decode(record.encoded()) == record)
    }

    @Test("Custom states survive decoding; records without a status are rejected")
    func customStates() throws {
        let record = try ResultRecord.decode(Array(#"{"status":"PROGRESS","result":{"done":3},"task_id":"t"}"#.utf8))
        #expect(record.state == "PROGRESS")
        #expect(!record.state.isReady)
        expectError(.missingField("status")) { () throws(ProtocolError) in
            try ResultRecord.decode(Array(#"{"result":1}"#.utf8))
        }
        expectError(.invalidDate("yesterday")) { () throws(ProtocolError) in
            try ResultRecord.decode(Array(#"{"status":"SUCCESS","date_done":"yesterday"}"#.utf8))
        }
    }
}
