import CarawayBroker
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import CarawayStore
import Logging

extension BeatScheduler {
    /// How long the enqueue_once marker lives: far longer than any outbox repair takes.
    static let markerSeconds = "604800"

    /// Deterministic per (schedule, tick): a repair re-sends the same id, and `enqueue_once` drops it.
    static func taskID(scheduleID: Int64, tick: Double) -> String {
        "beat-\(scheduleID)-\(Int64((tick * 1000).rounded()))"
    }

    func fire(_ record: ScheduleRecord, schedule: Schedule, now: Double, epoch: Int64) {
        guard let expected = record.nextRunAt else { return }
        if let end = record.endAt, expected > end {
            advanceNext(record, expected: expected, to: nil, epoch: epoch, status: "ENDED")
            return
        }
        let policy = (try? MisfirePolicy(record.misfire)) ?? .once
        let plan = MisfirePolicy.plan(schedule: schedule, nextRunAt: expected, now: now, anchor: record.startAt ?? record.createdAt,
                                      policy: policy, tolerance: configuration.misfireTolerance)
        var next = plan.newNextRunAt
        if let end = record.endAt, let n = next, n > end { next = nil }
        guard var ticks = plan.ticks.isEmpty ? nil : plan.ticks else {
            logger.info("beat.misfire_skipped", metadata: ["schedule.name": "\(record.name)", "policy": "\(record.misfire)"])
            advanceNext(record, expected: expected, to: next, epoch: epoch, status: "SKIPPED_MISFIRE")
            return
        }
        guard record.singleton, let last = record.lastTaskID else {
            commit(record, ticks: ticks, expected: expected, next: next, epoch: epoch, oneOff: schedule.isOneOff)
            return
        }
        // Singleton: no new run while the previous one has no final result.
        ticks = [ticks[ticks.count - 1]]
        markBusy(record.id)
        redis.send(["GET", keys.result(taskID: last)]) { [weak self] result in
            guard let self else { return }
            self.markIdle(record.id)
            var finished = false
            if case .success(.bulk(let bytes)) = result, let stored = try? ResultRecord.decode(bytes) { finished = stored.state.isReady }
            if finished {
                self.commit(record, ticks: ticks, expected: expected, next: next, epoch: epoch, oneOff: schedule.isOneOff)
            } else {
                self.logger.info("beat.singleton_skipped", metadata: ["schedule.name": "\(record.name)", "previous.task_id": "\(last)"])
                self.advanceNext(record, expected: expected, to: next, epoch: epoch, status: "SKIPPED_SINGLETON")
            }
        }
    }

    /// The one statement that records the fire; only recorded ticks are enqueued.
    private func commit(_ record: ScheduleRecord, ticks: [Double], expected: Double, next: Double?, epoch: Int64, oneOff: Bool) {
        let ids = ticks.map { Self.taskID(scheduleID: record.id, tick: $0) }
        if configuration.plantedUnfencedFire {
            // Planted bug: no fire record, no epoch check, a fresh id per fire (as a second celery beat would).
            noteFired(record.id, next: next, lastTick: ticks.last!, lastTaskID: ids.last!, disabled: oneOff)
            for (tick, id) in zip(ticks, ids) {
                enqueue(RecordedFire(scheduleID: record.id, tick: tick, taskID: id + "-" + makeUUID()), name: record.name,
                        task: record.task, args: record.args, kwargs: record.kwargs, queue: record.queue)
            }
            rearm()
            return
        }
        markBusy(record.id)
        let params = FireParams(scheduleID: record.id, epoch: epoch, node: configuration.nodeName, ticks: ticks, taskIDs: ids,
                                expectedNextRunAt: expected, newNextRunAt: next, disableAfter: oneOff)
        store.scheduleFire(params) { [weak self] result in
            guard let self else { return }
            self.markIdle(record.id)
            switch result {
            case .success(let recorded) where recorded.isEmpty:
                // Fenced off, or another term fired these ticks: our view is stale.
                self.logger.warning("beat.fire_refused", metadata: ["schedule.name": "\(record.name)", "beat.epoch": "\(epoch)"])
                self.reload()
            case .success(let recorded):
                self.noteFired(record.id, next: next, lastTick: ticks.last!, lastTaskID: ids.last!, disabled: oneOff)
                for fire in recorded {
                    self.enqueue(fire, name: record.name, task: record.task, args: record.args, kwargs: record.kwargs, queue: record.queue)
                }
            case .failure(.server(let state, let message, _)):
                self.reportInvalid(record, error: "Postgres refused the fire (\(state)): \(message)")
            case .failure(let error):
                // Nothing was recorded, so nothing fires: try again after a short pause.
                self.logger.warning("beat.fire_failed", metadata: ["schedule.name": "\(record.name)", "error": "\(error)"])
                self.pauseAfterFailure()
            }
            self.rearm()
        }
    }

    /// Publishes one recorded tick (at most once, whatever the retries) and closes its outbox entry.
    func enqueue(_ fire: RecordedFire, name: String, task: String, args: JSON, kwargs: JSON, queue: String?) {
        let target = queue ?? configuration.routes.queue(for: task) ?? "celery"
        var draft = CeleryMessage.Draft(task: task, id: fire.taskID, args: args.arrayValue ?? [], kwargs: kwargs.objectValue ?? [:], queue: target)
        draft.origin = configuration.nodeName
        draft.extraHeaders = ["periodic_task_name": .string(name), "caraway_schedule_id": JSON(Int(fire.scheduleID)),
                              "caraway_tick": JSON(fire.tick)]
        let envelope = draft.encodedEnvelope(deliveryTag: makeUUID())
        let marker = keys.prefix + "caraway:beat:sent:" + fire.taskID
        redis.evaluate(BeatScripts.enqueueOnce, keys: [Array(marker.utf8), Array(keys.queue(target, priority: draft.clampedPriority).utf8)],
                       arguments: [envelope, Array(Self.markerSeconds.utf8)]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let sent):
                if sent.int == 1 {
                    self.countFired()
                    self.logger.info("beat.fired", metadata: ["schedule.name": "\(name)", "task.id": "\(fire.taskID)", "beat.tick": "\(Timestamp.format(fire.tick))"])
                }
                self.store.fireMarkEnqueued(scheduleID: fire.scheduleID, ticks: [fire.tick]) { _ in }
            case .failure(let error):
                // Left in the outbox: the next repair pass (or the next leader) publishes it.
                self.logger.warning("beat.enqueue_failed", metadata: ["task.id": "\(fire.taskID)", "error": "\(error)"])
            }
        }
    }

    /// Publishes committed fires whose enqueue was never confirmed (a leader died in between).
    func repairOutbox() {
        guard isFiring else { return }
        store.firesPendingEnqueue(olderThan: 2) { [weak self] result in
            guard let self, self.isFiring, case .success(let pending) = result else { return }
            for fire in pending {
                self.logger.info("beat.outbox_repair", metadata: ["task.id": "\(fire.taskID)"])
                self.enqueue(RecordedFire(scheduleID: fire.scheduleID, tick: fire.tick, taskID: fire.taskID), name: fire.name,
                             task: fire.task, args: fire.args, kwargs: fire.kwargs, queue: fire.queue)
            }
        }
    }
}
