import CarawayProtocol
import Testing
@testable import Caraway

@Suite("Prometheus text and node metrics")
struct MetricsTests {
    @Test("Label values escape backslash, quote and newline; values format as Prometheus reads them")
    func escapingAndFormat() {
        var out = PrometheusText()
        out.family("m", "gauge", "help")
        out.sample("m", [("task", "a\\b\"c\nd")], 1.5)
        #expect(out.text == "# HELP m help\n# TYPE m gauge\nm{task=\"a\\\\b\\\"c\\nd\"} 1.5\n")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(3) == "3")
        #expect(PrometheusText.format(1e-05) == "1e-05")
    }

    @Test("Runtime buckets are cumulative and +Inf equals the count")
    func histogram() {
        let metrics = NodeMetrics()
        for runtime in [0.0001, 0.002, 0.002, 0.3, 400] {
            metrics.record(task: "x", state: "SUCCESS", runtime: runtime)
        }
        metrics.record(task: "x", state: "STARTED", runtime: nil)
        // A runtime goes into the histogram only with a state that ends a run (or RETRY).
        metrics.record(task: "x", state: "STARTED", runtime: 7)
        var out = PrometheusText()
        metrics.render(into: &out)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.contains("caraway_task_runtime_seconds_bucket{task=\"x\",le=\"0.0005\"} 1"))
        #expect(lines.contains("caraway_task_runtime_seconds_bucket{task=\"x\",le=\"0.005\"} 3"))
        #expect(lines.contains("caraway_task_runtime_seconds_bucket{task=\"x\",le=\"300\"} 4"))
        #expect(lines.contains("caraway_task_runtime_seconds_bucket{task=\"x\",le=\"+Inf\"} 5"))
        #expect(lines.contains("caraway_task_runtime_seconds_count{task=\"x\"} 5"))
        #expect(lines.contains("caraway_tasks_total{task=\"x\",state=\"success\"} 5"))
        #expect(lines.contains("caraway_tasks_total{task=\"x\",state=\"started\"} 2"))
    }

    @Test("Transitions of interleaved tasks land on their own task and state")
    func interleaved() {
        let metrics = NodeMetrics()
        for (task, state) in [("a", "SUCCESS"), ("b", "SUCCESS"), ("a", "FAILURE"), ("a", "SUCCESS"), ("b", "RETRY"), ("a", "SUCCESS")] {
            metrics.record(task: task, state: state, runtime: 0.001)
        }
        #expect(metrics.tasks == ["a": ["SUCCESS": 3, "FAILURE": 1], "b": ["SUCCESS": 1, "RETRY": 1]])
        var out = PrometheusText()
        metrics.render(into: &out)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.contains("caraway_task_runtime_seconds_count{task=\"a\"} 4"))
        #expect(lines.contains("caraway_task_runtime_seconds_count{task=\"b\"} 2"))
    }

    @Test("Task names past the cap are counted as other")
    func nameCap() {
        let metrics = NodeMetrics()
        for i in 0..<(NodeMetrics.maxTaskNames + 50) {
            metrics.record(task: "task-\(i)", state: "RECEIVED", runtime: nil)
        }
        #expect(metrics.tasks.count == NodeMetrics.maxTaskNames + 1)
        #expect(metrics.tasks["other"]?["RECEIVED"] == 50)
    }

    @Test("Celery task events carry the fields Flower reads")
    func taskEvents() {
        let received = Node.celeryTaskEvent(ExecutionEvent(taskID: "id", task: "caraway.add", state: "RECEIVED", at: 0, node: "n",
                                                           args: [1, 2], kwargs: ["x": "y"]))
        #expect(received?.0 == "task-received")
        #expect(received?.1["args"] == "(1, 2)")
        #expect(received?.1["kwargs"] == "{'x': 'y'}")
        #expect(received?.1["root_id"] == "id")
        let succeeded = Node.celeryTaskEvent(ExecutionEvent(taskID: "id", task: "t", state: "SUCCESS", at: 0, node: "n", runtime: 0.5, result: "ok"))
        #expect(succeeded?.0 == "task-succeeded")
        #expect(succeeded?.1["result"] == "'ok'")
        let revoked = Node.celeryTaskEvent(ExecutionEvent(taskID: "id", task: "t", state: "REVOKED", at: 0, node: "n", error: "terminated (signal 15)"))
        #expect(revoked?.1["terminated"] == true)
        #expect(Node.celeryTaskEvent(ExecutionEvent(taskID: "id", task: "t", state: "DEAD", at: 0, node: "n"))?.0 == "task-rejected")
    }

    @Test("Signal names and numbers parse; junk does not")
    func signals() {
        #expect(Node.signalNumber("SIGTERM") == 15)
        #expect(Node.signalNumber("kill") == 9)
        #expect(Node.signalNumber(15) == 15)
        #expect(Node.signalNumber("15") == 15)
        #expect(Node.signalNumber("SIGNOPE") == nil)
        #expect(Node.signalNumber(0) == nil)
        #expect(Node.signalNumber(true) == nil)
    }
}
