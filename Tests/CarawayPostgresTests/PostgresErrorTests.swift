import Testing
@testable import CarawayPostgres

@Suite struct PostgresErrorTests {
    @Test func serverErrorsNameTheirSqlStateAndALikelyCause() {
        let error = PostgresError.server(sqlState: "23505", message: "duplicate key value violates unique constraint \"t_pkey\"",
                                         detail: "Key (id)=(1) already exists.")
        #expect(error.sqlState == "23505")
        #expect(error.description.contains("SQLSTATE 23505") && error.description.contains("unique violation"))
        #expect(error.description.contains("Key (id)=(1) already exists."))
    }

    @Test func connectionErrorsNameTheEndpointButNotThePassword() {
        let endpoint = PostgresEndpoint(host: "10.0.0.1", port: 5432, user: "u", password: "secret", database: "d")
        for error in [PostgresError.notConnected(endpoint), .connectionLost(endpoint, reason: "reset by peer")] {
            #expect(error.description.contains("u@10.0.0.1:5432/d") && !error.description.contains("secret"))
        }
        #expect(PostgresError.timeout(milliseconds: 200).description.contains("200 ms"))
    }
}
