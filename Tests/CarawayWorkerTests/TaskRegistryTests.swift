import CarawayProtocol
import CarawayWorker
import Testing

struct TaskRegistryTests {
    @Test func registeringAgainReplacesTheHandlerAndOptions() throws {
        var registry = TaskRegistry()
        registry.register("app.task") { _, _, _ in 1 }
        registry.register("app.task", options: TaskOptions(maxRetries: 9)) { _, _, _ in 2 }
        let entry = try #require(registry.entry("app.task"))
        #expect(entry.name == "app.task")
        #expect(entry.options.maxRetries == 9)
        #expect(registry.names == ["app.task"])
    }

    @Test func namesAreSortedAndUnknownNamesHaveNoEntry() {
        var registry = TaskRegistry()
        for name in ["b", "a", "c.d"] { registry.register(name) { _, _, _ in nil } }
        #expect(registry.names == ["a", "b", "c.d"])
        #expect(registry.entry("zzz") == nil)
        #expect(TaskRegistry().names.isEmpty)
    }

    @Test func userTasksCanKeepTheBuiltins() {
        var registry = TaskRegistry()
        registry.register("app.task") { _, _, _ in nil }
        registry.registerBuiltins()
        #expect(registry.names.contains("app.task") && registry.names.contains("caraway.add"))
    }
}
