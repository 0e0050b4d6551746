import Testing

@testable import CarawayProtocol

/// Seconds since the epoch for an ISO-8601 literal in a test; crashes on a typo in the test.
func at(_ text: String) -> Double {
    do { return try Timestamp.parse(text) } catch { fatalError("bad test timestamp \(text): \(error)") }
}

/// Asserts that `body` throws exactly `expected`.
func expectScheduleError<T>(_ expected: ScheduleError, sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws(ScheduleError) -> T) {
    do {
        let value = try body()
        Issue.record("expected \(expected), got \(value)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
    }
}

/// The error `body` throws, or `nil` (recording an issue) if it returns.
func scheduleError<T>(sourceLocation: SourceLocation = #_sourceLocation,
                      _ body: () throws(ScheduleError) -> T) -> ScheduleError? {
    do {
        let value = try body()
        Issue.record("expected an error, got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// The positions of the set bits, ascending.
func bitList(_ bits: UInt64) -> [Int] {
    (0..<64).filter { bits & (1 << UInt64($0)) != 0 }
}
