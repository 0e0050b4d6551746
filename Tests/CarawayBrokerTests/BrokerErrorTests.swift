@testable import CarawayBroker
import CarawayRedis
import Testing

struct BrokerErrorTests {
    @Test func theReserveScriptsLeaseLostReplyBecomesLeaseLostNamingTheNode() {
        guard case .leaseLost(let node) = BrokerError(.server("LEASE_LOST node n-1 is not registered")) else {
            Issue.record("expected leaseLost")
            return
        }
        #expect(node == "n-1")
    }

    @Test func otherRedisErrorsStayRedisErrors() {
        let timeout = RedisError.timeout(endpoint: "127.0.0.1:6379", milliseconds: 5)
        guard case .redis(let error) = BrokerError(timeout) else {
            Issue.record("expected redis")
            return
        }
        #expect(error == timeout)
        guard case .redis = BrokerError(.server("ERR wrong number of arguments")) else {
            Issue.record("expected redis")
            return
        }
    }

    @Test func descriptionsAreSentencesWithTheirContext() {
        #expect(BrokerError.leaseLost(node: "n1").description.contains("node n1 lost its lease"))
        #expect(BrokerError.unexpectedReply(operation: "reserve", reply: "42").description == "broker operation reserve got an unexpected reply: 42")
        #expect(BrokerError.redis(.server("ERR x")).description == RedisError.server("ERR x").description)
    }
}
