import CarawayProtocol

extension Consumer {
    /// Reports one execution transition to the history sink (if any). Cheap when none is set.
    func emit(_ state: String, _ message: CeleryMessage, queue: String?, pid: Int32? = nil, runtime: Double? = nil,
              result: JSON? = nil, error: String? = nil, withArguments: Bool = false) {
        guard let sink = onExecutionEvent else { return }
        let withArguments = withArguments && eventsNeedArguments()
        sink(ExecutionEvent(taskID: message.id, task: message.task, state: state, at: clock.now, node: configuration.nodeName,
                            queue: queue, childPID: pid.map(Int.init), retries: message.retries,
                            args: withArguments ? message.args : nil, kwargs: withArguments ? message.kwargs : nil,
                            runtime: runtime, result: result, error: error,
                            scheduleID: message.scheduleID, tick: message.tick,
                            rootID: withArguments ? message.rootID : nil, parentID: withArguments ? message.parentID : nil))
    }
}
