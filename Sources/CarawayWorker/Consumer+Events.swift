import CarawayProtocol

extension Consumer {
    /// Reports one execution transition: its task name, state and runtime to ``onTransition``
    /// (the node's counters), and the whole ``ExecutionEvent`` to ``onExecutionEvent`` only when
    /// ``executionEventsWanted`` says a sink reads it (history or Celery task events). Building
    /// three events per task for the counters alone was ~3 % of a node's CPU per task
    /// (docs/performance.md).
    func emit(_ state: String, _ message: CeleryMessage, queue: String?, pid: Int32? = nil, runtime: Double? = nil,
              result: JSON? = nil, error: String? = nil, withArguments: Bool = false) {
        onTransition?(message.task, state, runtime)
        guard let sink = onExecutionEvent, executionEventsWanted() else { return }
        let withArguments = withArguments && eventsNeedArguments()
        sink(ExecutionEvent(taskID: message.id, task: message.task, state: state, at: clock.now, node: configuration.nodeName,
                            queue: queue, childPID: pid.map(Int.init), retries: message.retries,
                            args: withArguments ? message.args : nil, kwargs: withArguments ? message.kwargs : nil,
                            runtime: runtime, result: result, error: error,
                            scheduleID: message.scheduleID, tick: message.tick,
                            rootID: withArguments ? message.rootID : nil, parentID: withArguments ? message.parentID : nil))
    }
}
