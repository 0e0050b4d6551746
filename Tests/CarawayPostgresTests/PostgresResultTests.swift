import Testing
@testable import CarawayPostgres

@Suite struct PostgresResultTests {
    @Test func typedGettersReadTextValuesAndTreatNullAsNil() {
        let result = PostgresResult(columns: ["id", "ratio", "done", "name", "missing"],
                                    rows: [["42", "1.5", "t", "x", nil], ["9223372036854775807", "nan?", "f", "", nil]],
                                    affectedRows: 2, command: "SELECT 2")
        let first = result.rows[0]
        #expect(first.int("id") == 42 && first.int64("id") == 42 && first.double("ratio") == 1.5)
        #expect(first.bool("done") == true && first.string("name") == "x" && first["name"] == "x")
        #expect(first["missing"] == nil && first.isNull("missing") && !first.isNull("nope") && first["nope"] == nil)
        let second = result.rows[1]
        #expect(second.int64("id") == Int64.max && second.double("ratio") == nil && second.bool("done") == false)
        #expect(second[3] == "" && second[9] == nil && second.columns == result.columns)
        #expect(result.affectedRows == 2 && result.command == "SELECT 2")
    }
}
