import Foundation
import Testing

@testable import CarawayProtocol

/// Raw Redis list elements captured from real Celery by `scripts/capture-fixtures.py`.
enum Fixture {
    /// Names of all captured task messages (one Redis list element each).
    static let messageNames = [
        "plain_add", "unicode_kwargs", "countdown_expires", "eta_datetime", "priority5", "chain", "chain3",
        "link", "group_0", "group_1", "chord_0", "chord_1", "timelimit", "ignore_result", "datetime_kwarg",
        "custom_headers",
    ]

    /// Names of all captured `celery-task-meta-*` values.
    static let resultNames = ["success", "failure", "revoked", "started", "retry", "children"]

    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
            "fixture \(name).json is missing; run scripts/capture-fixtures.py")
        return [UInt8](try Data(contentsOf: url))
    }

    static func message(_ name: String) throws -> CeleryMessage {
        try CeleryMessage.decode(bytes(name))
    }

    /// Fixture name → the Redis key it was popped from.
    static func manifest() throws -> JSONObject {
        try #require(JSON.parse(bytes("manifest")).objectValue)
    }
}

/// Deterministic randomness for ids (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Numbered ids (`id-1`, `id-2`, ...) so tests can predict them.
final class IDSequence {
    private var counter = 0
    func next() -> String {
        counter += 1
        return "id-\(counter)"
    }
}

extension Signature.ApplyContext {
    static func fixed(now: Double = 1_800_000_000, ids: IDSequence = IDSequence()) -> Signature.ApplyContext {
        Signature.ApplyContext(now: now, origin: "caraway@test", newID: ids.next)
    }
}

/// Asserts that `body` throws exactly `expected`.
func expectError<T>(_ expected: ProtocolError, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws(ProtocolError) -> T) {
    do {
        let value = try body()
        Issue.record("expected \(expected), got \(value)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
    }
}

/// Asserts that `body` throws an `invalidJSON` error at `offset`.
func expectInvalidJSON(at offset: Int, sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () throws(ProtocolError) -> JSON) {
    do {
        let value = try body()
        Issue.record("expected invalid JSON at \(offset), parsed \(value)", sourceLocation: sourceLocation)
    } catch {
        guard case .invalidJSON(let got, _) = error else {
            Issue.record("expected invalidJSON, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(got == offset, "\(error)", sourceLocation: sourceLocation)
    }
}
