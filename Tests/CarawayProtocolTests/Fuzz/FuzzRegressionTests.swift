import Foundation
import Testing

@testable import CarawayProtocol

/// Fixed inputs for what the fuzz properties found or must keep guarding against.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static func envelope(_ name: String = "plain_add", headers edit: (inout JSONObject) -> Void) throws -> [UInt8] {
        var envelope = try #require(JSON.parse(Fixture.bytes(name)).objectValue)
        var headers = try #require(envelope["headers"]?.objectValue)
        edit(&headers)
        envelope["headers"] = .object(headers)
        return envelope.serialized()
    }

    static func expectNestingError(_ body: () throws(ProtocolError) -> Void,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try body()
            Issue.record("pathological nesting was accepted", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidJSON(_, let reason) = error else {
                Issue.record("expected invalidJSON, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(reason.contains("nesting deeper than \(JSON.maximumDepth)"), "\(error)", sourceLocation: sourceLocation)
        }
        #expect(clock.now - started < .seconds(1), sourceLocation: sourceLocation)
    }

    @Test("100,000 opening brackets or braces are rejected at the depth limit, not by overflowing the stack")
    func pathologicalNesting() {
        for unit in ["[", "{\"a\":", "[{\"\":", " [ "] {
            let text = Array(String(repeating: unit, count: 100_000).utf8)
            Self.expectNestingError { () throws(ProtocolError) in _ = try JSON.parse(text) }
        }
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        expectInvalidJSON(at: JSON.maximumDepth) { () throws(ProtocolError) in try JSON.parse(brackets) }
        Self.expectNestingError { () throws(ProtocolError) in _ = try ResultRecord.decode(brackets) }
        Self.expectNestingError { () throws(ProtocolError) in _ = try CeleryMessage.decode(brackets) }
    }

    @Test("Deep nesting inside an envelope's header or base64 body is a decode error")
    func nestingInsideMessages() throws {
        let marker = "@@deep@@"
        let inHeader = try Self.envelope { $0["x_deep"] = .string(marker) }
        let deep = String(repeating: "[", count: 100_000)
        let spliced = Array(String(decoding: inHeader, as: UTF8.self)
            .replacingOccurrences(of: "\"\(marker)\"", with: deep).utf8)
        Self.expectNestingError { () throws(ProtocolError) in _ = try CeleryMessage.decode(spliced) }

        var envelope = try #require(JSON.parse(Fixture.bytes("plain_add")).objectValue)
        envelope["body"] = .string(Base64.encodeToString(Array(("[" + deep).utf8)))
        let bytes = envelope.serialized()
        Self.expectNestingError { () throws(ProtocolError) in _ = try CeleryMessage.decode(bytes) }
    }

    @Test("An infinite or huge time limit decodes to a finite one the node can arm a UInt64 ms timer with")
    func hugeTimeLimits() throws {
        let cases: [(String, String)] = [("Infinity", "1e999"), ("1e300", "1e17"), ("1.7976931348623157e308", "2e16")]
        for (hard, soft) in cases {
            let bytes = try Self.envelope {
                $0["timelimit"] = [.number(JSONNumber(literal: hard)!), .number(JSONNumber(literal: soft)!)]
            }
            let message = try CeleryMessage.decode(bytes)
            #expect(message.timeLimit.hard == CeleryMessage.maximumTimeLimit)
            #expect(message.timeLimit.soft == CeleryMessage.maximumTimeLimit)
            // What the consumer does with a positive limit; this trapped for all three cases.
            for limit in [message.timeLimit.hard, message.timeLimit.soft].compactMap({ $0 }) where limit > 0 {
                #expect(UInt64(limit * 1000) == 1_000_000_000_000)
            }
            // The header itself is re-published exactly as received.
            #expect(try JSON.parse(message.republished())["headers"]?["timelimit"]
                == [.number(JSONNumber(literal: hard)!), .number(JSONNumber(literal: soft)!)])
        }
        let ordinary = try CeleryMessage.decode(Self.envelope { $0["timelimit"] = [30, 2.5] })
        #expect(ordinary.timeLimit.hard == 30 && ordinary.timeLimit.soft == 2.5)
        let odd = try CeleryMessage.decode(Self.envelope {
            $0["timelimit"] = [.number(JSONNumber(literal: "NaN")!), .number(JSONNumber(literal: "-Infinity")!)]
        })
        #expect(odd.timeLimit.hard?.isNaN == true)  // never > 0: no timer is armed
        #expect(odd.timeLimit.soft == -.infinity)
    }

    @Test("A retry of a message with retries = Int.max saturates instead of trapping")
    func retryCountOverflow() throws {
        let message = try CeleryMessage.decode(Self.envelope { $0["retries"] = JSON(Int.max) })
        #expect(message.retries == .max)
        let retried = try CeleryMessage.decode(message.retryEnvelope(eta: nil, deliveryTag: "t"))
        #expect(retried.retries == .max)
        #expect(retried.id == message.id)
        let fromMin = try CeleryMessage.decode(Self.envelope { $0["retries"] = JSON(Int.min) })
        #expect(try CeleryMessage.decode(fromMin.retryEnvelope(eta: nil, deliveryTag: "t")).retries == .min + 1)
    }

    @Test("Lone surrogate escapes and NUL bytes in an envelope are errors or kept exactly, never traps")
    func surrogatesAndNUL() throws {
        let base = String(decoding: try Self.envelope { $0["x_s"] = "@@s@@" }, as: UTF8.self)
        for fragment in ["\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\ud800\\u0041\""] {
            let bytes = Array(base.replacingOccurrences(of: "\"@@s@@\"", with: fragment).utf8)
            #expect(throws: ProtocolError.self) { try CeleryMessage.decode(bytes) }
        }
        let nulEscaped = Array(base.replacingOccurrences(of: "\"@@s@@\"", with: "\"a\\u0000b\"").utf8)
        #expect(try CeleryMessage.decode(nulEscaped).headers["x_s"] == "a\u{0}b")
        var rawNUL = Array(base.utf8)
        let at = try #require(rawNUL.firstRange(of: Array("@@s@@".utf8)))
        rawNUL.replaceSubrange(at, with: [0x61, 0x00, 0x62])
        #expect(throws: ProtocolError.self) { try CeleryMessage.decode(rawNUL) }
    }
}
