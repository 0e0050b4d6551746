import Testing
@testable import CarawayProtocol

@Suite struct TaskRoutesTests {
    @Test func theFirstMatchingRuleWinsInTheOrderWritten() throws {
        let routes = try TaskRoutes(json: #"{"reports.daily": "daily", "reports.*": "reports", "*": "fallback"}"#)
        #expect(routes.queue(for: "reports.daily") == "daily")
        #expect(routes.queue(for: "reports.weekly") == "reports")
        #expect(routes.queue(for: "caraway.add") == "fallback")
    }

    @Test func globsMatchAnywhereAndExactNamesOnlyThemselves() throws {
        let routes = try TaskRoutes(json: #"[["*.urgent", "fast"], ["caraway.sleep", "slow"]]"#)
        #expect(routes.queue(for: "mail.urgent") == "fast")
        #expect(routes.queue(for: "caraway.sleep") == "slow")
        #expect(routes.queue(for: "caraway.sleepy") == nil)
        #expect(routes.queue(for: "urgent") == nil)
    }

    @Test func malformedRoutesAreRejectedNamingTheEntry() {
        #expect(throws: ProtocolError.wrongType(field: "routes[\"a\"]", expected: "a queue name string")) {
            try TaskRoutes(json: #"{"a": 1}"#)
        }
        #expect(throws: ProtocolError.self) { try TaskRoutes(json: #"[["only-one"]]"#) }
        #expect(throws: ProtocolError.self) { try TaskRoutes(json: "42") }
        #expect(throws: ProtocolError.self) { try TaskRoutes(json: "{") }
    }
}
