import Testing

@testable import CarawayProtocol

@Suite("One-off schedule")
struct OneOffScheduleTests {
    @Test("A one-off fires at its instant if that is still ahead, and never again")
    func firesOnce() {
        let oneOff = OneOffSchedule(at: at("2026-12-01T09:00:00Z"))
        #expect(oneOff.next(after: at("2026-11-30T09:00:00Z")) == at("2026-12-01T09:00:00Z"))
        #expect(oneOff.next(after: at("2026-12-01T08:59:59.999Z")) == at("2026-12-01T09:00:00Z"))
        #expect(oneOff.next(after: at("2026-12-01T09:00:00Z")) == nil)
        #expect(oneOff.next(after: at("2027-01-01T00:00:00Z")) == nil)
    }
}
