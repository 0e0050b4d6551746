import CarawayProtocol
@testable import CarawayWorker
import Testing

struct ChildMessagesTests {
    /// Strips the frame header that `encoded()` adds, as the reading side's decoder does.
    func payload(_ frame: [UInt8]) throws -> [UInt8] {
        var decoder = FrameDecoder()
        let frames = try frame.withUnsafeBytes { try decoder.feed($0) }
        try #require(frames.count == 1)
        return frames[0]
    }

    @Test("a ChildRequest round-trips", arguments: [
        ChildRequest(id: "a1", task: "caraway.add", args: [2, 3.5, "x", nil, [1, [2]]], kwargs: ["y": ["z": true]], retries: 2,
                     queue: "video", rootID: "root", parentID: "parent", deliveries: 3, softTimeLimit: 2.5),
        ChildRequest(id: "a2", task: "t", args: [], kwargs: [:], retries: 0, queue: "celery",
                     rootID: nil, parentID: nil, deliveries: 1, softTimeLimit: nil),
    ])
    func requestRoundTrip(_ request: ChildRequest) throws {
        let decoded = try ChildRequest(decoding: payload(request.encoded()))
        #expect(decoded.id == request.id)
        #expect(decoded.task == request.task)
        #expect(decoded.args == request.args)
        #expect(decoded.kwargs == request.kwargs)
        #expect(decoded.retries == request.retries)
        #expect(decoded.queue == request.queue)
        #expect(decoded.rootID == request.rootID)
        #expect(decoded.parentID == request.parentID)
        #expect(decoded.deliveries == request.deliveries)
        #expect(decoded.softTimeLimit == request.softTimeLimit)
    }

