import CarawayProtocol

/// Task counters and runtime histograms for `/metrics`, fed by every transition the consumer
/// reports (`Consumer.onTransition`: the same transitions the history writer gets as events).
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

    /// One task name's counts by state (as the history names them: RECEIVED, STARTED, SUCCESS, …;
    /// `/metrics` shows them lowercased, converted there, not per transition) and its runtimes.
    /// A class, and states in a short list: a transition costs no hashing when it is for the same
    /// task as the last one, and one lookup by name otherwise (docs/performance.md).
    final class Series {
        var states: [(state: String, count: Int)] = []
        var runtimes: Histogram?

        func count(_ state: String) {
            for index in states.indices where states[index].state == state {
                states[index].count += 1
                return
            }
            states.append((state, 1))
        }
    }

    private var series: [String: Series] = [:]
    private var last: (task: String, series: Series)?
    /// Bound on distinct task names, so a producer sending random names cannot grow memory.
    static let maxTaskNames = 1_000

    /// task name → state → count.
    var tasks: [String: [String: Int]] {
        series.mapValues { Dictionary($0.states.map { ($0.state, $0.count) }, uniquingKeysWith: +) }
    }

    func record(task: String, state: String, runtime: Double?) {
        let entry: Series
        if let last, last.task == task {
            entry = last.series
        } else {
            let name = series[task] != nil || series.count < Self.maxTaskNames ? task : "other"
            if let found = series[name] {
                entry = found
            } else {
                entry = Series()
                series[name] = entry
            }
            last = (task, entry)
        }
        entry.count(state)
        if let runtime, ExecutionEvent.isTerminal(state) || state == "RETRY" {
            if entry.runtimes == nil { entry.runtimes = Histogram() }
            entry.runtimes?.observe(runtime)
        }
    }

    func render(into out: inout PrometheusText) {
        out.family("caraway_tasks_total", "counter", "Task state transitions seen by this node, by task name and state.")
        for (task, entry) in series.sorted(by: { $0.key < $1.key }) {
            for (state, count) in entry.states.map({ ($0.state.lowercased(), $0.count) }).sorted(by: { $0.0 < $1.0 }) {
                out.sample("caraway_tasks_total", [("task", task), ("state", state)], count)
            }
        }
        out.family("caraway_task_runtime_seconds", "histogram", "Task runtime in the child, by task name.")
        for (task, histogram) in series.compactMapValues(\.runtimes).sorted(by: { $0.key < $1.key }) {
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
