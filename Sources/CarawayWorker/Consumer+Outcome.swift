import CarawayBroker
import CarawayLoop
import CarawayProtocol
import Logging

extension Consumer {
    /// A child answered: store the outcome, publish what follows, ack — in one script.
    func completed(_ child: PoolChild, _ reply: ChildReply) {
        guard let delivery = deliveries.removeValue(forKey: ObjectIdentifier(child)) else { return }
        delivery.cancelTimers()
        let message = delivery.message
        let now = clock.now
        let context = Signature.ApplyContext(now: now, origin: configuration.nodeName, routes: configuration.routes)
        stats.totals[message.task, default: 0] += 1
        switch reply {
        case .success(let result, let runtime, _):
            stats.succeeded += 1
            var drafts: [CeleryMessage.Draft] = []
            do {
                if let next = try message.nextInChain(result: result, context: context) { drafts.append(next) }
                drafts += try message.callbackDrafts(result: result, context: context)
            } catch {
                logger.error("task.canvas_invalid", metadata: ["task.id": "\(message.id)", "error": "\(error)"])
            }
            logger.info("task.succeeded", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "task.runtime": "\(runtime)"])
            emit("SUCCESS", message, queue: delivery.reservation.queue, pid: child.pid, runtime: runtime, result: result)
            let record = ResultRecord.success(taskID: message.id, result: result, dateDone: now,
                                              children: drafts.map { ResultRecord.childTuple(taskID: $0.id) },
                                              parentID: message.parentID, groupID: message.groupID)
            settle(delivery.reservation, message: message, record: record, followUps: drafts.map { outgoing($0, now: now) },
                   reserveFor: drafts.isEmpty ? reserveTarget(after: child) : nil)
        case .failure(let error, let traceback, let runtime, _):
            fail(delivery, error: error, traceback: traceback, runtime: runtime, now: now)
        case .retry(let retry, _, _):
            let maxRetries = retry.maxRetries ?? delivery.options.maxRetries
            if message.retries >= maxRetries {
                fail(delivery, error: TaskError(type: "MaxRetriesExceededError",
                                                message: "Can't retry \(message.task)[\(message.id)] args:\(message.args.map(\.description)) kwargs:\(JSON.object(message.kwargs).serializedString()) (\(retry.reason))",
                                                module: "celery.exceptions"),
                     traceback: nil, runtime: 0, now: now)
                return
            }
            stats.retried += 1
            var random = SystemRandomNumberGenerator()
            let countdown = retry.countdown ?? delivery.options.backoff(retries: message.retries, using: &random)
            let eta = now + max(0, countdown)
            let tag = makeUUID()
            let again = OutgoingMessage(destinationKey: delivery.reservation.sourceKey,
                                        envelope: message.retryEnvelope(eta: eta, deliveryTag: tag),
                                        dueMilliseconds: Int64((eta * 1000).rounded(.up)), tag: tag)
            logger.info("task.retried", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "retry.countdown": "\(countdown)", "task.retries": "\(message.retries + 1)"])
            emit("RETRY", message, queue: delivery.reservation.queue, pid: child.pid, error: retry.reason)
            let record = ResultRecord.retry(taskID: message.id, exception: .init(type: "Retry", message: retry.reason, module: "celery.exceptions"),
                                            parentID: message.parentID, groupID: message.groupID)
            settle(delivery.reservation, message: message, record: record, followUps: [again])
            onDelayed?()
        case .ready:
            break
        }
        fill()
    }

    /// Records a failure: FAILURE result, errbacks published, the rest of the chain marked failed.
    func fail(_ delivery: Delivery, error: TaskError, traceback: String?, runtime: Double, now: Double) {
        let message = delivery.message
        stats.failed += 1
        logger.info("task.failed", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "error": "\(error)"])
        emit("FAILURE", message, queue: delivery.reservation.queue, pid: delivery.child.pid, runtime: runtime, error: "\(error)")
        var drafts: [CeleryMessage.Draft] = []
        do {
            drafts = try message.errbackDrafts(context: Signature.ApplyContext(now: now, origin: configuration.nodeName, routes: configuration.routes))
        } catch {
            logger.error("task.canvas_invalid", metadata: ["task.id": "\(message.id)", "error": "\(error)"])
        }
        let exception = ResultRecord.ExceptionInfo(type: error.type, message: error.message, module: error.module)
        let record = ResultRecord.failure(taskID: message.id, exception: exception, traceback: traceback, dateDone: now,
                                          parentID: message.parentID, groupID: message.groupID)
        // Later chain steps will never run: fail them too, or waiters on the chain's result hang.
        let chained = message.chainTaskIDs.map {
            ResultRecord.failure(taskID: $0, exception: exception, traceback: traceback, dateDone: now, parentID: message.id)
        }
        settle(delivery.reservation, message: message, record: record,
               followUps: drafts.map { outgoing($0, now: now) }, extraResults: chained)
    }

    /// A child died while running a task.
    func lost(_ child: PoolChild, status: Int64, signal: Int32) {
        guard let delivery = deliveries.removeValue(forKey: ObjectIdentifier(child)) else { return }
        delivery.cancelTimers()
        let message = delivery.message
        let now = clock.now
        stats.totals[message.task, default: 0] += 1
        if let terminated = delivery.terminatedBy {
            settleTerminated(delivery, signal: terminated, now: now)
        } else if delivery.timedOut {
            fail(delivery, error: TaskError(type: "TimeLimitExceeded", message: "TimeLimitExceeded(\(message.timeLimit.hard ?? delivery.options.hardTimeLimit ?? configuration.hardTimeLimit ?? 0))",
                                            module: "billiard.exceptions"),
                 traceback: nil, runtime: now - delivery.startedAt, now: now)
        } else if message.headers["reject_on_worker_lost"]?.boolValue ?? delivery.options.rejectOnWorkerLost {
            // The task's option, or per message the header `reject_on_worker_lost` (send_task(headers=...)).
            stats.requeued += 1
            logger.warning("task.requeued_worker_lost", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "exit.signal": "\(signal)", "task.deliveries": "\(message.deliveries + 1)"])
            emit("REQUEUED", message, queue: delivery.reservation.queue, pid: child.pid, error: "worker lost (signal \(signal))")
            requeue(delivery.reservation, envelope: message.republished(redelivered: true, deliveries: message.deliveries + 1))
        } else {
            fail(delivery, error: TaskError(type: "WorkerLostError", message: "Worker exited prematurely: signal \(signal), exit code \(status).",
                                            module: "billiard.exceptions"),
                 traceback: nil, runtime: now - delivery.startedAt, now: now)
        }
        fill()
    }

    /// Dead-letters a message: a record on `caraway:dead` and, when the id is known, a FAILURE result.
    func deadLetter(_ reservation: Reservation, reason: String, message: CeleryMessage?, failure: TaskError? = nil) {
        let now = clock.now
        stats.deadLettered += 1
        logger.warning("task.dead_lettered", metadata: ["reason": "\(reason)", "task.id": "\(message?.id ?? "?")", "queue.name": "\(reservation.queue)"])
        if let message { emit("DEAD", message, queue: reservation.queue, error: reason, withArguments: true) }
        var entry = JSONObject()
        entry["reason"] = .string(reason)
        entry["queue"] = .string(reservation.queue)
        entry["source_key"] = .string(reservation.sourceKey)
        entry["node"] = .string(configuration.nodeName)
        entry["at"] = .string(Timestamp.format(now))
        entry["task_id"] = JSON(message?.id)
        entry["task"] = JSON(message?.task)
        entry["raw"] = .string(String(decoding: reservation.envelope.prefix(65_536), as: UTF8.self))
        entry["raw_base64"] = .string(Base64.encodeToString(reservation.envelope))
        let record = message.map { m in
            ResultRecord.failure(taskID: m.id, exception: .init(type: failure?.type ?? "InvalidTaskError", message: failure?.message ?? reason,
                                                                module: failure?.module ?? "celery.exceptions"),
                                 traceback: nil, dateDone: now, parentID: m.parentID, groupID: m.groupID)
        }
        let outgoing = OutgoingMessage(destinationKey: broker.keys.deadLetter, envelope: entry.serialized(), tag: "")
        settle(reservation, message: message, record: record, followUps: [outgoing])
        fill()
    }

    func outgoing(_ draft: CeleryMessage.Draft, now: Double) -> OutgoingMessage {
        let tag = makeUUID()
        let due = draft.eta.flatMap { $0 > now ? Int64(($0 * 1000).rounded(.up)) : nil }
        return OutgoingMessage(destinationKey: broker.keys.queue(draft.queue, priority: draft.clampedPriority),
                               envelope: draft.encodedEnvelope(deliveryTag: tag), dueMilliseconds: due, tag: tag)
    }

    /// Settles durably: retried until Redis confirms (the reservation stays in-flight meanwhile,
    /// so a node crash in between only means a redelivery, never a loss). With `reserveFor` (no
    /// follow-ups), the reserve for that idle child goes in the same script call.
    func settle(_ reservation: Reservation, message: CeleryMessage?, record: ResultRecord?, followUps: [OutgoingMessage] = [],
                extraResults: [ResultRecord] = [], reserveFor child: PoolChild? = nil) {
        let ignore = record?.state == .success && (message?.ignoreResult == true || message.flatMap { registry.entry($0.task)?.options.ignoreResult } == true)
        let write = ignore ? nil : record.map {
            ResultWrite(key: broker.keys.result(taskID: $0.taskID), value: $0.encoded(), ttlSeconds: configuration.resultExpires)
        }
        if ackedEarly.remove(reservation.field) != nil {
            // Planted bug: the message already left in-flight; only the outcome remains to write.
            ownedFields.remove(reservation.field)
            if let record { store(record) }
            if !followUps.isEmpty { broker.enqueue(followUps) { _ in } }
            return
        }
        pendingOperations += 1
        if let child, followUps.isEmpty {
            let id = ObjectIdentifier(child)
            reserving.insert(id)
            broker.settleAndReserve(reservation, result: write, from: keyOrder) { [weak self, weak child] result in
                guard let self else { return }
                switch result {
                case .success(let outcome):
                    self.reserved(outcome.next, id: id, child: child)
                    self.settled(reservation, ours: outcome.ours, taskID: message?.id, extraResults: extraResults)
                case .failure:
                    // Whether the script ran is unknown (the reply was lost with the connection).
                    // The settle is retried alone — HDEL makes it idempotent — and a message the
                    // reserve half may have taken sits unowned in in-flight until the reconcile
                    // after the reconnect requeues it (chaos bugs 4 and 5).
                    self.reserving.remove(id)
                    self.pendingOperations -= 1
                    self.settle(reservation, message: message, record: record, extraResults: extraResults)
                }
            }
            return
        }
        durably { [broker] done in broker.settle(reservation, result: write, followUps: followUps, done) } then: { [weak self] ours in
            self?.settled(reservation, ours: ours, taskID: message?.id, extraResults: extraResults)
        }
    }

    /// Bookkeeping once Redis confirmed a settle.
    private func settled(_ reservation: Reservation, ours: Bool, taskID: String?, extraResults: [ResultRecord]) {
        ownedFields.remove(reservation.field)
        if !ours {
            stats.possibleDuplicates += 1
            logger.warning("task.settled_after_recovery", metadata: ["task.id": "\(taskID ?? "?")", "note": "this node was presumed dead; the task may run twice"])
        }
        for extra in extraResults { store(extra) }
        pendingOperations -= 1
        checkDrained()
        // A child freed while Redis was away got no reserve then: it needs one now.
        fill()
    }

    /// Puts a reserved message back at the head of its queue.
    func requeue(_ reservation: Reservation, envelope: [UInt8]) {
        if ackedEarly.remove(reservation.field) != nil {
            // Planted bug: acked already, so a lost child's task is simply gone.
            ownedFields.remove(reservation.field)
            logger.warning("planted_bug.task_dropped", metadata: ["field": "\(reservation.field)"])
            return
        }
        pendingOperations += 1
        durably { [broker] done in broker.requeue(reservation, envelope: envelope, done) } then: { [weak self] _ in
            guard let self else { return }
            self.ownedFields.remove(reservation.field)
            self.pendingOperations -= 1
            self.queuesEmpty = false
            self.checkDrained()
            self.fill()
        }
    }

    /// Returns a message that was reserved but never started, unchanged.
    func giveBack(_ reservation: Reservation) { requeue(reservation, envelope: reservation.envelope) }

    /// Stores a result record outside a settle (SET + PUBLISH, as Celery's backend does).
    func store(_ record: ResultRecord) {
        let key = broker.keys.result(taskID: record.taskID)
        let value = record.encoded()
        var set: [[UInt8]] = [Array("SET".utf8), Array(key.utf8), value]
        if configuration.resultExpires > 0 { set += [Array("EX".utf8), Array(String(configuration.resultExpires).utf8)] }
        broker.connection.send(bytes: set) { _ in }
        broker.connection.send(bytes: [Array("PUBLISH".utf8), Array(key.utf8), value]) { _ in }
    }

    /// Runs `operation` until it succeeds, backing off while Redis is unreachable.
    func durably(_ operation: @escaping (@escaping (Result<Bool, BrokerError>) -> Void) -> Void, attempt: Int = 0,
                 then: @escaping (Bool) -> Void) {
        operation { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let ours):
                then(ours)
            case .failure(let error):
                if attempt == 0 { self.logger.warning("broker.operation_retrying", metadata: ["error": "\(error)"]) }
                let delay = UInt64(min(2_000, 50 << min(attempt, 6)))
                LoopTimer.once(loop: self.loop, after: delay) { [weak self] in
                    self?.durably(operation, attempt: attempt + 1, then: then)
                }
            }
        }
    }
}