    @Test("a frame with the producer's args/kwargs bytes spliced in decodes like an encoded request")
    func rawArgumentsFrame() throws {
        let frame = ChildRequest.frame(id: "a1", task: "caraway.add", argsJSON: Array(#"[ 2, "\u00e9", 1e400 ]"#.utf8)[...],
                                       kwargsJSON: Array(#"{"y" : {"z": true}}"#.utf8)[...], retries: 2, queue: "video",
                                       rootID: "root", parentID: nil, deliveries: 3, softTimeLimit: 2.5)
        let decoded = try ChildRequest(decoding: payload(frame))
        #expect(decoded.id == "a1" && decoded.task == "caraway.add" && decoded.queue == "video")
        #expect(decoded.args == [2, "é", .number(JSONNumber(literal: "1e400")!)])
        #expect(decoded.kwargs == ["y": ["z": true]])
        #expect(decoded.retries == 2 && decoded.deliveries == 3 && decoded.softTimeLimit == 2.5)
        #expect(decoded.rootID == "root" && decoded.parentID == nil)
    }

    @Test func aReadyReplyRoundTrips() throws {
        guard case .ready(let pid) = try ChildReply(decoding: payload(ChildReply.ready(pid: 4242).encoded())) else {
            Issue.record("expected ready")
            return
        }
        #expect(pid == 4242)
    }

    @Test func aSuccessReplyRoundTripsKeepingIntegersIntegral() throws {
        let reply = ChildReply.success(result: ["sum": 5, "ratio": 0.5, "items": [1, "two", nil]], runtime: 0.125, rssKiB: 20_480)
        guard case .success(let result, let runtime, let rss) = try ChildReply(decoding: payload(reply.encoded())) else {
            Issue.record("expected success")
            return
        }
        #expect(result == ["sum": 5, "ratio": 0.5, "items": [1, "two", nil]])
        #expect(result["sum"]?.numberValue?.text == "5")
        #expect(runtime == 0.125)
        #expect(rss == 20_480)
    }

    @Test("a failure reply round-trips", arguments: [nil, "Traceback (most recent call last):\n  boom"])
    func failureRoundTrip(traceback: String?) throws {
        let error = TaskError(type: "SoftTimeLimitExceeded", message: "SoftTimeLimitExceeded()", module: "billiard.exceptions")
        let reply = ChildReply.failure(error, traceback: traceback, runtime: 1.5, rssKiB: 7)
        guard case .failure(let decoded, let decodedTraceback, let runtime, let rss) = try ChildReply(decoding: payload(reply.encoded())) else {
            Issue.record("expected failure")
            return
        }
        #expect(decoded.type == error.type && decoded.message == error.message && decoded.module == error.module)
        #expect(decodedTraceback == traceback)
        #expect(runtime == 1.5 && rss == 7)
    }

    @Test("a retry reply round-trips", arguments: [
        TaskRetry(countdown: 2.5, maxRetries: 7, reason: "rate limited"),
        TaskRetry(),
    ])
    func retryRoundTrip(retry: TaskRetry) throws {
        let reply = ChildReply.retry(retry, runtime: 0.25, rssKiB: 1)
        guard case .retry(let decoded, let runtime, let rss) = try ChildReply(decoding: payload(reply.encoded())) else {
            Issue.record("expected retry")
            return
        }
        #expect(decoded.countdown == retry.countdown)
        #expect(decoded.maxRetries == retry.maxRetries)
        #expect(decoded.reason == retry.reason)
        #expect(runtime == 0.25 && rss == 1)
    }

    @Test("garbage is rejected", arguments: ["", "not json", "[1,2]", "{}", #"{"status": 3}"#, #"{"status": "exploded"}"#, #"{"status": "ready""#])
    func garbageReply(text: String) {
        #expect(throws: (any Error).self) { try ChildReply(decoding: Array(text.utf8)) }
    }

    @Test("requests without id or task are rejected", arguments: ["", "nope", "[]", #"{"task": "t"}"#, #"{"id": "a"}"#, #"{"id": 1, "task": "t"}"#])
    func garbageRequest(text: String) {
        #expect(throws: (any Error).self) { try ChildRequest(decoding: Array(text.utf8)) }
    }

    @Test("a request's optional members of the wrong type read as their defaults; escapes and repeated keys read as Python would")
    func requestDefaultsAndEscapes() throws {
        let text = #"{"id": "a\u00e9", "task": "t", "task": "caraway.add", "args": {"x": 1}, "kwargs": [1], "retries": 1.5, "#
            + #""queue": 7, "root_id": false, "parent_id": "p", "deliveries": "2", "soft": "x"}"#
        let request = try ChildRequest(decoding: Array(text.utf8))
        #expect(request.id == "aé" && request.task == "caraway.add")
        #expect(request.args == [] && request.kwargs == [:] && request.retries == 0 && request.queue == "celery")
        #expect(request.rootID == nil && request.parentID == "p" && request.deliveries == 1 && request.softTimeLimit == nil)
        let empty = try ChildRequest(decoding: Array(#"{"id":"i","task":"t"}"#.utf8))
        #expect(empty.args == [] && empty.kwargs == [:] && empty.retries == 0 && empty.deliveries == 1)
    }

    @Test("a reply's optional members of the wrong type read as their defaults")
    func replyDefaults() throws {
        let text = #"{"status": "failure", "exc_type": 1, "message": null, "runtime": "slow", "rss_kb": 1.5, "traceback": []}"#
        guard case .failure(let error, let traceback, let runtime, let rss) = try ChildReply(decoding: Array(text.utf8)) else {
            Issue.record("not a failure")
            return
        }
        #expect(error.type == "Exception" && error.message == "" && error.module == "builtins")
        #expect(traceback == nil && runtime == 0 && rss == 0)
        guard case .success(let result, _, _) = try ChildReply(decoding: Array(#"{"status":"success"}"#.utf8)) else {
            Issue.record("not a success")
            return
        }
        #expect(result == .null)
    }

    /// What the general decode (locating every member) makes of a success frame.
    func generalSuccess(_ payload: [UInt8]) throws -> (JSON, Double, Int)? {
        let frame = try payload.withUnsafeBytes {
            JSONLocatedValues(bytes: $0, ranges: try JSON.locate(ChildReply.fields, in: $0))
        }
        guard (try? frame.string(ChildReply.Field.status)) == "success" else { return nil }
        return ((try frame.value(ChildReply.Field.result)) ?? .null, (try? frame.value(ChildReply.Field.runtime))??.doubleValue ?? 0,
                (try? frame.value(ChildReply.Field.rss))??.intValue ?? 0)
    }

    @Test("a success frame as the child writes it reads the same by the fast path as by the general decode",
          arguments: [JSON.null, 5, "text", #",\"runtime\":1,\"rss_kb\":2}"#, [",\"rss_kb\":": [1, 2.5, nil], "}": "{"],
                      [#"{"status":"success","result":1,"runtime":2,"rss_kb":3}"#, 1e300, -0.0, true]])
    func successFastPath(result: JSON) throws {
        for (runtime, rss) in [(0.000012, 9_000), (0, 0), (123.456, 999_999_999_999)] {
            let payload = try payload(ChildReply.success(result: result, runtime: runtime, rssKiB: rss).encoded())
            let fast = try #require(ChildReply.ownSuccess(payload), "the fast path must take the child's own success frame")
            guard case .success(let r, let t, let k) = fast, let general = try generalSuccess(payload) else {
                Issue.record("not a success")
                return
            }
            #expect(r == general.0 && t == general.1 && k == general.2)
            #expect(r == result && t == runtime && k == rss)
        }
    }

    @Test("frames the fast path does not own take the general decode", arguments: [
        #"{"status": "success", "result": null, "runtime": 1, "rss_kb": 2}"#,  // spaces
        #"{"status":"success","runtime":1,"result":null,"rss_kb":2}"#,        // order
        #"{"status":"success","result":nul,"runtime":1,"rss_kb":2}"#,         // invalid result
        #"{"status":"success","result":null,"runtime":"x","rss_kb":2}"#,      // runtime not a number
        #"{"status":"success","result":null,"runtime":1,"rss_kb":-2}"#,       // rss not a plain decimal
        #"{"status":"success","result":null,"runtime":1,"rss_kb":2,"x":1}"#,  // a member more
    ])
    func notOwnedFrames(text: String) throws {
        let payload = Array(text.utf8)
        #expect(ChildReply.ownSuccess(payload) == nil)
        // And the general decode still decides (lenient defaults, or the parse error).
        switch Result(catching: { try ChildReply(decoding: payload) }) {
        case .success(.success(let result, let runtime, let rss)):
            let general = try #require(try generalSuccess(payload))
            #expect(result == general.0 && runtime == general.1 && rss == general.2)
        case .success:
            Issue.record("decoded as another reply")
        case .failure(let error):
            #expect(text.contains("nul,"), "only the invalid JSON may fail: \(error)")
        }
    }

    @Test("an empty frame object is {}")
    func emptyFrame() throws {
        let frame = FrameObjectWriter(capacity: 0).finish()
        #expect(try payload(frame) == Array("{}".utf8))
    }
}
