import CarawayProtocol

/// Task counters and runtime histograms for `/metrics`, fed by the execution events the
/// consumer reports (the same stream the history writer gets).
final class NodeMetrics {
    /// Runtime buckets in seconds (upper bounds), from a no-op's microseconds to long reports.
    static let buckets: [Double] = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    struct Histogram {
        var counts = [Int](repeating: 0, count: NodeMetrics.buckets.count)
        var sum = 0.0
        var count = 0

        mutating func observe(_ value: Double) {
            if let index = NodeMetrics.buckets.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    /// task name → state → count. States as the history names them (RECEIVED, STARTED,
    /// SUCCESS, …); `/metrics` shows them lowercased — converted there, not per event.
    private(set) var tasks: [String: [String: Int]] = [:]
    private(set) var runtimes: [String: Histogram] = [:]
    /// Bound on distinct task names, so a producer sending random names cannot grow memory.
    static let maxTaskNames = 1_000

    func record(_ event: ExecutionEvent) {
        let name = tasks[event.task] != nil || tasks.count < Self.maxTaskNames ? event.task : "other"
        tasks[name, default: [:]][event.state, default: 0] += 1
        if let runtime = event.runtime, event.isTerminal || event.state == "RETRY" {
            runtimes[name, default: Histogram()].observe(runtime)
        }
    }

    func render(into out: inout PrometheusText) {
        out.family("caraway_tasks_total", "counter", "Task state transitions seen by this node, by task name and state.")
        for (task, states) in tasks.sorted(by: { $0.key < $1.key }) {
            for (state, count) in states.map({ ($0.key.lowercased(), $0.value) }).sorted(by: { $0.0 < $1.0 }) {
                out.sample("caraway_tasks_total", [("task", task), ("state", state)], count)
            }
        }
        out.family("caraway_task_runtime_seconds", "histogram", "Task runtime in the child, by task name.")
        for (task, histogram) in runtimes.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (index, bound) in Self.buckets.enumerated() {
                cumulative += histogram.counts[index]
                out.sample("caraway_task_runtime_seconds_bucket", [("task", task), ("le", PrometheusText.format(bound))], cumulative)
            }
            out.sample("caraway_task_runtime_seconds_bucket", [("task", task), ("le", "+Inf")], histogram.count)
            out.sample("caraway_task_runtime_seconds_sum", [("task", task)], histogram.sum)
            out.sample("caraway_task_runtime_seconds_count", [("task", task)], histogram.count)
        }
    }
}
