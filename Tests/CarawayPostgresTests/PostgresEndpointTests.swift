import Testing
@testable import CarawayPostgres

@Suite struct PostgresEndpointTests {
    @Test func urlsParseUserPasswordHostPortAndDatabasePercentDecoded() throws {
        let e = try PostgresEndpoint.parse("postgres://caraway:p%40ss%3Aw0rd@10.1.2.3:6543/tasks%20db")
        #expect(e.user == "caraway" && e.password == "p@ss:w0rd")
        #expect(e.host == "10.1.2.3" && e.port == 6543 && e.database == "tasks db")
        let alternate = try PostgresEndpoint.parse("postgresql://u@127.0.0.1/d?sslmode=disable&application_name=beat")
        #expect(alternate.user == "u" && alternate.password == nil && alternate.database == "d")
        #expect(alternate.options == ["sslmode": "disable", "application_name": "beat"])
    }

    @Test func localhostBecomesALoopbackAddressAndDefaultsFollowLibpq() throws {
        let e = try PostgresEndpoint.parse("postgres://localhost")
        #expect(e.host == "127.0.0.1" && e.port == 5432 && e.user == "postgres" && e.database == "postgres")
        let named = try PostgresEndpoint.parse("postgres://alice@localhost:5433")
        #expect(named.database == "alice" && named.port == 5433)
        let v6 = try PostgresEndpoint.parse("postgres://u:p@[::1]:5434/db")
        #expect(v6.host == "::1" && v6.port == 5434)
        #expect(v6.description == "u@[::1]:5434/db")
    }

    @Test func badUrlsFailWithAReasonNamingTheWrongPart() {
        let cases: [(String, String)] = [
            ("mysql://h/db", "scheme"),
            ("postgres://h:99999/db", "port"),
            ("postgres://h:abc/db", "port"),
            ("postgres://h1,h2/db", "several hosts"),
            ("postgres://h/db?nonsense=1", "nonsense"),
            ("postgres://h/db?dbname=other", "dbname"),
            ("postgres://h/db?sslmode", "no '=value'"),
            ("postgres://u:%zz@h/db", "password"),
            ("postgres://[::1/db", "IPv6"),
        ]
        for (url, fragment) in cases {
            #expect(throws: PostgresEndpoint.ParseError.self) { try PostgresEndpoint.parse(url) }
            do {
                _ = try PostgresEndpoint.parse(url)
            } catch {
                #expect(error.description.contains(fragment), "\(url): \(error)")
            }
        }
    }

    @Test func parseErrorsNeverShowThePassword() {
        do {
            _ = try PostgresEndpoint.parse("postgres://u:hunter2@h:0/db")
            Issue.record("expected a parse error")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("u:***@h:0/db"))
        }
    }

    @Test func theConnectionStringNamesTheServerByAddressAndEscapesQuotes() {
        let e = PostgresEndpoint(host: "127.0.0.1", port: 5440, user: "o'brien", password: "a\\b'c", database: "db")
        let conninfo = e.connectionString
        #expect(conninfo.hasPrefix("hostaddr='127.0.0.1' port='5440' user='o\\'brien' dbname='db' password='a\\\\b\\'c'"))
        #expect(conninfo.contains("client_encoding='UTF8'"))
        #expect(!conninfo.contains("host="))
        #expect(!e.description.contains("a\\b'c"))
    }
}
