import CarawayBroker
import Testing

struct RedisKeysTests {
    @Test("priorities map onto kombu's steps, clamped to 0–9",
          arguments: [(-5, 0), (0, 0), (1, 0), (2, 0), (3, 3), (4, 3), (5, 3), (6, 6), (7, 6), (8, 6), (9, 9), (10, 9), (255, 9)])
    func priorityStep(priority: Int, step: Int) {
        #expect(RedisKeys.step(forPriority: priority) == step)
    }

    @Test func queueKeysCarryThePrefixAndThePrioritySuffix() {
        let keys = RedisKeys(prefix: "pfx:")
        #expect(keys.queue("q") == "pfx:q")
        #expect(keys.queue("q", priority: 2) == "pfx:q")
        #expect(keys.queue("q", priority: 4) == "pfx:q\u{06}\u{16}3")
        #expect(keys.queue("q", priority: 12) == "pfx:q\u{06}\u{16}9")
        #expect(keys.queueKeys("q") == ["pfx:q", "pfx:q\u{06}\u{16}3", "pfx:q\u{06}\u{16}6", "pfx:q\u{06}\u{16}9"])
        #expect(RedisKeys().queueKeys("celery") == ["celery", "celery\u{06}\u{16}3", "celery\u{06}\u{16}6", "celery\u{06}\u{16}9"])
    }

    @Test("queueName(fromKey:) strips the prefix and the priority suffix",
          arguments: [("pfx:q", "q"), ("pfx:q\u{06}\u{16}3", "q"), ("pfx:q\u{06}\u{16}9", "q"), ("q\u{06}\u{16}6", "q"),
                      ("pfx:épices-🌶\u{06}\u{16}6", "épices-🌶"), ("pfx:", ""), ("", "")])
    func queueName(key: String, name: String) {
        #expect(RedisKeys(prefix: "pfx:").queueName(fromKey: key) == name)
    }

    @Test func queueNameRoundTripsEveryQueueKey() {
        let keys = RedisKeys(prefix: "app.")
        for priority in 0...9 {
            #expect(keys.queueName(fromKey: keys.queue("video.encode", priority: priority)) == "video.encode")
        }
        #expect(RedisKeys().queueName(fromKey: "celery") == "celery")
    }

    @Test func bookkeepingKeysLiveUnderThePrefix() {
        let keys = RedisKeys(prefix: "pfx:")
        #expect(keys.inflight(node: "n1") == "pfx:caraway:inflight:n1")
        #expect(keys.inflightPrefix == "pfx:caraway:inflight:")
        #expect(keys.nodes == "pfx:caraway:nodes")
        #expect(keys.revoked == "pfx:caraway:revoked")
        #expect(keys.nodeInfo(node: "n1") == "pfx:caraway:node:n1")
        #expect(keys.delayed == "pfx:caraway:delayed")
        #expect(keys.delayedMessages == "pfx:caraway:delayed:messages")
        #expect(keys.deadLetter == "pfx:caraway:dead")
        #expect(keys.binding(exchange: "celery") == "pfx:_kombu.binding.celery")
        #expect(keys.permanentBinding(exchange: "celery") == "pfx:_kombu.binding_permanent.celery")
    }

    @Test("result keys use the backend prefix, which gets Celery's separator unless it ends in one",
          arguments: [("", "celery-task-meta-id"), ("res", "res_celery-task-meta-id"), ("res:", "res:celery-task-meta-id"),
                      ("res_", "res_celery-task-meta-id"), ("res-", "res-celery-task-meta-id"), ("res.", "res.celery-task-meta-id")])
    func resultKey(resultPrefix: String, key: String) {
        let keys = RedisKeys(prefix: "ignored:", resultPrefix: resultPrefix)
        #expect(keys.result(taskID: "id") == key)
    }
}
