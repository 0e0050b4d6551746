import Testing

@testable import CarawayProtocol

@Suite("TaskState")
struct TaskStateTests {
    @Test("Only SUCCESS, FAILURE and REVOKED are ready, as in Celery's READY_STATES")
    func readyStates() {
        let ready: [TaskState] = [.success, .failure, .revoked]
        let notReady: [TaskState] = [.pending, .received, .started, .retry, "PROGRESS"]
        #expect(ready.allSatisfy { $0.isReady })
        #expect(!notReady.contains { $0.isReady })
        #expect(TaskState.retry.isException && !TaskState.success.isException)
        #expect(TaskState.success.description == "SUCCESS")
    }
}
