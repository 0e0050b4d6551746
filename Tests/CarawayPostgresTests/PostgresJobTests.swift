import Testing
@testable import CarawayPostgres

/// The queue entry's state machine, without a server: what is sent next and what is reported.
@Suite struct PostgresJobTests {
    let endpoint = PostgresEndpoint(host: "127.0.0.1", port: 5432)
    let ok = PostgresResult(columns: [], rows: [], command: "OK")
    let duplicate = PostgresError.server(sqlState: "23505", message: "duplicate key", detail: nil)

    @Test func aTransactionSendsBeginEachStatementThenCommit() {
        var final: Result<[PostgresResult], PostgresError>?
        let job = PostgresJob(transaction: [("A", []), ("B", ["1"])], timeout: 0) { final = $0 }
        var sent: [String] = []
        var outcome: Result<[PostgresResult], PostgresError>?
        while outcome == nil {
            sent.append(job.current.sql)
            job.markSent()
            outcome = job.advance(with: .success(ok))
        }
        #expect(sent == ["BEGIN", "A", "B", "COMMIT"])
        #expect((try? outcome?.get())?.count == 2)
        job.finish(outcome!)
        job.finish(.failure(.unexpected("again")))
        #expect((try? final?.get())?.count == 2)  // the second finish did nothing
    }

    @Test func aFailedStatementRollsBackAndReportsItsOwnError() {
        let job = PostgresJob(transaction: [("A", []), ("B", [])], timeout: 0) { _ in }
        job.markSent()
        #expect(job.advance(with: .success(ok)) == nil)             // BEGIN
        #expect(job.advance(with: .failure(duplicate)) == nil)      // A fails
        #expect(job.current.sql == "ROLLBACK")
        #expect(job.lostError(endpoint, reason: "gone") == duplicate)
        let outcome = job.advance(with: .success(ok))               // ROLLBACK done
        #expect(outcome.map { (try? $0.get()) == nil } == true)
        if case .failure(let error)? = outcome { #expect(error == duplicate) }
    }

    @Test func aLostConnectionSaysWhetherCommitWasSent() {
        let job = PostgresJob(transaction: [("A", [])], timeout: 0) { _ in }
        #expect(job.lostError(endpoint, reason: "gone") == .notConnected(endpoint))
        job.markSent()
        guard case .connectionLost(_, let before) = job.lostError(endpoint, reason: "gone") else {
            Issue.record("expected connectionLost")
            return
        }
        #expect(before.contains("COMMIT had not been sent"))
        _ = job.advance(with: .success(ok))  // BEGIN
        _ = job.advance(with: .success(ok))  // A
        #expect(job.current.sql == "COMMIT")
        guard case .connectionLost(_, let during) = job.lostError(endpoint, reason: "gone") else {
            Issue.record("expected connectionLost")
            return
        }
        #expect(during.contains("COMMIT was sent") && during.contains("unknown"))
    }

    @Test func aSingleQueryReportsItsOneResult() {
        var final: Result<PostgresResult, PostgresError>?
        let job = PostgresJob(query: ("SELECT 1", []), timeout: 250) { final = $0 }
        #expect(job.current.sql == "SELECT 1" && job.timeoutError() == .timeout(milliseconds: 250))
        let outcome = job.advance(with: .success(ok))
        job.finish(outcome!)
        #expect((try? final?.get())?.command == "OK")
    }
}
