import CarawayBroker
import CarawayLoop
import CarawayProtocol

extension Consumer {
    /// A revoked message is settled REVOKED without running: removed from in-flight, result stored.
    func settleRevoked(_ reservation: Reservation, message: CeleryMessage, now: Double) {
        stats.revoked += 1
        logger.info("task.revoked", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "terminated": "false"])
        emit("REVOKED", message, queue: reservation.queue, error: "revoked", withArguments: true)
        settle(reservation, message: message, record: .revoked(taskID: message.id, dateDone: now,
                                                               parentID: message.parentID, groupID: message.groupID))
    }

    /// Stops the child running `taskID` with `signal`, then SIGKILL after `graceSeconds` if it
    /// lingers. The task is then recorded REVOKED (terminated), never requeued. Returns whether
    /// this node was running it.
    @discardableResult
    public func terminate(taskID: String, signal: Int32, graceSeconds: Double = 5) -> Bool {
        guard let delivery = deliveries.values.first(where: { $0.message.id == taskID }) else { return false }
        guard delivery.terminatedBy == nil else { return true }
        delivery.terminatedBy = signal
        logger.warning("task.terminating", metadata: ["task.id": "\(taskID)", "child.pid": "\(delivery.child.pid)", "signal": "\(signal)"])
        pool.kill(delivery.child, signal: signal)
        if signal != 9 {
            delivery.killTimer = LoopTimer.once(loop: loop, after: UInt64(max(0, graceSeconds) * 1000)) { [weak self, weak delivery] in
                guard let self, let delivery, self.deliveries[ObjectIdentifier(delivery.child)] === delivery else { return }
                self.logger.warning("task.terminate_escalated", metadata: ["task.id": "\(taskID)", "child.pid": "\(delivery.child.pid)"])
                self.pool.kill(delivery.child, signal: 9)
            }
        }
        return true
    }

    /// The child of a terminated task is gone: REVOKED with `terminated`, not requeued or failed.
    func settleTerminated(_ delivery: Delivery, signal: Int32, now: Double) {
        let message = delivery.message
        stats.revoked += 1
        logger.info("task.revoked", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "terminated": "true", "signal": "\(signal)"])
        emit("REVOKED", message, queue: delivery.reservation.queue, pid: delivery.child.pid, runtime: now - delivery.startedAt,
             error: "terminated (signal \(signal))")
        settle(delivery.reservation, message: message, record: .revoked(taskID: message.id, dateDone: now,
                                                                        parentID: message.parentID, groupID: message.groupID))
    }
}
