import CarawayBroker
import CarawayLoop
import CarawayProtocol
import Logging

extension Consumer {
    /// Graceful stop: reserve nothing more, let running tasks finish (up to the grace period),
    /// give back what was reserved but not started. `done(true)` when drained, `done(false)` when
    /// the grace period ran out and the rest was forced.
    public func beginShutdown(_ done: @escaping (Bool) -> Void) {
        guard !draining else { return }
        draining = true
        waiter.disarm()
        logger.info("node.draining", metadata: ["active": "\(deliveries.count)", "grace_s": "\(configuration.shutdownGraceSeconds)"])
        onDrained = { [unowned self] in done(!self.forced) }
        LoopTimer.once(loop: loop, after: UInt64(configuration.shutdownGraceSeconds * 1000)) { [weak self] in
            guard let self, self.onDrained != nil else { return }
            self.forceShutdown()
        }.setKeepsLoopAlive(false)
        checkDrained()
    }

    /// Forced stop (second signal or grace expired): requeue running tasks, kill their children.
    public func forceShutdown() {
        draining = true
        forced = true
        waiter.disarm()
        let running = Array(deliveries.values)
        deliveries.removeAll()
        for delivery in running {
            delivery.cancelTimers()
            logger.warning("task.requeued_shutdown", metadata: ["task.id": "\(delivery.message.id)", "task.name": "\(delivery.message.task)"])
            requeue(delivery.reservation, envelope: delivery.message.republished(redelivered: true))
            pool.kill(delivery.child, signal: 9)
        }
        checkDrained()
    }

    func checkDrained() {
        guard draining, deliveries.isEmpty, reserving.isEmpty, pendingOperations == 0, let drained = onDrained else { return }
        onDrained = nil
        drained()
    }

    /// Requeues messages recovered from dead nodes, counting the redelivery (poison detection).
    public func requeueRecovered(_ reservations: [Reservation]) {
        for reservation in reservations {
            ownedFields.insert(reservation.field)
            if let message = try? CeleryMessage.decode(reservation.envelope) {
                requeue(reservation, envelope: message.republished(redelivered: true, deliveries: message.deliveries + 1))
            } else {
                requeue(reservation, envelope: reservation.envelope)
            }
        }
    }

    /// After a reconnect or re-registration: anything in this node's in-flight hash that the node
    /// does not know about (a reserve whose reply was lost) goes back to its queue.
    public func reconcile() {
        broker.inflightReservations { [weak self] result in
            guard let self, case .success(let reservations) = result else { return }
            let strays = reservations.filter { !self.ownedFields.contains($0.field) }
            for stray in strays {
                self.logger.warning("node.requeue_stray_reservation", metadata: ["field": "\(stray.field)", "queue.name": "\(stray.queue)"])
                self.ownedFields.insert(stray.field)
                if stray.field.hasPrefix("r:") {
                    self.requeueRecovered([stray])
                } else {
                    self.giveBack(stray)
                }
            }
        }
    }
}
